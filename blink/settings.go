package blink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// SettingKind says what values a setting takes.
type SettingKind int

// Setting kinds.
const (
	SettingNumber SettingKind = iota + 1 // a whole number from Min to Max, in Step
	SettingChoice                        // one of Options
	SettingSwitch                        // on or off
)

func (k SettingKind) String() string {
	switch k {
	case SettingNumber:
		return "number"
	case SettingChoice:
		return "choice"
	case SettingSwitch:
		return "switch"
	}
	return "setting kind " + strconv.Itoa(int(k))
}

// Names of the device settings the client knows (SettingSpec.Name). One name
// covers the field each family uses for it.
const (
	SettingMotionSensitivity    = "motion_sensitivity"
	SettingClipLength           = "clip_length"
	SettingRetriggerTime        = "retrigger_time"
	SettingNightVision          = "night_vision"
	SettingIlluminatorIntensity = "illuminator_intensity"
	SettingVideoQuality         = "video_quality"
	SettingRecordAudio          = "record_audio"
	SettingMotionAlert          = "motion_alert"
	SettingEarlyTermination     = "early_termination"
	SettingEarlyNotification    = "early_notification"
)

// SettingSpec is one setting of the catalogue: its values and the JSON
// field each family's config keeps it in.
type SettingSpec struct {
	Name string
	Kind SettingKind
	// Min, Max and Step bound a SettingNumber.
	Min, Max, Step int
	// Unit is "s" for durations, "" otherwise.
	Unit string
	// Options are a SettingChoice's values, in order.
	Options []string
	fields  map[Family][]field
}

// field is one JSON field a family may keep a setting in.
type field struct {
	name string
	// index: the field holds the position of the value in Options (the
	// camera's illuminator_enable is 0 off, 1 on, 2 auto).
	index bool
}

// wire is the JSON form a device reported a value in; a change is written
// back in the same form.
type wire byte

const (
	wireDefault wire = iota // the field's usual form
	wireNumber
	wireString
	wireBool
)

// settingCatalogue is every setting the client reads and writes. The field
// names come from the configs the apps read: cameras keep most settings
// under other names than Minis and doorbells. Within a family the first
// field the config carries wins. Never modified.
var settingCatalogue = []SettingSpec{
	{Name: SettingMotionSensitivity, Kind: SettingNumber, Min: 1, Max: 9, Step: 1, fields: map[Family][]field{
		FamilyCamera: {{name: "motion_sensitivity"}}, FamilyOwl: {{name: "motion_sensitivity"}}, FamilyDoorbell: {{name: "motion_sensitivity"}},
	}},
	{Name: SettingClipLength, Kind: SettingNumber, Min: 5, Max: 60, Step: 1, Unit: "s", fields: map[Family][]field{
		FamilyCamera:   {{name: "video_length"}},
		FamilyOwl:      {{name: "clip_length"}, {name: "video_length"}},
		FamilyDoorbell: {{name: "clip_length"}, {name: "video_length"}},
	}},
	{Name: SettingRetriggerTime, Kind: SettingNumber, Min: 10, Max: 60, Step: 1, Unit: "s", fields: map[Family][]field{
		FamilyCamera:   {{name: "motion_retrigger_time"}, {name: "retrigger_time"}, {name: "alert_interval"}},
		FamilyOwl:      {{name: "retrigger_time"}, {name: "motion_retrigger_time"}},
		FamilyDoorbell: {{name: "retrigger_time"}, {name: "motion_retrigger_time"}},
	}},
	{Name: SettingNightVision, Kind: SettingChoice, Options: []string{"off", "on", "auto"}, fields: map[Family][]field{
		FamilyCamera:   {{name: "illuminator_enable", index: true}},
		FamilyOwl:      {{name: "illuminator_enable"}},
		FamilyDoorbell: {{name: "illuminator_enable"}},
	}},
	{Name: SettingIlluminatorIntensity, Kind: SettingNumber, Min: 1, Max: 10, Step: 1, fields: map[Family][]field{
		FamilyCamera: {{name: "illuminator_intensity"}}, FamilyOwl: {{name: "illuminator_intensity"}}, FamilyDoorbell: {{name: "illuminator_intensity"}},
	}},
	{Name: SettingVideoQuality, Kind: SettingChoice, Options: []string{"saver", "standard", "best"}, fields: map[Family][]field{
		FamilyCamera: {{name: "video_quality"}}, FamilyOwl: {{name: "video_quality"}}, FamilyDoorbell: {{name: "video_quality"}},
	}},
	{Name: SettingRecordAudio, Kind: SettingSwitch, fields: map[Family][]field{
		FamilyCamera: {{name: "record_audio_enable"}}, FamilyOwl: {{name: "record_audio_enable"}}, FamilyDoorbell: {{name: "record_audio_enable"}},
	}},
	{Name: SettingMotionAlert, Kind: SettingSwitch, fields: map[Family][]field{
		FamilyCamera: {{name: "motion_alert"}}, FamilyOwl: {{name: "motion_alert"}}, FamilyDoorbell: {{name: "motion_alert"}},
	}},
	{Name: SettingEarlyTermination, Kind: SettingSwitch, fields: map[Family][]field{
		FamilyCamera: {{name: "early_termination"}}, FamilyOwl: {{name: "early_termination"}}, FamilyDoorbell: {{name: "early_termination"}},
	}},
	{Name: SettingEarlyNotification, Kind: SettingSwitch, fields: map[Family][]field{
		FamilyCamera: {{name: "early_notification"}}, FamilyOwl: {{name: "early_notification"}}, FamilyDoorbell: {{name: "early_notification"}},
	}},
}

