package bridge

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"
)

// brokerURL maps the configured URL scheme onto one paho dials.
func brokerURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("bridge: MQTT URL %q: %w", raw, err)
	}
	if u.Host == "" {
		return "", fmt.Errorf("bridge: MQTT URL %q has no host (want mqtt://host:1883)", raw)
	}
	switch u.Scheme {
	case "mqtt", "tcp":
		u.Scheme = "tcp"
		if u.Port() == "" {
			u.Host += ":1883"
		}
	case "mqtts", "ssl", "tls":
		u.Scheme = "ssl"
		if u.Port() == "" {
			u.Host += ":8883"
		}
	case "ws", "wss":
	default:
		return "", fmt.Errorf("bridge: MQTT URL %q: unknown scheme %q (use mqtt, mqtts, ws or wss)", raw, u.Scheme)
	}
	u.User = nil
	return u.String(), nil
}

// tlsConfig builds the TLS settings from the CA, certificate and key files.
// It returns nil when none are set and the scheme does not need TLS.
func tlsConfig(o MQTTOptions) (*tls.Config, error) {
	if o.CAFile == "" && o.CertFile == "" && o.KeyFile == "" {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("bridge: read MQTT CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("bridge: MQTT CA file %s holds no PEM certificate", o.CAFile)
		}
		c.RootCAs = pool
	}
	if o.CertFile != "" || o.KeyFile != "" {
		if o.CertFile == "" || o.KeyFile == "" {
			return nil, errors.New("bridge: MQTT certificate and key files go together")
		}
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("bridge: load MQTT client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// clientOptions are the paho options for a long-running bridge: clean
// session, OrderMatters(false) (handlers never block each other), retried
// first connection, reconnects backing off to MaxReconnectInterval, a
// retained will, and the connection's handlers.
func clientOptions(m MQTTOptions, will string, c *connection) (*paho.ClientOptions, error) {
	broker, err := brokerURL(m.URL)
	if err != nil {
		return nil, err
	}
	tc, err := tlsConfig(m)
	if err != nil {
		return nil, err
	}
	o := paho.NewClientOptions().
		AddBroker(broker).
		SetClientID(m.ClientID).
		SetCleanSession(true).
		SetOrderMatters(false).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(m.MaxReconnectInterval).
		SetConnectRetry(true).
		SetConnectRetryInterval(m.ConnectRetryInterval).
		SetConnectTimeout(10*time.Second).
		SetKeepAlive(m.KeepAlive).
		SetPingTimeout(10*time.Second).
		SetWriteTimeout(10*time.Second).
		SetWill(will, offline, 1, true).
		SetDefaultPublishHandler(func(paho.Client, paho.Message) {}).
		SetOnConnectHandler(c.onConnect).
		SetConnectionLostHandler(c.onConnectionLost).
		SetConnectionNotificationHandler(c.onConnectionNotification(m.URL))
	if m.Username != "" {
		o.SetUsername(m.Username)
	}
	if !m.Password.IsZero() {
		o.SetPassword(m.Password.Reveal())
	}
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	return o, nil
}

// PahoLogger adapts a zerolog.Logger to paho's package-level loggers
// (paho.ERROR, paho.CRITICAL, paho.WARN, paho.DEBUG), which v1.5.1 shares by
// every client in the process. Assign them once, in main:
//
//	paho.ERROR = bridge.PahoLogger{L: log, Level: zerolog.ErrorLevel}
type PahoLogger struct {
	L     zerolog.Logger
	Level zerolog.Level
}

// Println logs its arguments as one message.
func (p PahoLogger) Println(v ...any) {
	p.L.WithLevel(p.Level).Str("component", "paho").Msg(strings.TrimSpace(fmt.Sprintln(v...)))
}

// Printf logs a formatted message.
func (p PahoLogger) Printf(format string, v ...any) {
	p.L.WithLevel(p.Level).Str("component", "paho").Msg(strings.TrimSpace(fmt.Sprintf(format, v...)))
}

var _ paho.Logger = PahoLogger{}
