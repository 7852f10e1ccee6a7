package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/bridge"
	"github.com/blink2mqtt/blink2mqtt/internal/metrics"
)

func scrapeMetrics(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// countSeries counts the blink2mqtt_* sample lines of a scrape.
func countSeries(body string) int {
	n := 0
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "blink2mqtt_") {
			n++
		}
	}
	return n
}

// TestJunkInputKeepsMetricsBounded: the hooks the daemon wires (bridge
// events, Blink request reports) turn thousands of distinct junk op names,
// event types, endpoints and statuses into a bounded number of series.
func TestJunkInputKeepsMetricsBounded(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	onEvent, onRequest := metricsHook(m), requestHook(m)
	// What a quiet daemon exports, as the baseline.
	onEvent(bridge.Event{Kind: bridge.EventBadInput, Name: bridge.OpArm})
	onRequest(blink.RequestInfo{Endpoint: "GET /api/v3/accounts/{acct}/homescreen", Status: 200})
	before := scrapeMetrics(t, m)

	for i := range 5000 {
		junk := fmt.Sprintf("zjunk-%d/%s", i, strings.Repeat("#", i%40))
		onEvent(bridge.Event{Kind: bridge.EventBadInput, Name: junk})
		onEvent(bridge.Event{Kind: bridge.EventCommand, Name: junk, Duration: time.Second})
		onEvent(bridge.Event{Kind: bridge.EventMedia, Name: junk})
		onEvent(bridge.Event{Kind: bridge.EventPoll, Name: junk})
		onEvent(bridge.Event{Kind: bridge.EventAuthState, Name: junk})
		onRequest(blink.RequestInfo{Endpoint: "GET /api/v2/accounts/{id}/media/clip/" + junk + ".mp4", Status: 100 + i})
		onRequest(blink.RequestInfo{Endpoint: "POST /" + junk, Status: 1000 + i})
	}
	after := scrapeMetrics(t, m)
	t.Logf("blink2mqtt series: %d before, %d after; /metrics %d → %d bytes", countSeries(before), countSeries(after), len(before), len(after))
	if grown := countSeries(after) - countSeries(before); grown > 120 {
		t.Errorf("5,000 junk inputs added %d series", grown)
	}
	if len(after)-len(before) > 32<<10 {
		t.Errorf("/metrics grew from %d to %d bytes", len(before), len(after))
	}
	if strings.Contains(after, "zjunk") {
		t.Errorf("a junk name reached a label")
	}
}

// TestEveryBridgeOpIsALabel: every Op… constant of package bridge (read
// from its source, so a new op cannot be forgotten) keeps its own
// bad_requests series instead of counting as "unknown".
func TestEveryBridgeOpIsALabel(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../bridge/*.go")
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Op") || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					op, _ := strconv.Unquote(lit.Value)
					ops = append(ops, op)
				}
			}
			return true
		})
	}
	if len(ops) < 9 {
		t.Fatalf("found only %d Op constants in ../../bridge: %v", len(ops), ops)
	}
	m := metrics.New()
	hook := metricsHook(m)
	for _, op := range append(ops, "program", "settings", "notifications", "auth/login") {
		hook(bridge.Event{Kind: bridge.EventBadInput, Name: op})
	}
	body := scrapeMetrics(t, m)
	for _, op := range ops {
		if !strings.Contains(body, `blink2mqtt_bad_requests_total{op="`+op+`"}`) {
			t.Errorf("op %q (bridge) has no series of its own; add it to internal/metrics' ops", op)
		}
	}
}
