package discovery

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// testExtras are extras for defaultAccount (and bigAccount): two schedules
// on Home, every camera setting on the camera, a few on the Mini and the
// doorbell, and notification flags with one name HA could not use.
func testExtras() *Extras {
	var camera []string
	for _, s := range blink.Settings() {
		if slices.Contains(s.Families(), blink.FamilyCamera) {
			camera = append(camera, s.Name)
		}
	}
	return &Extras{
		Programs: map[int64][]blink.Program{4321: {{ID: 123, NetworkID: 4321, Name: "Weeknights"}, {ID: 124, NetworkID: 4321}}},
		Settings: map[DeviceKey][]string{
			{4321, blink.FamilyCamera, 555}:   camera,
			{4400, blink.FamilyOwl, 888}:      {blink.SettingMotionSensitivity, blink.SettingNightVision, blink.SettingRecordAudio},
			{4321, blink.FamilyDoorbell, 999}: {blink.SettingClipLength, "not_a_setting"},
		},
		Notifications: []string{"motion", "low_battery", "general", "Bad Name", "motion"},
	}
}

// extrasOnly are the configs BuildWith adds to Build.
func extrasOnly(t *testing.T, opts Options, hs *blink.Homescreen, x *Extras) []Message {
	t.Helper()
	base := map[string]string{}
	for _, m := range Build(opts, hs) {
		base[m.Topic] = string(m.Payload)
	}
	var out []Message
	for _, m := range BuildWith(opts, hs, x) {
		p, ok := base[m.Topic]
		if !ok {
			out = append(out, m)
			continue
		}
		if p != string(m.Payload) {
			t.Errorf("BuildWith changed %s", m.Topic)
		}
		delete(base, m.Topic)
	}
	for topic := range base {
		t.Errorf("BuildWith dropped %s", topic)
	}
	return out
}

func TestBuildWithAddsOnlyTheExtras(t *testing.T) {
	opts := testOptions()
	x := testExtras()
	got := extrasOnly(t, opts, defaultAccount(), x)
	var topics []string
	for _, m := range got {
		topics = append(topics, strings.TrimPrefix(m.Topic, "homeassistant/"))
	}
	want := []string{
		"number/blink2mqtt_camera_555/clip_length/config",
		"number/blink2mqtt_camera_555/illuminator_intensity/config",
		"number/blink2mqtt_camera_555/motion_sensitivity/config",
		"number/blink2mqtt_camera_555/retrigger_time/config",
		"number/blink2mqtt_doorbell_999/clip_length/config",
		"number/blink2mqtt_owl_888/motion_sensitivity/config",
		"select/blink2mqtt_camera_555/night_vision/config",
		"select/blink2mqtt_camera_555/video_quality/config",
		"select/blink2mqtt_owl_888/night_vision/config",
		"switch/blink2mqtt_bridge_blink2mqtt/notify_general/config",
		"switch/blink2mqtt_bridge_blink2mqtt/notify_low_battery/config",
		"switch/blink2mqtt_bridge_blink2mqtt/notify_motion/config",
		"switch/blink2mqtt_camera_555/early_notification/config",
		"switch/blink2mqtt_camera_555/early_termination/config",
		"switch/blink2mqtt_camera_555/motion_alert/config",
		"switch/blink2mqtt_camera_555/record_audio/config",
		"switch/blink2mqtt_network_4321/program_123/config",
		"switch/blink2mqtt_network_4321/program_124/config",
		"switch/blink2mqtt_owl_888/record_audio/config",
	}
	if !slices.Equal(topics, want) {
		t.Errorf("extra configs\n got %q\nwant %q", topics, want)
	}
	// Without a homescreen only the bridge's notification switches exist.
	if n := len(extrasOnly(t, opts, nil, x)); n != 3 {
		t.Errorf("%d extra configs without a homescreen, want the 3 notification switches", n)
	}
	if n := len(extrasOnly(t, opts, defaultAccount(), &Extras{})); n != 0 {
		t.Errorf("%d extra configs for empty extras", n)
	}
}

