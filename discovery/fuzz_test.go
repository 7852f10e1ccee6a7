package discovery_test

import (
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/hatest"
)

// FuzzBuild feeds Build arbitrary names, types, ids, signals and topic
// roots and asserts that every config it returns still passes the schema
// check and that every capability has a state rule. Build parses nothing,
// so its typed input is what is fuzzed.
func FuzzBuild(f *testing.F) {
	f.Add("blink2mqtt", "homeassistant", "Front Yard", "catalina", "ok", uint8(0), int64(555), int64(4321), uint8(0xff), "sm2", "active", 5, "Home", int64(30))
	f.Add("a/b", "ha/x", "", "", "", uint8(1), int64(-1), int64(0), uint8(0), "", "", -1, "", int64(0))
	f.Add("über", "p", "Motion", "hawk", "low", uint8(2), int64(1<<62), int64(-7), uint8(5), "kalahari", "", 0, "世界", int64(1))
	f.Add("root", "homeassistant", "___ ---", "x y/z", "weird", uint8(9), int64(0), int64(0), uint8(2), "sm1", "full", 99, "Haustür", int64(-5))
	f.Fuzz(func(t *testing.T, root, prefix, name, typ, battery string, fam uint8, devID, netID int64,
		sig uint8, smType, storage string, wifi int, netName string, holdSec int64) {
		opts := discovery.Options{Prefix: prefix, Topics: discovery.Topics{Root: root}, Version: "1.0.0",
			HoldTime: time.Duration(holdSec) * time.Second, BridgeName: netName}
		if opts.Validate() != nil {
			t.Skip("options the bridge refuses at start-up (Validate fails)")
		}
		families := []blink.Family{blink.FamilyCamera, blink.FamilyOwl, blink.FamilyDoorbell, "siren"}
		d := blink.Device{ID: devID, NetworkID: netID, Family: families[int(fam)%len(families)],
			Type: typ, Name: name, Battery: battery, FirmwareVersion: typ, Serial: storage}
		if sig&1 != 0 {
			d.Signals = &blink.Signals{}
			if sig&2 != 0 {
				d.Signals.TemperatureF = new(wifi)
			}
			if sig&4 != 0 {
				d.Signals.WiFiBars = new(wifi)
			}
			if sig&8 != 0 {
				d.Signals.BatteryBars = new(wifi)
			}
		}
		hs := &blink.Homescreen{
			Networks: []blink.Network{{ID: netID, Name: netName}},
			Devices:  []blink.Device{d},
		}
		if sig&16 != 0 {
			hs.SyncModules = []blink.SyncModule{{ID: devID ^ 1, NetworkID: netID, Name: name, Type: smType,
				WiFiBars: wifi, LocalStorageStatus: storage, FirmwareVersion: smType}}
		}
		if sig&32 != 0 { // a second device with the same name in another family
			d2 := d
			d2.ID ^= 2 // the topic layout needs device ids unique within a network
			d2.Family = families[(int(fam)+1)%len(families)]
			hs.Devices = append(hs.Devices, d2)
		}
		msgs := discovery.Build(opts, hs)
		for _, err := range discovery.SchemaErrors(opts, msgs) {
			// A device called "Motion" makes HA show the motion entity
			// under the device name, which is harmless.
			if strings.Contains(err.Error(), "repeats the device name") {
				continue
			}
			t.Error(err)
		}
		contract := hatest.StateContract(msgs)
		for _, dv := range hs.Devices {
			for _, k := range discovery.Caps(dv).Keys() {
				if k == discovery.EntitySnapshot || k == discovery.EntityRecord {
					continue
				}
				if _, ok := contract[opts.Topics.DeviceEntity(dv.NetworkID, dv.ID, k)]; !ok {
					t.Errorf("no state rule for %s of device %d", k, dv.ID)
				}
			}
		}
		_ = hatest.Commands(msgs)
	})
}
