package bridge

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// tokenReloadInterval bounds how long a logged-out bridge takes to notice a
// token that `blink2mqtt login` wrote: it only reads a local file.
const tokenReloadInterval = 5 * time.Second

// refreshFloor is the least time between two polls of the same kind made
// on request: a flood of refresh requests costs Blink at most one poll of
// each kind per floor.
const refreshFloor = 15 * time.Second

// poller is the one goroutine that reads Blink's state: homescreen every
// PollInterval, media every MediaPollInterval (adaptive, see cadence.go),
// motion hold timers, backoff after failures, the pause while Blink needs a
// new login — and every poll asked for by a request (refresh, snapshot),
// so polls never overlap and all take the same path.
type poller struct {
	cloud  *cloudGate
	model  *model
	media  *mediaWatcher
	writer *stateWriter
	thumbs *thumbnails
	opts   *Options
	log    zerolog.Logger
	emit   func(Event)
	// resumed is called when a login made elsewhere (the CLI) was found.
	resumed func()
	// observers hear of every homescreen the model stored (they must not
	// block: the USB storage watcher looks at it from its own goroutine).
	observers []func()
	// usbOnly names the networks whose clips go to USB storage (nil: none).
	usbOnly func(hs *blink.Homescreen, network int64) bool

	wake chan struct{}    // recompute timers (cap 1)
	soon chan struct{}    // poll homescreen at once (cap 1)
	reqs chan pollRequest // polls asked for by requests

	// Owned by run.
	s schedule
}

// schedule is the poller's own state.
type schedule struct {
	nextHS, nextMedia, nextReload time.Time
	hsFails, mediaFails           int
	lastMedia                     time.Time // when the last media poll ended
	hsAt, mediaAt                 time.Time // last successful polls
}

// pollRequest asks the poller for fresh state: a homescreen and/or media
// poll, unless one succeeded within floor.
type pollRequest struct {
	homescreen, media bool
	floor             time.Duration
	reply             chan pollResult
}

// pollResult is what a requested poll did.
type pollResult struct {
	polledHS, polledMedia bool
	newMedia              int
	err                   error
}

