package mqtttest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

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
// reconnect (after a kick, or after a clean disconnect and a restart with
// the same id) until the broker has cleaned up after the old connection:
// mochi v2.7.9 deletes the client id from its registry when the old
// connection ends, and when that runs after the new connection registered,
// the broker silently stops delivering to the new one.
type sessionHook struct {
	mochi.HookBase
	mu      sync.Mutex
	n       map[string]int
	changed chan struct{}
	kick    map[string]kickedClient
	// server is the broker the hook is registered with (for the registry).
	server func() *mochi.Server
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

// OnConnect waits (at most 2 s) until an old connection of the same client
// id is gone from the registry: a kicked one, or one that disconnected (a
// restart) and that mochi has not cleaned up yet.
func (h *sessionHook) OnConnect(cl *mochi.Client, _ packets.Packet) error {
	h.mu.Lock()
	k, ok := h.kick[cl.ID]
	delete(h.kick, cl.ID)
	h.mu.Unlock()
	if !ok && h.server != nil {
		if srv := h.server(); srv != nil {
			if cur, found := srv.Clients.Get(cl.ID); found && cur != cl {
				k, ok = kickedClient{cur, srv}, true
			}
		}
	}
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
