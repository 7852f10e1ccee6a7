package bridge

import (
	"context"
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

// publisher is the bridge's narrow view of the MQTT connection, so state
// and scheduling logic can be tested without a broker.
type publisher interface {
	// publish sends a message without waiting; the token completes when
	// the broker acknowledged it (QoS 1) or it was written (QoS 0).
	publish(topic string, qos byte, retained bool, payload []byte) paho.Token
	// open reports whether the connection is up right now.
	open() bool
}

type pahoPublisher struct{ c paho.Client }

func (p pahoPublisher) publish(topic string, qos byte, retained bool, payload []byte) paho.Token {
	return p.c.Publish(topic, qos, retained, payload)
}

func (p pahoPublisher) open() bool { return p.c.IsConnectionOpen() }

// await waits for a paho token or ctx, whichever comes first. A token still
// pending when ctx ends may complete later; callers must not rely on it.
func await(ctx context.Context, t paho.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// awaitFor is await with a timeout of its own.
func awaitFor(ctx context.Context, d time.Duration, t paho.Token) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return await(ctx, t)
}

// onConnectionNotification logs failed connection attempts: the first, then
// every tenth, so a wrong password or a broker that is down shows up in the
// log without flooding it.
func (b *Bridge) onConnectionNotification(_ paho.Client, n paho.ConnectionNotification) {
	var reason error
	switch n := n.(type) {
	case paho.ConnectionNotificationBrokerFailed:
		reason = n.Reason
	case paho.ConnectionNotificationFailed:
		reason = n.Reason
	case paho.ConnectionNotificationConnected:
		b.connectFailures.Store(0)
		return
	default:
		return
	}
	b.emit(Event{Kind: EventMQTTConnectFailed, Err: reason})
	if k := b.connectFailures.Add(1); k == 1 || k%10 == 0 {
		b.logMQTT.Warn().Err(reason).Int64("attempts", k).Str("broker", redactURL(b.opts.MQTT.URL)).
			Msg("cannot connect to the MQTT broker; retrying")
	}
}

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

// clientOptions are the paho options of go-notes §1.2.
func (b *Bridge) clientOptions() (*paho.ClientOptions, error) {
	broker, err := brokerURL(b.opts.MQTT.URL)
	if err != nil {
		return nil, err
	}
	tc, err := tlsConfig(b.opts.MQTT)
	if err != nil {
		return nil, err
	}
	m := b.opts.MQTT
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
		SetWill(b.topics.BridgeState(), offline, 1, true).
		SetDefaultPublishHandler(func(paho.Client, paho.Message) {}).
		SetOnConnectHandler(b.onConnect).
		SetConnectionLostHandler(b.onConnectionLost).
		SetConnectionNotificationHandler(b.onConnectionNotification)
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