func TestSettingEntities(t *testing.T) {
	msgs := BuildWith(testOptions(), defaultAccount(), testExtras())
	find := func(part string) map[string]any {
		t.Helper()
		for _, m := range msgs {
			if strings.Contains(m.Topic, part) {
				var p map[string]any
				if err := json.Unmarshal(m.Payload, &p); err != nil {
					t.Fatal(err)
				}
				return p
			}
		}
		t.Fatalf("no config %s", part)
		return nil
	}
	tests := []struct {
		part string
		want map[string]any
	}{
		{"camera_555/motion_sensitivity/", map[string]any{"min": 1.0, "max": 9.0, "step": 1.0, "entity_category": "config",
			"state_topic": "blink2mqtt/4321/555/motion_sensitivity", "command_topic": "blink2mqtt/4321/555/motion_sensitivity/set", "name": "Motion sensitivity"}},
		{"camera_555/clip_length/", map[string]any{"min": 5.0, "max": 60.0, "device_class": "duration", "unit_of_measurement": "s", "entity_category": "config"}},
		{"owl_888/night_vision/", map[string]any{"options": []any{"off", "on", "auto"}, "entity_category": "config",
			"state_topic": "blink2mqtt/4400/888/night_vision"}},
		{"camera_555/record_audio/", map[string]any{"payload_on": "ON", "payload_off": "OFF", "entity_category": "config"}},
		{"network_4321/program_123/", map[string]any{"name": "Schedule Weeknights", "state_topic": "blink2mqtt/4321/program_123",
			"command_topic": "blink2mqtt/4321/program_123/set", "entity_category": nil}},
		{"network_4321/program_124/", map[string]any{"name": "Schedule 124"}},
		{"/notify_low_battery/", map[string]any{"name": "Low battery notifications", "entity_category": "config",
			"state_topic": "blink2mqtt/bridge/notify_low_battery", "command_topic": "blink2mqtt/bridge/notify_low_battery/set"}},
	}
	for _, tc := range tests {
		t.Run(tc.part, func(t *testing.T) {
			p := find(tc.part)
			for k, v := range tc.want {
				got, _ := json.Marshal(p[k])
				want, _ := json.Marshal(v)
				if !bytes.Equal(got, want) {
					t.Errorf("%s = %s, want %s", k, got, want)
				}
			}
		})
	}
}

func TestSchemaWithExtras(t *testing.T) {
	x := testExtras()
	for i, opts := range schemaOptionVariants() {
		for _, hs := range []*blink.Homescreen{nil, {}, defaultAccount(), bigAccount()} {
			for _, err := range checkAll(opts.prefix(), BuildWith(opts, hs, x)) {
				t.Errorf("options #%d: %v", i, err)
			}
		}
	}
}

