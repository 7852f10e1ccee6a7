// Package broker runs an in-process MQTT broker (mochi-mqtt) on a loopback
// address: the demo's broker, and the base of internal/mqtttest's test
// brokers. It keeps retained messages for as long as it runs.
package broker

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// DefaultCloseTimeout bounds Close when Config.CloseTimeout is zero; it
// leaves room for mochi's own 5 s websocket shutdown.
const DefaultCloseTimeout = 10 * time.Second

// Config says how a broker listens and whom it lets in. The zero value
// (with an Addr) is an anonymous plain-TCP broker.
type Config struct {
	// Addr is the host:port to listen on; port 0 picks a free one.
	Addr string
	// Logger receives mochi's own logs; nil discards them.
	Logger *slog.Logger
	// TLS makes the listener speak TLS (mqtts://).
	TLS *tls.Config
	// WebSocket makes the listener speak MQTT over websocket (ws://…/mqtt).
	WebSocket bool
	// User, when set, is the only client let in, with Password; it may use
	// every topic. Empty lets anonymous clients in.
	User, Password string
	// Hooks are added after the auth hook.
	Hooks []mochi.Hook
	// Setup runs before the first client is served (inline subscriptions).
	Setup func(*mochi.Server) error
	// CloseTimeout bounds Close; DefaultCloseTimeout when zero.
	CloseTimeout time.Duration
}

// Broker is a running in-process broker.
type Broker struct {
	server       *mochi.Server
	addr         string
	scheme       string
	conns        *trackingListener // nil for websocket: mochi owns that socket
	closeTimeout time.Duration
	closeOnce    sync.Once
	closeErr     error
}

// Start runs an anonymous plain-TCP broker on addr (e.g. "127.0.0.1:1883",
// or "127.0.0.1:0" for a free port). logger may be nil to discard the
// broker's own logs.
func Start(addr string, logger *slog.Logger) (*Broker, error) {
	return New(Config{Addr: addr, Logger: logger})
}

// New runs a broker as cfg says. When it returns, clients can connect.
func New(cfg Config) (*Broker, error) {
	if cfg.CloseTimeout <= 0 {
		cfg.CloseTimeout = DefaultCloseTimeout
	}
	if cfg.WebSocket {
		return newWebsocket(cfg)
	}
	b := &Broker{scheme: "mqtt", closeTimeout: cfg.CloseTimeout}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("broker: listen %s: %w", cfg.Addr, err)
	}
	b.addr, b.conns = ln.Addr().String(), track(ln)
	var served net.Listener = b.conns
	if cfg.TLS != nil {
		served, b.scheme = tls.NewListener(b.conns, cfg.TLS), "mqtts"
	}
	s, err := newServer(cfg, listeners.NewNet("tcp", served))
	if err != nil {
		_ = b.conns.Close()
		return nil, err
	}
	b.server = s
	return b, nil
}

// newWebsocket runs a websocket broker. mochi binds the websocket port
// itself, in the background, so with port 0 the free port picked here can be
// taken by another listener first: the broker is started again on another
// port until its port answers as mochi's websocket endpoint.
func newWebsocket(cfg Config) (*Broker, error) {
	for attempt := 1; ; attempt++ {
		addr, err := pickPort(cfg.Addr)
		if err != nil {
			return nil, err
		}
		s, err := newServer(cfg, listeners.NewWebsocket(listeners.Config{ID: "ws", Address: addr}))
		if err != nil {
			return nil, err
		}
		b := &Broker{server: s, addr: addr, scheme: "ws", closeTimeout: cfg.CloseTimeout}
		err = waitWebsocket(addr, b.closeTimeout)
		if err == nil {
			return b, nil
		}
		_ = b.Close()
		if _, port, _ := net.SplitHostPort(cfg.Addr); port != "0" || attempt == 5 {
			return nil, err
		}
	}
}

