// Package mqtttest provides MQTT brokers and a recording subscriber for
// tests: an in-process mochi broker on a free loopback port, a launcher for
// a real Mosquitto, and a Recorder whose waits are driven by arriving
// messages rather than sleeps. Every wait is bounded, so a broken broker or
// client fails a test instead of hanging the run. It is test support only;
// nothing in the daemon imports it.
package mqtttest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/blink2mqtt/blink2mqtt/internal/broker"
)

// Broker is an in-process mochi MQTT broker (internal/broker) listening on
// 127.0.0.1. It can be stopped and started again on the same port to
// simulate a broker restart (retained messages are lost, as with a broker
// without persistence).
type Broker struct {
	tb       testing.TB // reports a broker that does not stop
	cfg      broker.Config
	sessions *sessionHook

	inlineMu sync.Mutex
	inline   []inlineSub

	mu   sync.Mutex
	addr string
	cur  *broker.Broker // nil while stopped
}

// StartBroker starts a broker on a free loopback port and stops it when the
// test ends.
func StartBroker(t testing.TB) *Broker {
	t.Helper()
	return startBroker(t, broker.Config{})
}

// StartBrokerWS is StartBroker with a websocket listener (clients use
// ws://host:port/mqtt).
func StartBrokerWS(t testing.TB) *Broker {
	t.Helper()
	return startBroker(t, broker.Config{WebSocket: true})
}

// StartBrokerAuth is StartBroker accepting only user with password pass.
func StartBrokerAuth(t testing.TB, user, pass string) *Broker {
	t.Helper()
	return startBroker(t, broker.Config{User: user, Password: pass})
}

// StartBrokerTLS is StartBroker with a TLS listener (clients use mqtts://).
func StartBrokerTLS(t testing.TB, cfg *tls.Config) *Broker {
	t.Helper()
	return startBroker(t, broker.Config{TLS: cfg})
}

func startBroker(t testing.TB, cfg broker.Config) *Broker {
	t.Helper()
	b := &Broker{tb: t, cfg: cfg, sessions: newSessionHook(), addr: "127.0.0.1:0"}
	b.sessions.server = b.Server
	b.cfg.Hooks = []mochi.Hook{b.sessions}
	b.cfg.Setup = b.subscribeInline
	if err := b.start(); err != nil {
		t.Fatalf("mqtttest: start broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// start runs a broker on b.addr; a restarted broker's old socket can take a
// moment to release its port.
func (b *Broker) start() error {
	cfg := b.cfg
	cfg.Addr = b.Addr()
	deadline := time.Now().Add(5 * time.Second)
	for {
		cur, err := broker.New(cfg)
		if err == nil {
			b.mu.Lock()
			b.addr, b.cur = cur.Addr(), cur
			b.mu.Unlock()
			return nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return err
		}
		<-time.After(20 * time.Millisecond)
	}
}

// subscribeInline restores the inline subscriptions before any client can
// publish.
func (b *Broker) subscribeInline(srv *mochi.Server) error {
	b.inlineMu.Lock()
	defer b.inlineMu.Unlock()
	for _, s := range b.inline {
		if err := srv.Subscribe(s.filter, s.id, s.handler); err != nil {
			return fmt.Errorf("inline subscribe %s: %w", s.filter, err)
		}
	}
	return nil
}

// Addr is the broker's host:port.
func (b *Broker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}

// URL is the broker's address as an mqtt://, mqtts:// (TLS) or
// ws://…/mqtt (websocket) URL.
func (b *Broker) URL() string {
	addr := b.Addr()
	switch {
	case b.cfg.WebSocket:
		return "ws://" + addr + "/mqtt"
	case b.cfg.TLS != nil:
		return "mqtts://" + addr
	}
	return "mqtt://" + addr
}

// Server returns the running mochi server (nil while stopped).
func (b *Broker) Server() *mochi.Server {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur == nil {
		return nil
	}
	return b.cur.Server()
}

// Close stops the broker, and fails the test when it does not stop within
// broker.DefaultCloseTimeout. It is safe to call more than once.
func (b *Broker) Close() {
	b.mu.Lock()
	cur := b.cur
	b.cur = nil
	b.mu.Unlock()
	if cur == nil {
		return
	}
	if err := cur.Close(); err != nil {
		b.tb.Errorf("mqtttest: %v", err)
	}
}

// Restart stops the broker and starts a fresh one on the same port. Clients
// see their connection drop and must reconnect; retained messages are gone.
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	b.Close()
	if err := b.start(); err != nil {
		t.Fatalf("mqtttest: restart broker: %v", err)
	}
}

// Stop stops the broker without starting it again (see Start).
func (b *Broker) Stop() { b.Close() }

// Start starts a stopped broker again on the same port.
func (b *Broker) Start(t testing.TB) {
	t.Helper()
	if b.Server() != nil {
		return
	}
	if err := b.start(); err != nil {
		t.Fatalf("mqtttest: start broker again: %v", err)
	}
}

// RetainedMessages returns the broker's retained messages whose topics match
// filter (an exact topic, "#", or "prefix/#"), read from the broker's store.
// Unlike Retained it does not subscribe, which in mochi v2.7.9 races (under
// -race) with retained publishes from other clients.
func (b *Broker) RetainedMessages(filter string) map[string][]byte {
	out := map[string][]byte{}
	srv := b.Server()
	if srv == nil {
		return out
	}
	prefix, wild := strings.CutSuffix(filter, "#")
	for topic, pk := range srv.Topics.Retained.GetAll() {
		if len(pk.Payload) == 0 {
			continue
		}
		if (wild && strings.HasPrefix(topic, prefix)) || (!wild && topic == filter) {
			out[topic] = append([]byte(nil), pk.Payload...)
		}
	}
	return out
}

type inlineSub struct {
	filter  string
	id      int
	handler mochi.InlineSubFn
}

// inlineSubscribe adds an inline subscription that is restored on Restart.
func (b *Broker) inlineSubscribe(filter string, fn func(topic string, payload []byte, retained bool)) error {
	b.inlineMu.Lock()
	s := inlineSub{filter: filter, id: len(b.inline) + 1, handler: func(_ *mochi.Client, _ packets.Subscription, pk packets.Packet) {
		fn(pk.TopicName, pk.Payload, pk.FixedHeader.Retain)
	}}
	b.inline = append(b.inline, s)
	b.inlineMu.Unlock()
	srv := b.Server()
	if srv == nil {
		return nil
	}
	return srv.Subscribe(s.filter, s.id, s.handler)
}
