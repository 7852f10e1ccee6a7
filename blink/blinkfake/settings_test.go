package blinkfake_test

import (
	"fmt"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

// TestConfigSetChecksAndApplies drives the config endpoints with raw JSON:
// Blink's checks answer 400 with a message at once; a good change is a
// command that changes the config when it completes, and only then.
func TestConfigSetChecksAndApplies(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{})
	acct := srv.AccountID()
	cam := srv.DevicesOf(blink.FamilyCamera)[0]
	owl := srv.DevicesOf(blink.FamilyOwl)[0]
	bell := srv.DevicesOf(blink.FamilyDoorbell)[0]
	camPath := fmt.Sprintf("/network/%d/camera/%d/update", cam.NetworkID, cam.ID)
	owlPath := fmt.Sprintf("/api/v1/accounts/%d/networks/%d/owls/%d/config", acct, owl.NetworkID, owl.ID)
	bellPath := fmt.Sprintf("/api/v1/accounts/%d/networks/%d/doorbells/%d/config", acct, bell.NetworkID, bell.ID)

	refused := []struct {
		name, path string
		body       any
		msg        string
	}{
		{"camera sensitivity too high", camPath, map[string]any{"motion_sensitivity": 10}, "motion_sensitivity must be between 1 and 9"},
		{"camera night vision as text", camPath, map[string]any{"illuminator_enable": "auto"}, "illuminator_enable must be a number"},
		{"mini clip longer than a Mini records", owlPath, map[string]any{"clip_length": 60}, "clip_length must be between 5 and 30"},
		{"mini night vision unknown", owlPath, map[string]any{"illuminator_enable": "bright"}, "illuminator_enable must be one of [off on auto]"},
		{"doorbell switch as number", bellPath, map[string]any{"early_notification": 1}, "early_notification must be true or false"},
		{"fraction", camPath, map[string]any{"video_length": 12.5}, "video_length must be between 5 and 60"},
		{"nothing known", camPath, map[string]any{"volume": 3}, "Invalid request body"},
		{"not an object", owlPath, []int{1}, "Invalid request body"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			r := c.rest("POST", tc.path, tc.body)
			var e struct{ Message string }
			r.json(t, &e)
			if r.status != 400 || e.Message != tc.msg {
				t.Errorf("%d %q, want 400 %q", r.status, e.Message, tc.msg)
			}
		})
	}
	if n := len(srv.Commands()); n != 0 {
		t.Fatalf("%d commands from refused changes", n)
	}

	r, o := c.post(camPath, map[string]any{"motion_sensitivity": 8, "video_quality": "best", "unknown": 1})
	if r.status != 200 || o.Command != "config_set" || o.Target != "camera" {
		t.Fatalf("camera update: %d %s", r.status, r.body)
	}
	if cfg, _ := srv.DeviceConfigAt(cam.Ref()); cfg["motion_sensitivity"] != 5 {
		t.Errorf("applied before the command completed: %v", cfg["motion_sensitivity"])
	}
	for !c.poll(cam.NetworkID, o.ID).Complete {
	}
	cfg, _ := srv.DeviceConfigAt(cam.Ref())
	if cfg["motion_sensitivity"] != 8 || cfg["video_quality"] != "best" || cfg["unknown"] != nil {
		t.Errorf("camera config after the command: %v", cfg)
	}
	if d, _ := srv.DeviceAt(cam.Ref()); !d.Enabled {
		t.Error("a settings change turned motion detection off")
	}

	// A Mini's config POST still takes "enabled" alone, and both together.
	r, o = c.post(owlPath, map[string]any{"enabled": false, "clip_length": 15})
	if r.status != 200 {
		t.Fatalf("owl config: %d %s", r.status, r.body)
	}
	for !c.poll(owl.NetworkID, o.ID).Complete {
	}
	d, _ := srv.DeviceAt(owl.Ref())
	if d.Enabled || d.Config["clip_length"] != 15 {
		t.Errorf("owl: enabled %v, clip_length %v", d.Enabled, d.Config["clip_length"])
	}
}

func TestConfigReportsOnlyItsFields(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{Account: &blinkfake.Account{
		Networks: []blinkfake.Network{{ID: 10}},
		Devices:  []blinkfake.Device{{ID: 20, NetworkID: 10, Family: blink.FamilyOwl, Config: map[string]any{"motion_sensitivity": 2}}},
	}})
	r := c.rest("GET", fmt.Sprintf("/api/v1/accounts/%d/networks/10/owls/20/config", srv.AccountID()), nil)
	var cfg map[string]any
	r.json(t, &cfg)
	if cfg["motion_sensitivity"] != 2.0 || cfg["clip_length"] != nil || cfg["illuminator_enable"] != nil {
		t.Errorf("config = %v, want motion_sensitivity 2 and no other setting", cfg)
	}
}

