package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// liveFake is a liveCloud that records calls; its streams are pipes that
// stay open until the session closes them (or the test ends one).
type liveFake struct {
	mu       sync.Mutex
	calls    []string // "start 555", "extend", "end", "alive"
	startErr error
	alive    bool
	lv       blink.Liveview
	writers  []*io.PipeWriter
}

func (f *liveFake) note(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *liveFake) count(s string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == s {
			n++
		}
	}
	return n
}

func (f *liveFake) StartLiveview(_ context.Context, d blink.DeviceRef) (*blink.Liveview, error) {
	f.note("start")
	if f.startErr != nil {
		return nil, f.startErr
	}
	lv := f.lv
	lv.NetworkID, lv.Device = d.NetworkID, d
	return &lv, nil
}

func (f *liveFake) OpenLiveview(context.Context, *blink.Liveview, string) (io.ReadCloser, error) {
	r, w := io.Pipe()
	f.mu.Lock()
	f.writers = append(f.writers, w)
	f.mu.Unlock()
	return r, nil
}

func (f *liveFake) LiveviewAlive(context.Context, int64, int64) (bool, error) {
	f.note("alive")
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.alive, nil
}

func (f *liveFake) ExtendLiveview(context.Context, int64, int64) error {
	f.note("extend")
	return nil
}

func (f *liveFake) EndLiveview(context.Context, int64, int64) error {
	f.note("end")
	return nil
}

// newTestLiveviews wires the part to fakes: the homescreen of
// testHomescreen, commands run at once, a relay that is ready at once and
// reads until the stream ends.
// liveEvents collects the part's events (bytes reports left out).
type liveEvents struct {
	mu     sync.Mutex
	events []Event
}

func (e *liveEvents) add(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ev.Kind != EventLiveBytes {
		e.events = append(e.events, ev)
	}
}

func (e *liveEvents) all() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.events...)
}

func newTestLiveviews(t *testing.T, f *liveFake, idle time.Duration) (*liveviews, *liveEvents, func()) {
	t.Helper()
	m := newModel(time.Now, AuthStatus{State: AuthOK}, nil)
	m.applyHomescreen(testHomescreen(), time.Now())
	events := &liveEvents{}
	o := &Options{LiveviewIdle: idle}
	l := &liveviews{
		opts: o, cloud: f, note: func(err error) error { return err }, model: m, log: zerolog.Nop(), emit: events.add,
		submit: func(ctx context.Context, _ int64, _ string, job func(context.Context) error) error { return job(ctx) },
		relay: func(src io.Reader, ready func(*gortsplib.ServerStream), _ func() bool) error {
			ready(nil)
			_, err := io.Copy(io.Discard, src)
			return err
		},
	}
	l.server = &rtspServer{live: l, log: zerolog.Nop()}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { l.run(ctx); close(done) }()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	synctest.Wait() // run has taken its context
	return l, events, stop
}

var (
	camKey  = devKey{Network: 4321, Family: blink.FamilyCamera, ID: 555}
	bellKey = devKey{Network: 4321, Family: blink.FamilyDoorbell, ID: 999}
	owlKey  = devKey{Network: 4400, Family: blink.FamilyOwl, ID: 888}
)

func blinkLV() blink.Liveview {
	return blink.Liveview{CommandID: 77, Duration: 300 * time.Second, ContinueInterval: 300 * time.Second, PollingInterval: 15 * time.Second}
}

// TestLiveSessionKeeps: while watched, the session is polled every
// polling interval and extended 30 s before each continue interval; it
// ends LiveviewIdle after the last reader left, and Blink is told.
func TestLiveSessionKeeps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &liveFake{alive: true, lv: blinkLV()}
		l, events, _ := newTestLiveviews(t, f, 15*time.Second)
		s, err := l.acquire(t.Context(), camKey)
		if err != nil {
			t.Fatal(err)
		}
		l.addReader(s)
		time.Sleep(4*time.Minute + 31*time.Second)
		synctest.Wait()
		if n := f.count("extend"); n != 1 {
			t.Errorf("at 4:31 watched: %d extensions, want 1 (30 s before the 5-minute continue interval)", n)
		}
		time.Sleep(5*time.Minute + 30*time.Second)
		synctest.Wait()
		if n, p := f.count("extend"), f.count("alive"); n != 2 || p != 40 {
			t.Errorf("after 10 minutes watched: %d extensions (want 2, at 4:30 and 9:00), %d polls (want 40)", n, p)
		}
		l.removeReader(s)
		left := time.Now()
		<-s.finished
		if took := time.Since(left); took != 15*time.Second {
			t.Errorf("ended %s after the last reader left, want LIVEVIEW_IDLE (15s)", took)
		}
		if f.count("end") != 1 || f.count("start") != 1 {
			t.Errorf("calls %v: want one start and one end", f.calls)
		}
		if len(events.all()) != 2 || events.all()[0].Kind != EventLiveStarted || events.all()[1].Kind != EventLiveEnded || events.all()[1].Name != LiveEndIdle {
			t.Errorf("events %+v, want started then ended (idle)", events.all())
		}
	})
}

