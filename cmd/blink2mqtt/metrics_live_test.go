package main

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/bridge"
	"github.com/blink2mqtt/blink2mqtt/internal/metrics"
)

// TestLiveEventsBecomeMetrics: the bridge's live-view events reach the
// metrics — active sessions up and down, started, ended and failed by
// every reason the bridge names (none folding into "other"), bytes.
func TestLiveEventsBecomeMetrics(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	on := metricsHook(m)
	on(bridge.Event{Kind: bridge.EventLiveStarted, Name: "camera"})
	on(bridge.Event{Kind: bridge.EventLiveStarted, Name: "owl"})
	on(bridge.Event{Kind: bridge.EventLiveBytes, Count: 1500})
	on(bridge.Event{Kind: bridge.EventLiveBytes, Count: 500})
	on(bridge.Event{Kind: bridge.EventLiveEnded, Name: bridge.LiveEndIdle})
	for _, r := range bridge.LiveFailReasons() {
		on(bridge.Event{Kind: bridge.EventLiveFailed, Name: r})
	}
	on(bridge.Event{Kind: bridge.EventLiveFailed, Name: "zjunk"})
	body := scrapeMetrics(t, m)
	want := []string{
		"blink2mqtt_liveview_sessions_active 1",
		"blink2mqtt_liveview_sessions_started_total 2",
		`blink2mqtt_liveview_sessions_ended_total{reason="idle"} 1`,
		"blink2mqtt_liveview_received_bytes_total 2000",
		`blink2mqtt_liveview_failures_total{reason="other"} 1`,
	}
	for _, r := range bridge.LiveFailReasons() {
		want = append(want, fmt.Sprintf(`blink2mqtt_liveview_failures_total{reason=%q} 1`, r))
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	for _, r := range bridge.LiveEndReasons() {
		m := metrics.New()
		metricsHook(m)(bridge.Event{Kind: bridge.EventLiveEnded, Name: r})
		if w := fmt.Sprintf(`blink2mqtt_liveview_sessions_ended_total{reason=%q} 1`, r); !strings.Contains(scrapeMetrics(t, m), w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}

// TestLiveviewEndpointsAreLabels: the endpoints the client reports for
// live views (start per family, status, extend, end) keep their own
// blink_requests series instead of counting as "other".
func TestLiveviewEndpointsAreLabels(t *testing.T) {
	t.Parallel()
	fake := blinkfake.New(t, blinkfake.Config{})
	at, rt, exp := fake.IssueTokens()
	store := &blink.MemoryTokenStore{}
	_ = store.Save(blink.Tokens{AccessToken: blink.Secret(at), RefreshToken: blink.Secret(rt), ExpiresAt: exp,
		Tier: fake.Config().Tier, AccountID: fake.AccountID(), HardwareID: "0b6a1c2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b"})
	m := metrics.New()
	c, err := blink.New(blink.Options{OAuthURL: fake.OAuthURL(), RESTURL: fake.RESTURL(), Store: store,
		Limiter: rate.NewLimiter(rate.Inf, 1), OnRequest: requestHook(m)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, f := range []blink.Family{blink.FamilyCamera, blink.FamilyOwl, blink.FamilyDoorbell} {
		d := fake.DevicesOf(f)[0]
		lv, err := c.StartLiveview(ctx, d.Ref())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.LiveviewAlive(ctx, lv.NetworkID, lv.CommandID); err != nil {
			t.Fatal(err)
		}
		if err := c.ExtendLiveview(ctx, lv.NetworkID, lv.CommandID); err != nil {
			t.Fatal(err)
		}
		if err := c.EndLiveview(ctx, lv.NetworkID, lv.CommandID); err != nil {
			t.Fatal(err)
		}
	}
	body := scrapeMetrics(t, m)
	if strings.Contains(body, `endpoint="other"`) {
		t.Errorf("a live-view endpoint counts as other:\n%s", body)
	}
	if n := strings.Count(body, "blink2mqtt_blink_requests_total{endpoint="); n != 6 {
		t.Errorf("%d endpoint series, want 6 (three starts, status, update, done)", n)
	}
}
