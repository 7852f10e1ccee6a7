package main

import (
	"os/exec"
	"strings"
	"testing"
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
