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
	}
	tests := []struct {
		topic    string
		payloads []string
		state    string
	}{
		{"c/all/set", []string{"ARM_HOME", "ARM_AWAY", "ARM_NIGHT", "ARM_VACATION", "ARM_CUSTOM_BYPASS", "TRIGGER", "DISARM"}, "c/all"},
		{"c/away/set", []string{"AWAY", "DISARM"}, "c/away"},
		{"c/b/set", []string{"PRESS"}, ""},
		{"c/letters/set", []string{"abcdef"}, ""},
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
