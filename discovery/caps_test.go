package discovery

import (
	"slices"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

func TestCaps(t *testing.T) {
	base := []string{EntityMotion, EntityMotionDetection, EntitySnapshot, EntityRecord, EntityThumbnail}
	tail := []string{EntityOnline, EntityLastEvent, EntityEvent}
	keys := func(mid ...string) []string { return slices.Concat(base, mid, tail) }
	tests := []struct {
		name  string
		d     blink.Device
		want  []string
		types []string
	}{
		{
			name: "battery camera with full signals",
			d: blink.Device{Family: blink.FamilyCamera, Type: "catalina", Battery: "ok",
				Signals: &blink.Signals{TemperatureF: ip(47), WiFiBars: ip(5), LFRBars: ip(4), BatteryBars: ip(3)}},
			want:  keys(EntityBatteryLow, EntityBatteryLevel, EntityTemperature, EntityWiFi),
			types: []string{"motion", "snapshot", "liveview"},
		},
		{
			name:  "camera without signals",
			d:     blink.Device{Family: blink.FamilyCamera, Type: "white", Battery: "low"},
			want:  keys(EntityBatteryLow),
			types: []string{"motion", "snapshot", "liveview"},
		},
		{
			name:  "mains camera with wifi only",
			d:     blink.Device{Family: blink.FamilyCamera, Type: "sedona", Signals: &blink.Signals{WiFiBars: ip(0)}},
			want:  keys(EntityWiFi),
			types: []string{"motion", "snapshot", "liveview"},
		},
		{
			name:  "empty signals object",
			d:     blink.Device{Family: blink.FamilyCamera, Type: "xt2", Battery: "ok", Signals: &blink.Signals{}},
			want:  keys(EntityBatteryLow),
			types: []string{"motion", "snapshot", "liveview"},
		},
		{
			name:  "mini",
			d:     blink.Device{Family: blink.FamilyOwl, Type: "owl"},
			want:  keys(),
			types: []string{"motion", "snapshot", "liveview"},
		},
		{
			name:  "doorbell on battery",
			d:     blink.Device{Family: blink.FamilyDoorbell, Type: "lotus", Battery: "ok"},
			want:  keys(EntityBatteryLow),
			types: []string{"motion", "snapshot", "liveview", "doorbell"},
		},
		{
			name:  "unknown type keeps family caps",
			d:     blink.Device{Family: blink.FamilyDoorbell, Type: "peony"},
			want:  keys(),
			types: []string{"motion", "snapshot", "liveview", "doorbell"},
		},
		{
			name: "unknown family gets nothing",
			d:    blink.Device{Family: "siren", Type: "siren", Battery: "ok"},
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Caps(tc.d)
			if got := c.Keys(); !slices.Equal(got, tc.want) {
				t.Errorf("Keys() = %v, want %v", got, tc.want)
			}
			if !slices.Equal(c.EventTypes, tc.types) {
				t.Errorf("EventTypes = %v, want %v", c.EventTypes, tc.types)
			}
			if c.WiFiDBm {
				t.Error("Caps never knows dBm from homescreen")
			}
		})
	}
}