// Settings returns the catalogue of device settings, in a fixed order.
func Settings() []SettingSpec {
	out := make([]SettingSpec, len(settingCatalogue))
	for i, s := range settingCatalogue {
		s.Options = slices.Clone(s.Options)
		out[i] = s
	}
	return out
}

// SettingByName returns the catalogue entry named name.
func SettingByName(name string) (SettingSpec, bool) {
	for _, s := range settingCatalogue {
		if s.Name == name {
			s.Options = slices.Clone(s.Options)
			return s, true
		}
	}
	return SettingSpec{}, false
}

// Families returns the families whose config may carry the setting.
func (s SettingSpec) Families() []Family {
	var out []Family
	for _, f := range []Family{FamilyCamera, FamilyOwl, FamilyDoorbell} {
		if len(s.fields[f]) > 0 {
			out = append(out, f)
		}
	}
	return out
}

// Fields returns the JSON fields family f may keep the setting in, the one
// read first first.
func (s SettingSpec) Fields(f Family) []string {
	var out []string
	for _, fl := range s.fields[f] {
		out = append(out, fl.name)
	}
	return out
}

// Check reports whether v is a value of the setting: its kind, within Min
// and Max on a Step, or one of Options. Blink may still refuse a value a
// particular model does not support.
func (s SettingSpec) Check(v SettingValue) error {
	if v.kind != s.Kind {
		return fmt.Errorf("%s takes a %s, not a %s", s.Name, s.Kind, v.kind)
	}
	switch s.Kind {
	case SettingNumber:
		if v.number < s.Min || v.number > s.Max || s.Step > 1 && (v.number-s.Min)%s.Step != 0 {
			return fmt.Errorf("%s must be a whole number from %d to %d, got %d", s.Name, s.Min, s.Max, v.number)
		}
	case SettingChoice:
		if !slices.Contains(s.Options, v.choice) {
			return fmt.Errorf("%s must be one of %s, got %q", s.Name, strings.Join(s.Options, ", "), cleanText(v.choice, 32))
		}
	}
	return nil
}

// SettingValue is the value of one setting: a number, a choice or a switch.
// The zero value is no value.
type SettingValue struct {
	kind   SettingKind
	number int
	choice string
	on     bool
}

// NumberValue is a SettingNumber's value.
func NumberValue(n int) SettingValue { return SettingValue{kind: SettingNumber, number: n} }

// ChoiceValue is a SettingChoice's value.
func ChoiceValue(s string) SettingValue { return SettingValue{kind: SettingChoice, choice: s} }

// SwitchValue is a SettingSwitch's value.
func SwitchValue(on bool) SettingValue { return SettingValue{kind: SettingSwitch, on: on} }