// TestLiveSessionIdleTimer: a session nobody plays ends LiveviewIdle
// after it started; a reader within that time keeps it, and the timer
// starts again when the reader leaves. Extensions stop while unwatched.
func TestLiveSessionIdleTimer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &liveFake{alive: true, lv: blinkLV()}
		l, _, _ := newTestLiveviews(t, f, 15*time.Second)
		s, err := l.acquire(t.Context(), camKey)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		l.addReader(s) // within the idle time: kept
		time.Sleep(time.Minute)
		l.removeReader(s)
		time.Sleep(14 * time.Second)
		synctest.Wait()
		select {
		case <-s.finished:
			t.Fatal("ended before LIVEVIEW_IDLE passed")
		default:
		}
		time.Sleep(time.Second)
		synctest.Wait()
		<-s.finished
		if f.count("extend") != 0 {
			t.Errorf("extended %d times; nobody watched long enough", f.count("extend"))
		}

		// unwatched from the start
		start := time.Now()
		s, err = l.acquire(t.Context(), camKey)
		if err != nil {
			t.Fatal(err)
		}
		<-s.finished
		if took := time.Since(start); took != 15*time.Second {
			t.Errorf("an unplayed session lasted %s, want 15s", took)
		}
		if f.count("start") != 2 || f.count("end") != 2 {
			t.Errorf("calls %v", f.calls)
		}
	})
}

// TestLiveSessionSharing: readers of one device share one start; a second
// device on the network is refused at once; another network streams at the
// same time; a device whose session is ending gets a new one after it.
func TestLiveSessionSharing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &liveFake{alive: true, lv: blinkLV()}
		l, events, _ := newTestLiveviews(t, f, 15*time.Second)
		var wg sync.WaitGroup
		got := make([]*liveSession, 3)
		for i := range got {
			wg.Go(func() { got[i], _ = l.acquire(t.Context(), camKey) })
		}
		wg.Wait()
		if got[0] == nil || got[0] != got[1] || got[1] != got[2] || f.count("start") != 1 {
			t.Fatalf("three readers got %p %p %p with %d starts; want one shared session", got[0], got[1], got[2], f.count("start"))
		}
		l.addReader(got[0])
		_, err := l.acquire(t.Context(), bellKey)
		var le *liveError
		if !errors.As(err, &le) || le.reason != LiveFailBusy || le.status != base.StatusServiceUnavailable {
			t.Errorf("doorbell on the busy network: %v", err)
		}
		if _, err := l.acquire(t.Context(), owlKey); err != nil || f.count("start") != 2 {
			t.Errorf("Mini on its own network: %v (%d starts)", err, f.count("start"))
		}

		// Blink ends the camera's session: the next reader starts anew
		f.mu.Lock()
		f.writers[0].Close()
		f.mu.Unlock()
		<-got[0].finished
		s, err := l.acquire(t.Context(), camKey)
		if err != nil || s == got[0] || f.count("start") != 3 {
			t.Errorf("after Blink ended it: %v, same session %v, %d starts", err, s == got[0], f.count("start"))
		}
		var ended []string
		for _, e := range events.all() {
			if e.Kind == EventLiveEnded {
				ended = append(ended, e.Name)
			}
		}
		if len(ended) != 1 || ended[0] != LiveEndBlink {
			t.Errorf("ended events %v, want one blink_ended", ended)
		}
	})
}

// TestLiveSessionBlinkEnds: a poll that finds the live view over ends the
// session; Blink is still told "done", as Blink's apps always do.
func TestLiveSessionBlinkEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &liveFake{alive: true, lv: blinkLV()}
		l, events, _ := newTestLiveviews(t, f, time.Hour)
		s, err := l.acquire(t.Context(), camKey)
		if err != nil {
			t.Fatal(err)
		}
		l.addReader(s)
		time.Sleep(time.Minute + time.Second)
		f.mu.Lock()
		f.alive = false
		f.mu.Unlock()
		<-s.finished
		if f.count("alive") != 5 || f.count("end") != 1 {
			t.Errorf("calls %v: want the 5th poll to find it over, then one end", f.calls)
		}
		if last := events.all()[len(events.all())-1]; last.Name != LiveEndBlink {
			t.Errorf("ended with %q, want blink_ended", last.Name)
		}
	})
}

