// Package mqtttest provides MQTT brokers and a recording subscriber for
// tests: an in-process mochi broker on a free loopback port, a launcher for
// a real Mosquitto, and a Recorder whose waits are driven by arriving
// messages rather than sleeps. It is test support only; nothing in the
// daemon imports it.
package mqtttest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Broker is an in-process mochi MQTT broker listening on 127.0.0.1. It can
// be stopped and started again on the same port to simulate a broker
// restart (retained messages are lost, as with a broker without
// persistence).
type Broker struct {
	addr     string
	ws       bool
	tls      *tls.Config
	user     string
	pass     string
	sessions *sessionHook

	inlineMu sync.Mutex
	inline   []inlineSub

	mu      sync.Mutex
	srv     *mochi.Server
	stop    func() // closes srv exactly once
	running bool
}

// StartBroker starts a broker on a free loopback port and stops it when the
// test ends.
func StartBroker(t testing.TB) *Broker {
	t.Helper()
	b := &Broker{sessions: newSessionHook()}
	if err := b.start("127.0.0.1:0"); err != nil {
		t.Fatalf("mqtttest: start broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

func (b *Broker) start(addr string) error {
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumMessageExpiryInterval = 0 // keep retained messages for the whole run
	srv := mochi.New(&mochi.Options{
		InlineClient: true,
		Capabilities: caps,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if b.user != "" {
		ledger := &auth.Ledger{
			Auth: auth.AuthRules{{Username: auth.RString(b.user), Password: auth.RString(b.pass), Allow: true}},
			ACL:  auth.ACLRules{{Username: auth.RString(b.user), Filters: auth.Filters{"#": auth.ReadWrite}}},
		}
		if err := srv.AddHook(new(auth.Hook), &auth.Options{Ledger: ledger}); err != nil {
			return fmt.Errorf("add auth hook: %w", err)
		}
	} else if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return fmt.Errorf("add allow hook: %w", err)
	}
	if err := srv.AddHook(b.sessions, nil); err != nil {
		return fmt.Errorf("add session hook: %w", err)
	}
	// Inline subscriptions go in before any client can publish.
	b.inlineMu.Lock()
	for _, s := range b.inline {
		if err := srv.Subscribe(s.filter, s.id, s.handler); err != nil {
			b.inlineMu.Unlock()
			return fmt.Errorf("inline subscribe %s: %w", s.filter, err)
		}
	}
	b.inlineMu.Unlock()
	var ln net.Listener
	var err error
	// The old socket of a restarted broker can take a moment to release.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err = net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		<-time.After(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	if b.tls != nil {
		ln = tls.NewListener(ln, b.tls)
	}
	if err := srv.AddListener(listeners.NewNet("t", ln)); err != nil {
		_ = ln.Close()
		return fmt.Errorf("add listener: %w", err)
	}
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return fmt.Errorf("serve: %w", err)
	}
	var once sync.Once
	b.mu.Lock()
	b.addr = ln.Addr().String()
	b.srv = srv
	b.stop = func() {
		once.Do(func() {
			// Close the socket before mochi drops its clients: otherwise a
			// client reconnecting at once lands in the old accept backlog
			// and waits out its connect timeout.
			_ = ln.Close()
			_ = srv.Close()
		})
	}
	b.running = true
	b.mu.Unlock()
	return nil
}

// StartBrokerWS is StartBroker with a websocket listener (clients use
// ws://host:port/mqtt). It cannot be restarted.
func StartBrokerWS(t testing.TB) *Broker {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("mqtttest: free port: %v", err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumMessageExpiryInterval = 0
	srv := mochi.New(&mochi.Options{InlineClient: true, Capabilities: caps, Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	b := &Broker{sessions: newSessionHook(), addr: addr, srv: srv, running: true, ws: true}
	if err := srv.AddHook(b.sessions, nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewWebsocket(listeners.Config{ID: "ws", Address: addr})); err != nil {
		t.Fatalf("mqtttest: websocket listener: %v", err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatalf("mqtttest: serve: %v", err)
	}
	var once sync.Once
	b.stop = func() { once.Do(func() { _ = srv.Close() }) }
	t.Cleanup(b.Close)
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("mqtttest: websocket broker did not open %s", addr)
		}
		<-time.After(10 * time.Millisecond)
	}
}

// StartBrokerAuth is StartBroker accepting only user with password pass.
func StartBrokerAuth(t testing.TB, user, pass string) *Broker {
	t.Helper()
	b := &Broker{sessions: newSessionHook(), user: user, pass: pass}
	if err := b.start("127.0.0.1:0"); err != nil {
		t.Fatalf("mqtttest: start broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// StartBrokerTLS is StartBroker with a TLS listener (clients use mqtts://).
func StartBrokerTLS(t testing.TB, cfg *tls.Config) *Broker {
	t.Helper()
	b := &Broker{sessions: newSessionHook(), tls: cfg}
	if err := b.start("127.0.0.1:0"); err != nil {
		t.Fatalf("mqtttest: start TLS broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b
}

// Addr is the broker's host:port.
func (b *Broker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}

// URL is the broker's address as an mqtt:// (or, with TLS, mqtts://) URL.
func (b *Broker) URL() string {
	if b.ws {
		return "ws://" + b.Addr() + "/mqtt"
	}
	if b.tls != nil {
		return "mqtts://" + b.Addr()
	}
	return "mqtt://" + b.Addr()
}

// Server returns the running mochi server (nil while stopped).
func (b *Broker) Server() *mochi.Server {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.running {
		return nil
	}
	return b.srv
}

// Close stops the broker. It is safe to call more than once.
func (b *Broker) Close() {
	b.mu.Lock()
	stop := b.stop
	b.running = false
	b.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// Restart stops the broker and starts a fresh one on the same port. Clients
// see their connection drop and must reconnect; retained messages are gone.
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	b.Close()
	if err := b.start(b.Addr()); err != nil {
		t.Fatalf("mqtttest: restart broker: %v", err)
	}
}

// Stop stops the broker without starting it again (see Start).
func (b *Broker) Stop() { b.Close() }

// Start starts a stopped broker again on the same port.
func (b *Broker) Start(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	running := b.running
	b.mu.Unlock()
	if running {
		return
	}
	if err := b.start(b.Addr()); err != nil {
		t.Fatalf("mqtttest: start broker again: %v", err)
	}
}

// Kick drops a client's connection from the broker side, as a network
// failure would: the broker then sends the client's will.
func (b *Broker) Kick(clientID string) error {
	srv := b.Server()
	if srv == nil {
		return errors.New("mqtttest: broker not running")
	}
	cl, ok := srv.Clients.Get(clientID)
	if !ok {
		return fmt.Errorf("mqtttest: no client %q", clientID)
	}
	b.sessions.kicked(clientID, cl, srv)
	cl.Stop(errors.New("mqtttest: kicked"))
	return nil
}

// ClientConnected reports whether a client with that id is connected.
func (b *Broker) ClientConnected(clientID string) bool {
	srv := b.Server()
	if srv == nil {
		return false
	}
	cl, ok := srv.Clients.Get(clientID)
	return ok && !cl.Closed()
}

// Sessions is how many connections the client id has established with this
// broker (across restarts).
func (b *Broker) Sessions(clientID string) int { return b.sessions.count(clientID) }

// WaitSessions waits until the client id has established at least n
// connections, and fails the test after DefaultTimeout.
func (b *Broker) WaitSessions(t testing.TB, clientID string, n int) {
	t.Helper()
	timer := time.NewTimer(DefaultTimeout)
	defer timer.Stop()
	for {
		ch, got := b.sessions.wait(clientID)
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("mqtttest: client %q made %d connections, want %d", clientID, got, n)
		}
	}
}

// sessionHook counts established sessions per client id, and holds back a
// kicked client's reconnect until the broker has cleaned up after the old
// connection: mochi v2.7.9 deletes the client id from its registry when the
// old connection ends, and when that runs after the new connection
// registered, the broker silently stops delivering to the new one.
type sessionHook struct {
	mochi.HookBase
	mu      sync.Mutex
	n       map[string]int
	changed chan struct{}
	kick    map[string]kickedClient
}

type kickedClient struct {
	cl  *mochi.Client
	srv *mochi.Server
}

func newSessionHook() *sessionHook {
	return &sessionHook{n: map[string]int{}, changed: make(chan struct{}), kick: map[string]kickedClient{}}
}

func (h *sessionHook) ID() string { return "mqtttest-sessions" }

func (h *sessionHook) Provides(b byte) bool {
	return b == mochi.OnSessionEstablished || b == mochi.OnConnect
}

func (h *sessionHook) kicked(id string, cl *mochi.Client, srv *mochi.Server) {
	h.mu.Lock()
	h.kick[id] = kickedClient{cl, srv}
	h.mu.Unlock()
}

// OnConnect waits (at most 2 s) until a kicked client's old connection is
// gone from the registry.
func (h *sessionHook) OnConnect(cl *mochi.Client, _ packets.Packet) error {
	h.mu.Lock()
	k, ok := h.kick[cl.ID]
	delete(h.kick, cl.ID)
	h.mu.Unlock()
	if !ok {
		return nil
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if cur, ok := k.srv.Clients.Get(cl.ID); !ok || cur != k.cl {
			return nil
		}
		<-time.After(time.Millisecond)
	}
	return nil
}

func (h *sessionHook) OnSessionEstablished(cl *mochi.Client, _ packets.Packet) {
	h.mu.Lock()
	h.n[cl.ID]++
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

func (h *sessionHook) count(id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[id]
}

func (h *sessionHook) wait(id string) (<-chan struct{}, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.changed, h.n[id]
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
