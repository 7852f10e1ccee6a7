package blink

import (
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// settingsMap is a DeviceSettings as name → "value@field" for compact
// comparisons.
func settingsMap(ds *DeviceSettings) map[string]string {
	m := map[string]string{}
	for _, s := range ds.Settings {
		m[s.Name] = s.Value.String() + "@" + s.Field
	}
	return m
}

func TestDecodeDeviceSettings(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		family  Family
		want    map[string]string
		wifi    *int
	}{
		{"camera", "camera_config.json", FamilyCamera, map[string]string{
			SettingMotionSensitivity: "5@motion_sensitivity", SettingClipLength: "30@video_length",
			SettingRetriggerTime: "10@alert_interval", SettingNightVision: "auto@illuminator_enable",
			SettingIlluminatorIntensity: "7@illuminator_intensity", SettingVideoQuality: "standard@video_quality",
			SettingRecordAudio: "true@record_audio_enable", SettingMotionAlert: "true@motion_alert",
			SettingEarlyTermination: "true@early_termination",
		}, ptr(-52)},
		{"camera with the -255 placeholder reads last_connect", "camera_config_placeholder.json", FamilyCamera, map[string]string{
			SettingMotionSensitivity: "7@motion_sensitivity", SettingClipLength: "20@video_length",
			SettingNightVision: "on@illuminator_enable", SettingVideoQuality: "enhanced@video_quality",
			SettingRecordAudio: "false@record_audio_enable", SettingEarlyTermination: "false@early_termination",
		}, ptr(-61)},
		{"mini", "owl_config.json", FamilyOwl, map[string]string{
			SettingMotionSensitivity: "5@motion_sensitivity", SettingClipLength: "30@clip_length",
			SettingRetriggerTime: "10@retrigger_time", SettingNightVision: "auto@illuminator_enable",
			SettingVideoQuality: "best@video_quality", SettingRecordAudio: "true@record_audio_enable",
		}, nil},
		{"doorbell", "doorbell_config.json", FamilyDoorbell, map[string]string{
			SettingMotionSensitivity: "5@motion_sensitivity", SettingClipLength: "30@video_length",
		}, ptr(-63)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := decodeDeviceSettings("GET /c", tc.family, mustFixture(t, tc.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if got := settingsMap(ds); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("settings\n got %v\nwant %v", got, tc.want)
			}
			if !reflect.DeepEqual(ds.WiFiDBm, tc.wifi) {
				t.Errorf("WiFiDBm = %v, want %v", deref(ds.WiFiDBm), deref(tc.wifi))
			}
			// Catalogue order, each setting once.
			last := -1
			for _, s := range ds.Settings {
				i := catalogueIndex(s.Name)
				if i <= last {
					t.Errorf("settings out of catalogue order or repeated: %v", settingsMap(ds))
				}
				last = i
			}
		})
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

func catalogueIndex(name string) int {
	for i, s := range settingCatalogue {
		if s.Name == name {
			return i
		}
	}
	return -1
}

func TestDecodeDeviceSettingsShapes(t *testing.T) {
	tests := []struct {
		name, body string
		family     Family
		want       map[string]string
		err        bool
	}{
		{"camera array with null first", `{"camera":[null,{"motion_sensitivity":3}]}`, FamilyCamera, map[string]string{SettingMotionSensitivity: "3@motion_sensitivity"}, false},
		{"camera empty array", `{"camera":[]}`, FamilyCamera, map[string]string{}, false},
		{"camera flat (no wrapper)", `{"video_length":15}`, FamilyCamera, map[string]string{SettingClipLength: "15@video_length"}, false},
		{"camera wrapper not a list", `{"camera":{"id":1}}`, FamilyCamera, nil, true},
		{"first alias wins", `{"retrigger_time":20,"motion_retrigger_time":30}`, FamilyOwl, map[string]string{SettingRetriggerTime: "20@retrigger_time"}, false},
		{"null falls through to the next alias", `{"clip_length":null,"video_length":25}`, FamilyOwl, map[string]string{SettingClipLength: "25@video_length"}, false},
		{"choice index out of range kept as text", `{"camera":[{"illuminator_enable":7}]}`, FamilyCamera, map[string]string{SettingNightVision: "7@illuminator_enable"}, false},
		{"choice text is lower-cased", `{"illuminator_enable":" AUTO "}`, FamilyOwl, map[string]string{SettingNightVision: "auto@illuminator_enable"}, false},
		{"empty choice is no setting", `{"video_quality":""}`, FamilyOwl, map[string]string{}, false},
		{"number as float", `{"motion_sensitivity":4.0}`, FamilyDoorbell, map[string]string{SettingMotionSensitivity: "4@motion_sensitivity"}, false},
		{"garbage number is no setting", `{"motion_sensitivity":"high"}`, FamilyDoorbell, map[string]string{}, false},
		{"not an object", `[1,2]`, FamilyOwl, nil, true},
		{"null body", `null`, FamilyOwl, nil, true},
		{"empty body", ``, FamilyOwl, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := decodeDeviceSettings("GET /c", tc.family, []byte(tc.body))
			if tc.err {
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("err = %v, want a *DecodeError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := settingsMap(ds); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCameraConfigWiFiPlaceholder(t *testing.T) {
	cc, err := decodeCameraConfig("GET /c", mustFixture(t, "camera_config_placeholder.json"))
	if err != nil {
		t.Fatal(err)
	}
	if cc.WiFiDBm == nil || *cc.WiFiDBm != -61 {
		t.Errorf("WiFiDBm = %v, want -61 from last_connect (the top level says -255)", deref(cc.WiFiDBm))
	}
	if cc.LFRDBm == nil || *cc.LFRDBm != -70 {
		t.Errorf("LFRDBm = %v, want -70 from last_connect", deref(cc.LFRDBm))
	}
}

// TestSettingsBody checks each change is written to the field the device
// used, in the form it used.
func TestSettingsBody(t *testing.T) {
	read := func(fam Family, body string) *DeviceSettings {
		t.Helper()
		ds, err := decodeDeviceSettings("GET /c", fam, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	change := func(ds *DeviceSettings, name string, v SettingValue) SettingChange {
		t.Helper()
		s, ok := ds.Get(name)
		if !ok {
			t.Fatalf("no %s in %v", name, settingsMap(ds))
		}
		return s.Change(v)
	}
	cam := read(FamilyCamera, `{"camera":[{"illuminator_enable":2,"video_length":"30","record_audio_enable":1,"alert_interval":10}]}`)
	owl := read(FamilyOwl, `{"illuminator_enable":"auto","clip_length":30,"record_audio_enable":true}`)
	tests := []struct {
		name    string
		family  Family
		changes []SettingChange
		want    string
	}{
		{"camera night vision is an index", FamilyCamera, []SettingChange{change(cam, SettingNightVision, ChoiceValue("off"))}, `{"illuminator_enable":0}`},
		{"mini night vision is text", FamilyOwl, []SettingChange{change(owl, SettingNightVision, ChoiceValue("on"))}, `{"illuminator_enable":"on"}`},
		{"number sent as a string stays a string", FamilyCamera, []SettingChange{change(cam, SettingClipLength, NumberValue(45))}, `{"video_length":"45"}`},
		{"switch sent as 0/1 stays 0/1", FamilyCamera, []SettingChange{change(cam, SettingRecordAudio, SwitchValue(false))}, `{"record_audio_enable":0}`},
		{"switch as bool", FamilyOwl, []SettingChange{change(owl, SettingRecordAudio, SwitchValue(false))}, `{"record_audio_enable":false}`},
		{"retrigger to the field the camera used", FamilyCamera, []SettingChange{change(cam, SettingRetriggerTime, NumberValue(30))}, `{"alert_interval":30}`},
		{"several", FamilyOwl, []SettingChange{change(owl, SettingClipLength, NumberValue(10)), change(owl, SettingNightVision, ChoiceValue("off"))}, `{"clip_length":10,"illuminator_enable":"off"}`},
		{"no read: the family's usual field", FamilyCamera, []SettingChange{NewSettingChange(SettingNightVision, ChoiceValue("auto")), NewSettingChange(SettingMotionSensitivity, NumberValue(9))}, `{"illuminator_enable":2,"motion_sensitivity":9}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := settingsBody(tc.family, tc.changes)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("body = %s, want %s", b, tc.want)
			}
		})
	}
}

func TestSettingsBodyRefuses(t *testing.T) {
	tests := []struct {
		name    string
		family  Family
		changes []SettingChange
		want    string
	}{
		{"nothing", FamilyCamera, nil, "no changes"},
		{"unknown name", FamilyCamera, []SettingChange{NewSettingChange("volume", NumberValue(3))}, "unknown setting"},
		{"out of range", FamilyCamera, []SettingChange{NewSettingChange(SettingMotionSensitivity, NumberValue(10))}, "from 1 to 9"},
		{"wrong kind", FamilyCamera, []SettingChange{NewSettingChange(SettingMotionSensitivity, SwitchValue(true))}, "takes a number"},
		{"unknown option", FamilyOwl, []SettingChange{NewSettingChange(SettingVideoQuality, ChoiceValue("ultra"))}, "one of saver, standard, best"},
		{"twice", FamilyOwl, []SettingChange{NewSettingChange(SettingClipLength, NumberValue(10)), NewSettingChange(SettingClipLength, NumberValue(20))}, "twice"},
		{"wrong family", Family("siren"), []SettingChange{NewSettingChange(SettingClipLength, NumberValue(10))}, "not available"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := settingsBody(tc.family, tc.changes)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSettingValueJSON(t *testing.T) {
	for _, tc := range []struct {
		v    SettingValue
		want string
	}{
		{NumberValue(5), `5`}, {ChoiceValue("auto"), `"auto"`}, {SwitchValue(true), `true`}, {SettingValue{}, `null`},
	} {
		b, err := json.Marshal(tc.v)
		if err != nil || string(b) != tc.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tc.v, b, err, tc.want)
		}
	}
}

// TestCatalogue guards the catalogue's own consistency: names unique and
// usable as topic levels and entity ids, numbers with sane bounds, choices
// with options, every family's fields distinct across settings.
func TestCatalogue(t *testing.T) {
	names := map[string]bool{}
	fields := map[Family]map[string]string{}
	for _, s := range Settings() {
		if names[s.Name] || !ValidNotificationName(s.Name) {
			t.Errorf("setting name %q repeated or not [a-z0-9_]", s.Name)
		}
		names[s.Name] = true
		switch s.Kind {
		case SettingNumber:
			if s.Min >= s.Max || s.Step < 1 || (s.Max-s.Min)%s.Step != 0 {
				t.Errorf("%s: bounds %d..%d step %d", s.Name, s.Min, s.Max, s.Step)
			}
		case SettingChoice:
			if len(s.Options) < 2 {
				t.Errorf("%s: options %v", s.Name, s.Options)
			}
		case SettingSwitch:
		default:
			t.Errorf("%s: kind %v", s.Name, s.Kind)
		}
		if len(s.Families()) == 0 {
			t.Errorf("%s: no family has it", s.Name)
		}
		for _, f := range s.Families() {
			if fields[f] == nil {
				fields[f] = map[string]string{}
			}
			for _, fl := range s.Fields(f) {
				if other, dup := fields[f][fl]; dup {
					t.Errorf("%s field %q used by %s and %s", f, fl, other, s.Name)
				}
				fields[f][fl] = s.Name
			}
		}
	}
	s, _ := SettingByName(SettingNightVision)
	s.Options[0] = "changed"
	if again, _ := SettingByName(SettingNightVision); again.Options[0] != "off" {
		t.Error("SettingByName hands out the catalogue's own slice")
	}
}

func TestDecodePrograms(t *testing.T) {
	got, err := decodePrograms("GET /p", mustFixture(t, "programs.json"), 4321)
	if err != nil {
		t.Fatal(err)
	}
	weekdays := []string{"mon", "tue", "wed", "thu", "fri"}
	want := []Program{
		{ID: 123, NetworkID: 4321, Name: "Weeknights", Enabled: true, Schedule: []ScheduleEntry{
			{Days: weekdays, Time: "2026-03-01 21:00:00 +0000", Action: "arm"},
			{Days: weekdays, Time: "2026-03-01 06:30:00 +0000", Action: "disarm"},
		}},
		{ID: 124, NetworkID: 4321, Name: "Away weekends", Schedule: []ScheduleEntry{
			{Days: []string{"sat", "sun"}, Time: "2026-03-01 08:00:00 +0000", Action: "arm"},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("programs\n got %+v\nwant %+v", got, want)
	}

	odd, err := decodePrograms("GET /p", mustFixture(t, "programs_odd.json"), 4321)
	if err != nil {
		t.Fatal(err)
	}
	wantOdd := []Program{
		{ID: 200, NetworkID: 4321, Name: "Strings and flags", Enabled: true, Schedule: []ScheduleEntry{
			{Days: []string{"sat"}, Action: "arm"},
			{Days: []string{"sun"}, Action: "disarm"},
		}},
		{ID: 201, NetworkID: 4400, Enabled: true},
	}
	if !reflect.DeepEqual(odd, wantOdd) {
		t.Errorf("odd programs\n got %+v\nwant %+v", odd, wantOdd)
	}

	for _, body := range []string{``, `{"programs":{}}`, `"x"`, `{`} {
		if _, err := decodePrograms("GET /p", []byte(body), 1); !errors.Is(err, ErrDecode) {
			t.Errorf("decodePrograms(%q) = %v, want ErrDecode", body, err)
		}
	}
}

func TestDecodeProgramsBounds(t *testing.T) {
	var b strings.Builder
	b.WriteString("[")
	for i := 1; i <= maxPrograms+10; i++ {
		if i > 1 {
			b.WriteString(",")
		}
		b.WriteString(`{"id":` + strconv.Itoa(i) + `,"name":"` + strings.Repeat("n", 500) + `","schedule":[`)
		for j := 0; j < maxScheduleEntries+5; j++ {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString(`{"dow":["mon"],"action":"arm"}`)
		}
		b.WriteString("]}")
	}
	b.WriteString("]")
	got, err := decodePrograms("GET /p", []byte(b.String()), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != maxPrograms {
		t.Errorf("%d programs kept, want %d", len(got), maxPrograms)
	}
	for _, p := range got {
		if len(p.Schedule) != maxScheduleEntries || len(p.Name) > maxProgramName+len("…") {
			t.Fatalf("program %d: %d entries, name of %d bytes", p.ID, len(p.Schedule), len(p.Name))
		}
	}
}

func TestDecodeNotifications(t *testing.T) {
	got, err := decodeNotifications("GET /n", mustFixture(t, "notifications.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 17 || got[0].Name != "accessory_connected" || !got[0].On {
		t.Fatalf("flags = %+v", got)
	}
	for _, f := range got {
		if f.Name == "general" && f.On {
			t.Error("general should be off")
		}
	}
	odd, err := decodeNotifications("GET /n", mustFixture(t, "notifications_odd.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []NotificationFlag{{Name: "general"}, {Name: "motion", On: true}}
	if !reflect.DeepEqual(odd, want) {
		t.Errorf("odd flags = %+v, want %+v", odd, want)
	}
	flat, err := decodeNotifications("GET /n", []byte(`{"motion":false,"low_battery":true}`))
	if err != nil || !reflect.DeepEqual(flat, []NotificationFlag{{Name: "low_battery", On: true}, {Name: "motion"}}) {
		t.Errorf("flat object: %+v, %v", flat, err)
	}
	for _, body := range []string{``, `[]`, `{"notifications":[true]}`, `null`} {
		if _, err := decodeNotifications("GET /n", []byte(body)); !errors.Is(err, ErrDecode) {
			t.Errorf("decodeNotifications(%q) = %v, want ErrDecode", body, err)
		}
	}
}

// TestSettingJSONRoundTrip: a state file keeps a setting's value, field and
// form, so a change after a restart is written as the device wants it.
func TestSettingJSONRoundTrip(t *testing.T) {
	ds, err := decodeDeviceSettings("GET /c", FamilyCamera, mustFixture(t, "camera_config_placeholder.json"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ds.Settings)
	if err != nil {
		t.Fatal(err)
	}
	var back []Setting
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, ds.Settings) {
		t.Errorf("round trip\n got %+v\nwant %+v", back, ds.Settings)
	}
	for _, bad := range []string{`{"name":"volume","value":1}`, `{"name":"motion_sensitivity","value":"x"}`, `{"name":"record_audio","value":1}`, `[]`} {
		var s Setting
		if err := json.Unmarshal([]byte(bad), &s); err == nil {
			t.Errorf("%s accepted as %+v", bad, s)
		}
	}
}
