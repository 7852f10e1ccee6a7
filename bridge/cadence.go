package bridge

import (
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
// MediaPollInterval after the previous one, or now if that is past. An
// armed network whose clips go to a USB stick (usbOnly) does not count: its
// motion is found by the local-storage watcher, not in media/changed.

// canRecord reports whether anything in hs can record a motion clip into
// media/changed; an unknown account counts as yes. usbOnly (nil: none)
// names the networks that record onto USB storage instead.
func canRecord(hs *blink.Homescreen, usbOnly func(*blink.Homescreen, int64) bool) bool {
	if hs == nil {
		return true
	}
	synced := make(map[int64]bool, len(hs.SyncModules))
	for _, sm := range hs.SyncModules {
		synced[sm.NetworkID] = true
	}
	for _, n := range hs.Networks {
		if n.Armed && (usbOnly == nil || !usbOnly(hs, n.ID)) {
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

// mediaInterval is the current gap between media polls.
func (p *poller) mediaInterval() time.Duration {
	if canRecord(p.model.snapshot().hs, p.usbOnly) {
		return p.opts.MediaPollInterval
	}
	return max(p.opts.PollInterval, p.opts.MediaPollInterval)
}

// adaptMediaCadence brings the next media poll forward when the fast
// cadence applies but the poll was planned at the slow one. It leaves
// backoff and Blink's cooldown alone.
func (p *poller) adaptMediaCadence(now time.Time) {
	s := &p.s
	if s.mediaFails > 0 || s.lastMedia.IsZero() {
		return
	}
	due := s.lastMedia.Add(p.opts.MediaPollInterval)
	if !s.nextMedia.After(due.Add(p.opts.MediaPollInterval/10)) || p.mediaInterval() != p.opts.MediaPollInterval {
		return
	}
	if p.model.cooldownUntil(p.opts.Now()).After(p.opts.Now()) {
		return
	}
	s.nextMedia = due
}
