package hatest

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/discovery"
)

func cfg(topic, payload string) discovery.Message {
	return discovery.Message{Topic: topic, Payload: []byte(payload), Retained: true}
}

// TestStateContractDefaults covers what discovery.Build does not emit but HA
// reads: keys left to HA's defaults, the single availability forms, other
// component layouts and device classes. (discovery's tests check Build's
// own configs against the contract.)
func TestStateContractDefaults(t *testing.T) {
	msgs := []discovery.Message{
		cfg("homeassistant/binary_sensor/n/plain/config", `{"state_topic":"s/plain","availability_topic":"s/avail"}`),
		cfg("homeassistant/binary_sensor/n/custom/config", `{"state_topic":"s/custom","payload_on":"1","payload_off":"0"}`),
		cfg("homeassistant/switch/n/sw/config", `{"command_topic":"s/sw/set","state_topic":"s/sw","state_on":"active","state_off":"idle"}`),
		cfg("homeassistant/sensor/n/other/config", `{"state_topic":"s/other","availability_topic":"s/avail","payload_available":"up"}`),
		cfg("homeassistant/sensor/n/one/config", `{"state_topic":"s/one","availability":{"topic":"s/single","payload_not_available":"gone"}}`),
		cfg("homeassistant/sensor/n/date/config", `{"state_topic":"s/date","device_class":"date"}`),
		cfg("homeassistant/sensor/n/unit/config", `{"state_topic":"s/unit","unit_of_measurement":"requests"}`),
		cfg("ha/x/text/n/t/config", `{"command_topic":"s/t/set","state_topic":"s/t","min":2,"max":4,"pattern":"^[a-z]+$"}`),
		cfg("homeassistant/image/n/url/config", `{"url_topic":"s/url"}`),
		cfg("homeassistant/image/n/b64/config", `{"image_topic":"s/b64","image_encoding":"b64"}`),
		cfg("homeassistant/camera/cam/config", `{"topic":"s/cam"}`),
		cfg("homeassistant/sensor/n/gone/config", ""),
		cfg("homeassistant/number/n/num/config", `{"command_topic":"s/num/set","state_topic":"s/num","min":1,"max":9}`),
		cfg("homeassistant/number/n/pct/config", `{"command_topic":"s/pct/set","state_topic":"s/pct"}`),
		cfg("homeassistant/select/n/sel/config", `{"command_topic":"s/sel/set","state_topic":"s/sel","options":["off","on"]}`),
	}
	contract := StateContract(msgs)
	tests := []struct {
		name, topic, payload string
		ok                   bool
	}{
		{"binary default on", "s/plain", "ON", true},
		{"binary default lower case", "s/plain", "on", false},
		{"binary custom on", "s/custom", "1", true},
		{"binary custom ignores default", "s/custom", "ON", false},
		{"switch state_on wins", "s/sw", "active", true},
		{"switch payload_on is not a state", "s/sw", "ON", false},
		{"availability read by two configs: default", "s/avail", "online", false},
		{"availability read by two configs: custom", "s/avail", "up", false},
		{"availability object: default available", "s/single", "online", true},
		{"availability object: custom not available", "s/single", "gone", true},
		{"availability object: default not available", "s/single", "offline", false},
		{"date", "s/date", "2026-03-01", true},
		{"date not a timestamp", "s/date", "2026-03-01T17:05:12Z", false},
		{"date unknown", "s/date", discovery.StateNone, true},
		{"unit makes it numeric", "s/unit", "12", true},
		{"unit rejects words", "s/unit", "twelve", false},
		{"plain sensor text", "s/other", "anything", true},
		{"plain sensor too long", "s/other", strings.Repeat("x", 256), false},
		{"plain sensor not UTF-8", "s/other", "\xff", false},
		{"text in range", "s/t", "abc", true},
		{"text too short", "s/t", "a", false},
		{"text off pattern", "s/t", "ABC", false},
		{"text max, config under a prefix with slashes", "s/t", "abcde", false},
		{"image url", "s/url", "https://example.invalid/x.jpg", true},
		{"image url not http", "s/url", "ftp://example.invalid/x.jpg", false},
		{"image b64", "s/b64", "aGk=", true},
		{"image b64 empty", "s/b64", "", false},
		{"camera jpeg", "s/cam", "\xff\xd8\xff\xe0", true},
		{"camera png", "s/cam", "\x89PNG", false},
		{"number in range", "s/num", "9", true},
		{"number fraction", "s/num", "2.5", true},
		{"number above max", "s/num", "10", false},
		{"number words", "s/num", "five", false},
		{"number unknown", "s/num", discovery.StateNone, true},
		{"number default range", "s/pct", "100", true},
		{"number default range below", "s/pct", "-1", false},
		{"select option", "s/sel", "on", true},
		{"select other", "s/sel", "auto", false},
		{"select unknown", "s/sel", discovery.StateNone, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, ok := contract[tc.topic]
			if !ok {
				t.Fatalf("no rule for %s", tc.topic)
			}
			if err := v([]byte(tc.payload)); (err == nil) != tc.ok {
				t.Errorf("%q on %s: err = %v, want ok = %v", tc.payload, tc.topic, err, tc.ok)
			}
		})
	}
	if len(contract) != 16 {
		t.Errorf("%d rules, want 16 (command and removed topics get none): %v", len(contract), slices.Sorted(maps.Keys(contract)))
	}
}

func TestNonRetainedTopicsAreEventTopics(t *testing.T) {
	msgs := []discovery.Message{
		cfg("homeassistant/event/n/b/config", `{"state_topic":"s/b","event_types":["x"]}`),
		cfg("homeassistant/event/n/a/config", `{"state_topic":"s/a","event_types":["x"]}`),
		cfg("homeassistant/event/m/a/config", `{"state_topic":"s/a","event_types":["y"]}`),
		cfg("homeassistant/sensor/n/c/config", `{"state_topic":"s/c"}`),
	}
	if got, want := NonRetainedTopics(msgs), []string{"s/a", "s/b"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestNotAConfigPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a payload that is not JSON")
		}
	}()
	StateContract([]discovery.Message{cfg("homeassistant/sensor/n/x/config", "not json")})
}
