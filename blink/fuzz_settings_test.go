package blink

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkDecodeErr fails unless err is a *DecodeError naming op that does not
// quote the body.
func checkDecodeErr(t *testing.T, err error, op string, body []byte) {
	t.Helper()
	var de *DecodeError
	if !errors.As(err, &de) || de.Op != op {
		t.Fatalf("error is not a *DecodeError naming %s: %v", op, err)
	}
	if len(body) > 8 && strings.Contains(err.Error(), string(body)) {
		t.Fatal("error quotes the body")
	}
}

var fuzzFamilies = []Family{FamilyCamera, FamilyOwl, FamilyDoorbell}

// FuzzDecodeDeviceSettings decodes any body as any family's config: no
// panic, settings in catalogue order with values of their kind, readings
// in range — and every valid value written back (in the device's form)
// decodes to itself.
func FuzzDecodeDeviceSettings(f *testing.F) {
	for i, name := range []string{"camera_config.json", "owl_config.json", "doorbell_config.json", "camera_config_placeholder.json"} {
		f.Add(uint8(i%3), mustFixture(f, name))
	}
	f.Add(uint8(0), []byte(`{"camera":[null,{"illuminator_enable":"2","video_length":"5","record_audio_enable":"yes"}]}`))
	f.Add(uint8(1), []byte(`{"illuminator_enable":1,"clip_length":null,"video_length":9e99,"retrigger_time":[1]}`))
	f.Add(uint8(2), []byte(`{"wifi_rssi":-255,"video_quality":"\u00e9\n"}`))
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		fam := fuzzFamilies[int(kind)%len(fuzzFamilies)]
		ds, err := decodeDeviceSettings("GET /c", fam, body)
		if err != nil {
			checkDecodeErr(t, err, "GET /c", body)
			return
		}
		last := -1
		for _, s := range ds.Settings {
			i := catalogueIndex(s.Name)
			if i <= last {
				t.Fatalf("setting %s out of order or repeated", s.Name)
			}
			last = i
			spec := settingCatalogue[i]
			if s.Value.Kind() != spec.Kind || !slices.Contains(spec.Fields(fam), s.Field) {
				t.Fatalf("%s: kind %v from field %q", s.Name, s.Value.Kind(), s.Field)
			}
			if c := s.Value.Choice(); len(c) > maxChoiceText+len("…") || !utf8.ValidString(c) {
				t.Fatalf("%s: choice %q not bounded or not UTF-8", s.Name, c)
			}
			if spec.Check(s.Value) != nil {
				continue
			}
			// Written back in the device's form, it reads as itself.
			b, err := settingsBody(fam, []SettingChange{s.Change(s.Value)})
			if err != nil {
				t.Fatalf("%s = %v cannot be written back: %v", s.Name, s.Value, err)
			}
			if fam == FamilyCamera {
				b = []byte(`{"camera":[` + string(b) + `]}`)
			}
			again, err := decodeDeviceSettings("GET /c", fam, b)
			if err != nil {
				t.Fatalf("%s written as %s does not decode: %v", s.Name, b, err)
			}
			if got, ok := again.Get(s.Name); !ok || got.Value != s.Value {
				t.Fatalf("%s = %v written as %s reads back as %v", s.Name, s.Value, b, got.Value)
			}
		}
		if w := ds.WiFiDBm; w != nil && (*w < dBmMin || *w >= 0) {
			t.Fatalf("WiFiDBm %d is not a reading", *w)
		}
	})
}

func FuzzDecodePrograms(f *testing.F) {
	addFixtures(f, "programs.json", "programs_odd.json")
	f.Add([]byte(`[{"id":1,"schedule":[{"dow":"mon"}]},{"id":"1"}]`))
	f.Add([]byte(`{"programs":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ps, err := decodePrograms("GET /p", body, 7)
		if err != nil {
			checkDecodeErr(t, err, "GET /p", body)
			return
		}
		if len(ps) > maxPrograms {
			t.Fatalf("%d programs", len(ps))
		}
		seen := map[int64]bool{}
		for _, p := range ps {
			if p.ID <= 0 || seen[p.ID] || p.NetworkID == 0 {
				t.Fatalf("program id %d (network %d) kept", p.ID, p.NetworkID)
			}
			seen[p.ID] = true
			if len(p.Name) > maxProgramName+len("…") || !utf8.ValidString(p.Name) || strings.ContainsAny(p.Name, "\n\r") {
				t.Fatalf("name %q", p.Name)
			}
			if len(p.Schedule) > maxScheduleEntries {
				t.Fatalf("%d schedule entries", len(p.Schedule))
			}
			for _, e := range p.Schedule {
				for _, d := range e.Days {
					if !slices.Contains(weekdays, d) {
						t.Fatalf("day %q", d)
					}
				}
				if len(e.Time) > maxScheduleText+len("…") || len(e.Action) > maxScheduleText+len("…") {
					t.Fatalf("entry %+v not bounded", e)
				}
			}
		}
	})
}

func FuzzDecodeNotifications(f *testing.F) {
	addFixtures(f, "notifications.json", "notifications_odd.json")
	f.Add([]byte(`{"a":true}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		flags, err := decodeNotifications("GET /n", body)
		if err != nil {
			checkDecodeErr(t, err, "GET /n", body)
			return
		}
		if len(flags) > maxNotificationFlags {
			t.Fatalf("%d flags", len(flags))
		}
		for i, fl := range flags {
			if !ValidNotificationName(fl.Name) || i > 0 && flags[i-1].Name >= fl.Name {
				t.Fatalf("flag %q invalid, unsorted or repeated", fl.Name)
			}
		}
	})
}
