package discovery_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/hatest"
)

// TestSettingStatesMatchTheContract: every value a setting takes gives a
// state HA accepts on its entity, and HA's own commands on that entity
// parse back to a value the setting takes.
func TestSettingStatesMatchTheContract(t *testing.T) {
	opts := discovery.FixtureOptions()
	msgs := discovery.BuildWith(opts, discovery.FixtureAccount(), discovery.FixtureExtras())
	contract := hatest.StateContract(msgs)
	cmds := map[string]hatest.Command{}
	for _, c := range hatest.Commands(msgs) {
		cmds[c.StateTopic] = c
	}
	for _, spec := range blink.Settings() {
		t.Run(spec.Name, func(t *testing.T) {
			topic := opts.Topics.DeviceEntity(4321, 555, spec.Name)
			check, ok := contract[topic]
			if !ok {
				t.Fatalf("no state rule for %s", topic)
			}
			var values []blink.SettingValue
			switch spec.Kind {
			case blink.SettingNumber:
				for n := spec.Min; n <= spec.Max; n += spec.Step {
					values = append(values, blink.NumberValue(n))
				}
			case blink.SettingChoice:
				for _, o := range spec.Options {
					values = append(values, blink.ChoiceValue(o))
				}
			case blink.SettingSwitch:
				values = []blink.SettingValue{blink.SwitchValue(true), blink.SwitchValue(false)}
			}
			values = append(values, blink.NumberValue(spec.Max+1), blink.ChoiceValue("nonsense"))
			var states []string
			for _, v := range values {
				s := discovery.SettingState(spec.Name, v)
				if err := check([]byte(s)); err != nil {
					t.Errorf("SettingState(%v) = %q: %v", v, s, err)
				}
				states = append(states, s)
			}
			for _, p := range cmds[topic].Payloads {
				if !slices.Contains(states, p) {
					t.Errorf("HA sends %q, which no value of %s is published as", p, spec.Name)
				}
			}
		})
	}
	for _, topic := range []string{opts.Topics.NetworkEntity(4321, discovery.ProgramKey(123)), opts.Topics.BridgeEntity(discovery.NotificationKey("motion"))} {
		check, ok := contract[topic]
		if !ok {
			t.Fatalf("no state rule for %s", topic)
		}
		if check([]byte(discovery.On)) != nil || check([]byte(discovery.Off)) != nil || check([]byte("true")) == nil {
			t.Errorf("%s: switch states ON/OFF only", topic)
		}
	}
}

// FuzzBuildWith feeds BuildWith schedule names and ids, setting names and
// notification flags as Blink could send them: every config still passes
// the schema check.
func FuzzBuildWith(f *testing.F) {
	f.Add("Weeknights", int64(123), "motion_sensitivity", "low_battery", "Front Yard")
	f.Add("", int64(-1), "volume", "Bad Name", "")
	f.Add("Schedule\n\x00世界", int64(1<<62), "night_vision", "x", "Schedule")
	f.Fuzz(func(t *testing.T, progName string, progID int64, setting, flag, devName string) {
		opts := discovery.FixtureOptions()
		hs := discovery.FixtureAccount()
		hs.Devices[0].Name = devName
		x := &discovery.Extras{
			Programs:      map[int64][]blink.Program{4321: {{ID: progID, Name: progName}}},
			Settings:      map[discovery.DeviceKey][]string{discovery.KeyOf(hs.Devices[0]): {setting, blink.SettingRecordAudio}},
			Notifications: []string{flag},
		}
		msgs := discovery.BuildWith(opts, hs, x)
		for _, err := range discovery.SchemaErrors(opts, msgs) {
			// A camera called "Motion" shows "Motion sensitivity" under
			// its device name, which is harmless (as in FuzzBuild).
			if strings.Contains(err.Error(), "repeats the device name") {
				continue
			}
			t.Error(err)
		}
		_ = hatest.StateContract(msgs)
		_ = hatest.Commands(msgs)
	})
}
