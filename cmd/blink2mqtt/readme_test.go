package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/bridge"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// codeLines returns the lines of the README's code blocks that start with
// prefix (after indentation).
func codeLines(doc, prefix string) []string {
	var out []string
	in := false
	for _, l := range strings.Split(doc, "\n") {
		if strings.HasPrefix(l, "```") {
			in = !in
			continue
		}
		if l = strings.TrimSpace(l); in && strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// TestReadmeFirstScreen: a newcomer sees how to try it and how to test it.
func TestReadmeFirstScreen(t *testing.T) {
	t.Parallel()
	first := strings.Join(strings.SplitN(readme(t), "\n", 16)[:15], "\n")
	for _, want := range []string{"go run ./cmd/blink2mqtt demo", "go test ./..."} {
		if !strings.Contains(first, want) {
			t.Errorf("the README's first screen lacks %q", want)
		}
	}
}

// TestReadmeCommandsExist: every `blink2mqtt <command>` the README prints
// is a command this binary has.
func TestReadmeCommandsExist(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	cmdRe := regexp.MustCompile(`(?:^|[\s/])blink2mqtt ([a-z]+)\b`)
	for _, l := range codeLines(readme(t), "") {
		for _, m := range cmdRe.FindAllStringSubmatch(l, -1) {
			seen[m[1]] = true
		}
	}
	if len(seen) < 6 {
		t.Fatalf("found only %v in the README", seen)
	}
	for cmd := range seen {
		var out bytes.Buffer
		if err := run(context.Background(), []string{cmd, "--help"}, mapLookup(nil), nil, &out, &out); err != nil {
			t.Errorf("the README prints `blink2mqtt %s`: %v", cmd, err)
		}
	}
}

// TestReadmeWatchLinesSkipThumbnails: a printed mosquitto_sub on the whole
// tree leaves out the raw JPEG thumbnails — in the README and in what the
// demo prints.
func TestReadmeWatchLinesSkipThumbnails(t *testing.T) {
	t.Parallel()
	fake := blinkfake.New(t, blinkfake.Config{})
	var demo bytes.Buffer
	printDemoHelp(&demo, bridge.MQTTOptions{URL: "mqtt://127.0.0.1:1883"}, discovery.Topics{Root: "blink2mqtt"}, fake, nil)
	lines := codeLines(readme(t), "mosquitto_sub")
	for _, l := range strings.Split(demo.String(), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "mosquitto_sub") {
			lines = append(lines, l)
		}
	}
	if len(lines) < 2 {
		t.Fatalf("found %d mosquitto_sub lines in the README and the demo output", len(lines))
	}
	wide := regexp.MustCompile(`-t '([^']*)/#'`)
	for _, l := range lines {
		if m := wide.FindStringSubmatch(l); m != nil && !strings.Contains(l, "-T '"+m[1]+"/+/+/thumbnail'") {
			t.Errorf("%q prints every thumbnail as raw JPEG bytes; add -T '%s/+/+/thumbnail'", l, m[1])
		}
	}
}

// TestReadmeNodeRedFlow: the printed flow is valid JSON, sends its own
// unique transaction, reacts only to the answer carrying it, and connects
// through one broker configuration node.
func TestReadmeNodeRedFlow(t *testing.T) {
	t.Parallel()
	doc := readme(t)
	i := strings.Index(doc, "### Node-RED example")
	if i < 0 {
		t.Fatal("no Node-RED example")
	}
	start := strings.Index(doc[i:], "```json\n") + i + len("```json\n")
	end := strings.Index(doc[start:], "```") + start
	var nodes []map[string]any
	if err := json.Unmarshal([]byte(doc[start:end]), &nodes); err != nil {
		t.Fatalf("the flow is not JSON: %v", err)
	}
	byType := map[string][]map[string]any{}
	for _, n := range nodes {
		byType[n["type"].(string)] = append(byType[n["type"].(string)], n)
	}
	if len(byType["mqtt-broker"]) != 1 {
		t.Fatalf("want one mqtt-broker configuration node, got %d", len(byType["mqtt-broker"]))
	}
	brokerID := byType["mqtt-broker"][0]["id"]
	for _, n := range append(byType["mqtt in"], byType["mqtt out"]...) {
		if n["broker"] != brokerID {
			t.Errorf("node %v does not use the broker configuration node", n["id"])
		}
	}
	if len(byType["function"]) != 1 {
		t.Fatalf("want one function node making the request")
	}
	fn := byType["function"][0]["func"].(string)
	for _, want := range []string{"transaction", "flow.set('armTransaction'", "msg._msgid", "const network = 410000001"} {
		if !strings.Contains(fn, want) {
			t.Errorf("the function node lacks %q:\n%s", want, fn)
		}
	}
	var filtered bool
	for _, n := range byType["switch"] {
		if n["property"] != "payload.transaction" {
			continue
		}
		rules, _ := json.Marshal(n["rules"])
		filtered = strings.Contains(string(rules), `"v":"armTransaction","vt":"flow"`)
	}
	if !filtered {
		t.Error("no switch passes only the answer with the flow's own transaction")
	}
	// The id in the example is the demo's Cabin, as the text says.
	fake := blinkfake.New(t, blinkfake.Config{})
	for _, n := range fake.Networks() {
		if n.ID == 410000001 && n.Name != "Cabin" {
			t.Errorf("network 410000001 is %q in the demo, the README says Cabin", n.Name)
		}
	}
	if !strings.Contains(doc[i:start], "410000001 is the demo's *Cabin*") {
		t.Error("the text does not say which system the example arms")
	}
}
