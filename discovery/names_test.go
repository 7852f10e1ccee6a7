package discovery

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("payload %s: %v", b, err)
	}
	return p
}

func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Front Yard", "front_yard"},
		{"  Drive way (USB) ", "drive_way_usb"},
		{"Haustür Süd", "haustur_sud"},
		{"Straße", "strasse"},
		{"___", ""},
		{"世界", ""},
		{"Cam-2.0", "cam_2_0"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := slug(tc.in); got != tc.want {
			t.Errorf("slug(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDefaultEntityIDs(t *testing.T) {
	msgs := Build(testOptions(), bigAccount())
	want := map[string]string{
		"homeassistant/binary_sensor/blink2mqtt_camera_555/motion/config":        "binary_sensor.blink_front_yard_motion",
		"homeassistant/sensor/blink2mqtt_camera_603/last_event/config":           "sensor.blink_camera_603_last_event",  // no name
		"homeassistant/image/blink2mqtt_owl_701/thumbnail/config":                "image.blink_owl_701_thumbnail",       // name without Latin letters
		"homeassistant/binary_sensor/blink2mqtt_camera_-5/motion/config":         "binary_sensor.blink_camera_5_motion", // negative id, "___" name
		"homeassistant/alarm_control_panel/blink2mqtt_network_5002/alarm/config": "alarm_control_panel.blink_haustur_sud_alarm",
		"homeassistant/text/blink2mqtt_bridge_blink2mqtt/auth_code/config":       "text.blink2mqtt_bridge_auth_code",
	}
	found := 0
	for _, m := range msgs {
		if w, ok := want[m.Topic]; ok {
			found++
			if got := decode(t, m.Payload)["default_entity_id"]; got != w {
				t.Errorf("%s: default_entity_id %v, want %s", m.Topic, got, w)
			}
		}
	}
	if found != len(want) {
		t.Errorf("found %d of %d expected topics", found, len(want))
	}
}

func TestUniqueIDStableAcrossRenames(t *testing.T) {
	a := Build(testOptions(), defaultAccount())
	hs := defaultAccount()
	hs.Networks[0].Name = "Zuhause"
	hs.SyncModules[0].Name = "Renamed"
	for i := range hs.Devices {
		hs.Devices[i].Name += " renamed"
		hs.Devices[i].FirmwareVersion = "99"
	}
	b := Build(testOptions(), hs)
	if len(a) != len(b) {
		t.Fatalf("renaming changed the number of configs: %d → %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Topic != b[i].Topic {
			t.Errorf("topic changed on rename: %s → %s", a[i].Topic, b[i].Topic)
		}
		ua, ub := decode(t, a[i].Payload)["unique_id"], decode(t, b[i].Payload)["unique_id"]
		if ua != ub {
			t.Errorf("%s: unique_id changed on rename: %v → %v", a[i].Topic, ua, ub)
		}
	}
}

func TestBridgeDeviceID(t *testing.T) {
	ids := map[string]string{}
	for _, root := range []string{"blink2mqtt", "home/blink", "home_blink", "", "blink2mqtt-2", "über"} {
		id := BridgeDeviceID(Topics{Root: root})
		if sanitizeID(id) != id {
			t.Errorf("root %q: id %q has characters HA refuses in a node id", root, id)
		}
		if prev, dup := ids[id]; dup {
			t.Errorf("roots %q and %q share bridge id %q", prev, root, id)
		}
		ids[id] = root
	}
	if got := BridgeDeviceID(Topics{Root: "blink2mqtt"}); got != "blink2mqtt_bridge_blink2mqtt" {
		t.Errorf("plain root: %q", got)
	}
}

func TestModels(t *testing.T) {
	tests := []struct {
		d    blink.Device
		want string
	}{
		{blink.Device{Family: blink.FamilyCamera, Type: "catalina"}, "Outdoor/Indoor (gen 3)"},
		{blink.Device{Family: blink.FamilyCamera, Type: "xt2"}, "XT2"},
		{blink.Device{Family: blink.FamilyCamera, Type: "white"}, "Indoor (gen 1)"},
		{blink.Device{Family: blink.FamilyOwl, Type: "owl"}, "Mini"},
		{blink.Device{Family: blink.FamilyOwl, Type: "hawk"}, "Mini 2"},
		{blink.Device{Family: blink.FamilyDoorbell, Type: "lotus"}, "Video Doorbell"},
		{blink.Device{Family: blink.FamilyCamera, Type: "sedona"}, "sedona"},
		{blink.Device{Family: blink.FamilyOwl}, "Mini"},
	}
	for _, tc := range tests {
		if got := DeviceModel(tc.d); got != tc.want {
			t.Errorf("DeviceModel(%q) = %q, want %q", tc.d.Type, got, tc.want)
		}
	}
	for typ, want := range map[string]string{"sm1": "Sync Module", "sm2": "Sync Module 2", "kalahari": "Sync Module Core", "x": "x", "": "Sync Module"} {
		if got := SyncModuleModel(blink.SyncModule{Type: typ}); got != want {
			t.Errorf("SyncModuleModel(%q) = %q, want %q", typ, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"defaults", Options{Topics: Topics{Root: "blink2mqtt"}}, ""},
		{"nested", Options{Prefix: "ha/disc", Topics: Topics{Root: "home/blink"}}, ""},
		{"empty root", Options{}, "topic root"},
		{"wildcard root", Options{Topics: Topics{Root: "blink/#"}}, "+ or #"},
		{"plus prefix", Options{Prefix: "home+", Topics: Topics{Root: "b"}}, "discovery prefix"},
		{"trailing slash", Options{Topics: Topics{Root: "blink/"}}, "start or end"},
		{"control char", Options{Topics: Topics{Root: "bl\x01ink"}}, "U+0001"},
		{"not utf8", Options{Topics: Topics{Root: "bl\xffink"}}, "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
