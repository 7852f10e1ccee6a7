package discovery

import (
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

func TestNodesOf(t *testing.T) {
	cam := func(net, id int64) blink.Device {
		return blink.Device{NetworkID: net, ID: id, Family: blink.FamilyCamera}
	}
	owl := func(net, id int64) blink.Device { return blink.Device{NetworkID: net, ID: id, Family: blink.FamilyOwl} }
	bell := func(net, id int64) blink.Device {
		return blink.Device{NetworkID: net, ID: id, Family: blink.FamilyDoorbell}
	}
	sm := func(net, id int64) blink.SyncModule { return blink.SyncModule{NetworkID: net, ID: id} }
	tests := []struct {
		name    string
		devices []blink.Device
		syncs   []blink.SyncModule
		want    map[DeviceKey]string
	}{
		{
			name:    "unique ids keep bare ids",
			devices: []blink.Device{cam(1, 10), owl(1, 11), bell(2, 10)},
			syncs:   []blink.SyncModule{sm(1, 12)},
			want: map[DeviceKey]string{
				{1, blink.FamilyCamera, 10}: "10", {1, blink.FamilyOwl, 11}: "11",
				{2, blink.FamilyDoorbell, 10}: "10", {1, FamilySyncModule, 12}: "12",
			},
		},
		{
			name:    "camera keeps the id, the Mini is prefixed",
			devices: []blink.Device{owl(1, 10), cam(1, 10)},
			want:    map[DeviceKey]string{{1, blink.FamilyCamera, 10}: "10", {1, blink.FamilyOwl, 10}: "owl-10"},
		},
		{
			name:    "three families and a sync module share an id",
			devices: []blink.Device{bell(1, 7), owl(1, 7), cam(1, 7)},
			syncs:   []blink.SyncModule{sm(1, 7)},
			want: map[DeviceKey]string{
				{1, blink.FamilyCamera, 7}: "7", {1, blink.FamilyOwl, 7}: "owl-7",
				{1, blink.FamilyDoorbell, 7}: "doorbell-7", {1, FamilySyncModule, 7}: "sync-7",
			},
		},
		{
			name:    "Mini and sync module: the Mini keeps it",
			devices: []blink.Device{owl(3, 5)},
			syncs:   []blink.SyncModule{sm(3, 5)},
			want:    map[DeviceKey]string{{3, blink.FamilyOwl, 5}: "5", {3, FamilySyncModule, 5}: "sync-5"},
		},
		{
			name:    "same id on two networks is no collision",
			devices: []blink.Device{cam(1, 9), owl(2, 9)},
			want:    map[DeviceKey]string{{1, blink.FamilyCamera, 9}: "9", {2, blink.FamilyOwl, 9}: "9"},
		},
		{
			name:    "a device listed twice is one device",
			devices: []blink.Device{cam(1, 4), cam(1, 4)},
			want:    map[DeviceKey]string{{1, blink.FamilyCamera, 4}: "4"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := NodesOf(&blink.Homescreen{Devices: tc.devices, SyncModules: tc.syncs})
			seen := map[Node]DeviceKey{}
			for k, want := range tc.want {
				got := n.Node(k)
				if got.Name != want || got.Network != k.Network {
					t.Errorf("Node(%v) = %+v, want %q", k, got, want)
				}
				if back, ok := n.Key(got); !ok || back != k {
					t.Errorf("Key(%+v) = %v, %v; want %v", got, back, ok, k)
				}
				if o, dup := seen[got]; dup {
					t.Errorf("%v and %v share node %+v", o, k, got)
				}
				seen[got] = k
			}
		})
	}
}

func TestParseDeviceKey(t *testing.T) {
	tests := []struct {
		in   string
		want DeviceKey
		ok   bool
	}{
		{"4321/camera/555", DeviceKey{4321, blink.FamilyCamera, 555}, true},
		{"4321/sync_module/7", DeviceKey{4321, FamilySyncModule, 7}, true},
		{"4321/555", DeviceKey{4321, "", 555}, true}, // written before families were keys
		{"4321/toaster/555", DeviceKey{}, false},
		{"4321/camera/x", DeviceKey{}, false},
		{"0/camera/1", DeviceKey{}, false},
		{"", DeviceKey{}, false},
		{"1/2/3/4", DeviceKey{}, false},
	}
	for _, tc := range tests {
		got, ok := ParseDeviceKey(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("ParseDeviceKey(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
		if ok {
			if back, _ := ParseDeviceKey(got.String()); back != got {
				t.Errorf("%v does not survive String: %q", got, got.String())
			}
		}
	}
}
