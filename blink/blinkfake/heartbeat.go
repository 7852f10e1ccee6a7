package blinkfake

import "time"

// heartbeatEvery is how often a real sync module checks in with Blink.
const heartbeatEvery = time.Minute

// lastBeat is the latest check-in of a sync module at or before now: each
// module beats once a minute at its own second (its phase, from its id).
func lastBeat(smID int64, now time.Time) time.Time {
	phase := time.Duration(smID%60) * time.Second
	if phase < 0 {
		phase = -phase
	}
	b := now.Truncate(heartbeatEvery).Add(phase)
	if b.After(now) {
		b = b.Add(-heartbeatEvery)
	}
	return b
}

// beat moves every online sync module's last_hb up to its latest check-in
// on the clock; an offline one keeps the last it had. Caller holds mu.
func (s *Server) beat(now time.Time) {
	for _, n := range s.networks {
		sm := n.SyncModule
		if sm == nil || sm.Status != "online" {
			continue
		}
		if b := lastBeat(sm.ID, now); b.After(sm.LastHeartbeat) {
			sm.LastHeartbeat = b
		}
	}
}