// TestLiveSessionRefusals: what the bridge knows refuses without calling
// Blink; what Blink answers becomes the RTSP status and reason.
func TestLiveSessionRefusals(t *testing.T) {
	tests := []struct {
		name     string
		prepare  func(*liveviews)
		startErr error
		reason   string
		status   base.StatusCode
		starts   int
	}{
		{name: "offline device", reason: LiveFailOffline, status: base.StatusServiceUnavailable,
			prepare: func(l *liveviews) {
				hs := testHomescreen()
				hs.Devices[0].Status = "offline"
				l.model.applyHomescreen(hs, time.Now())
			}},
		{name: "login lost", reason: LiveFailAuth, status: base.StatusServiceUnavailable,
			prepare: func(l *liveviews) { l.model.setAuth(AuthReauthRequired, "x") }},
		{name: "Blink busy", startErr: blink.ErrBusy, reason: LiveFailBusy, status: base.StatusServiceUnavailable, starts: 1},
		{name: "older camera", startErr: blink.ErrLiveviewUnsupported, reason: LiveFailUnsupported, status: base.StatusNotImplemented, starts: 1},
		{name: "rate limited", startErr: &blink.RateLimitError{RetryAfter: time.Minute}, reason: LiveFailRateLimited, status: base.StatusServiceUnavailable, starts: 1},
		{name: "other Blink error", startErr: blink.ErrUnreachable, reason: LiveFailBlink, status: base.StatusBadGateway, starts: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &liveFake{alive: true, lv: blinkLV(), startErr: tc.startErr}
				l, events, _ := newTestLiveviews(t, f, time.Hour)
				if tc.prepare != nil {
					tc.prepare(l)
				}
				_, err := l.acquire(t.Context(), camKey)
				var le *liveError
				if !errors.As(err, &le) || le.reason != tc.reason || l.classify(err).status != tc.status {
					t.Fatalf("acquire = %v, want reason %s and status %d", err, tc.reason, tc.status)
				}
				if f.count("start") != tc.starts || f.count("end") != 0 {
					t.Errorf("calls %v", f.calls)
				}
				if len(events.all()) != 1 || events.all()[0].Kind != EventLiveFailed || events.all()[0].Name != tc.reason {
					t.Errorf("events %+v", events.all())
				}
			})
		})
	}
}

// TestLiveSessionStartTimeout: a stream that never becomes ready fails
// after the start timeout, and Blink's live view is ended.
func TestLiveSessionStartTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &liveFake{alive: true, lv: blinkLV()}
		l, _, _ := newTestLiveviews(t, f, time.Hour)
		l.relay = func(src io.Reader, _ func(*gortsplib.ServerStream), _ func() bool) error {
			_, err := io.Copy(io.Discard, src) // never ready: no key frame
			return err
		}
		start := time.Now()
		_, err := l.acquire(t.Context(), camKey)
		var le *liveError
		if !errors.As(err, &le) || le.reason != LiveFailTimeout || time.Since(start) != liveStartTimeout {
			t.Fatalf("acquire = %v after %s, want a timeout after %s", err, time.Since(start), liveStartTimeout)
		}
		synctest.Wait()
		if f.count("end") != 1 {
			t.Errorf("calls %v: want Blink's live view ended", f.calls)
		}
	})
}

// TestLiveSessionShutdown: stopping ends every session and tells Blink.
func TestLiveSessionShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &liveFake{alive: true, lv: blinkLV()}
		l, events, stop := newTestLiveviews(t, f, time.Hour)
		for _, k := range []devKey{camKey, owlKey} {
			if _, err := l.acquire(t.Context(), k); err != nil {
				t.Fatal(err)
			}
		}
		stop()
		if f.count("end") != 2 {
			t.Errorf("calls %v: want both live views ended", f.calls)
		}
		if _, err := l.acquire(t.Context(), camKey); l.classify(err).reason != LiveFailShutdown {
			t.Errorf("acquire while stopping: %v", err)
		}
		n := 0
		for _, e := range events.all() {
			if e.Kind == EventLiveEnded && e.Name == LiveEndShutdown {
				n++
			}
		}
		if n != 2 {
			t.Errorf("events %+v, want two ended (shutdown)", events.all())
		}
	})
}

