package metrics

import (
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMetricsExposition(t *testing.T) {
	m := New()
	m.BlinkRequest("GET /api/v3/accounts/{acct}/homescreen", 200, 150*time.Millisecond)
	m.BlinkRequest("GET /api/v3/accounts/{acct}/homescreen", 429, 10*time.Millisecond)
	m.Poll("homescreen", 200*time.Millisecond, nil)
	m.Poll("media", 100*time.Millisecond, errors.New("boom"))
	m.Command("arm", "ok", 3*time.Second)
	m.Event("motion")
	m.MQTTConnected(false)
	m.MQTTConnected(true)
	m.AuthState("reauth_required")
	m.RateLimited()
	m.BadRequest("arm")
	until := time.Now().Add(time.Hour).Truncate(time.Second)
	m.WatchCooldown(func() time.Time { return until })

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	text := string(body)
	for _, want := range []string{
		`blink2mqtt_blink_requests_total{endpoint="GET /api/v3/accounts/{acct}/homescreen",status="200"} 1`,
		`blink2mqtt_blink_requests_total{endpoint="GET /api/v3/accounts/{acct}/homescreen",status="429"} 1`,
		`blink2mqtt_poll_failures_total{kind="media"} 1`,
		`blink2mqtt_command_duration_seconds_count{op="arm",outcome="ok"} 1`,
		`blink2mqtt_events_published_total{type="motion"} 1`,
		`blink2mqtt_mqtt_reconnects_total 1`,
		`blink2mqtt_mqtt_connected 1`,
		`blink2mqtt_auth_state{state="reauth_required"} 1`,
		`blink2mqtt_auth_state{state="ok"} 0`,
		`blink2mqtt_rate_limit_cooldowns_total 1`,
		fmt.Sprintf("blink2mqtt_rate_limit_cooldown_until_seconds %g", float64(until.Unix())),
		`blink2mqtt_bad_requests_total{op="arm"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics output lacks %q", want)
		}
	}
	until = time.Time{}
	m.MQTTLost()
	rec = httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ = io.ReadAll(rec.Body)
	for _, want := range []string{"blink2mqtt_rate_limit_cooldown_until_seconds 0", "blink2mqtt_mqtt_connected 0"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("after reset, metrics output lacks %q", want)
		}
	}
}

// scrape returns the /metrics body and the number of blink2mqtt series.
func scrape(t *testing.T, m *Metrics) (string, int) {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "blink2mqtt_") {
			n += len(mf.GetMetric())
		}
	}
	return rec.Body.String(), n
}

// TestLabelsComeFromFixedSets: thousands of distinct junk values through
// every labelled method add no series beyond the fixed sets.
func TestLabelsComeFromFixedSets(t *testing.T) {
	m := New()
	for i := range 5000 {
		junk := fmt.Sprintf("junk-%d/\"\n%s", i, strings.Repeat("x", i%50))
		m.BadRequest(junk)
		m.Command(junk, junk, time.Second)
		m.Event(junk)
		m.Poll(junk, time.Second, errors.New("x"))
		m.AuthState(junk)
		m.BlinkRequest("GET /api/v2/accounts/{id}/media/clip/"+junk+".mp4", 200+i, time.Millisecond)
		m.BlinkRequest(junk, -i-1, time.Millisecond)
	}
	body, series := scrape(t, m)
	// ops: unknown; command: unknown×other; event: unknown; poll: unknown
	// (duration and failures); auth: 4 states; requests: (clip download,
	// other) × (the kept statuses hit, other).
	if series > 100 {
		t.Errorf("%d blink2mqtt series after 5,000 junk values, want a small fixed number", series)
	}
	if len(body) > 64<<10 {
		t.Errorf("/metrics is %d bytes after junk input", len(body))
	}
	for _, want := range []string{
		`blink2mqtt_bad_requests_total{op="unknown"} 5000`,
		`blink2mqtt_command_duration_seconds_count{op="unknown",outcome="other"} 5000`,
		`blink2mqtt_events_published_total{type="unknown"} 5000`,
		`blink2mqtt_poll_failures_total{kind="unknown"} 5000`,
		`blink2mqtt_blink_requests_total{endpoint="other",status="other"} 5000`,
		`blink2mqtt_blink_requests_total{endpoint="GET (clip download)",status="other"}`,
		`blink2mqtt_blink_requests_total{endpoint="GET (clip download)",status="404"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "junk") {
		t.Errorf("a junk value reached a label")
	}
}

// TestKnownLabelsKept: values from the fixed sets are kept as they are.
func TestKnownLabelsKept(t *testing.T) {
	tests := []struct {
		name string
		feed func(m *Metrics)
		want string
	}{
		{"op", func(m *Metrics) { m.BadRequest("auth/login") }, `blink2mqtt_bad_requests_total{op="auth/login"} 1`},
		{"new op", func(m *Metrics) { m.Command("settings", "ok", time.Second) }, `blink2mqtt_command_duration_seconds_count{op="settings",outcome="ok"} 1`},
		{"set topic", func(m *Metrics) { m.BadRequest("set") }, `blink2mqtt_bad_requests_total{op="set"} 1`},
		{"event", func(m *Metrics) { m.Event("doorbell") }, `blink2mqtt_events_published_total{type="doorbell"} 1`},
		{"poll", func(m *Metrics) { m.Poll("media", time.Second, errors.New("x")) }, `blink2mqtt_poll_failures_total{kind="media"} 1`},
		{"endpoint and status", func(m *Metrics) { m.BlinkRequest("POST /oauth/token", 401, time.Second) },
			`blink2mqtt_blink_requests_total{endpoint="POST /oauth/token",status="401"} 1`},
		{"no answer", func(m *Metrics) { m.BlinkRequest("GET /api/v3/accounts/{acct}/homescreen", 0, time.Second) },
			`blink2mqtt_blink_requests_total{endpoint="GET /api/v3/accounts/{acct}/homescreen",status="0"} 1`},
		{"thumbnail download", func(m *Metrics) {
			m.BlinkRequest("GET /api/v3/media/accounts/{id}/networks/{id}/camera/{id}/thumbnail/thumbnail.jpg", 200, time.Second)
		}, `blink2mqtt_blink_requests_total{endpoint="GET (thumbnail download)",status="200"} 1`},
		{"local clip download keeps its template", func(m *Metrics) {
			m.BlinkRequest("GET /api/v1/accounts/{acct}/networks/{net}/sync_modules/{sm}/local_storage/manifest/{manifest}/clip/request/{clip}", 200, time.Second)
		}, `blink2mqtt_blink_requests_total{endpoint="GET /api/v1/accounts/{acct}/networks/{net}/sync_modules/{sm}/local_storage/manifest/{manifest}/clip/request/{clip}",status="200"} 1`},
		{"local storage poll", func(m *Metrics) { m.Poll("local_storage", time.Second, errors.New("x")) }, `blink2mqtt_poll_failures_total{kind="local_storage"} 1`},
		{"settings update", func(m *Metrics) { m.BlinkRequest("POST /network/{net}/camera/{cam}/update", 400, time.Second) },
			`blink2mqtt_blink_requests_total{endpoint="POST /network/{net}/camera/{cam}/update",status="400"} 1`},
		{"programs", func(m *Metrics) {
			m.BlinkRequest("POST /api/v1/networks/{net}/programs/{prog}/enable", 200, time.Second)
		}, `blink2mqtt_blink_requests_total{endpoint="POST /api/v1/networks/{net}/programs/{prog}/enable",status="200"} 1`},
		{"notifications", func(m *Metrics) {
			m.BlinkRequest("GET /api/v1/accounts/{acct}/notifications/configuration", 200, time.Second)
		}, `blink2mqtt_blink_requests_total{endpoint="GET /api/v1/accounts/{acct}/notifications/configuration",status="200"} 1`},
		{"settings poll", func(m *Metrics) { m.Poll("settings", time.Second, errors.New("x")) }, `blink2mqtt_poll_failures_total{kind="settings"} 1`},
		{"odd status", func(m *Metrics) { m.BlinkRequest("POST /oauth/token", 418, time.Second) },
			`blink2mqtt_blink_requests_total{endpoint="POST /oauth/token",status="other"} 1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			tc.feed(m)
			if body, _ := scrape(t, m); !strings.Contains(body, tc.want) {
				t.Errorf("/metrics lacks %q", tc.want)
			}
		})
	}
}
