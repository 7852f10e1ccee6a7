package bridge

import (
	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// The settings part's share of desiredState: a state topic per schedule,
// setting and notification flag the entities of discovery.BuildWith read,
// and the attributes that carry them. Nothing is published for a source
// not read yet: the retained value of the last run stands until then.

// programAttrs is one schedule in a system's attributes.
type programAttrs struct {
	ID       int64                 `json:"id"`
	Name     string                `json:"name"`
	Enabled  bool                  `json:"enabled"`
	Schedule []blink.ScheduleEntry `json:"schedule,omitempty"`
}

// putPrograms adds network net's schedule states to m and returns them for
// its attributes.
func putPrograms(t discovery.Topics, st *settingsState, net int64, m map[string]string) []programAttrs {
	if st == nil {
		return nil
	}
	read, ok := st.programs[net]
	if !ok {
		return nil
	}
	out := make([]programAttrs, 0, len(read.list))
	for _, p := range read.list {
		m[t.NetworkEntity(net, discovery.ProgramKey(p.ID))] = onOff(p.Enabled)
		out = append(out, programAttrs{ID: p.ID, Name: p.Name, Enabled: p.Enabled, Schedule: p.Schedule})
	}
	return out
}

// putDeviceSettings adds device k's setting states to m and returns the
// values and Wi-Fi reading for its attributes.
func putDeviceSettings(t discovery.Topics, st *settingsState, k devKey, node discovery.Node, m map[string]string) (map[string]blink.SettingValue, *int) {
	if st == nil {
		return nil, nil
	}
	read, ok := st.devices[k]
	if !ok || read.s == nil {
		return nil, nil
	}
	vals := make(map[string]blink.SettingValue, len(read.s.Settings))
	for _, s := range read.s.Settings {
		m[t.NodeEntity(node, s.Name)] = discovery.SettingState(s.Name, s.Value)
		vals[s.Name] = s.Value
	}
	return vals, coarseDBm(read.s.WiFiDBm)
}

// coarseDBm rounds a signal strength to 5 dBm: the value moves by a dBm or
// two on every read without meaning, and Home Assistant records every
// attributes change.
func coarseDBm(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	r := (v - 2) / 5 * 5 // round half away from zero for negative dBm
	if v >= 0 {
		r = (v + 2) / 5 * 5
	}
	return &r
}

// putNotifications adds the notification flags' states to m.
func putNotifications(t discovery.Topics, st *settingsState, m map[string]string) {
	if st == nil || st.notify == nil {
		return
	}
	for _, f := range st.notify.flags {
		m[t.BridgeEntity(discovery.NotificationKey(f.Name))] = onOff(f.On)
	}
}
