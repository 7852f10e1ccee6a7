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
	now := b.opts.Now()
	cooldown := b.model.cooldownUntil(now)
	if st := b.cloud.Stats(); st.CooldownUntil.After(now) && st.CooldownUntil.After(cooldown) {
		cooldown = st.CooldownUntil
	}
	return Health{
		MQTTConnected: b.conn.open(),
		Auth:          b.model.authStatus().State,
		LastPoll:      b.model.lastPollAt(),
		CooldownUntil: cooldown,
	}
}
