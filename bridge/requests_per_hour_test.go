package bridge

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

// handlerTransport serves requests with an http.Handler in the calling
// goroutine, so the real client can run inside a synctest bubble.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	if req.Body == nil {
		req.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, req)
	res := rec.Result()
	res.Request = req
	return res, nil
}

// TestRequestsPerHourAtDefaults runs the scheduler with the real client
// against the fake cloud for one hour of fake time at the default
// intervals, for a 2-network × 3-camera account: one homescreen per
// POLL_INTERVAL and one media/changed per MEDIA_POLL_INTERVAL, and no
// per-camera calls (blinkpy makes 17 per refresh for such an account).
func TestRequestsPerHourAtDefaults(t *testing.T) {
	fake := blinkfake.New(t, blinkfake.Config{Networks: 2, DevicesPerNetwork: 3})
	access, refresh, exp := fake.IssueTokens()
	synctest.Test(t, func(t *testing.T) {
		store := &blink.MemoryTokenStore{}
		_ = store.Save(blink.Tokens{AccessToken: blink.Secret(access), RefreshToken: blink.Secret(refresh),
			ExpiresAt: exp, Tier: fake.Config().Tier, AccountID: fake.AccountID(), HardwareID: "0b6a1c2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b"})
		mux := http.NewServeMux()
		mux.Handle("oauth.test/", fake.OAuthHandler())
		mux.Handle("rest.test/", fake.RESTHandler())
		client, err := blink.New(blink.Options{
			OAuthURL: "http://oauth.test", RESTURL: "http://rest.test/{tier}",
			HTTPClient: &http.Client{Transport: handlerTransport{mux}},
			Limiter:    rate.NewLimiter(rate.Every(time.Second), 3), // the client's default
			Store:      store, Logger: zerolog.Nop(),
		})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := newPubBridge(t, client, func(o *Options) {
			o.PollInterval, o.MediaPollInterval = DefaultPollInterval, DefaultMediaPollInterval
		})
		fake.ResetCounts()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { b.runScheduler(ctx); close(done) }()
		time.Sleep(time.Hour)
		cancel()
		<-done
		counts := fake.Counts()
		total := 0
		for ep, n := range counts {
			total += n
			if ep != blinkfake.EpHomescreen && ep != blinkfake.EpMediaChanged && n > 0 {
				t.Errorf("%d requests to %s; steady state needs only homescreen and media/changed", n, ep)
			}
		}
		hs, media := counts[blinkfake.EpHomescreen], counts[blinkfake.EpMediaChanged]
		t.Logf("2 networks × 3 cameras, 1 h at defaults: %d Blink requests (%d homescreen, %d media/changed)", total, hs, media)
		if hs < 110 || hs > 132 || media < 220 || media > 265 {
			t.Errorf("%d homescreen and %d media requests in an hour, want about 120 and 240", hs, media)
		}
	})
}
