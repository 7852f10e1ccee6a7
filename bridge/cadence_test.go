package bridge

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

// newBubbleClient is the real client talking to fake in the calling
// goroutine (handlerTransport), for use inside a synctest bubble. The
// limiter is the client's default (1 rps, burst 3).
func newBubbleClient(t *testing.T, fake *blinkfake.Server, access, refresh string, exp time.Time) *blink.Client {
	t.Helper()
	store := &blink.MemoryTokenStore{}
	_ = store.Save(blink.Tokens{AccessToken: blink.Secret(access), RefreshToken: blink.Secret(refresh),
		ExpiresAt: exp, Tier: fake.Config().Tier, AccountID: fake.AccountID(), HardwareID: "0b6a1c2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b"})
	mux := http.NewServeMux()
	mux.Handle("oauth.test/", fake.OAuthHandler())
	mux.Handle("rest.test/", fake.RESTHandler())
	client, err := blink.New(blink.Options{
		OAuthURL: "http://oauth.test", RESTURL: "http://rest.test/{tier}",
		HTTPClient: &http.Client{Transport: handlerTransport{mux}},
		Limiter:    rate.NewLimiter(rate.Every(time.Second), 3),
		Store:      store, Logger: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return client
}

func TestCanRecord(t *testing.T) {
	tests := []struct {
		name string
		edit func(hs *blink.Homescreen)
		want bool
	}{
		{"unknown account", nil, true},
		{"armed network", func(hs *blink.Homescreen) {}, true},
		{"all disarmed, standalone Mini off", func(hs *blink.Homescreen) { hs.Networks[0].Armed = false }, false},
		{"all disarmed, standalone Mini on", func(hs *blink.Homescreen) {
			hs.Networks[0].Armed = false
			hs.Devices[2].Enabled = true
		}, true},
		{"all disarmed, camera behind a sync module on", func(hs *blink.Homescreen) {
			hs.Networks[0].Armed = false
			hs.Devices[0].Enabled = true // records only when its network is armed
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hs *blink.Homescreen
			if tc.edit != nil {
				hs = testHomescreen()
				tc.edit(hs)
			}
			if got := canRecord(hs, nil); got != tc.want {
				t.Errorf("canRecord = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMediaCadenceArmedVsDisarmed counts media polls per simulated hour:
// MediaPollInterval while something can record, PollInterval while nothing
// can, and the fast cadence at once after an arm command.
func TestMediaCadenceArmedVsDisarmed(t *testing.T) {
	perHour := func(t *testing.T, armed bool) (hs, media int) {
		var n int
		synctest.Test(t, func(t *testing.T) {
			c := &fakeCloud{hs: testHomescreen(), session: true}
			if !armed {
				c.hs.Networks[0].Armed = false
			}
			b, _ := newUnitBridge(t, c, nil) // 30 s / 15 s
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() { b.runScheduler(ctx); close(done) }()
			time.Sleep(time.Hour - time.Second)
			cancel()
			<-done
			hs, n = c.calls()
		})
		return hs, n
	}
	hsA, armed := perHour(t, true)
	hsD, disarmed := perHour(t, false)
	t.Logf("media polls per hour: armed %d, disarmed %d (homescreen %d / %d)", armed, disarmed, hsA, hsD)
	if armed < 230 || armed > 250 {
		t.Errorf("armed: %d media polls in an hour, want about 240 (every 15 s)", armed)
	}
	if disarmed < 110 || disarmed > 130 {
		t.Errorf("disarmed: %d media polls in an hour, want about 120 (every 30 s)", disarmed)
	}

	t.Run("arm switches at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := &fakeCloud{hs: testHomescreen(), session: true}
			c.hs.Networks[0].Armed = false
			b, _ := newUnitBridge(t, c, func(o *Options) { o.PollInterval = 10 * time.Minute })
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			go b.runScheduler(ctx)
			time.Sleep(time.Minute) // slow cadence: one media poll at start
			synctest.Wait()
			if _, n := c.calls(); n != 1 {
				t.Fatalf("%d media polls in the first minute while disarmed, want 1", n)
			}
			armedAt := time.Now()
			c.mu.Lock()
			c.hs.Networks[0].Armed = true // what homescreen shows once the command completed
			c.mu.Unlock()
			if _, err := b.doAlarm(ctx, &request{op: OpArm, network: 4321}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			synctest.Wait()
			c.mu.Lock()
			calls := slices.Clone(c.mediaCalls)
			c.mu.Unlock()
			if len(calls) < 2 || calls[1].Sub(armedAt) > time.Second {
				t.Fatalf("media polls %v; want one within 1 s of arming at %v", calls, armedAt)
			}
			time.Sleep(time.Minute)
			if _, n := c.calls(); n < 5 {
				t.Errorf("%d media polls a minute after arming, want the 15 s cadence", n)
			}
		})
	})
}

// TestRequestsPerHourArmedDisarmed is the figure for the closing note:
// Blink requests per hour at the defaults with the real client, for the
// default fake account (2 networks × 3 cameras) armed and disarmed.
func TestRequestsPerHourArmedDisarmed(t *testing.T) {
	for _, armed := range []bool{true, false} {
		name := map[bool]string{true: "armed", false: "disarmed"}[armed]
		t.Run(name, func(t *testing.T) {
			fake := blinkfake.New(t, blinkfake.Config{Networks: 2, DevicesPerNetwork: 3})
			for _, n := range fake.Networks() {
				_ = fake.SetArmed(n.ID, armed)
			}
			access, refresh, exp := fake.IssueTokens()
			synctest.Test(t, func(t *testing.T) {
				client := newBubbleClient(t, fake, access, refresh, exp)
				b, _ := newPubBridge(t, client, func(o *Options) {
					o.PollInterval, o.MediaPollInterval = DefaultPollInterval, DefaultMediaPollInterval
				})
				fake.ResetCounts()
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() { b.runScheduler(ctx); close(done) }()
				time.Sleep(time.Hour - time.Second)
				cancel()
				<-done
				counts := fake.Counts()
				hs, media := counts[blinkfake.EpHomescreen], counts[blinkfake.EpMediaChanged]
				t.Logf("%s, 1 h at defaults: %d Blink requests (%d homescreen, %d media/changed)", name, fake.Total(), hs, media)
				wantMedia := 240
				if !armed {
					wantMedia = 120
				}
				if media < wantMedia*92/100 || media > wantMedia*104/100 {
					t.Errorf("%d media/changed requests, want about %d", media, wantMedia)
				}
			})
		})
	}
}

// TestMotionLatency measures, in fake time, how long after a clip appears
// in the fake cloud its event is on MQTT, at MEDIA_POLL_INTERVAL=15s with
// the real client, over clips at random moments. Target: every event within
// the interval + 1 s.
// With MediaDir the event also waits for the clip download (in-process,
// so that adds only the pacing).
func TestMotionLatency(t *testing.T) {
	for _, saveClips := range []bool{false, true} {
		name := map[bool]string{false: "no MEDIA_DIR", true: "MEDIA_DIR"}[saveClips]
		t.Run(name, func(t *testing.T) { motionLatency(t, saveClips) })
	}
}

func motionLatency(t *testing.T, saveClips bool) {
	fake := blinkfake.New(t, blinkfake.Config{})
	access, refresh, exp := fake.IssueTokens()
	cam := deviceOf(t, fake, blink.FamilyCamera)
	mediaDir := ""
	if saveClips {
		mediaDir = t.TempDir()
	}
	const clips = 300
	synctest.Test(t, func(t *testing.T) {
		client := newBubbleClient(t, fake, access, refresh, exp)
		b, pub := newPubBridge(t, client, func(o *Options) {
			o.PollInterval, o.MediaPollInterval = DefaultPollInterval, 15*time.Second
			o.MediaDir = mediaDir
		})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{}, 2)
		go func() { b.runScheduler(ctx); done <- struct{}{} }()
		go func() { b.runClips(ctx); done <- struct{}{} }()
		triggered := map[int64]time.Time{}
		gaps := []time.Duration{7300 * time.Millisecond, 23 * time.Second, 41100 * time.Millisecond, 2900 * time.Millisecond, 61 * time.Second}
		for i := range clips {
			time.Sleep(gaps[i%len(gaps)] + time.Duration(i)*37*time.Millisecond)
			m := fake.TriggerMotion(cam.ID, "pir")
			triggered[m.ID] = time.Now()
		}
		time.Sleep(time.Minute)
		cancel()
		<-done
		<-done
		var lat []time.Duration
		for _, msg := range pub.history(b.topics.Events()) {
			var ev eventPayload
			if err := json.Unmarshal([]byte(msg.payload), &ev); err != nil {
				t.Fatal(err)
			}
			at, ok := triggered[ev.ID]
			if !ok {
				t.Fatalf("event for unknown media %d", ev.ID)
			}
			delete(triggered, ev.ID)
			if saveClips && !strings.HasPrefix(ev.Clip, mediaDir) {
				t.Errorf("event %d: clip %q not saved", ev.ID, ev.Clip)
			}
			lat = append(lat, msg.at.Sub(at))
		}
		if len(triggered) > 0 {
			t.Fatalf("%d clips never published", len(triggered))
		}
		slices.Sort(lat)
		var sum time.Duration
		for _, l := range lat {
			sum += l
		}
		t.Logf("%s: motion→MQTT latency over %d clips at 15s: mean %s, p50 %s, p95 %s, max %s", t.Name(),
			len(lat), sum/time.Duration(len(lat)), lat[len(lat)/2], lat[len(lat)*95/100], lat[len(lat)-1])
		if max := lat[len(lat)-1]; max > 16*time.Second {
			t.Errorf("slowest event %s after its clip, want within 16 s", max)
		}
	})
}
