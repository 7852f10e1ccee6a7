package bridge

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

// oneUSBNetwork is the account of the figures: one armed network whose
// Sync Module 2 has a USB stick, with two cameras.
func oneUSBNetwork() *blinkfake.Account {
	return &blinkfake.Account{
		Networks: []blinkfake.Network{{ID: usbHome, Name: "Home", Armed: true,
			SyncModule: &blinkfake.SyncModule{ID: usbHomeSM, LocalStorageStatus: "active"}}},
		Devices: []blinkfake.Device{
			{ID: camBackDoor, NetworkID: usbHome, Name: "Back Door", Enabled: true},
			{ID: camPorch, NetworkID: usbHome, Name: "Porch", Enabled: true},
		},
	}
}

// localRun is what one run of the daemon's polling against the fake did.
type localRun struct {
	counts  map[string]int
	total   int
	lat     []time.Duration // motion → event, sorted
	starts  []time.Time     // when each manifest request was sent
	missing int             // motions never published
	extra   int             // events for no motion
}

// runLocal runs the poller and the USB storage watcher at the defaults
// (POLL_INTERVAL 30s, MEDIA_POLL_INTERVAL 15s, COMMAND_SPACING 5s, the
// client's 1 rps limiter) against the fake for d, with motion after each
// of gaps, in a synctest bubble.
func runLocal(t *testing.T, trigger bool, interval time.Duration, d time.Duration, gaps []time.Duration) localRun {
	t.Helper()
	fake := blinkfake.New(t, blinkfake.Config{Account: oneUSBNetwork(), MotionRequiresArmed: true})
	access, refresh, exp := fake.IssueTokens()
	var r localRun
	synctest.Test(t, func(t *testing.T) {
		client := newBubbleClient(t, fake, access, refresh, exp)
		b, pub := newPubBridge(t, client, func(o *Options) {
			o.CommandSpacing = DefaultCommandSpacing
			o.LocalStorageInterval = interval
			o.localNoTrigger = !trigger
		})
		fake.ResetCounts()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{}, 2)
		go func() { b.runScheduler(ctx); done <- struct{}{} }()
		go func() { b.runLocalStorage(ctx); done <- struct{}{} }()
		start := time.Now()
		triggered := map[string]time.Time{}
		cams := []int64{camBackDoor, camPorch}
		for i := 0; len(gaps) > 0; i++ {
			gap := gaps[i%len(gaps)]
			if time.Since(start)+gap >= d {
				break
			}
			time.Sleep(gap)
			fake.TriggerMotion(cams[i%2], "pir")
			clips := fake.LocalClips(usbHome)
			triggered[id(clips[len(clips)-1].ID)] = time.Now()
		}
		if rest := d - time.Since(start); rest > 0 {
			time.Sleep(rest)
		}
		cancel()
		<-done
		<-done
		r.counts, r.total = fake.Counts(), fake.Total()
		for _, req := range fake.Requests() {
			if req.Endpoint == blinkfake.EpLocalManifestRequest {
				r.starts = append(r.starts, req.Time)
			}
		}
		for _, msg := range pub.history(b.topics.Events()) {
			var ev eventPayload
			if err := json.Unmarshal([]byte(msg.payload), &ev); err != nil {
				t.Fatal(err)
			}
			at, ok := triggered[ev.LocalID]
			if !ok {
				r.extra++
				continue
			}
			delete(triggered, ev.LocalID)
			r.lat = append(r.lat, msg.at.Sub(at))
		}
		r.missing = len(triggered)
		slices.Sort(r.lat)
	})
	return r
}

func (r localRun) local() (checks, requests int) {
	for name, n := range r.counts {
		if strings.HasPrefix(name, "local_") || name == blinkfake.EpCommandStatus {
			requests += n
		}
	}
	return r.counts[blinkfake.EpLocalManifestRequest], requests
}

