package bridge

import (
	"context"
	"errors"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// sourceKind is what one settings read fetches.
type sourceKind int

const (
	srcDevice        sourceKind = iota // a device's config
	srcPrograms                        // a network's schedules
	srcNotifications                   // the account's notification flags
)

// sourceKey names one settings read.
type sourceKey struct {
	kind sourceKind
	dev  devKey // srcDevice
	net  int64  // srcPrograms
}

// readPlan is when a source is read next.
type readPlan struct {
	due   time.Time
	fails int
	// force reads even when a change just read the source (the first read
	// and a rediscover's).
	force bool
}

// sources lists what to read for the latest homescreen, in read order,
// and how many devices there are; nil before the first homescreen.
func (s *settingsPart) sources() ([]sourceKey, int) {
	hs := s.model.snapshot().hs
	if hs == nil {
		return nil, 0
	}
	out := make([]sourceKey, 0, len(hs.Devices)+len(hs.Networks)+1)
	devices := 0
	for _, d := range hs.Devices {
		if d.Family.Valid() {
			out = append(out, sourceKey{kind: srcDevice, dev: discovery.KeyOf(d)})
			devices++
		}
	}
	for _, n := range hs.Networks {
		out = append(out, sourceKey{kind: srcPrograms, net: n.ID})
	}
	return append(out, sourceKey{kind: srcNotifications}), devices
}

// period is the time between two scheduled reads of one source: the
// interval, stretched so that all sources together cost at most one
// request per device per interval.
func (s *settingsPart) period(sources, devices int) time.Duration {
	devices = max(devices, 1)
	if sources <= devices {
		return s.interval
	}
	return s.interval * time.Duration(sources) / time.Duration(devices)
}

// lastRead is when the read behind the held value of src started.
func (s *settingsPart) lastRead(src sourceKey) time.Time {
	st := s.state()
	switch src.kind {
	case srcDevice:
		return st.devices[src.dev].started
	case srcPrograms:
		return st.programs[src.net].started
	}
	if st.notify != nil {
		return st.notify.started
	}
	return time.Time{}
}

// run is the settings part's goroutine: it reads each source when due,
// spreads new sources (and a rediscover's re-reads) spacing apart, and
// writes the state file when the state changed.
func (s *settingsPart) run(ctx context.Context) {
	if s.cloud == nil {
		close(s.firstRound)
		<-ctx.Done()
		return
	}
	defer s.saveFile()
	plans := map[sourceKey]*readPlan{}
	var first map[sourceKey]bool // sources of the first round still to read
	var slot, lastAll time.Time  // last spread slot given out; last re-read of everything
	started := false
	spread := func(now time.Time) time.Time {
		slot = later(slot.Add(s.spacing), now)
		return slot
	}
	for {
		now := time.Now()
		srcs, devices := s.sources()
		if srcs != nil {
			present := make(map[sourceKey]bool, len(srcs))
			keep, nets := map[devKey]bool{}, map[int64]bool{}
			if !started {
				started, lastAll, slot = true, now, now.Add(-s.spacing)
				first = map[sourceKey]bool{}
			}
			for _, src := range srcs {
				present[src] = true
				switch src.kind {
				case srcDevice:
					keep[src.dev] = true
				case srcPrograms:
					nets[src.net] = true
				}
				if _, ok := plans[src]; !ok {
					plans[src] = &readPlan{due: spread(now), force: true}
					if first != nil {
						first[src] = true
					}
				}
			}
			for k := range plans {
				if !present[k] {
					delete(plans, k)
					delete(first, k)
				}
			}
			s.forget(keep, nets)
			if s.again.Swap(false) {
				if now.Sub(lastAll) >= s.floor {
					lastAll, slot = now, now.Add(-s.spacing)
					for _, src := range srcs {
						p := plans[src]
						p.due, p.force = spread(now), true
					}
					s.log.Info().Int("reads", len(srcs)).Msg("rediscover: reading settings, schedules and notification flags again")
				} else {
					s.log.Debug().Time("next_allowed", lastAll.Add(s.floor)).Msg("rediscover: settings were read again recently; not again yet")
				}
			}
		}
		s.saveFile()
		if first != nil && len(first) == 0 {
			s.writer.syncWait(ctx)
			close(s.firstRound)
			first = nil
		}

		var next sourceKey
		var due time.Time
		for k, p := range plans {
			if due.IsZero() || p.due.Before(due) {
				next, due = k, p.due
			}
		}
		if !s.wait(ctx, due) {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		p := plans[next]
		now = time.Now()
		period := s.period(len(srcs), devices)
		switch {
		case !s.model.authStatus().usable():
			p.due = now.Add(settingsAuthWait)
			continue
		case !p.force && now.Before(s.lastRead(next).Add(period)):
			p.due = s.lastRead(next).Add(period) // a change read it meanwhile
			continue
		}
		err := s.readSource(ctx, next)
		if ctx.Err() != nil {
			return
		}
		p.force = false
		delete(first, next)
		if err == nil {
			p.fails, p.due = 0, later(s.lastRead(next), now).Add(period)
			continue
		}
		p.fails++
		p.due = time.Now().Add(min(period, settingsRetryBase<<min(p.fails-1, 8)))
		ev := s.log.Debug()
		if p.fails == 1 && !errors.Is(err, blink.ErrReauthRequired) {
			ev = s.log.Warn()
		}
		ev.Err(err).Int("failures", p.fails).Time("retry_at", p.due).Msg("settings read failed; trying again later")
	}
}

// wait waits until due (forever when zero); false when woken by a kick or
// ctx first.
func (s *settingsPart) wait(ctx context.Context, due time.Time) bool {
	var timer <-chan time.Time
	if !due.IsZero() {
		t := time.NewTimer(time.Until(due))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-s.kick:
		return false
	case <-timer:
		return true
	}
}

// readSource reads one source (bounded in time like a poll).
func (s *settingsPart) readSource(ctx context.Context, src sourceKey) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var err error
	switch src.kind {
	case srcDevice:
		d, ok := s.model.snapshot().device(src.dev)
		if !ok {
			return nil // gone since: the next round drops it
		}
		_, err = s.readDevice(ctx, d)
	case srcPrograms:
		_, err = s.readPrograms(ctx, src.net)
	default:
		_, err = s.readNotifications(ctx)
	}
	return err
}
