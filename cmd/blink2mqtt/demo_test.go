package main

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// TestBinaryLinksNoTestCode: the demo serves the fake Blink cloud, which must
// not drag package testing (or httptest) into the daemon users run.
func TestBinaryLinksNoTestCode(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found:", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed only %q", out)
	}
	forbidden := map[string]bool{
		"testing":           true,
		"net/http/httptest": true,
		"github.com/blink2mqtt/blink2mqtt/internal/mqtttest": true,
	}
	for _, d := range deps {
		if forbidden[d] {
			t.Errorf("the blink2mqtt binary links %s", d)
		}
	}
}

// TestDemoServesThePage: `demo --http` serves the status page (behind the
// printed password) with the fake account's devices and pictures.
func TestDemoServesThePage(t *testing.T) {
	t.Parallel()
	broker := mqtttest.StartBroker(t)
	// Subscribed before the demo publishes: mochi v2.7.9 reads retained
	// topics unlocked while a wildcard subscription scans them, which the
	// race detector reports when the demo's first burst lands meanwhile.
	rec := mqtttest.NewBrokerRecorder(t, broker, "blink2mqtt/#")
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--broker", broker.URL(), "--http", "127.0.0.1:0", "--motion-every", "0"}, mapLookup(nil), nil, &out, &errOut)
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	}()
	// The demo prints the address it bound.
	_, addr, _ := strings.Cut(out.WaitFor(t, "The status page: http://"), "http://")
	addr, _, _ = strings.Cut(addr, "/")
	get := func(user, pass string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		if pass != "" {
			req.SetBasicAuth(user, pass)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, ""
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	// Once the bridge published a picture, the page (started before the
	// bridge) has it too.
	rec.WaitMatch(t, 0, "a thumbnail", func(m mqtttest.Message) bool { return strings.HasSuffix(m.Topic, "/thumbnail") })
	res, page := get("anyone", demoPagePassword)
	if res == nil || res.StatusCode != http.StatusOK || !strings.Contains(page, `src="thumb/`) {
		t.Fatalf("the demo page with its password: %v, no picture in\n%s", res, page)
	}
	for _, name := range []string{"Front Yard", "Living Room", "Cabin"} {
		if !strings.Contains(page, name) {
			t.Errorf("the demo page lacks %q", name)
		}
	}
	if res, _ := get("", ""); res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the demo page without its password: %v, want 401", res)
	}
	if !strings.Contains(out.String(), "password \""+demoPagePassword+"\"") {
		t.Errorf("the demo does not print the page's password:\n%s", out.String())
	}
}
