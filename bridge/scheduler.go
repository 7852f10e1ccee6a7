package bridge

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// tokenReloadInterval bounds how long a logged-out bridge takes to notice a
// token that `blink2mqtt login` wrote: it only reads a local file.
const tokenReloadInterval = 5 * time.Second

// refreshFloor is the least time between two polls of the same kind made
// on request (refresh): see doRefresh.
const refreshFloor = 15 * time.Second

// pollTimes records when the last homescreen and media polls succeeded,
// whoever made them (scheduler, refresh, commands).
type pollTimes struct {
	mu        sync.Mutex
	hs, media time.Time
}

func (p *pollTimes) mark(hs bool, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if hs {
		p.hs = at
	} else {
		p.media = at
	}
}

// fresh reports which kinds were polled within floor of now.
func (p *pollTimes) fresh(now time.Time, floor time.Duration) (hs, media bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.hs.IsZero() && now.Sub(p.hs) < floor, !p.media.IsZero() && now.Sub(p.media) < floor
}

// schedule is the scheduler's own state; only runScheduler touches it.
type schedule struct {
	nextHS, nextMedia, nextReload time.Time
	hsFails, mediaFails           int
	lastMedia                     time.Time // when the last media poll ended
}

// runScheduler is the one polling loop: homescreen every PollInterval,
// media every MediaPollInterval, motion hold timers, backoff, and the pause
// while Blink needs a new login.
func (b *Bridge) runScheduler(ctx context.Context) {
	now := time.Now()
	s := schedule{nextHS: now, nextMedia: now}
	for {
		b.adaptMediaCadence(&s, time.Now())
		wakeAt := s.nextHS
		if s.nextMedia.Before(wakeAt) {
			wakeAt = s.nextMedia
		}
		if !b.Auth().usable() {
			wakeAt = s.nextReload
		}
		if m, ok := b.nextMotionEnd(); ok && m.Before(wakeAt) {
			wakeAt = m
		}
		t := time.NewTimer(time.Until(wakeAt))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-b.wake:
			t.Stop()
		case <-b.pollNow:
			t.Stop()
			s.nextHS = time.Now()
		}
		now = time.Now()
		b.expireMotion(now)
		if !b.Auth().usable() {
			if !now.Before(s.nextReload) {
				b.tryReloadTokens()
				s.nextReload = now.Add(min(b.opts.PollInterval, tokenReloadInterval))
			}
			continue
		}
		if !now.Before(s.nextHS) {
			err := b.pollHomescreen(ctx)
			if ctx.Err() != nil {
				return
			}
			s.nextHS, s.hsFails = b.nextPoll(time.Now(), b.opts.PollInterval, s.hsFails, err)
			b.logPollResult("homescreen", err, s.hsFails, s.nextHS)
			if until, ok := rateLimitedUntil(err); ok && s.nextMedia.Before(until) {
				s.nextMedia = until // one cooldown for every call
			}
		}
		b.adaptMediaCadence(&s, now) // an arm command or this homescreen may have changed it
		if !now.Before(s.nextMedia) && b.Auth().usable() {
			_, err := b.pollMedia(ctx)
			if ctx.Err() != nil {
				return
			}
			s.lastMedia = time.Now()
			s.nextMedia, s.mediaFails = b.nextMediaPoll(s.lastMedia, s.mediaFails, err)
			b.logPollResult("media", err, s.mediaFails, s.nextMedia)
			if until, ok := rateLimitedUntil(err); ok && s.nextHS.Before(until) {
				s.nextHS = until
			}
		}
	}
}

func (b *Bridge) logPollResult(what string, err error, fails int, next time.Time) {
	if err == nil || errors.Is(err, blink.ErrReauthRequired) {
		return
	}
	// One line per failure, at warn for the first and every tenth.
	ev := b.logPoll.Debug()
	if fails == 1 || fails%10 == 0 {
		ev = b.logPoll.Warn()
	}
	ev.Err(err).Str("poll", what).Int("failures", fails).Time("retry_at", next).Msg("poll failed; backing off")
}

// nextPoll is nextPollBackoff with the bridge's backoff options.
func (b *Bridge) nextPoll(now time.Time, interval time.Duration, fails int, err error) (time.Time, int) {
	return nextPollBackoff(now, interval, fails, err, jitter, b.opts.PollBackoffBase, b.opts.PollBackoffMax)
}

// nextPoll is nextPollBackoff with the default backoff.
func nextPoll(now time.Time, interval time.Duration, fails int, err error, jitter func(time.Duration) time.Duration) (time.Time, int) {
	return nextPollBackoff(now, interval, fails, err, jitter, DefaultPollBackoffBase, DefaultPollBackoffMax)
}

// nextPollBackoff returns when to poll next after a poll that ended at now
// with err, and the new count of consecutive failures. Success: the
// interval with ±10 % jitter. Failure: exponential backoff from base (never
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

// jitter spreads d by ±10 % so many installs do not poll in lockstep.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	spread := int64(d) / 10
	if spread == 0 {
		return d
	}
	return d + time.Duration(rand.Int64N(2*spread+1)-spread)
}

func rateLimitedUntil(err error) (time.Time, bool) {
	var rl *blink.RateLimitError
	if errors.As(err, &rl) {
		return rl.Until, !rl.Until.IsZero()
	}
	return time.Time{}, false
}

