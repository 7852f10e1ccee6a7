package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

func TestEvaluateHealth(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		in     healthStatus
		status string
		failed []string
	}{
		{"all good", healthStatus{true, "ok", now.Add(-40 * time.Second)}, "ok", nil},
		{"mqtt down", healthStatus{false, "ok", now.Add(-time.Second)}, "fail", []string{"mqtt"}},
		{"reauth", healthStatus{true, "reauth_required", now.Add(-time.Second)}, "fail", []string{"auth"}},
		{"stale poll", healthStatus{true, "ok", now.Add(-91 * time.Second)}, "fail", []string{"poll"}},
		{"never polled", healthStatus{true, "ok", time.Time{}}, "fail", []string{"poll"}},
		{"everything wrong", healthStatus{false, "error", time.Time{}}, "fail", []string{"auth", "mqtt", "poll"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := evaluateHealth(tc.in, now, 30*time.Second)
			if r.Status != tc.status {
				t.Errorf("status = %s, want %s (%+v)", r.Status, tc.status, r.Checks)
			}
			var failed []string
			for _, name := range []string{"auth", "mqtt", "poll"} {
				c, ok := r.Checks[name]
				if !ok {
					t.Fatalf("check %q missing", name)
				}
				if !c.OK {
					failed = append(failed, name)
				}
			}
			if strings.Join(failed, ",") != strings.Join(tc.failed, ",") {
				t.Errorf("failed checks = %v, want %v", failed, tc.failed)
			}
		})
	}
}

func TestHealthHandlerStatusCodes(t *testing.T) {
	st := healthStatus{MQTTConnected: true, AuthState: "ok", LastPoll: time.Now()}
	h := healthHandler(func() healthStatus { return st }, 30*time.Second)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("healthy: code %d", rec.Code)
	}
	st.AuthState = "code_required"
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("unhealthy: code %d", rec.Code)
	}
	var r healthReport
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	if r.Checks["auth"].OK || r.Checks["auth"].Detail != "auth state code_required" {
		t.Errorf("auth check = %+v", r.Checks["auth"])
	}
}

func TestHealthURL(t *testing.T) {
	for in, want := range map[string]string{
		":8080":          "http://127.0.0.1:8080/healthz",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/healthz",
		"[::]:8080":      "http://127.0.0.1:8080/healthz",
		"127.0.0.1:8081": "http://127.0.0.1:8081/healthz",
	} {
		got, err := healthURL(in)
		if err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := healthURL("8080"); err == nil {
		t.Error("healthURL(\"8080\") accepted an address without a colon")
	}
}

// TestTakenHTTPListenStopsTheDaemon: when HTTP_LISTEN is taken, the daemon
// (and the demo's --http) stops at start with an error naming the address,
// before it connects to MQTT or logs in — rather than running without its
// page and /healthz while the healthcheck asks whoever holds the port.
func TestTakenHTTPListenStopsTheDaemon(t *testing.T) {
	t.Parallel()
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	taken := held.Addr().String()

	fake := blinkfake.New(t, blinkfake.Config{})
	rec, env := daemonEnvWithBroker(t, fake, "#")
	env["HTTP_LISTEN"] = taken
	broker := mqtttest.StartBroker(t)
	for name, args := range map[string][]string{
		"run":  {"run"},
		"demo": {"demo", "--broker", broker.URL(), "--http", taken, "--motion-every", "0"},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var out syncBuffer
			err := run(ctx, args, mapLookup(env), strings.NewReader(""), &out, &out)
			if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), taken) {
				t.Fatalf("%s with HTTP_LISTEN %s taken returned %v (context %v), want an error naming the address", name, taken, err, ctx.Err())
			}
		})
	}
	if n := len(rec.Messages()); n != 0 {
		t.Errorf("the daemon published %d messages before stopping", n)
	}
	if got := len(fake.Requests()); got != 0 {
		t.Errorf("the daemon made %d Blink calls before stopping", got)
	}
}
