package broker

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

func TestBrokerKeepsRetainedAndClosesTwice(t *testing.T) {
	b, err := Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	pub := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("pub"))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	if tok := pub.Publish("demo/state", 1, true, "online"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	pub.Disconnect(100)

	got := make(chan string, 1)
	sub := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("sub"))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	sub.Subscribe("demo/#", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) })
	select {
	case v := <-got:
		if v != "online" {
			t.Fatalf("retained payload = %q, want online", v)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("retained message not delivered to a late subscriber")
	}
	sub.Disconnect(100)
	if err := b.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestStartOnBusyPortFails(t *testing.T) {
	b, err := Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := Start(b.Addr(), nil); err == nil {
		t.Fatal("second broker on the same port started; want an error")
	}
}

// TestWebsocketOnPortHeldByAnotherServerFails: mochi binds the websocket
// port in the background, so a port another server holds used to look open
// and the broker was handed out with a stranger behind its URL.
func TestWebsocketOnPortHeldByAnotherServerFails(t *testing.T) {
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	addr := strings.TrimPrefix(other.URL, "http://")
	b, err := New(Config{Addr: addr, WebSocket: true, CloseTimeout: 2 * time.Second})
	if err == nil {
		b.Close()
		t.Fatalf("a websocket broker on %s, which another server holds, started", addr)
	}
	if !strings.Contains(err.Error(), "held by another server") {
		t.Errorf("error %v does not say the port is held", err)
	}
	ws, err := New(Config{Addr: "127.0.0.1:0", WebSocket: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if !strings.HasPrefix(ws.URL(), "ws://127.0.0.1:") || strings.HasSuffix(ws.Addr(), ":0") {
		t.Errorf("websocket broker URL %s", ws.URL())
	}
}

func connect(t *testing.T, b *Broker, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID(id).SetAutoReconnect(false))
	t.Cleanup(func() { c.Disconnect(50) })
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	return c
}

// closeWithin runs b.Close and fails the test when it takes longer than d.
func closeWithin(t *testing.T, b *Broker, d time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- b.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("Close still running after %s", d)
		return nil
	}
}

// A connection the broker accepted but that has not finished connecting
// (its CONNECT is late, as under load) once kept mochi's Close waiting for
// ever: mochi drops only registered clients, then waits for all of them.
func TestCloseEndsConnectionsStillConnecting(t *testing.T) {
	b, err := Start("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	raw, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// The broker accepts in order, so once this client is in, so is raw.
	connect(t, b, "later")

	if err := closeWithin(t, b, DefaultCloseTimeout); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := raw.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection still open after Close (read: %v)", err)
	}
}

// stallHook holds every CONNECT in OnConnect until release is closed.
type stallHook struct {
	mochi.HookBase
	entered chan struct{}
	release chan struct{}
}

func (h *stallHook) ID() string           { return "stall" }
func (h *stallHook) Provides(b byte) bool { return b == mochi.OnConnect }
func (h *stallHook) OnConnect(*mochi.Client, packets.Packet) error {
	h.entered <- struct{}{}
	<-h.release
	return nil
}

// Close gives up after CloseTimeout, with an error, when mochi cannot let
// go of a client: a hung broker fails a test instead of hanging it.
func TestCloseIsBounded(t *testing.T) {
	h := &stallHook{entered: make(chan struct{}, 1), release: make(chan struct{})}
	b, err := New(Config{Addr: "127.0.0.1:0", Hooks: []mochi.Hook{h}, CloseTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer close(h.release)
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + b.Addr()).SetClientID("stalled").SetAutoReconnect(false))
	defer c.Disconnect(50)
	c.Connect()
	select {
	case <-h.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("CONNECT never reached the broker")
	}
	err = closeWithin(t, b, 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "clients still attached") {
		t.Fatalf("close = %v, want the timeout error", err)
	}
	if again := b.Close(); again != err {
		t.Errorf("second Close = %v, want the first one's %v", again, err)
	}
}

// TestCloseWaitsForEndingClients: mochi v2.7.9's Close can deadlock when a
// client is still ending while Close lists the clients
// (Clients.GetByListener read-locks twice; the ending client's Delete,
// waiting for the write lock in between, blocks both for good — a race
// loop caught it). So Close lets every client it disconnected end before
// mochi's Close starts: here one client's ending is held, and mochi's Close
// (which logs "gracefully stopping server" first) must not start meanwhile.
func TestCloseWaitsForEndingClients(t *testing.T) {
	stall := &disconnectStall{entered: make(chan struct{}, 1), release: make(chan struct{})}
	stopping := &logSignal{msg: "gracefully stopping server", seen: make(chan struct{})}
	b, err := New(Config{Addr: "127.0.0.1:0", Logger: slog.New(stopping), Hooks: []mochi.Hook{stall}})
	if err != nil {
		t.Fatal(err)
	}
	connect(t, b, "ending")
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	select {
	case <-stall.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the client did not start ending")
	}
	select {
	case <-stopping.seen:
		t.Error("mochi's Close started while a client was still ending")
	case <-time.After(200 * time.Millisecond):
	}
	close(stall.release)
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(DefaultCloseTimeout + time.Second):
		t.Fatal("Close did not return")
	}
	select {
	case <-stopping.seen:
	default:
		t.Error("mochi's Close never ran")
	}
}

// disconnectStall holds the first client's ending (OnDisconnect, just
// before mochi deletes it from its registry) until release is closed.
type disconnectStall struct {
	mochi.HookBase
	once    sync.Once
	entered chan struct{}
	release chan struct{}
}

func (h *disconnectStall) ID() string           { return "disconnect-stall" }
func (h *disconnectStall) Provides(b byte) bool { return b == mochi.OnDisconnect }
func (h *disconnectStall) OnDisconnect(*mochi.Client, error, bool) {
	h.once.Do(func() {
		h.entered <- struct{}{}
		<-h.release
	})
}

// logSignal closes seen when a log record with msg arrives.
type logSignal struct {
	msg  string
	once sync.Once
	seen chan struct{}
}

func (h *logSignal) Enabled(context.Context, slog.Level) bool { return true }
func (h *logSignal) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.once.Do(func() { close(h.seen) })
	}
	return nil
}
func (h *logSignal) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logSignal) WithGroup(string) slog.Handler      { return h }
