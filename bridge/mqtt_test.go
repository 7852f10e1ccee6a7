package bridge

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

func TestBrokerURL(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{"mqtt://broker:1883", "tcp://broker:1883", ""},
		{"mqtt://broker", "tcp://broker:1883", ""},
		{"mqtts://broker", "ssl://broker:8883", ""},
		{"mqtts://broker:8884", "ssl://broker:8884", ""},
		{"ws://broker:9001/mqtt", "ws://broker:9001/mqtt", ""},
		{"wss://broker/mqtt", "wss://broker/mqtt", ""},
		{"mqtt://user:pw@broker:1883", "tcp://broker:1883", ""},
		{"http://broker", "", `unknown scheme "http"`},
		{"broker:1883", "", "no host"},
		{"mqtt://", "", "no host"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := brokerURL(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "pw") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("brokerURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// writeCert writes a self-signed certificate and its key as PEM files.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := tlsConfig(MQTTOptions{}); c != nil || err != nil {
		t.Errorf("no files: %v, %v; want no TLS config", c, err)
	}
	c, err := tlsConfig(MQTTOptions{CAFile: cert, CertFile: cert, KeyFile: key})
	if err != nil || c.RootCAs == nil || len(c.Certificates) != 1 || c.MinVersion < 0x0303 {
		t.Fatalf("tlsConfig = %+v, %v", c, err)
	}
	for name, o := range map[string]MQTTOptions{
		"missing CA":       {CAFile: filepath.Join(dir, "nope.pem")},
		"CA not PEM":       {CAFile: junk},
		"cert without key": {CertFile: cert},
		"key mismatch":     {CertFile: cert, KeyFile: junk},
	} {
		if _, err := tlsConfig(o); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	c := &fakeCloud{session: true}
	tests := map[string]Options{
		"no cloud":     {MQTT: MQTTOptions{URL: "mqtt://x"}, StateDir: t.TempDir()},
		"no state dir": {Cloud: c, MQTT: MQTTOptions{URL: "mqtt://x"}},
		"bad scheme":   {Cloud: c, MQTT: MQTTOptions{URL: "tcpx://x"}, StateDir: t.TempDir()},
		"long id":      {Cloud: c, MQTT: MQTTOptions{URL: "mqtt://x", ClientID: strings.Repeat("a", 24)}, StateDir: t.TempDir()},
		"bad root":     {Cloud: c, MQTT: MQTTOptions{URL: "mqtt://x"}, StateDir: t.TempDir(), Topics: topicsRoot("a/#")},
	}
	for name, o := range tests {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
	if id := DefaultClientID("blink2mqtt"); len(id) > 23 || id != DefaultClientID("blink2mqtt") || id == DefaultClientID("other") {
		t.Errorf("DefaultClientID = %q: want stable, ≤ 23 characters, different per root", id)
	}
}

// TestE2ETLSBroker connects over mqtts:// with a CA file and a client
// certificate, and arms through the encrypted connection.
func TestE2ETLSBroker(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(cert)
	pool.AppendCertsFromPEM(pem)
	broker := mqtttest.StartBrokerTLS(t, &tls.Config{
		Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool,
		MinVersion: tls.VersionTLS12,
	})
	e := newEnv(t, withBrokerOf(broker), withOptions(func(o *Options) {
		o.MQTT.CAFile, o.MQTT.CertFile, o.MQTT.KeyFile = cert, cert, key
	}))
	if !strings.HasPrefix(e.url, "mqtts://") {
		t.Fatalf("broker URL %s", e.url)
	}
	resp := e.request(OpDisarm, map[string]any{"network": e.fake.Networks()[0].ID})
	if resp["status"] != "ok" {
		t.Fatalf("disarm over TLS: %v", resp)
	}
}

func TestE2EBrokerCredentials(t *testing.T) {
	broker := mqtttest.StartBrokerAuth(t, "bridge", "s3cret-pw")
	e := newEnv(t, withBrokerOf(broker), withOptions(func(o *Options) {
		o.MQTT.Username, o.MQTT.Password = "bridge", blink.Secret("s3cret-pw")
	}))
	if resp := e.request(OpRefresh, map[string]any{}); resp["status"] != "ok" {
		t.Fatalf("refresh: %v", resp)
	}
	if strings.Contains(e.logs.String(), "s3cret-pw") {
		t.Errorf("the broker password is in the logs")
	}
}

func TestWrongBrokerPasswordIsLoggedAndRunStillStops(t *testing.T) {
	broker := mqtttest.StartBrokerAuth(t, "bridge", "right")
	logs := &syncBuffer{}
	failed := make(chan error, 100)
	b, err := New(Options{
		Cloud: &fakeCloud{hs: testHomescreen(), session: true}, StateDir: t.TempDir(), Topics: topicsRoot("b2m"),
		MQTT:   MQTTOptions{URL: broker.URL(), Username: "bridge", Password: "pw-WR0NG", ConnectRetryInterval: 50 * time.Millisecond},
		Logger: zerolog.New(logs),
		OnEvent: func(e Event) {
			if e.Kind == EventMQTTConnectFailed {
				select {
				case failed <- e.Err:
				default:
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	select {
	case err := <-failed:
		if err == nil || !strings.Contains(err.Error(), "not Authorized") {
			t.Errorf("failure reason %v, want not Authorized", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no failed connection attempt reported")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s")
	}
	if l := logs.String(); !strings.Contains(l, "cannot connect to the MQTT broker") || strings.Contains(l, "pw-WR0NG") {
		t.Errorf("logs: want one line about the refused connection and never the password:\n%s", l)
	}
}

func TestE2EWebsocketBroker(t *testing.T) {
	broker := mqtttest.StartBrokerWS(t)
	e := newEnv(t, withBrokerOf(broker))
	if !strings.HasPrefix(e.url, "ws://") {
		t.Fatalf("broker URL %s", e.url)
	}
	if resp := e.request(OpDisarm, map[string]any{"network": e.fake.Networks()[0].ID}); resp["status"] != "ok" {
		t.Fatalf("disarm over websocket: %v", resp)
	}
}