// TestLocalStorageRequestsPerHour is the figure for the closing note: Blink
// requests in one hour for one armed network with a USB stick, at the
// defaults, with six motions in the hour, with and without the homescreen
// trigger, and with the trigger at LOCAL_STORAGE_INTERVAL=10m. Checks start
// at most the interval apart and never closer than 30 s.
func TestLocalStorageRequestsPerHour(t *testing.T) {
	gaps := []time.Duration{7*time.Minute + 13*time.Second, 11*time.Minute + 2*time.Second, 9*time.Minute + 41*time.Second}
	tests := []struct {
		name      string
		trigger   bool
		interval  time.Duration
		maxChecks int
	}{
		{"no trigger, 60s", false, DefaultLocalStorageInterval, 62},
		{"trigger, 60s", true, DefaultLocalStorageInterval, 62 + 6},
		{"trigger, 10m", true, 10 * time.Minute, 6 + 1 + 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runLocal(t, tc.trigger, tc.interval, time.Hour, gaps)
			checks, local := r.local()
			t.Logf("%s: 1 h, one armed USB network, 6 motions: %d Blink requests (%d homescreen, %d media/changed, %d thumbnails, "+
				"%d for %d manifest checks = %.1f each); motion→event median %s, max %s",
				tc.name, r.total, r.counts[blinkfake.EpHomescreen], r.counts[blinkfake.EpMediaChanged], r.counts[blinkfake.EpDeviceThumbnail],
				local, checks, float64(local)/float64(max(checks, 1)), r.lat[len(r.lat)/2], r.lat[len(r.lat)-1])
			if r.missing != 0 || r.extra != 0 {
				t.Fatalf("%d motions never published, %d events for none", r.missing, r.extra)
			}
			if checks < int(time.Hour/tc.interval)-1 || checks > tc.maxChecks {
				t.Errorf("%d manifest checks, want between %d and %d", checks, int(time.Hour/tc.interval)-1, tc.maxChecks)
			}
			for i := 1; i < len(r.starts); i++ {
				gap := r.starts[i].Sub(r.starts[i-1])
				if gap < localFloor || gap > tc.interval+10*time.Second {
					t.Errorf("checks %d and %d started %s apart, want 30 s to the interval (+ the check itself)", i-1, i, gap)
				}
			}
			// Armed only onto USB: media/changed at the slow cadence.
			if n := r.counts[blinkfake.EpMediaChanged]; n > 125 {
				t.Errorf("%d media/changed requests, want the 30 s cadence (~120)", n)
			}
		})
	}
}

// TestLocalStorageMotionLatency is the latency figure: how long after a
// clip lands on the stick its event is on MQTT, at the defaults, over 120
// motions at irregular times, with and without the homescreen trigger.
func TestLocalStorageMotionLatency(t *testing.T) {
	gaps := []time.Duration{3*time.Minute + 7*time.Second, 7*time.Minute + 41*time.Second, 1*time.Minute + 13*time.Second,
		11*time.Minute + 2*time.Second, 4*time.Minute + 29*time.Second, 2*time.Minute + 53*time.Second, 5*time.Minute + 31*time.Second}
	tests := []struct {
		name    string
		trigger bool
		maxLat  time.Duration
	}{
		// the interval, plus a check: two queue slots 5 s apart, the
		// command's polls, the limiter
		{"no trigger", false, DefaultLocalStorageInterval + 15*time.Second},
		// the homescreen interval with its jitter, plus a check
		{"trigger", true, DefaultPollInterval + 3*time.Second + 15*time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runLocal(t, tc.trigger, DefaultLocalStorageInterval, 10*time.Hour, gaps)
			if r.missing != 0 || r.extra != 0 || len(r.lat) < 100 {
				t.Fatalf("%d events, %d motions never published, %d events for none", len(r.lat), r.missing, r.extra)
			}
			var sum time.Duration
			for _, l := range r.lat {
				sum += l
			}
			t.Logf("%s: motion→event over %d clips at LOCAL_STORAGE_INTERVAL=60s: median %s, mean %s, p95 %s, max %s",
				tc.name, len(r.lat), r.lat[len(r.lat)/2], sum/time.Duration(len(r.lat)), r.lat[len(r.lat)*95/100], r.lat[len(r.lat)-1])
			if m := r.lat[len(r.lat)-1]; m > tc.maxLat {
				t.Errorf("slowest event %s after its clip, want within %s", m, tc.maxLat)
			}
		})
	}
}

