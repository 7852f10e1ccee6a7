package bridge

import (
	"math/rand/v2"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// Adaptive media cadence. Blink lists a motion clip only when something can
// record one: an armed network, or a standalone Mini or doorbell (a network
// without a sync module) with motion detection on. While something can,
// media/changed is read every MediaPollInterval; while nothing can, every
// PollInterval, because then only clips made by hand (record, saved live
// views) can appear and they need no motion latency. When something becomes
// able to record (an arm or motion-detection command, or a homescreen poll
// showing it), the fast cadence starts at once: the next media poll is due
// MediaPollInterval after the previous one, or now if that is past.

// canRecord reports whether anything in hs can record a motion clip; an
// unknown account counts as yes.
func canRecord(hs *blink.Homescreen) bool {
	if hs == nil {
		return true
	}
	synced := make(map[int64]bool, len(hs.SyncModules))
	for _, sm := range hs.SyncModules {
		synced[sm.NetworkID] = true
	}
	for _, n := range hs.Networks {
		if n.Armed {
			return true
		}
	}
	for _, d := range hs.Devices {
		if d.Enabled && !synced[d.NetworkID] {
			return true
		}
	}
	return false
}

// nextMediaPoll plans the media poll after one that ended at now. Its
// jitter is ±3 % rather than ±10 %: motion latency is the interval plus the
// jitter, and the target is the interval plus one second.
func (b *Bridge) nextMediaPoll(now time.Time, fails int, err error) (time.Time, int) {
	return nextPollBackoff(now, b.mediaInterval(), fails, err, mediaJitter, b.opts.PollBackoffBase, b.opts.PollBackoffMax)
}

func mediaJitter(d time.Duration) time.Duration {
	spread := int64(d) * 3 / 100
	if spread <= 0 {
		return d
	}
	return d + time.Duration(rand.Int64N(2*spread+1)-spread)
}

// mediaInterval is the current gap between media polls.
func (b *Bridge) mediaInterval() time.Duration {
	if canRecord(b.hsSnap.Load()) {
		return b.opts.MediaPollInterval
	}
	return max(b.opts.PollInterval, b.opts.MediaPollInterval)
}

// adaptMediaCadence brings the next media poll forward when the fast
// cadence applies but the poll was planned at the slow one. It leaves
// backoff and Blink's cooldown alone.
func (b *Bridge) adaptMediaCadence(s *schedule, now time.Time) {
	if s.mediaFails > 0 || s.lastMedia.IsZero() {
		return
	}
	due := s.lastMedia.Add(b.opts.MediaPollInterval)
	if !s.nextMedia.After(due.Add(b.opts.MediaPollInterval/10)) || b.mediaInterval() != b.opts.MediaPollInterval {
		return
	}
	b.mu.Lock()
	cooldown := b.info.cooldown
	b.mu.Unlock()
	if cooldown.After(now) {
		return
	}
	s.nextMedia = due
}
