package hatest

import (
	"slices"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/discovery"
)

func TestCommandsUseHADefaults(t *testing.T) {
	msgs := []discovery.Message{
		cfg("homeassistant/alarm_control_panel/n/all/config", `{"command_topic":"c/all/set","state_topic":"c/all"}`),
		cfg("homeassistant/alarm_control_panel/n/away/config", `{"command_topic":"c/away/set","state_topic":"c/away","supported_features":["arm_away"],"payload_arm_away":"AWAY"}`),
		cfg("homeassistant/switch/n/sw/config", `{"command_topic":"c/sw/set","payload_on":"1","payload_off":"0"}`),
		cfg("homeassistant/button/n/b/config", `{"command_topic":"c/b/set"}`),
		cfg("homeassistant/text/n/letters/config", `{"command_topic":"c/letters/set","pattern":"^[a-z]+$"}`),
		cfg("homeassistant/sensor/n/s/config", `{"state_topic":"c/s"}`),
		cfg("homeassistant/number/n/n/config", `{"command_topic":"c/n/set","state_topic":"c/n","min":5,"max":60,"step":5}`),
		cfg("homeassistant/number/n/one/config", `{"command_topic":"c/one/set","min":0.5,"max":1,"step":0.5}`),
		cfg("homeassistant/number/n/def/config", `{"command_topic":"c/def/set"}`),
		cfg("homeassistant/select/n/sel/config", `{"command_topic":"c/sel/set","options":["saver","best"]}`),
	}
	tests := []struct {
		topic    string
		payloads []string
		state    string
	}{
		{"c/all/set", []string{"ARM_HOME", "ARM_AWAY", "ARM_NIGHT", "ARM_VACATION", "ARM_CUSTOM_BYPASS", "TRIGGER", "DISARM"}, "c/all"},
		{"c/away/set", []string{"AWAY", "DISARM"}, "c/away"},
		{"c/b/set", []string{"PRESS"}, ""},
		{"c/def/set", []string{"0", "1"}, ""},
		{"c/letters/set", []string{"abcdef"}, ""},
		{"c/n/set", []string{"5", "10"}, "c/n"},
		{"c/one/set", []string{"0.5", "1"}, ""},
		{"c/sel/set", []string{"saver", "best"}, ""},
		{"c/sw/set", []string{"1", "0"}, ""},
	}
	got := Commands(msgs)
	if len(got) != len(tests) {
		t.Fatalf("got %d commands, want %d: %+v", len(got), len(tests), got)
	}
	for i, tc := range tests { // sorted by topic
		c := got[i]
		if c.Topic != tc.topic || !slices.Equal(c.Payloads, tc.payloads) || c.StateTopic != tc.state {
			t.Errorf("command %d = %s %v state %q, want %s %v state %q", i, c.Topic, c.Payloads, c.StateTopic, tc.topic, tc.payloads, tc.state)
		}
	}
}
