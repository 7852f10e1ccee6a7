package bridge

import "time"

// Health is what a health check needs to know about the bridge.
type Health struct {
	MQTTConnected bool      // the broker connection is up right now
	Auth          AuthState // the Blink login state
	LastPoll      time.Time // the last successful homescreen poll
}

// Health reports the bridge's health. It is safe to call at any time, also
// before Run.
func (b *Bridge) Health() Health {
	b.mu.Lock()
	h := Health{Auth: b.auth.State, LastPoll: b.lastPoll}
	b.mu.Unlock()
	if b.running.Load() && b.pub != nil {
		h.MQTTConnected = b.pub.open()
	}
	return h
}
