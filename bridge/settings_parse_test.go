package bridge

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// changesText is a request's setting changes as "name=value,…".
func changesText(cs []settingChange) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.name+"="+c.value.String())
	}
	return strings.Join(parts, ",")
}

func flagsText(fs []blink.NotificationFlag) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("%s=%v", f.Name, f.On))
	}
	return strings.Join(parts, ",")
}

// checkErr fails unless err's message contains want (or, with want "",
// err is nil); it reports whether the case expected an error.
func checkErr(t *testing.T, err error, want string) bool {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatal(err)
	case want != "" && (err == nil || !strings.Contains(errorMessage(err), want)):
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
	return want != ""
}

func TestParseSettingsRequests(t *testing.T) {
	tests := []struct {
		name, op, payload string
		want              string // "network/program/enabled", changes or flags text
		wantErr           string
	}{
		{"program", OpProgram, `{"network": 4321, "program": "123", "enabled": true, "transaction": 1}`, "4321/123/true", ""},
		{"program needs enabled", OpProgram, `{"network": 4321, "program": 123}`, "", `needs the field "enabled"`},
		{"program id zero", OpProgram, `{"network": 4321, "program": 0, "enabled": true}`, "", `"program" must be a Blink program id`},
		{"program takes no device", OpProgram, `{"network": 1, "program": 2, "enabled": true, "device": 3}`, "", `unknown field "device"`},
		{"settings", OpSettings, `{"device": 5, "settings": {"night_vision": " AUTO ", "motion_sensitivity": 7}}`, "motion_sensitivity=7,night_vision=auto", ""},
		{"number as text and with .0", OpSettings, `{"device": 5, "settings": {"clip_length": "20", "retrigger_time": 30.0}}`, "clip_length=20,retrigger_time=30", ""},
		{"switch", OpSettings, `{"device": 5, "family": "owl", "network": 9, "settings": {"record_audio": false}}`, "record_audio=false", ""},
		{"settings not an object", OpSettings, `{"device": 5, "settings": [1]}`, "", `"settings" must be an object`},
		{"settings empty", OpSettings, `{"device": 5, "settings": {}}`, "", "1 to 16 settings, got 0"},
		{"settings null", OpSettings, `{"device": 5, "settings": null}`, "", `"settings" must be an object`},
		{"unknown setting", OpSettings, `{"device": 5, "settings": {"volume": 3}}`, "", `unknown setting "volume" (settings: motion_sensitivity, clip_length`},
		{"number as words", OpSettings, `{"device": 5, "settings": {"motion_sensitivity": "high"}}`, "", "whole number from 1 to 9, got a string"},
		{"fraction", OpSettings, `{"device": 5, "settings": {"motion_sensitivity": 5.5}}`, "", "whole number from 1 to 9, got 5.5"},
		{"out of range", OpSettings, `{"device": 5, "settings": {"clip_length": 61}}`, "", "clip_length must be a whole number from 5 to 60, got 61"},
		{"unknown option", OpSettings, `{"device": 5, "settings": {"video_quality": "ultra"}}`, "", "video_quality must be one of saver, standard, best"},
		{"switch as text", OpSettings, `{"device": 5, "settings": {"record_audio": "on"}}`, "", "record_audio must be true or false, got a string"},
		{"switch null", OpSettings, `{"device": 5, "settings": {"record_audio": null}}`, "", "got null"},
		{"notifications", OpNotifications, `{"settings": {"motion": false, "low_battery": true}}`, "low_battery=true,motion=false", ""},
		{"flag name", OpNotifications, `{"settings": {"Low Battery": false}}`, "", `"Low Battery" is not a notification flag`},
		{"flag value", OpNotifications, `{"settings": {"motion": 0}}`, "", "motion must be true or false, got 0"},
		{"notifications need settings", OpNotifications, `{}`, "", `needs the field "settings"`},
		{"notifications take no device", OpNotifications, `{"device": 1, "settings": {"motion": true}}`, "", `unknown field "device"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parseRequest(tc.op, []byte(tc.payload))
			if checkErr(t, err, tc.wantErr) {
				return
			}
			var got string
			switch tc.op {
			case OpProgram:
				got = fmt.Sprintf("%d/%d/%v", r.network, r.program, r.enabled)
			case OpSettings:
				got = changesText(r.changes)
			default:
				got = flagsText(r.flags)
			}
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	var many strings.Builder
	many.WriteString(`{"settings": {`)
	for i := range maxFlagsInRequest + 1 {
		if i > 0 {
			many.WriteString(",")
		}
		fmt.Fprintf(&many, `"f%d": true`, i)
	}
	many.WriteString("}}")
	if _, err := parseRequest(OpNotifications, []byte(many.String())); err == nil || !strings.Contains(err.Error(), "1 to 64") {
		t.Errorf("65 flags: %v", err)
	}
}

func TestParseSetSettings(t *testing.T) {
	top := discovery.Topics{Root: "b2m"}
	tests := []struct {
		topic, payload string
		want           string
		wantErr        string
	}{
		{"b2m/4321/program_123/set", "ON", "program 4321/123/true", ""},
		{"b2m/4321/program_123/set", "off", "program 4321/123/false", ""},
		{"b2m/4321/program_123/set", "1", "", "schedule command must be ON or OFF"},
		{"b2m/4321/program_x/set", "ON", "", "no network and schedule"},
		{"b2m/4321/program_0123/set", "ON", "", "no network and schedule"},
		{"b2m/x/program_1/set", "ON", "", "no network and schedule"},
		{"b2m/4321/555/motion_sensitivity/set", "8", "settings 4321/555 motion_sensitivity=8", ""},
		{"b2m/4321/owl-555/clip_length/set", "20.0", "settings 4321/owl-555 clip_length=20", ""},
		{"b2m/4321/555/motion_sensitivity/set", "8.5", "", "whole number from 1 to 9"},
		{"b2m/4321/555/motion_sensitivity/set", "10", "", "from 1 to 9, got 10"},
		{"b2m/4321/555/night_vision/set", "Auto", "settings 4321/555 night_vision=auto", ""},
		{"b2m/4321/555/night_vision/set", "dim", "", "one of off, on, auto"},
		{"b2m/4321/555/record_audio/set", "OFF", "settings 4321/555 record_audio=false", ""},
		{"b2m/4321/555/record_audio/set", "true", "", "record_audio command must be ON or OFF"},
		{"b2m/bridge/notify_motion/set", "OFF", "notifications motion=false", ""},
		{"b2m/bridge/notify_motion/set", "PRESS", "", "notification flag command must be ON or OFF"},
		{"b2m/bridge/notify_Motion/set", "ON", "", "unknown bridge command"},
		{"b2m/bridge/notify_/set", "ON", "", "unknown bridge command"},
	}
	for _, tc := range tests {
		t.Run(tc.topic+"="+tc.payload, func(t *testing.T) {
			r, err := parseSet(top, tc.topic, []byte(tc.payload))
			if checkErr(t, err, tc.wantErr) {
				return
			}
			var got string
			switch r.op {
			case OpProgram:
				got = fmt.Sprintf("program %d/%d/%v", r.network, r.program, r.enabled)
			case OpSettings:
				got = fmt.Sprintf("settings %d/%s %s", r.network, r.node, changesText(r.changes))
			case OpNotifications:
				got = "notifications " + flagsText(r.flags)
			}
			if got != tc.want || r.respond {
				t.Errorf("got %q (respond %v), want %q", got, r.respond, tc.want)
			}
		})
	}
}

// FuzzParseSettingsRequest: any body of the three ops is either refused
// with a bounded message or gives changes the catalogue takes (in its
// order), or valid, sorted, distinct flags within the bound.
func FuzzParseSettingsRequest(f *testing.F) {
	ops := []string{OpProgram, OpSettings, OpNotifications}
	f.Add(uint8(0), []byte(`{"network": 1, "program": 2, "enabled": true}`))
	f.Add(uint8(1), []byte(`{"device": 5, "settings": {"night_vision": "auto", "clip_length": "30"}}`))
	f.Add(uint8(1), []byte(`{"device": 5, "settings": {"motion_sensitivity": 1e400}}`))
	f.Add(uint8(2), []byte(`{"settings": {"motion": false, "general": true}}`))
	f.Add(uint8(2), []byte(`{"settings": {"motion": false, "motion": true}}`))
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		op := ops[int(which)%len(ops)]
		r, err := parseRequest(op, payload)
		if err != nil {
			if msg := errorMessage(err); msg == "" || len(msg) > 4*maxQuoted+300 {
				t.Fatalf("error message %q", msg)
			}
			return
		}
		last := -1
		for _, c := range r.changes {
			spec, ok := blink.SettingByName(c.name)
			if !ok || spec.Check(c.value) != nil {
				t.Fatalf("accepted %s = %v", c.name, c.value)
			}
			i := slices.IndexFunc(blink.Settings(), func(s blink.SettingSpec) bool { return s.Name == c.name })
			if i <= last {
				t.Fatal("changes out of catalogue order or repeated")
			}
			last = i
		}
		if len(r.flags) > maxFlagsInRequest {
			t.Fatalf("%d flags", len(r.flags))
		}
		for i, fl := range r.flags {
			if !blink.ValidNotificationName(fl.Name) || i > 0 && r.flags[i-1].Name >= fl.Name {
				t.Fatalf("flags %v", r.flags)
			}
		}
		if _, err := json.Marshal(response{Status: "ok", Transaction: r.txn}); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseSettingSet: any …/set payload on a setting's, schedule's or
// flag's topic is refused or becomes exactly one valid change.
func FuzzParseSettingSet(f *testing.F) {
	top := discovery.Topics{Root: "b2m"}
	var keys []string
	for _, s := range blink.Settings() {
		keys = append(keys, "b2m/4321/555/"+s.Name+"/set")
	}
	keys = append(keys, "b2m/4321/program_7/set", "b2m/bridge/notify_motion/set")
	for i, p := range []string{"5", "5.0", "auto", "ON", "off", "1e3", "", "NaN", "-0"} {
		f.Add(uint8(i), p)
	}
	f.Fuzz(func(t *testing.T, which uint8, payload string) {
		topic := keys[int(which)%len(keys)]
		r, err := parseSet(top, topic, []byte(payload))
		if err != nil {
			return
		}
		switch r.op {
		case OpSettings:
			spec, _ := blink.SettingByName(r.changes[0].name)
			if len(r.changes) != 1 || spec.Check(r.changes[0].value) != nil || !strings.Contains(topic, "/"+spec.Name+"/") {
				t.Fatalf("%s=%q accepted as %v", topic, payload, r.changes)
			}
		case OpProgram:
			if r.program != 7 || r.network != 4321 {
				t.Fatalf("%s accepted as %+v", topic, r)
			}
		case OpNotifications:
			if len(r.flags) != 1 || r.flags[0].Name != "motion" {
				t.Fatalf("%s accepted as %v", topic, r.flags)
			}
		default:
			t.Fatalf("%s accepted as op %q", topic, r.op)
		}
	})
}
