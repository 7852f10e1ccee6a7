package blink_test

import (
	"errors"
	"maps"
	"reflect"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

// values is a DeviceSettings as name → value text.
func values(ds *blink.DeviceSettings) map[string]string {
	m := map[string]string{}
	for _, s := range ds.Settings {
		m[s.Name] = s.Value.String()
	}
	return m
}

// TestFakeSettingsPerFamily reads and changes settings of each family
// against the fake: the change is a command the client polls, lands in the
// fake's state, and reads back.
func TestFakeSettingsPerFamily(t *testing.T) {
	tests := []struct {
		family blink.Family
		want   map[string]string
		name   string
		value  blink.SettingValue
		field  string
		stored any
		update string // fake endpoint the change went to
	}{
		{family: blink.FamilyCamera, want: map[string]string{
			"motion_sensitivity": "5", "clip_length": "30", "retrigger_time": "10", "night_vision": "auto",
			"illuminator_intensity": "7", "video_quality": "standard", "record_audio": "true", "motion_alert": "true",
			"early_termination": "true",
		}, name: blink.SettingNightVision, value: blink.ChoiceValue("off"), field: "illuminator_enable", stored: 0, update: blinkfake.EpCameraUpdate},
		{family: blink.FamilyOwl, want: map[string]string{
			"motion_sensitivity": "5", "clip_length": "30", "retrigger_time": "10", "night_vision": "auto",
			"video_quality": "best", "record_audio": "true",
		}, name: blink.SettingNightVision, value: blink.ChoiceValue("on"), field: "illuminator_enable", stored: "on", update: blinkfake.EpOwlConfigSet},
		{family: blink.FamilyDoorbell, want: map[string]string{
			"motion_sensitivity": "5", "clip_length": "30", "video_quality": "best", "record_audio": "true",
			"early_notification": "false",
		}, name: blink.SettingEarlyNotification, value: blink.SwitchValue(true), field: "early_notification", stored: true, update: blinkfake.EpDoorbellConfigSet},
	}
	srv, c := loggedIn(t, blinkfake.Config{})
	for _, tc := range tests {
		t.Run(string(tc.family), func(t *testing.T) {
			d := srv.DevicesOf(tc.family)[0]
			readEp := map[blink.Family]string{blink.FamilyCamera: blinkfake.EpCameraConfig,
				blink.FamilyOwl: blinkfake.EpOwlConfig, blink.FamilyDoorbell: blinkfake.EpDoorbellConfig}[tc.family]
			reads := srv.Count(readEp)
			ds, err := c.DeviceSettings(t.Context(), d.Ref())
			if err != nil {
				t.Fatal(blink.NoteErr(err))
			}
			if srv.Count(readEp) != reads+1 {
				t.Errorf("%s read %d times, want once", readEp, srv.Count(readEp)-reads)
			}
			if got := values(ds); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("settings\n got %v\nwant %v", got, tc.want)
			}
			cur, ok := ds.Get(tc.name)
			if !ok {
				t.Fatalf("no %s", tc.name)
			}
			polls := srv.Count(blinkfake.EpCommandStatus)
			if _, err := c.UpdateSettings(t.Context(), d.Ref(), []blink.SettingChange{cur.Change(tc.value)}); err != nil {
				t.Fatal(blink.NoteErr(err))
			}
			if srv.Count(tc.update) != 1 || srv.Count(blinkfake.EpCommandStatus) <= polls {
				t.Errorf("update %s ×%d, %d status polls: the change must be a command that is polled",
					tc.update, srv.Count(tc.update), srv.Count(blinkfake.EpCommandStatus)-polls)
			}
			cfg, _ := srv.DeviceConfigAt(d.Ref())
			if cfg[tc.field] != tc.stored {
				t.Errorf("fake stores %s = %#v, want %#v", tc.field, cfg[tc.field], tc.stored)
			}
			again, err := c.DeviceSettings(t.Context(), d.Ref())
			if err != nil {
				t.Fatal(blink.NoteErr(err))
			}
			if got, _ := again.Get(tc.name); got.Value != tc.value {
				t.Errorf("read back %s = %v, want %v", tc.name, got.Value, tc.value)
			}
		})
	}
}

