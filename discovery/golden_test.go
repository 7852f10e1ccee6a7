package discovery

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// renderGolden prints the configs of one node, each topic followed by its
// payload indented, so a diff shows which key of which entity changed.
func renderGolden(t *testing.T, msgs []Message, node string) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, m := range msgs {
		if !strings.Contains(m.Topic, "/"+node+"/") {
			continue
		}
		buf.WriteString("# " + m.Topic + "\n")
		if err := json.Indent(&buf, m.Payload, "", "  "); err != nil {
			t.Fatalf("%s: payload is not JSON: %v", m.Topic, err)
		}
		buf.WriteString("\n\n")
	}
	if buf.Len() == 0 {
		t.Fatalf("no configs for node %s", node)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	msgs := Build(testOptions(), bigAccount())
	tests := []struct {
		name string
		node string
	}{
		{"camera", DeviceID(blink.FamilyCamera, 555)},
		{"camera-xt2", DeviceID(blink.FamilyCamera, 600)},
		{"owl-standalone", DeviceID(blink.FamilyOwl, 888)},
		{"doorbell", DeviceID(blink.FamilyDoorbell, 999)},
		{"sync-module", SyncModuleDeviceID(777)},
		{"network", NetworkDeviceID(4321)},
		{"bridge", BridgeDeviceID(testOptions().Topics)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { checkGolden(t, tc.name, renderGolden(t, msgs, tc.node)) })
	}
}

// checkGolden compares got with testdata/<name>.golden (written first with
// -update).
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./discovery -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the build output (run go test ./discovery -update and review the diff):\n%s",
			path, lineDiff(string(want), string(got)))
	}
}

// TestBuildBridgeMatchesBuild: the configs published before the first
// homescreen are exactly the bridge configs published after it, so nothing
// is removed and re-added when login completes.
func TestBuildBridgeMatchesBuild(t *testing.T) {
	opts := testOptions()
	bridge := BuildBridge(opts)
	if len(bridge) == 0 {
		t.Fatal("BuildBridge returned nothing")
	}
	if got := Build(opts, nil); !equalMessages(got, bridge) {
		t.Errorf("Build(nil) differs from BuildBridge")
	}
	full := Build(opts, defaultAccount())
	node := "/" + BridgeDeviceID(opts.Topics) + "/"
	var fromFull []Message
	for _, m := range full {
		if strings.Contains(m.Topic, node) {
			fromFull = append(fromFull, m)
		}
	}
	if !equalMessages(fromFull, bridge) {
		t.Errorf("bridge configs in Build differ from BuildBridge")
	}
}

func TestBuildDeterministic(t *testing.T) {
	a := Build(testOptions(), bigAccount())
	for range 5 {
		if b := Build(testOptions(), bigAccount()); !equalMessages(a, b) {
			t.Fatal("two Builds of the same input differ")
		}
	}
	// Blink's order of devices and sync modules does not change the output.
	hs := bigAccount()
	for i, j := 0, len(hs.Devices)-1; i < j; i, j = i+1, j-1 {
		hs.Devices[i], hs.Devices[j] = hs.Devices[j], hs.Devices[i]
	}
	for i, j := 0, len(hs.SyncModules)-1; i < j; i, j = i+1, j-1 {
		hs.SyncModules[i], hs.SyncModules[j] = hs.SyncModules[j], hs.SyncModules[i]
	}
	if b := Build(testOptions(), hs); !equalMessages(a, b) {
		t.Error("reordering Blink's lists changed the output")
	}
	for i := 1; i < len(a); i++ {
		if a[i-1].Topic >= a[i].Topic {
			t.Fatalf("not sorted or duplicate: %s then %s", a[i-1].Topic, a[i].Topic)
		}
	}
	for _, m := range a {
		if !m.Retained || len(m.Payload) == 0 {
			t.Errorf("%s: want a retained non-empty config", m.Topic)
		}
	}
}

func equalMessages(a, b []Message) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Topic != b[i].Topic || a[i].Retained != b[i].Retained || !bytes.Equal(a[i].Payload, b[i].Payload) {
			return false
		}
	}
	return true
}

// lineDiff is a small line-based diff: lines only in want ("-") and only in
// got ("+"), in order, enough to see which key changed.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	// Longest common subsequence over lines.
	lcs := make([][]int, len(w)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(g)+1)
	}
	for i := len(w) - 1; i >= 0; i-- {
		for j := len(g) - 1; j >= 0; j-- {
			if w[i] == g[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var b strings.Builder
	i, j := 0, 0
	for i < len(w) || j < len(g) {
		switch {
		case i < len(w) && j < len(g) && w[i] == g[j]:
			i, j = i+1, j+1
		case j < len(g) && (i == len(w) || lcs[i][j+1] >= lcs[i+1][j]):
			b.WriteString("+ " + g[j] + "\n")
			j++
		default:
			b.WriteString("- " + w[i] + "\n")
			i++
		}
	}
	return b.String()
}
