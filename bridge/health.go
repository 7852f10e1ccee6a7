package bridge

import "time"

// Health is what a health check needs to know about the bridge.
type Health struct {
	MQTTConnected bool      // the broker connection is up right now
	Auth          AuthState // the Blink login state
	LastPoll      time.Time // the last successful homescreen poll
	CooldownUntil time.Time // end of Blink's rate-limit cooldown, zero when none
}

// Health reports the bridge's health. It is safe to call at any time, also
// before Run.
func (b *Bridge) Health() Health {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Health{
		MQTTConnected: b.pub != nil && b.pub.open(),
		Auth:          b.auth.State,
		LastPoll:      b.lastPoll,
		CooldownUntil: b.info.cooldown,
	}
}