func newPoller() *poller {
	return &poller{
		wake: make(chan struct{}, 1),
		soon: make(chan struct{}, 1),
		reqs: make(chan pollRequest),
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// recompute makes the poller look at its timers again (a new motion hold,
// a changed login state).
func (p *poller) recompute() { signal(p.wake) }

// pollSoon asks for a homescreen poll now (after a command, so Blink's own
// view confirms it).
func (p *poller) pollSoon() { signal(p.soon) }

// request hands r to the poller and waits for its result.
func (p *poller) request(ctx context.Context, r pollRequest) (pollResult, error) {
	r.reply = make(chan pollResult, 1)
	select {
	case p.reqs <- r:
	case <-ctx.Done():
		return pollResult{}, ctx.Err()
	}
	select {
	case res := <-r.reply:
		return res, res.err
	case <-ctx.Done():
		return pollResult{}, ctx.Err()
	}
}

// run is the polling loop; it returns when ctx ends.
func (p *poller) run(ctx context.Context) {
	now := time.Now()
	p.s = schedule{nextHS: now, nextMedia: now}
	s := &p.s
	for {
		p.adaptMediaCadence(time.Now())
		wakeAt := s.nextHS
		if s.nextMedia.Before(wakeAt) {
			wakeAt = s.nextMedia
		}
		if !p.model.authStatus().usable() {
			wakeAt = s.nextReload
		}
		if m, ok := p.model.nextMotionEnd(); ok && m.Before(wakeAt) {
			wakeAt = m
		}
		t := time.NewTimer(time.Until(wakeAt))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-p.wake:
			t.Stop()
		case <-p.soon:
			t.Stop()
			s.nextHS = time.Now()
		case r := <-p.reqs:
			t.Stop()
			r.reply <- p.serve(ctx, r)
			continue
		}
		now = time.Now()
		if p.model.expireMotion(now) {
			p.writer.syncWait(ctx)
		}
		if !p.model.authStatus().usable() {
			if !now.Before(s.nextReload) {
				p.tryReloadTokens()
				s.nextReload = now.Add(min(p.opts.PollInterval, tokenReloadInterval))
			}
			continue
		}
		if !now.Before(s.nextHS) {
			err := p.pollHomescreen(ctx)
			if ctx.Err() != nil {
				return
			}
			p.planHomescreen(err)
		}
		p.adaptMediaCadence(now) // an arm command or this homescreen may have changed it
		if !now.Before(s.nextMedia) && p.model.authStatus().usable() {
			_, err := p.pollMedia(ctx)
			if ctx.Err() != nil {
				return
			}
			p.planMedia(err)
		}
	}
}

// serve carries out a requested poll.
func (p *poller) serve(ctx context.Context, r pollRequest) pollResult {
	var res pollResult
	if !p.model.authStatus().usable() {
		res.err = blink.ErrReauthRequired
		return res
	}
	now := time.Now()
	if r.homescreen && (r.floor <= 0 || p.s.hsAt.IsZero() || now.Sub(p.s.hsAt) >= r.floor) {
		res.polledHS = true
		err := p.pollHomescreen(ctx)
		p.planHomescreen(err)
		if err != nil {
			res.err = err
			return res
		}
	}
	if r.media && (r.floor <= 0 || p.s.mediaAt.IsZero() || now.Sub(p.s.mediaAt) >= r.floor) {
		n, err := p.pollMedia(ctx)
		res.polledMedia = !errors.Is(err, errNotConnected)
		if res.polledMedia {
			p.planMedia(err)
		}
		if err != nil && !errors.Is(err, errNotConnected) {
			res.err = err
			return res
		}
		res.newMedia = n
	}
	return res
}

// planHomescreen schedules the next homescreen poll after one that ended
// with err.
func (p *poller) planHomescreen(err error) {
	s := &p.s
	now := time.Now()
	if err == nil {
		s.hsAt = now
	}
	s.nextHS, s.hsFails = nextPollBackoff(now, p.opts.PollInterval, s.hsFails, err, jitter(10), p.opts.PollBackoffBase, p.opts.PollBackoffMax)
	p.logResult("homescreen", err, s.hsFails, s.nextHS)
	if until, ok := rateLimitedUntil(err); ok && s.nextMedia.Before(until) {
		s.nextMedia = until // one cooldown for every call
	}
}

// planMedia schedules the next media poll after one that ended with err.
// errNotConnected is no failure: the next poll just comes at the interval.
func (p *poller) planMedia(err error) {
	s := &p.s
	now := time.Now()
	if errors.Is(err, errNotConnected) {
		err = nil
	} else {
		s.lastMedia = now
		if err == nil {
			s.mediaAt = now
		}
	}
	// Media jitter is ±3 %, not ±10 %: motion latency is the interval plus
	// the jitter, and the target is the interval plus one second.
	s.nextMedia, s.mediaFails = nextPollBackoff(now, p.mediaInterval(), s.mediaFails, err, jitter(3), p.opts.PollBackoffBase, p.opts.PollBackoffMax)
	p.logResult("media", err, s.mediaFails, s.nextMedia)
	if until, ok := rateLimitedUntil(err); ok && s.nextHS.Before(until) {
		s.nextHS = until
	}
}

func (p *poller) logResult(what string, err error, fails int, next time.Time) {
	if err == nil || errors.Is(err, blink.ErrReauthRequired) {
		return
	}
	// One line per failure, at warn for the first and every tenth.
	ev := p.log.Debug()
	if fails == 1 || fails%10 == 0 {
		ev = p.log.Warn()
	}
	ev.Err(err).Str("poll", what).Int("failures", fails).Time("retry_at", next).Msg("poll failed; backing off")
}

// pollHomescreen reads the account state and publishes what changed.
func (p *poller) pollHomescreen(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	started := time.Now()
	hs, err := p.cloud.Homescreen(ctx)
	p.emit(Event{Kind: EventPoll, Name: "homescreen", Err: err, Duration: time.Since(started)})
	if err != nil {
		return fmt.Errorf("poll homescreen: %w", err)
	}
	if p.model.applyHomescreen(hs, started) {
		p.writer.syncWait(ctx)
		p.thumbs.queue(hs)
		for _, f := range p.observers {
			f()
		}
	}
	return nil
}

// pollMedia reads media/changed (see mediaWatcher.poll).
func (p *poller) pollMedia(ctx context.Context) (int, error) {
	return p.media.poll(ctx)
}

// tryReloadTokens resumes polling when a login made elsewhere (the CLI)
// saved a new session.
func (p *poller) tryReloadTokens() {
	changed, err := p.cloud.ReloadTokens()
	if err != nil {
		p.log.Debug().Err(err).Msg("reload tokens")
		return
	}
	if changed && p.cloud.HasSession() {
		p.resumed()
	}
}

// nextPollBackoff returns when to poll next after a poll that ended at now
// with err, and the new count of consecutive failures. Success: the
// interval with jitter. Failure: exponential backoff from base (never
// shorter than the interval) capped at limit, with jitter; a rate limit is
// never retried before Blink's cooldown ends.
func nextPollBackoff(now time.Time, interval time.Duration, fails int, err error, jitter func(time.Duration) time.Duration, base, limit time.Duration) (time.Time, int) {
	if err == nil {
		return now.Add(jitter(interval)), 0
	}
	fails++
	d := base << min(fails-1, 10)
	d = min(d, limit)
	d = max(d, interval)
	d = jitter(d)
	if until, ok := rateLimitedUntil(err); ok && now.Add(d).Before(until) {
		d = until.Sub(now) + time.Second
	}
	return now.Add(d), fails
}

// jitter returns a function that spreads a duration by ±percent %, so many
// installs do not poll in lockstep.
func jitter(percent int64) func(time.Duration) time.Duration {
	return func(d time.Duration) time.Duration {
		spread := int64(d) * percent / 100
		if spread <= 0 {
			return d
		}
		return d + time.Duration(rand.Int64N(2*spread+1)-spread)
	}
}