// Kind is the kind of value (0 for no value).
func (v SettingValue) Kind() SettingKind { return v.kind }

// Number is a number's value.
func (v SettingValue) Number() int { return v.number }

// Choice is a choice's value.
func (v SettingValue) Choice() string { return v.choice }

// On is a switch's value.
func (v SettingValue) On() bool { return v.on }

// String is the value as text: "5", "auto", "true"; "" for no value.
func (v SettingValue) String() string {
	switch v.kind {
	case SettingNumber:
		return strconv.Itoa(v.number)
	case SettingChoice:
		return v.choice
	case SettingSwitch:
		return strconv.FormatBool(v.on)
	}
	return ""
}

// MarshalJSON writes a number, a string or a bool (null for no value).
func (v SettingValue) MarshalJSON() ([]byte, error) {
	switch v.kind {
	case SettingNumber:
		return json.Marshal(v.number)
	case SettingChoice:
		return json.Marshal(v.choice)
	case SettingSwitch:
		return json.Marshal(v.on)
	}
	return []byte("null"), nil
}

// Setting is one setting as a device's config reported it. Value may lie
// outside the catalogue (an unknown choice, a number out of range) when
// Blink sent one; SettingSpec.Check says so.
type Setting struct {
	Name  string
	Value SettingValue
	// Field is the JSON field of the device's config it came from; a
	// change (Setting.Change) is written to the same field, in the form the
	// device used.
	Field string
	wire  wire
}

// Change returns a change of s to v, written to s's field in s's form.
func (s Setting) Change(v SettingValue) SettingChange {
	return SettingChange{Name: s.Name, Value: v, field: s.Field, wire: s.wire}
}

// SettingChange is a new value for one setting (UpdateSettings).
type SettingChange struct {
	Name  string
	Value SettingValue
	field string
	wire  wire
}

// NewSettingChange is a change to the field the family usually keeps the
// setting in; Setting.Change is better when the device's config was read.
func NewSettingChange(name string, v SettingValue) SettingChange {
	return SettingChange{Name: name, Value: v}
}

// DeviceSettings is what the bridge uses from a device's config: the
// settings it reports (in catalogue order) and its Wi-Fi signal in dBm.
type DeviceSettings struct {
	Settings []Setting
	// WiFiDBm is nil when the config has no real value (Minis report bars
	// only; cameras send -255 at the top level when the value sits under
	// last_connect).
	WiFiDBm *int
}

// Get returns the setting named name.
func (d *DeviceSettings) Get(name string) (Setting, bool) {
	if d == nil {
		return Setting{}, false
	}
	for _, s := range d.Settings {
		if s.Name == name {
			return s, true
		}
	}
	return Setting{}, false
}

// maxChoiceText bounds a choice Blink sent that the catalogue does not know.
const maxChoiceText = 32

// decodeDeviceSettings reads the settings of a family's config body. The
// camera config wraps its object in "camera": [ … ]; Minis and doorbells
// send it flat. Fields that are absent or null give no setting; unknown
// fields are ignored.
func decodeDeviceSettings(op string, fam Family, body []byte) (*DeviceSettings, error) {
	var obj map[string]json.RawMessage
	if err := decodeJSON(op, body, &obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, &DecodeError{Op: op, Err: errors.New("config is not a JSON object")}
	}
	if fam == FamilyCamera {
		if cams, ok := obj["camera"]; ok {
			var list []map[string]json.RawMessage
			if err := json.Unmarshal(cams, &list); err != nil {
				return nil, &DecodeError{Op: op, Err: jsonErr(err)}
			}
			obj = nil
			for _, c := range list {
				if c != nil {
					obj = c
					break
				}
			}
		}
	}
	out := &DeviceSettings{}
	if obj == nil {
		return out, nil
	}
	for _, spec := range settingCatalogue {
		for _, fl := range spec.fields[fam] {
			raw, ok := obj[fl.name]
			if !ok || isJSONNull(raw) {
				continue
			}
			v, w, ok := decodeValue(spec, fl, raw)
			if !ok {
				continue
			}
			out.Settings = append(out.Settings, Setting{Name: spec.Name, Value: v, Field: fl.name, wire: w})
			break
		}
	}
	out.WiFiDBm = wifiDBm(fam, obj)
	return out, nil
}

func isJSONNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// wireOf is the JSON form of raw.
func wireOf(raw json.RawMessage) wire {
	t := bytes.TrimSpace(raw)
	switch {
	case len(t) == 0:
		return wireDefault
	case t[0] == '"':
		return wireString
	case t[0] == 't' || t[0] == 'f':
		return wireBool
	case t[0] == '-' || t[0] >= '0' && t[0] <= '9':
		return wireNumber
	}
	return wireDefault
}

// decodeValue reads one field leniently: numbers may be strings, switches
// 0/1, choices either the option or its position. ok is false for a value
// of no usable shape (an object, a list).
func decodeValue(spec SettingSpec, fl field, raw json.RawMessage) (SettingValue, wire, bool) {
	w := wireOf(raw)
	if w == wireDefault {
		return SettingValue{}, w, false
	}
	switch spec.Kind {
	case SettingNumber:
		var n flexInt
		if json.Unmarshal(raw, &n) != nil || !n.set {
			return SettingValue{}, w, false
		}
		return NumberValue(int(n.v)), w, true
	case SettingSwitch:
		var b flexBool
		if json.Unmarshal(raw, &b) != nil {
			return SettingValue{}, w, false
		}
		return SwitchValue(b.v), w, true
	case SettingChoice:
		if w == wireNumber {
			var n flexInt
			if json.Unmarshal(raw, &n) != nil || !n.set {
				return SettingValue{}, w, false
			}
			if n.v >= 0 && n.v < int64(len(spec.Options)) {
				return ChoiceValue(spec.Options[n.v]), w, true
			}
			return ChoiceValue(strconv.FormatInt(n.v, 10)), w, true
		}
		var s flexString
		if json.Unmarshal(raw, &s) != nil {
			return SettingValue{}, w, false
		}
		c := strings.ToLower(strings.TrimSpace(s.v))
		if c == "" {
			return SettingValue{}, w, false
		}
		return ChoiceValue(cleanText(c, maxChoiceText)), w, true
	}
	return SettingValue{}, w, false
}

// dBm placeholders and bounds: -255 means "unknown"; anything outside a
// radio's range is not a reading.
const (
	dBmPlaceholder = -255
	dBmMin         = -150
)

// wifiDBm is the Wi-Fi signal a config reports in dBm. Cameras send the
// placeholder -255 at the top level while the reading sits in last_connect.
func wifiDBm(fam Family, obj map[string]json.RawMessage) *int {
	read := func(o map[string]json.RawMessage, key string) *int {
		var n flexInt
		if raw, ok := o[key]; !ok || json.Unmarshal(raw, &n) != nil {
			return nil
		}
		return dBm(n)
	}
	switch fam {
	case FamilyCamera:
		if v := read(obj, "wifi_strength"); v != nil {
			return v
		}
		var lc map[string]json.RawMessage
		if raw, ok := obj["last_connect"]; ok && json.Unmarshal(raw, &lc) == nil {
			return read(lc, "wifi_strength")
		}
	case FamilyDoorbell:
		return read(obj, "wifi_rssi")
	}
	return nil
}

// encodeChange is the JSON value of c for a family's field: the form the
// device reported (or the field's usual one).
func encodeChange(spec SettingSpec, fl field, c SettingChange) any {
	v := c.Value
	switch spec.Kind {
	case SettingNumber:
		if c.wire == wireString {
			return strconv.Itoa(v.number)
		}
		return v.number
	case SettingSwitch:
		switch c.wire {
		case wireNumber:
			if v.on {
				return 1
			}
			return 0
		case wireString:
			return strconv.FormatBool(v.on)
		}
		return v.on
	default:
		if c.wire == wireNumber || c.wire == wireDefault && fl.index {
			return slices.Index(spec.Options, v.choice)
		}
		return v.choice
	}
}