// pollHomescreen reads the account state and publishes what changed. It is
// safe to call from any goroutine; an answer older than the one applied is
// dropped.
func (b *Bridge) pollHomescreen(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	started := time.Now()
	hs, err := b.cloud.Homescreen(ctx)
	b.emit(Event{Kind: EventPoll, Name: "homescreen", Err: err, Duration: time.Since(started)})
	if err != nil {
		b.noteAuthError(err)
		b.noteRateLimit(err)
		return fmt.Errorf("poll homescreen: %w", err)
	}
	b.polls.mark(true, time.Now())
	b.applyHomescreen(ctx, hs, started)
	return nil
}

func (b *Bridge) applyHomescreen(ctx context.Context, hs *blink.Homescreen, started time.Time) {
	b.mu.Lock()
	if started.Before(b.hsStarted) {
		b.mu.Unlock()
		return
	}
	b.keepCommandResultsLocked(hs, started)
	b.setHSLocked(hs)
	adoptLegacyKeys(b.lastEvent, hs)
	adoptLegacyKeys(b.thumbs, hs)
	b.hsStarted, b.lastPoll = started, b.opts.Now()
	if !b.info.cooldown.IsZero() && !b.opts.Now().Before(b.info.cooldown) {
		b.info.cooldown = time.Time{}
	}
	b.mu.Unlock()
	rem := b.syncDiscovery(ctx, false)
	b.sync()
	b.finishDiscovery(rem)
	b.queueThumbnails(hs)
}

// keepCommandResultsLocked keeps the result of commands that completed
// after hs was requested: hs cannot know about them yet.
func (b *Bridge) keepCommandResultsLocked(hs *blink.Homescreen, started time.Time) {
	prev := b.hs
	for id, at := range b.netCmdAt {
		if !at.After(started) {
			delete(b.netCmdAt, id)
			continue
		}
		if prev == nil {
			continue
		}
		for _, p := range prev.Networks {
			if p.ID != id {
				continue
			}
			for i := range hs.Networks {
				if hs.Networks[i].ID == id {
					hs.Networks[i].Armed = p.Armed
				}
			}
		}
	}
	for k, at := range b.devCmdAt {
		if !at.After(started) {
			delete(b.devCmdAt, k)
			continue
		}
		if prev == nil {
			continue
		}
		for _, p := range prev.Devices {
			if discovery.KeyOf(p) != k {
				continue
			}
			for i := range hs.Devices {
				if discovery.KeyOf(hs.Devices[i]) == k {
					hs.Devices[i].Enabled = p.Enabled
				}
			}
		}
	}
}

// adoptLegacyKeys gives keys loaded from state files written before
// families were part of a key (Family "") to the device of hs that has that
// network and id, when exactly one has; a later key of that device wins.
func adoptLegacyKeys[V any](m map[devKey]V, hs *blink.Homescreen) {
	for k, v := range m {
		if k.Family != "" {
			continue
		}
		var found []devKey
		for _, d := range hs.Devices {
			if d.NetworkID == k.Network && d.ID == k.ID {
				found = append(found, discovery.KeyOf(d))
			}
		}
		if len(found) != 1 {
			continue // unknown, or ambiguous: left alone
		}
		delete(m, k)
		if _, ok := m[found[0]]; !ok {
			m[found[0]] = v
		}
	}
}

// reauthDetail is bridge/auth's detail when the saved login stopped working.
const reauthDetail = "Blink refused the saved login: run `blink2mqtt login`, or press Log in again (auth/login) and enter the code Blink sends"

// noteAuthError pauses polling when Blink needs a new login.
func (b *Bridge) noteAuthError(err error) {
	if !errors.Is(err, blink.ErrReauthRequired) {
		return
	}
	if b.Auth().State != AuthOK {
		return
	}
	b.log.Error().Msg("Blink refused the saved login; polling paused. Log in again with `blink2mqtt login` (or the auth/login request)")
	b.SetAuthState(AuthReauthRequired, reauthDetail)
}

func (b *Bridge) noteRateLimit(err error) {
	if until, ok := rateLimitedUntil(err); ok {
		b.mu.Lock()
		if until.After(b.info.cooldown) {
			b.info.cooldown = until
		}
		b.syncLocked()
		b.mu.Unlock()
	}
}

// tryReloadTokens resumes polling when a login made elsewhere (the CLI)
// saved a new session.
func (b *Bridge) tryReloadTokens() {
	r, ok := b.cloud.(tokenReloader)
	if !ok {
		return
	}
	changed, err := r.ReloadTokens()
	if err != nil {
		b.logPoll.Debug().Err(err).Msg("reload tokens")
		return
	}
	if changed && b.cloud.HasSession() {
		b.log.Info().Msg("found a new Blink login; resuming polling")
		b.SetAuthState(AuthOK, "")
	}
}

func (b *Bridge) nextMotionEnd() (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var first time.Time
	for _, t := range b.motionUntil {
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	return first, !first.IsZero()
}

// expireMotion turns motion OFF where the hold time is over.
func (b *Bridge) expireMotion(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for k, t := range b.motionUntil {
		if !now.Before(t) {
			delete(b.motionUntil, k)
			n++
		}
	}
	if n > 0 {
		b.syncLocked()
	}
}
