package discovery

import (
	"slices"
	"strconv"
	"strings"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// Extras is what the bridge reads from Blink besides the homescreen: the
// schedules of each network, the settings each device's config reports and
// the account's notification flags. BuildWith makes a switch per schedule
// (on its system), a number, select or switch per setting (entity_category
// config, on its device) and a switch per notification flag (on the bridge
// device). Only the names and ids matter here; the values go to the state
// topics.
type Extras struct {
	// Programs are each network's schedules (by network id).
	Programs map[int64][]blink.Program
	// Settings are the names of the settings each device's config reports
	// (blink.Settings names); a setting its config lacks gets no entity.
	Settings map[DeviceKey][]string
	// Notifications are the account's notification flag names.
	Notifications []string
}

// Entity key prefixes of the extras. A setting's key is its name.
const (
	programPrefix      = "program_"
	notificationPrefix = "notify_"
)

// ProgramKey is the entity key of a network's schedule switch: its state
// is <root>/<net>/program_<id>, ON or OFF.
func ProgramKey(id int64) string { return programPrefix + strconv.FormatInt(id, 10) }

// ParseProgramKey returns the program id of a ProgramKey.
func ParseProgramKey(key string) (int64, bool) {
	s, ok := strings.CutPrefix(key, programPrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, false
	}
	return id, true
}

// NotificationKey is the entity key of a notification flag's switch on the
// bridge device: its state is <root>/bridge/notify_<flag>, ON or OFF.
func NotificationKey(flag string) string { return notificationPrefix + flag }

// ParseNotificationKey returns the flag of a NotificationKey.
func ParseNotificationKey(key string) (string, bool) {
	f, ok := strings.CutPrefix(key, notificationPrefix)
	return f, ok && blink.ValidNotificationName(f)
}

// settingLooks are the names and icons of the settings in Home Assistant.
var settingLooks = map[string]struct{ name, icon string }{
	blink.SettingMotionSensitivity:    {"Motion sensitivity", "mdi:motion-sensor"},
	blink.SettingClipLength:           {"Clip length", "mdi:filmstrip"},
	blink.SettingRetriggerTime:        {"Retrigger time", "mdi:timer-refresh-outline"},
	blink.SettingNightVision:          {"Night vision", "mdi:weather-night"},
	blink.SettingIlluminatorIntensity: {"Illuminator intensity", "mdi:brightness-6"},
	blink.SettingVideoQuality:         {"Video quality", "mdi:high-definition"},
	blink.SettingRecordAudio:          {"Record audio", "mdi:microphone"},
	blink.SettingMotionAlert:          {"Motion alerts", "mdi:bell-ring-outline"},
	blink.SettingEarlyTermination:     {"End clip early", "mdi:stop-circle-outline"},
	blink.SettingEarlyNotification:    {"Early notification", "mdi:bell-alert-outline"},
}

// SettingEntity returns the component and config fields of a setting's
// entity: a number (min, max, step; seconds as a duration), a select
// (options) or a switch. ok is false for a name outside the catalogue.
func SettingEntity(name string) (component string, fields map[string]any, ok bool) {
	spec, ok := blink.SettingByName(name)
	if !ok {
		return "", nil, false
	}
	switch spec.Kind {
	case blink.SettingNumber:
		f := map[string]any{"min": spec.Min, "max": spec.Max, "step": spec.Step}
		if spec.Unit == "s" {
			f["device_class"], f["unit_of_measurement"] = "duration", "s"
		}
		return "number", f, true
	case blink.SettingChoice:
		return "select", map[string]any{"options": spec.Options}, true
	}
	return "switch", map[string]any{"payload_on": On, "payload_off": Off}, true
}

// SettingState is the state payload of a setting's entity: the number, the
// option, ON/OFF — or None when Blink's value is not one the entity takes.
func SettingState(name string, v blink.SettingValue) string {
	spec, ok := blink.SettingByName(name)
	if !ok || spec.Check(v) != nil {
		return StateNone
	}
	if spec.Kind == blink.SettingSwitch {
		if v.On() {
			return On
		}
		return Off
	}
	return v.String()
}

// deviceSettings adds the setting entities of device dv.
func (b *builder) deviceSettings(d device, dv blink.Device) {
	if b.extras == nil {
		return
	}
	node := b.nodes.Node(KeyOf(dv))
	for _, name := range b.extras.Settings[KeyOf(dv)] {
		component, fields, ok := SettingEntity(name)
		if !ok {
			continue
		}
		state := b.t.NodeEntity(node, name)
		fields["state_topic"], fields["command_topic"] = state, Set(state)
		look := settingLooks[name]
		if look.icon != "" {
			fields["icon"] = look.icon
		}
		b.add(d, entity{component: component, key: name, name: look.name, category: "config", fields: fields})
	}
}

// networkPrograms adds a switch per schedule of network n.
func (b *builder) networkPrograms(d device, n blink.Network) {
	if b.extras == nil {
		return
	}
	for _, p := range b.extras.Programs[n.ID] {
		if p.ID <= 0 {
			continue
		}
		key := ProgramKey(p.ID)
		name := "Schedule " + p.Name
		if strings.TrimSpace(p.Name) == "" {
			name = "Schedule " + id(p.ID)
		}
		state := b.t.NetworkEntity(n.ID, key)
		b.add(d, entity{component: "switch", key: key, name: name, fields: map[string]any{
			"state_topic": state, "command_topic": Set(state),
			"payload_on": On, "payload_off": Off, "icon": "mdi:calendar-clock",
		}})
	}
}

// notificationSwitches adds a switch per notification flag on the bridge.
func (b *builder) notificationSwitches(d device) {
	if b.extras == nil {
		return
	}
	flags := slices.Clone(b.extras.Notifications)
	slices.Sort(flags)
	for _, f := range slices.Compact(flags) {
		if !blink.ValidNotificationName(f) {
			continue
		}
		key := NotificationKey(f)
		state := b.t.BridgeEntity(key)
		words := strings.ReplaceAll(f, "_", " ")
		b.add(d, entity{component: "switch", key: key, name: strings.ToUpper(words[:1]) + words[1:] + " notifications",
			category: "config", fields: map[string]any{
				"state_topic": state, "command_topic": Set(state),
				"payload_on": On, "payload_off": Off, "icon": "mdi:bell-outline",
			}})
	}
}

// BuildWith is Build plus the entities of x (nil x: Build).
func BuildWith(opts Options, hs *blink.Homescreen, x *Extras) []Message {
	b := newBuilder(opts)
	b.extras = x
	b.bridge()
	if hs != nil {
		b.homescreen(hs)
	}
	return b.messages()
}
