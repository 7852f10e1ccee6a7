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