// TestChangesInTheApp: the control methods change state at once, with
// Blink's checks, and the API shows it.
func TestChangesInTheApp(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{})
	cam := srv.DevicesOf(blink.FamilyCamera)[0]
	if err := srv.SetDeviceConfigOn(cam.Ref(), "motion_sensitivity", 11); err == nil {
		t.Error("out-of-range value accepted")
	}
	if err := srv.SetDeviceConfigOn(cam.Ref(), "clip_length", 10); err == nil {
		t.Error("a Mini's field accepted on a camera")
	}
	if err := srv.SetDeviceConfigOn(cam.Ref(), "motion_sensitivity", 2); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetDeviceConfigOn(cam.Ref(), "illuminator_intensity", nil); err != nil {
		t.Fatal(err)
	}
	r := c.rest("GET", fmt.Sprintf("/network/%d/camera/%d/config", cam.NetworkID, cam.ID), nil)
	var cfg struct {
		Camera []map[string]any `json:"camera"`
	}
	r.json(t, &cfg)
	if got := cfg.Camera[0]; got["motion_sensitivity"] != 2.0 || got["illuminator_intensity"] != nil {
		t.Errorf("config = %v", got)
	}

	home := srv.Networks()[0]
	ps := srv.Programs(home.ID)
	if len(ps) != 1 || ps[0].ID == 0 {
		t.Fatalf("programs = %+v", ps)
	}
	added, err := srv.AddProgram(home.ID, blinkfake.Program{Name: "Weekends", Enabled: true})
	if err != nil || added.ID == 0 || added.ID == ps[0].ID {
		t.Fatalf("AddProgram = %+v, %v", added, err)
	}
	if err := srv.SetProgram(home.ID, ps[0].ID, true); err != nil {
		t.Fatal(err)
	}
	r = c.rest("GET", fmt.Sprintf("/api/v1/networks/%d/programs", home.ID), nil)
	var list []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
		Name   string `json:"name"`
	}
	r.json(t, &list)
	if len(list) != 2 || list[0].Status != "enabled" || list[1].Name != "Weekends" || list[1].Status != "enabled" {
		t.Errorf("programs = %+v", list)
	}
	if r := c.rest("POST", fmt.Sprintf("/api/v1/networks/%d/programs/%d/disable", home.ID, added.ID), nil); r.status != 200 {
		t.Errorf("disable: %d %s", r.status, r.body)
	}
	if got := srv.Programs(home.ID); got[1].Enabled {
		t.Error("program still on after disable")
	}
	if r := c.rest("POST", fmt.Sprintf("/api/v1/networks/%d/programs/1/enable", home.ID), nil); r.status != 404 {
		t.Errorf("unknown program: %d", r.status)
	}

	if err := srv.SetNotification("nope", true); err == nil {
		t.Error("unknown flag accepted")
	}
	if err := srv.SetNotification("motion", false); err != nil {
		t.Fatal(err)
	}
	r = c.rest("GET", fmt.Sprintf("/api/v1/accounts/%d/notifications/configuration", srv.AccountID()), nil)
	var n struct{ Notifications map[string]bool }
	r.json(t, &n)
	if n.Notifications["motion"] || !n.Notifications["general"] || len(n.Notifications) != 17 {
		t.Errorf("notifications = %v", n.Notifications)
	}
	if r := c.rest("POST", fmt.Sprintf("/api/v1/accounts/%d/notifications/configuration", srv.AccountID()),
		map[string]any{"notifications": map[string]any{"motion": "yes"}}); r.status != 400 {
		t.Errorf("non-bool flag: %d", r.status)
	}
	if r := c.rest("POST", fmt.Sprintf("/api/v1/accounts/%d/notifications/configuration", srv.AccountID()),
		map[string]any{"notifications": map[string]any{"motion": true, "invented": true}}); r.status != 200 {
		t.Errorf("set: %d", r.status)
	}
	if got := srv.Notifications(); !got["motion"] || len(got) != 17 {
		t.Errorf("after set: %v (unknown flags are ignored)", got)
	}
	for ep, want := range map[string]int{blinkfake.EpNotifications: 1, blinkfake.EpNotificationsSet: 2, blinkfake.EpPrograms: 1, blinkfake.EpProgramDisable: 1} {
		if got := srv.Count(ep); got != want {
			t.Errorf("Count(%s) = %d, want %d", ep, got, want)
		}
	}
}