// TestLocalStorageFollowsTheAlarm: nothing is checked while the network is
// disarmed; once the homescreen shows it armed it is checked, then every
// interval; after disarming, one last check looks for a clip recorded just
// before, then nothing.
func TestLocalStorageFollowsTheAlarm(t *testing.T) {
	acct := oneUSBNetwork()
	acct.Networks[0].Armed = false
	fake := blinkfake.New(t, blinkfake.Config{Account: acct, MotionRequiresArmed: true})
	access, refresh, exp := fake.IssueTokens()
	synctest.Test(t, func(t *testing.T) {
		client := newBubbleClient(t, fake, access, refresh, exp)
		b, pub := newPubBridge(t, client, func(o *Options) { o.CommandSpacing = DefaultCommandSpacing })
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{}, 2)
		go func() { b.runScheduler(ctx); done <- struct{}{} }()
		go func() { b.runLocalStorage(ctx); done <- struct{}{} }()
		checks := func() int { return fake.Count(blinkfake.EpLocalManifestRequest) }

		time.Sleep(30 * time.Minute)
		if n := checks(); n != 0 {
			t.Fatalf("%d checks in 30 min disarmed, want 0", n)
		}
		_ = fake.SetArmed(usbHome, true)
		armed := time.Now()
		// The first time it is seen armed it is checked at once (clips of
		// a downtime), then every interval.
		time.Sleep(DefaultPollInterval + 3*time.Second + 10*time.Second)
		if n := checks(); n != 1 {
			t.Fatalf("%d checks %s after arming, want 1", n, time.Since(armed))
		}
		time.Sleep(DefaultLocalStorageInterval)
		if n := checks(); n != 2 {
			t.Fatalf("%d checks %s after arming, want 2", n, time.Since(armed))
		}
		time.Sleep(10 * time.Minute)
		fake.TriggerMotion(camPorch, "pir")
		_ = fake.SetArmed(usbHome, false) // right after the motion
		disarmed, before := time.Now(), checks()
		time.Sleep(DefaultPollInterval + 3*time.Second + localFloor + 10*time.Second)
		// A regular check may come due before the homescreen shows the
		// disarm; after that, exactly the last one.
		var seen time.Time
		lastChecks := 0
		for _, r := range fake.Requests() {
			switch {
			case r.Endpoint == blinkfake.EpHomescreen && seen.IsZero() && !r.Time.Before(disarmed):
				seen = r.Time
			case r.Endpoint == blinkfake.EpLocalManifestRequest && !seen.IsZero():
				lastChecks++
			}
		}
		if n := checks() - before; lastChecks != 1 || n > 2 {
			t.Fatalf("%d checks after disarming, %d after the homescreen showed it; want the last one", n, lastChecks)
		}
		if evs := pub.history(b.topics.Events()); len(evs) != 1 {
			t.Fatalf("%d events, want the clip recorded before the disarm", len(evs))
		}
		after := checks()
		time.Sleep(time.Hour)
		if n := checks() - after; n != 0 {
			t.Errorf("%d checks in the hour after disarming (%s), want 0", n, disarmed)
		}
		// Armed again: nothing was recorded meanwhile, so the next check
		// comes an interval after the homescreen showed it.
		_ = fake.SetArmed(usbHome, true)
		time.Sleep(DefaultLocalStorageInterval - 5*time.Second)
		if n := checks() - after; n != 0 {
			t.Errorf("a check within %s of arming again", DefaultLocalStorageInterval-5*time.Second)
		}
		time.Sleep(DefaultPollInterval + 3*time.Second + 10*time.Second)
		if n := checks() - after; n != 1 {
			t.Errorf("%d checks after arming again, want 1", n)
		}
		cancel()
		<-done
		<-done
	})
}
