package bridge

import (
	"sync"
	"time"
)

// recentEvents is how many published events Status keeps.
const recentEvents = 20

// RecentEvent is one message that went out on <root>/events, as a status
// page shows it.
type RecentEvent struct {
	Type       string // motion, snapshot, liveview, …
	Storage    string // where Blink keeps the clip: "cloud", or "local" (a USB stick)
	NetworkID  int64
	DeviceID   int64
	DeviceName string
	// CreatedAt is Blink's time of the clip; zero when Blink gave none.
	CreatedAt time.Time
	// PublishedAt is when the event was published.
	PublishedAt time.Time
}

// eventLog keeps the last events published on <root>/events: a bounded ring
// under its own lock, written by whoever publishes an event (the poller and
// the clip worker) and read by Status.
type eventLog struct {
	mu   sync.Mutex
	ring [recentEvents]RecentEvent
	next int // where the next event goes
	n    int // how many are held
}

// add records one published event, dropping the oldest when full.
func (l *eventLog) add(e RecentEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ring[l.next] = e
	l.next = (l.next + 1) % len(l.ring)
	l.n = min(l.n+1, len(l.ring))
}

// recent returns the events held, newest first (a copy).
func (l *eventLog) recent() []RecentEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]RecentEvent, 0, l.n)
	for i := 1; i <= l.n; i++ {
		out = append(out, l.ring[(l.next-i+len(l.ring))%len(l.ring)])
	}
	return out
}

// recentEventOf is the record of ev published at now.
func recentEventOf(ev eventPayload, now time.Time) RecentEvent {
	r := RecentEvent{Type: ev.Type, Storage: ev.Storage, NetworkID: ev.NetworkID, DeviceID: ev.DeviceID, DeviceName: ev.DeviceName, PublishedAt: now}
	if ev.CreatedAt != nil {
		r.CreatedAt = *ev.CreatedAt
	}
	return r
}
