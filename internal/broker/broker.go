// Package broker runs an in-process MQTT broker (mochi-mqtt) on a loopback
// address, for demo mode and tests. It accepts anonymous clients and keeps
// retained messages for as long as it runs.
package broker

import (
	"fmt"
	"log/slog"
	"net"
	"sync"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Broker is a running in-process broker.
type Broker struct {
	server    *mochi.Server
	addr      string
	closeOnce sync.Once
	closeErr  error
}

// Start listens on addr (e.g. "127.0.0.1:1883", or "127.0.0.1:0" for a free
// port). logger may be nil to discard the broker's own logs.
func Start(addr string, logger *slog.Logger) (*Broker, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("broker: listen %s: %w", addr, err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	caps := mochi.NewDefaultServerCapabilities()
	// Retained discovery and state must not expire after mochi's default 24 h.
	caps.MaximumMessageExpiryInterval = 0
	s := mochi.New(&mochi.Options{InlineClient: true, Logger: logger, Capabilities: caps})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("broker: auth hook: %w", err)
	}
	if err := s.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		ln.Close()
		return nil, fmt.Errorf("broker: add listener: %w", err)
	}
	if err := s.Serve(); err != nil {
		s.Close()
		return nil, fmt.Errorf("broker: serve: %w", err)
	}
	return &Broker{server: s, addr: ln.Addr().String()}, nil
}

// Addr is the host:port the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL is the broker's address as an mqtt:// URL.
func (b *Broker) URL() string { return "mqtt://" + b.addr }

// Server exposes the mochi server for inline publish/subscribe in tests.
func (b *Broker) Server() *mochi.Server { return b.server }

// Close stops the broker; calling it more than once is safe (mochi's own
// Close panics on a second call).
func (b *Broker) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.server.Close() })
	return b.closeErr
}