// TestLivePaths: stream paths follow the topic nodes.
func TestLivePaths(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, _, _ := newTestLiveviews(t, &liveFake{}, time.Hour)
		tests := []struct {
			path string
			key  devKey
			ok   bool
		}{
			{"/4321/555", camKey, true},
			{"4321/555/", camKey, true},
			{"/4400/888", owlKey, true},
			{"/4321/777", devKey{}, false}, // the sync module
			{"/4321/556", devKey{}, false},
			{"/4321", devKey{}, false},
			{"/4321/555/extra", devKey{}, false},
			{"/x/555", devKey{}, false},
			{"", devKey{}, false},
		}
		for _, tc := range tests {
			k, ok := l.resolvePath(tc.path)
			if ok != tc.ok || k != tc.key {
				t.Errorf("resolvePath(%q) = %+v, %v; want %+v, %v", tc.path, k, ok, tc.key, tc.ok)
			}
		}
		if p := livePath(discovery.Node{Network: 4321, Name: "owl-555"}); p != "/4321/owl-555" {
			t.Errorf("livePath = %q", p)
		}
	})
}

// TestAttributesCarryRTSPPath: with the RTSP server on, every camera, Mini
// and doorbell's attributes carry its stream path; off, none do.
func TestAttributesCarryRTSPPath(t *testing.T) {
	topics := discovery.Topics{Root: "b2m"}
	for _, on := range []bool{true, false} {
		v := testView(testHomescreen())
		v.rtsp = on
		got := desiredState(topics, discovery.Caps, v)
		for _, d := range testHomescreen().Devices {
			var attrs map[string]any
			if err := json.Unmarshal([]byte(got[topics.DeviceAttributes(d.NetworkID, d.ID)]), &attrs); err != nil {
				t.Fatal(err)
			}
			path, has := attrs["rtsp_path"]
			want := fmt.Sprintf("/%d/%d", d.NetworkID, d.ID)
			if has != on || on && path != want {
				t.Errorf("server on %v: %s attributes rtsp_path = %v, want %v", on, d.Name, path, map[bool]any{true: want, false: "none"}[on])
			}
		}
	}
}

// TestLiveSessionFailureCooldown: after a failed start, readers of that
// device get the same answer at once for liveRetryAfter, without another
// Blink call and without another warning; then Blink is asked again.
// Refusals without a Blink call warn at most once a minute.
func TestLiveSessionFailureCooldown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &liveFake{alive: true, lv: blinkLV(), startErr: blink.ErrUnreachable}
		l, events, _ := newTestLiveviews(t, f, time.Hour)
		var logs syncBuffer
		l.log = zerolog.New(&logs).Level(zerolog.WarnLevel)
		reason := func(err error) string { return l.classify(err).reason }
		if _, err := l.acquire(t.Context(), camKey); reason(err) != LiveFailBlink {
			t.Fatalf("first start: %v", err)
		}
		time.Sleep(10 * time.Second)
		if _, err := l.acquire(t.Context(), camKey); reason(err) != LiveFailBlink || f.count("start") != 1 {
			t.Errorf("retry after 10 s: %v with %d starts; want the same failure and no new start", err, f.count("start"))
		}
		time.Sleep(21 * time.Second)
		if _, err := l.acquire(t.Context(), camKey); reason(err) != LiveFailBlink || f.count("start") != 2 {
			t.Errorf("retry after 31 s: %v with %d starts; want a new start", err, f.count("start"))
		}
		if n := strings.Count(logs.String(), `"level":"warn"`); n != 2 {
			t.Errorf("%d warnings for two failed starts and a refusal between them:\n%s", n, logs.String())
		}
		if n := len(events.all()); n != 3 {
			t.Errorf("%d failure events, want one per refused reader (3)", n)
		}

		// refused without Blink: one warning a minute
		hs := testHomescreen()
		hs.Devices[2].Status = "offline"
		l.model.applyHomescreen(hs, time.Now())
		before := strings.Count(logs.String(), `"level":"warn"`)
		for range 5 {
			if _, err := l.acquire(t.Context(), owlKey); reason(err) != LiveFailOffline {
				t.Fatalf("offline Mini: %v", err)
			}
			time.Sleep(10 * time.Second)
		}
		if n := strings.Count(logs.String(), `"level":"warn"`) - before; n != 1 {
			t.Errorf("%d warnings for five refusals within a minute, want 1", n)
		}
	})
}
