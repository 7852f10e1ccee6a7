package bridge

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// runFor runs the scheduler for d of fake time and stops it.
func runFor(t *testing.T, b *Bridge, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { b.runScheduler(ctx); close(done) }()
	time.Sleep(d)
	cancel()
	<-done
}

func gaps(ts []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(ts); i++ {
		out = append(out, ts[i].Sub(ts[i-1]))
	}
	return out
}

func within(d, want time.Duration, frac float64) bool {
	lo := time.Duration(float64(want) * (1 - frac))
	hi := time.Duration(float64(want) * (1 + frac))
	return d >= lo && d <= hi
}

func TestSchedulerCadence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeCloud{hs: testHomescreen(), session: true}
		b, _ := newUnitBridge(t, c, nil)
		runFor(t, b, 10*time.Minute+time.Second)
		for _, g := range gaps(c.hsCalls) {
			if !within(g, 30*time.Second, 0.101) {
				t.Errorf("homescreen gap %s, want 30s ±10%%", g)
			}
		}
		for _, g := range gaps(c.mediaCalls) {
			if !within(g, 15*time.Second, 0.101) {
				t.Errorf("media gap %s, want 15s ±10%%", g)
			}
		}
		hs, media := c.calls()
		if hs < 18 || hs > 23 || media < 37 || media > 45 {
			t.Errorf("in 10 minutes: %d homescreen and %d media calls, want about 20 and 40", hs, media)
		}
	})
}

func TestSchedulerBacksOffOnUnreachableThenRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		failUntil := 6
		c := &fakeCloud{hs: testHomescreen(), session: true, hsErr: func(n int) error {
			if n <= failUntil {
				return blink.ErrUnreachable
			}
			return nil
		}}
		b, _ := newUnitBridge(t, c, func(o *Options) { o.MediaPollInterval = time.Hour })
		runFor(t, b, 40*time.Minute)
		g := gaps(c.hsCalls)
		// Failures 1..6: 30s, 60s, 120s, 240s, 480s, 900s (cap), then the interval.
		want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 30 * time.Second, 30 * time.Second}
		if len(g) < len(want) {
			t.Fatalf("only %d homescreen calls", len(c.hsCalls))
		}
		for i, w := range want {
			if !within(g[i], w, 0.101) {
				t.Errorf("gap %d = %s, want %s ±10%%", i, g[i], w)
			}
		}
	})
}

func TestSchedulerRespectsRateLimitCooldown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		until := start.Add(20 * time.Minute)
		c := &fakeCloud{hs: testHomescreen(), session: true, hsErr: func(n int) error {
			if n == 2 {
				return &blink.RateLimitError{Op: "homescreen", RetryAfter: 20 * time.Minute, Until: until}
			}
			return nil
		}}
		b, p := newUnitBridge(t, c, nil)
		runFor(t, b, 25*time.Minute)
		if len(c.hsCalls) < 3 {
			t.Fatalf("%d homescreen calls", len(c.hsCalls))
		}
		if c.hsCalls[2].Before(until) {
			t.Errorf("polled again at +%s, before the cooldown ended at +20m", c.hsCalls[2].Sub(start))
		}
		for _, m := range c.mediaCalls {
			if m.After(c.hsCalls[1]) && m.Before(until) {
				t.Errorf("media polled at +%s during the cooldown", m.Sub(start))
			}
		}
		if got, _ := p.last(b.topics.BridgeEntity(discovery.BridgeCooldown)); got == discovery.StateNone || got == "" {
			// The cooldown shows while it runs; afterwards it may be None again.
			if h := p.history(b.topics.BridgeEntity(discovery.BridgeCooldown)); len(h) < 2 {
				t.Errorf("cooldown never published: %v", h)
			}
		}
	})
}

func TestSchedulerReauthStopsPollingAndResumesOnNewLogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeCloud{hs: testHomescreen(), session: true, hsErr: func(n int) error {
			if n == 2 {
				return blink.ErrReauthRequired
			}
			return nil
		}}
		b, p := newUnitBridge(t, c, nil)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { b.runScheduler(ctx); close(done) }()
		time.Sleep(34 * time.Second) // second poll fails
		synctest.Wait()
		if s := b.Auth().State; s != AuthReauthRequired {
			t.Fatalf("auth state %q, want reauth_required", s)
		}
		hs, media := c.calls()
		time.Sleep(time.Hour)
		synctest.Wait()
		if h2, m2 := c.calls(); h2 != hs || m2 != media {
			t.Errorf("polled while reauth_required: homescreen %d→%d, media %d→%d", hs, h2, media, m2)
		}
		if a, _ := p.last(b.topics.DeviceAvailability(4321, 555)); a != offline {
			t.Errorf("camera availability %q while reauth_required, want offline", a)
		}
		if a, _ := p.last(b.topics.BridgeAuth()); a != `{"state":"reauth_required","detail":"`+reauthDetail+`"}` {
			t.Errorf("bridge/auth = %s", a)
		}
		// The CLI saved a new login: polling resumes within one interval.
		c.mu.Lock()
		c.reload = true
		c.mu.Unlock()
		time.Sleep(34 * time.Second)
		synctest.Wait()
		if h3, _ := c.calls(); h3 <= hs {
			t.Errorf("no homescreen poll after a new login")
		}
		if a, _ := p.last(b.topics.DeviceAvailability(4321, 555)); a != online {
			t.Errorf("camera availability %q after the new login, want online", a)
		}
		cancel()
		<-done
	})
}

func TestMotionHoldTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeCloud{hs: testHomescreen(), session: true}
		b, p := newUnitBridge(t, c, func(o *Options) { o.HoldTime = 30 * time.Second; o.MediaPollInterval = 15 * time.Second })
		motion := b.topics.DeviceEntity(4321, 555, discovery.EntityMotion)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { b.runScheduler(ctx); close(done) }()
		synctest.Wait()
		if got, _ := p.last(motion); got != discovery.Off {
			t.Fatalf("motion = %q at start, want OFF", got)
		}
		clip := func(id int64) blink.Media {
			return blink.Media{ID: id, CreatedAt: time.Now().Add(-5 * time.Second), DeviceID: 555, NetworkID: 4321, Source: "pir", Clip: "/clip.mp4"}
		}
		time.Sleep(time.Minute)
		c.mu.Lock()
		c.media = []blink.Media{clip(1)}
		c.mu.Unlock()
		for range 20 { // the next media poll, within 16.5 s, sees the clip
			if got, _ := p.last(motion); got == discovery.On {
				break
			}
			time.Sleep(time.Second)
		}
		if got, _ := p.last(motion); got != discovery.On {
			t.Fatalf("motion = %q after a new clip, want ON", got)
		}
		h := p.history(motion)
		on := h[len(h)-1].at
		// A second clip 10 s later is seen within 16.5 s, inside the hold:
		// it extends the hold to 30 s after that.
		time.Sleep(time.Until(on.Add(10 * time.Second)))
		c.mu.Lock()
		c.media = append(c.media, clip(2))
		c.mu.Unlock()
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		h = p.history(motion)
		last := h[len(h)-1]
		if last.payload != discovery.Off {
			t.Fatalf("motion = %q after the hold, want OFF", last.payload)
		}
		if held := last.at.Sub(on); held < 40*time.Second || held > 65*time.Second {
			t.Errorf("motion held %s, want ~30s past the second clip (~50s); history %v; media polls %v", held, h, c.mediaCalls)
		}
		if n := len(p.history(b.topics.Events())); n != 2 {
			t.Errorf("%d events, want 2", n)
		}
		cancel()
		<-done
	})
}

func TestNextPoll(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	noJitter := func(d time.Duration) time.Duration { return d }
	tests := []struct {
		name      string
		interval  time.Duration
		fails     int
		err       error
		want      time.Duration
		wantFails int
	}{
		{"success", 30 * time.Second, 3, nil, 30 * time.Second, 0},
		{"first failure", 30 * time.Second, 0, blink.ErrUnreachable, 30 * time.Second, 1},
		{"third failure", 30 * time.Second, 2, blink.ErrUnreachable, 2 * time.Minute, 3},
		{"capped", 30 * time.Second, 20, blink.ErrUnreachable, 15 * time.Minute, 21},
		{"never under the interval", 5 * time.Minute, 0, blink.ErrUnreachable, 5 * time.Minute, 1},
		{"rate limit waits for Until", 30 * time.Second, 0, &blink.RateLimitError{Until: now.Add(time.Hour)}, time.Hour + time.Second, 1},
		{"rate limit already over", 30 * time.Second, 0, &blink.RateLimitError{Until: now.Add(time.Second)}, 30 * time.Second, 1},
		{"wrapped", 30 * time.Second, 1, errors.Join(errors.New("poll"), blink.ErrUnreachable), time.Minute, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next, fails := nextPollBackoff(now, tc.interval, tc.fails, tc.err, noJitter, DefaultPollBackoffBase, DefaultPollBackoffMax)
			if next.Sub(now) != tc.want || fails != tc.wantFails {
				t.Errorf("nextPoll = +%s, %d failures; want +%s, %d", next.Sub(now), fails, tc.want, tc.wantFails)
			}
		})
	}
	for range 1000 {
		if d := jitter(10)(30 * time.Second); d < 27*time.Second || d > 33*time.Second {
			t.Fatalf("jitter(30s) = %s, want within ±10%%", d)
		}
	}
}