// newServer builds the mochi server with the settings every broker shares
// and serves l.
func newServer(cfg Config, l listeners.Listener) (*mochi.Server, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	caps := mochi.NewDefaultServerCapabilities()
	// Retained discovery and state must not expire after mochi's default 24 h.
	caps.MaximumMessageExpiryInterval = 0
	s := mochi.New(&mochi.Options{InlineClient: true, Logger: logger, Capabilities: caps})
	var err error
	if cfg.User != "" {
		ledger := &auth.Ledger{
			Auth: auth.AuthRules{{Username: auth.RString(cfg.User), Password: auth.RString(cfg.Password), Allow: true}},
			ACL:  auth.ACLRules{{Username: auth.RString(cfg.User), Filters: auth.Filters{"#": auth.ReadWrite}}},
		}
		err = s.AddHook(new(auth.Hook), &auth.Options{Ledger: ledger})
	} else {
		err = s.AddHook(new(auth.AllowHook), nil)
	}
	if err != nil {
		return nil, fmt.Errorf("broker: auth hook: %w", err)
	}
	for _, h := range cfg.Hooks {
		if err := s.AddHook(h, nil); err != nil {
			return nil, fmt.Errorf("broker: hook %s: %w", h.ID(), err)
		}
	}
	if cfg.Setup != nil {
		if err := cfg.Setup(s); err != nil {
			return nil, fmt.Errorf("broker: setup: %w", err)
		}
	}
	if err := s.AddListener(l); err != nil {
		return nil, fmt.Errorf("broker: add listener: %w", err)
	}
	if err := s.Serve(); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("broker: serve: %w", err)
	}
	return s, nil
}

// Addr is the host:port the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL is the broker's address as an mqtt://, mqtts:// or ws://…/mqtt URL.
func (b *Broker) URL() string {
	if b.scheme == "ws" {
		return "ws://" + b.addr + "/mqtt"
	}
	return b.scheme + "://" + b.addr
}

// Server exposes the mochi server for inline publish/subscribe in tests.
func (b *Broker) Server() *mochi.Server { return b.server }

// Close stops the broker and ends every client connection, within the
// close timeout; calling it more than once is safe (mochi's own Close
// panics on a second call).
func (b *Broker) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.close() })
	return b.closeErr
}

func (b *Broker) close() error {
	if b.conns != nil {
		// mochi waits for every connection it accepted but drops only those
		// that finished connecting: one still connecting would keep its
		// Close waiting for ever. Closing the socket first also keeps a
		// reconnecting client out of the old accept backlog.
		_ = b.conns.Close()
	}
	done := make(chan struct{})
	go func() {
		if b.conns != nil {
			// mochi v2.7.9's Close can deadlock when a client is still
			// ending while it runs: Clients.GetByListener read-locks the
			// registry twice, and a client's Delete waiting for the write
			// lock in between blocks both for good. The connections closed
			// above end their clients now; wait for them first. (No new
			// client can start: the listener is closed.)
			b.server.Listeners.ClientsWg.Wait()
		}
		_ = b.server.Close()
		close(done)
	}()
	timer := time.NewTimer(b.closeTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
		return fmt.Errorf("broker: close %s: clients still attached after %s", b.addr, b.closeTimeout)
	}
}

// pickPort returns addr, with a free port in place of port 0.
func pickPort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("broker: address %q: %w", addr, err)
	}
	if port != "0" {
		return addr, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("broker: listen %s: %w", addr, err)
	}
	defer ln.Close()
	return net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), nil
}

// waitWebsocket waits until addr answers as a websocket endpoint: a plain
// GET is refused with the Sec-Websocket-Version header. Anything else
// answering there is another server that holds the port.
func waitWebsocket(addr string, d time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(d)
	for {
		res, err := client.Get("http://" + addr + "/mqtt")
		if err == nil {
			_ = res.Body.Close()
			if res.Header.Get("Sec-Websocket-Version") == "" {
				return fmt.Errorf("broker: %s is held by another server (it answered %s)", addr, res.Status)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("broker: %s not open after %s: %w", addr, d, err)
		}
		<-time.After(10 * time.Millisecond)
	}
}