func TestSyncCaps(t *testing.T) {
	tests := []struct {
		name string
		s    blink.SyncModule
		want []string
	}{
		{"sm2 reports storage", blink.SyncModule{Type: "sm2", WiFiBars: 5, LocalStorageStatus: "active"}, []string{EntityOnline, EntityLocalStorage, EntityWiFi}},
		{"sm2 storage field missing this poll", blink.SyncModule{Type: "sm2", WiFiBars: 5}, []string{EntityOnline, EntityLocalStorage, EntityWiFi}},
		{"sm1 has no USB", blink.SyncModule{Type: "sm1", WiFiBars: 2, LocalStorageStatus: "unavailable"}, []string{EntityOnline, EntityWiFi}},
		{"kalahari has no USB", blink.SyncModule{Type: "kalahari", WiFiBars: -1}, []string{EntityOnline}},
		{"unknown type follows the field", blink.SyncModule{Type: "sm9", WiFiBars: 0, LocalStorageStatus: "full"}, []string{EntityOnline, EntityLocalStorage, EntityWiFi}},
		{"unknown type without the field", blink.SyncModule{Type: "", WiFiBars: -1}, []string{EntityOnline}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SyncCaps(tc.s).Keys(); !slices.Equal(got, tc.want) {
				t.Errorf("Keys() = %v, want %v", got, tc.want)
			}
			// Watching the USB storage adds the check's sensor exactly where
			// there is local storage.
			want := slices.Clone(tc.want)
			if i := slices.Index(want, EntityLocalStorage); i >= 0 {
				want = slices.Insert(want, i+1, EntityLocalStorageChecked)
			}
			if got := SyncCapsWatched(tc.s, true).Keys(); !slices.Equal(got, want) {
				t.Errorf("watched: Keys() = %v, want %v", got, want)
			}
			if got := SyncCapsWatched(tc.s, false).Keys(); !slices.Equal(got, tc.want) {
				t.Errorf("not watched: Keys() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBuildFollowsCaps: for every device the configs Build makes are exactly
// the entities Caps/SyncCaps name, so the bridge, publishing states for the
// same keys, never publishes a state no entity reads nor leaves one unfed.
func TestBuildFollowsCaps(t *testing.T) {
	opts := testOptions()
	hs := bigAccount()
	msgs := Build(opts, hs)
	keysOf := func(node string) []string {
		var k []string
		for _, m := range msgs {
			parts := strings.Split(m.Topic, "/")
			if parts[2] == node {
				k = append(k, parts[3])
			}
		}
		slices.Sort(k)
		return k
	}
	for _, d := range hs.Devices {
		want := slices.Sorted(slices.Values(Caps(d).Keys()))
		if got := keysOf(DeviceID(d.Family, d.ID)); !slices.Equal(got, want) {
			t.Errorf("device %d (%s): configs for %v, Caps says %v", d.ID, d.Family, got, want)
		}
	}
	for _, s := range hs.SyncModules {
		want := slices.Sorted(slices.Values(SyncCapsWatched(s, opts.LocalStorage).Keys()))
		if got := keysOf(SyncModuleDeviceID(s.ID)); !slices.Equal(got, want) {
			t.Errorf("sync module %d: configs for %v, SyncCapsWatched says %v", s.ID, got, want)
		}
	}
	for _, n := range hs.Networks {
		if got := keysOf(NetworkDeviceID(n.ID)); !slices.Equal(got, []string{EntityAlarm}) {
			t.Errorf("network %d: configs for %v, want the alarm only", n.ID, got)
		}
	}
}

func TestOptionsCapsOverride(t *testing.T) {
	opts := testOptions()
	opts.Caps = func(d blink.Device) Capabilities {
		c := Caps(d)
		c.WiFiDBm = true
		c.Record = false
		return c
	}
	msgs := Build(opts, defaultAccount())
	has := func(part string) bool {
		return slices.ContainsFunc(msgs, func(m Message) bool { return strings.Contains(m.Topic, part) })
	}
	if !has("/blink2mqtt_doorbell_999/wifi_dbm/") {
		t.Error("override did not add the dBm sensor")
	}
	if has("/record/") {
		t.Error("override did not remove the record button")
	}
}

func TestDeviceVia(t *testing.T) {
	msgs := Build(testOptions(), bigAccount())
	via := func(node string) string {
		for _, m := range msgs {
			if strings.Contains(m.Topic, "/"+node+"/") {
				p := decode(t, m.Payload)
				v, _ := p["device"].(map[string]any)["via_device"].(string)
				return v
			}
		}
		t.Fatalf("no config for %s", node)
		return ""
	}
	tests := []struct{ node, want string }{
		{DeviceID(blink.FamilyCamera, 555), SyncModuleDeviceID(777)},   // camera → its sync module
		{DeviceID(blink.FamilyDoorbell, 999), SyncModuleDeviceID(777)}, // doorbell on a sync-module network
		{DeviceID(blink.FamilyCamera, 600), SyncModuleDeviceID(778)},   // two sync modules: the lowest id
		{DeviceID(blink.FamilyOwl, 888), NetworkDeviceID(4400)},        // standalone Mini → its network
		{DeviceID(blink.FamilyDoorbell, 800), NetworkDeviceID(5002)},   // standalone doorbell
		{DeviceID(blink.FamilyCamera, 900), ""},                        // network not on the homescreen
		{SyncModuleDeviceID(777), NetworkDeviceID(4321)},               // sync module → network
		{SyncModuleDeviceID(781), ""},                                  // sync module of an unknown network
		{NetworkDeviceID(4321), BridgeDeviceID(testOptions().Topics)},  // network → bridge
	}
	for _, tc := range tests {
		if got := via(tc.node); got != tc.want {
			t.Errorf("%s: via_device %q, want %q", tc.node, got, tc.want)
		}
	}
}