func TestSchemaRejectsNumberAndSelect(t *testing.T) {
	msgs := BuildWith(testOptions(), defaultAccount(), testExtras())
	find := func(part string) Message { return findConfig(t, msgs, part) }
	mutate := func(m Message, f func(map[string]any)) Message { return mutateConfig(t, m, f) }
	tests := []struct {
		name string
		msg  Message
		want string
	}{
		{"min not below max", mutate(find("/motion_sensitivity/"), func(p map[string]any) { p["min"] = 9 }), "must be < max"},
		{"mode", mutate(find("/motion_sensitivity/"), func(p map[string]any) { p["mode"] = "dial" }), "number mode"},
		{"step", mutate(find("/motion_sensitivity/"), func(p map[string]any) { p["step"] = 0 }), "step"},
		{"unit for class", mutate(find("/clip_length/"), func(p map[string]any) { p["unit_of_measurement"] = "sec" }), "not allowed for number"},
		{"select without options", mutate(find("/night_vision/"), func(p map[string]any) { p["options"] = []string{} }), "options empty"},
		{"select repeats", mutate(find("/night_vision/"), func(p map[string]any) { p["options"] = []string{"on", "on"} }), "repeated"},
		{"select key", mutate(find("/night_vision/"), func(p map[string]any) { p["min"] = 1 }), `unknown key "min"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if errs := checkConfig(DefaultPrefix, tc.msg); !containsErr(errs, tc.want) {
				t.Errorf("want an error containing %q, got %v", tc.want, errs)
			}
		})
	}
}

// TestExtraKeysDoNotCollide: setting, schedule and notification keys can
// never take a topic an entity of the homescreen already has.
func TestExtraKeysDoNotCollide(t *testing.T) {
	taken := map[string]bool{}
	for _, k := range []string{EntityAlarm, EntityMotion, EntityMotionDetection, EntitySnapshot, EntityRecord,
		EntityThumbnail, EntityBatteryLow, EntityBatteryLevel, EntityTemperature, EntityWiFi, EntityWiFiDBm,
		EntityOnline, EntityLastEvent, EntityEvent, EntityLocalStorage, EntityHeartbeat, EntityAttributes,
		EntityAvailability, BridgeAuthCode, BridgeAuthSubmit, BridgeAuthLogin, BridgeRediscover, BridgeRefresh,
		BridgeRequests, BridgeCooldown, BridgeAuthState, "state", "info", "auth", "request", "response"} {
		taken[k] = true
	}
	for _, s := range blink.Settings() {
		if taken[s.Name] || strings.HasPrefix(s.Name, programPrefix) || strings.HasPrefix(s.Name, notificationPrefix) {
			t.Errorf("setting %q collides with an entity key", s.Name)
		}
	}
	for k := range taken {
		if strings.HasPrefix(k, programPrefix) || strings.HasPrefix(k, notificationPrefix) {
			t.Errorf("entity key %q looks like a schedule or notification key", k)
		}
	}
	for _, tc := range []struct {
		key string
		id  int64
		ok  bool
	}{{"program_123", 123, true}, {"program_0", 0, false}, {"program_012", 0, false}, {"program_", 0, false}, {"programs_1", 0, false}, {"program_-1", 0, false}} {
		if id, ok := ParseProgramKey(tc.key); id != tc.id || ok != tc.ok {
			t.Errorf("ParseProgramKey(%q) = %d, %v", tc.key, id, ok)
		}
	}
	for _, tc := range []struct {
		key, flag string
		ok        bool
	}{{"notify_low_battery", "low_battery", true}, {"notify_", "", false}, {"notify_Bad", "Bad", false}, {"notifyx", "", false}} {
		if f, ok := ParseNotificationKey(tc.key); ok != tc.ok || ok && f != tc.flag {
			t.Errorf("ParseNotificationKey(%q) = %q, %v", tc.key, f, ok)
		}
	}
}

func TestSettingState(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    blink.SettingValue
		want string
	}{
		{blink.SettingMotionSensitivity, blink.NumberValue(5), "5"},
		{blink.SettingMotionSensitivity, blink.NumberValue(0), StateNone},
		{blink.SettingNightVision, blink.ChoiceValue("auto"), "auto"},
		{blink.SettingVideoQuality, blink.ChoiceValue("enhanced"), StateNone},
		{blink.SettingRecordAudio, blink.SwitchValue(true), On},
		{blink.SettingRecordAudio, blink.SwitchValue(false), Off},
		{blink.SettingRecordAudio, blink.NumberValue(1), StateNone},
		{"volume", blink.NumberValue(1), StateNone},
	} {
		if got := SettingState(tc.name, tc.v); got != tc.want {
			t.Errorf("SettingState(%s, %v) = %q, want %q", tc.name, tc.v, got, tc.want)
		}
	}
}

// TestGoldenExtras pins the extras' configs per device; run go test
// ./discovery -update and review the diff when they change on purpose.
func TestGoldenExtras(t *testing.T) {
	msgs := extrasOnly(t, testOptions(), bigAccount(), testExtras())
	for _, tc := range []struct{ name, node string }{
		{"extras-camera", DeviceID(blink.FamilyCamera, 555)},
		{"extras-owl", DeviceID(blink.FamilyOwl, 888)},
		{"extras-network", NetworkDeviceID(4321)},
		{"extras-bridge", BridgeDeviceID(testOptions().Topics)},
	} {
		t.Run(tc.name, func(t *testing.T) { checkGolden(t, tc.name, renderGolden(t, msgs, tc.node)) })
	}
}