// settingsBody is the JSON body of UpdateSettings for family fam.
func settingsBody(fam Family, changes []SettingChange) ([]byte, error) {
	if len(changes) == 0 {
		return nil, errors.New("blink: UpdateSettings: no changes")
	}
	body := make(map[string]any, len(changes))
	for _, c := range changes {
		spec, ok := SettingByName(c.Name)
		if !ok {
			return nil, fmt.Errorf("blink: UpdateSettings: unknown setting %q", cleanText(c.Name, 40))
		}
		if err := spec.Check(c.Value); err != nil {
			return nil, fmt.Errorf("blink: UpdateSettings: %w", err)
		}
		fields := spec.fields[fam]
		if len(fields) == 0 {
			return nil, fmt.Errorf("blink: %s for a %q device: %w", c.Name, fam, ErrWrongFamily)
		}
		fl := fields[0]
		if c.field != "" {
			i := slices.IndexFunc(fields, func(f field) bool { return f.name == c.field })
			if i < 0 {
				return nil, fmt.Errorf("blink: UpdateSettings: %q is not a %s field of a %s", cleanText(c.field, 40), c.Name, fam)
			}
			fl = fields[i]
		}
		if _, dup := body[fl.name]; dup {
			return nil, fmt.Errorf("blink: UpdateSettings: %s changed twice", c.Name)
		}
		body[fl.name] = encodeChange(spec, fl, c)
	}
	return json.Marshal(body)
}

// DeviceSettings reads a device's config (the family's config endpoint) and
// returns the settings it reports.
func (c *Client) DeviceSettings(ctx context.Context, d DeviceRef) (*DeviceSettings, error) {
	return deviceConfig(ctx, c, d, d.Family, func(op string, body []byte) (*DeviceSettings, error) {
		return decodeDeviceSettings(op, d.Family, body)
	})
}

// UpdateSettings changes settings of a device and waits until Blink reports
// the change done: cameras take POST …/camera/{id}/update, Minis and
// doorbells POST their config; both answer with a command. A value Blink
// refuses comes back as a *StatusError carrying Blink's message.
func (c *Client) UpdateSettings(ctx context.Context, d DeviceRef, changes []SettingChange) (*CommandResult, error) {
	r, err := routeFor(d.Family, epUpdate)
	if err != nil {
		return nil, err
	}
	body, err := settingsBody(d.Family, changes)
	if err != nil {
		return nil, err
	}
	return c.command(ctx, r.tmpl, ids{net: d.NetworkID, cam: d.ID}, body)
}

// wireNames are the JSON forms as a state file writes them.
var wireNames = [...]string{wireDefault: "", wireNumber: "number", wireString: "string", wireBool: "bool"}

type settingJSON struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
	Field string          `json:"field,omitempty"`
	Form  string          `json:"form,omitempty"`
}

// MarshalJSON writes the setting for a state file: name, value, field and
// the JSON form the device used for it.
func (s Setting) MarshalJSON() ([]byte, error) {
	v, err := s.Value.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return json.Marshal(settingJSON{Name: s.Name, Value: v, Field: s.Field, Form: wireNames[s.wire]})
}

// UnmarshalJSON reads what MarshalJSON wrote. A name outside the catalogue
// or a value not of its kind is an error.
func (s *Setting) UnmarshalJSON(b []byte) error {
	var j settingJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	spec, ok := SettingByName(j.Name)
	if !ok {
		return fmt.Errorf("unknown setting %q", cleanText(j.Name, 40))
	}
	var v SettingValue
	switch spec.Kind {
	case SettingNumber:
		var n int
		if err := json.Unmarshal(j.Value, &n); err != nil {
			return fmt.Errorf("setting %s: %w", spec.Name, err)
		}
		v = NumberValue(n)
	case SettingChoice:
		var c string
		if err := json.Unmarshal(j.Value, &c); err != nil {
			return fmt.Errorf("setting %s: %w", spec.Name, err)
		}
		v = ChoiceValue(cleanText(c, maxChoiceText))
	default:
		var on bool
		if err := json.Unmarshal(j.Value, &on); err != nil {
			return fmt.Errorf("setting %s: %w", spec.Name, err)
		}
		v = SwitchValue(on)
	}
	w := wireDefault
	if i := slices.Index(wireNames[:], j.Form); i > 0 {
		w = wire(i)
	}
	*s = Setting{Name: spec.Name, Value: v, Field: cleanText(j.Field, 64), wire: w}
	return nil
}