// TestFakeSettingsRefused: a value Blink does not take for this model is
// refused with Blink's message, nothing is submitted and nothing changes.
func TestFakeSettingsRefused(t *testing.T) {
	srv, c := loggedIn(t, blinkfake.Config{})
	mini := srv.DevicesOf(blink.FamilyOwl)[0]
	before, _ := srv.DeviceConfigAt(mini.Ref())
	// 60 s is a clip length the catalogue allows (cameras record 60 s); a
	// Mini takes at most 30.
	_, err := c.UpdateSettings(t.Context(), mini.Ref(), []blink.SettingChange{blink.NewSettingChange(blink.SettingClipLength, blink.NumberValue(60))})
	var se *blink.StatusError
	if !errors.As(err, &se) || se.Code != 400 || se.Message != "clip_length must be between 5 and 30" {
		t.Fatalf("err = %v, want 400 with Blink's message", err)
	}
	if after, _ := srv.DeviceConfigAt(mini.Ref()); !maps.Equal(before, after) {
		t.Errorf("config changed: %v → %v", before, after)
	}
	if n := len(srv.Commands()); n != 0 {
		t.Errorf("%d commands submitted for a refused change", n)
	}
}

func TestFakeSettingsAbsentAndPlaceholder(t *testing.T) {
	srv, c := loggedIn(t, blinkfake.Config{Account: &blinkfake.Account{
		Networks: []blinkfake.Network{{ID: 10, SyncModule: &blinkfake.SyncModule{}}},
		Devices: []blinkfake.Device{{ID: 20, NetworkID: 10, Family: blink.FamilyCamera, WiFiPlaceholder: true, WiFiBars: 4,
			HasSignals: true, Config: map[string]any{"motion_sensitivity": 3}}},
	}})
	ds, err := c.DeviceSettings(t.Context(), srv.Devices()[0].Ref())
	if err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	if got := values(ds); !reflect.DeepEqual(got, map[string]string{"motion_sensitivity": "3"}) {
		t.Errorf("settings = %v, want only what the config reports", got)
	}
	if ds.WiFiDBm == nil || *ds.WiFiDBm != -48 {
		t.Errorf("WiFiDBm = %v, want -48 from last_connect", ds.WiFiDBm)
	}
}

func TestFakePrograms(t *testing.T) {
	srv, c := loggedIn(t, blinkfake.Config{})
	home := srv.Networks()[0]
	ps, err := c.Programs(t.Context(), home.ID)
	if err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	if len(ps) != 1 || ps[0].Name != "Nights" || ps[0].Enabled || len(ps[0].Schedule) != 2 || ps[0].Schedule[0].Action != "arm" || len(ps[0].Schedule[0].Days) != 7 {
		t.Fatalf("programs = %+v", ps)
	}
	if err := c.SetProgramEnabled(t.Context(), home.ID, ps[0].ID, true); err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	if got := srv.Programs(home.ID); !got[0].Enabled {
		t.Error("fake program still off")
	}
	again, err := c.Programs(t.Context(), home.ID)
	if err != nil || !again[0].Enabled {
		t.Errorf("read back %+v, %v", again, err)
	}
	if err := c.SetProgramEnabled(t.Context(), home.ID, 42, true); !errors.Is(err, blink.ErrNotFound) {
		t.Errorf("unknown program: %v, want ErrNotFound", err)
	}
	if srv.Count(blinkfake.EpPrograms) != 2 || srv.Count(blinkfake.EpProgramEnable) != 2 {
		t.Errorf("counts: %d reads, %d enables", srv.Count(blinkfake.EpPrograms), srv.Count(blinkfake.EpProgramEnable))
	}
}

func TestFakeNotifications(t *testing.T) {
	srv, c := loggedIn(t, blinkfake.Config{})
	flags, err := c.Notifications(t.Context())
	if err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	if len(flags) != 17 {
		t.Fatalf("%d flags", len(flags))
	}
	if err := c.SetNotifications(t.Context(), []blink.NotificationFlag{{Name: "general"}, {Name: "motion"}}); err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	if got := srv.Notifications(); got["general"] || got["motion"] || !got["low_battery"] {
		t.Errorf("fake flags = %v", got)
	}
	if err := c.SetNotifications(t.Context(), []blink.NotificationFlag{{Name: "Bad Name"}}); err == nil {
		t.Error("a bad flag name was sent")
	}
	if srv.Count(blinkfake.EpNotificationsSet) != 1 {
		t.Errorf("%d POSTs, want 1", srv.Count(blinkfake.EpNotificationsSet))
	}
}
