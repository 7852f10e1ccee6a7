package bridge

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// settingsReads is how many settings reads the fake has answered.
func settingsReads(f *blinkfake.Server) int {
	return f.Count(blinkfake.EpCameraConfig) + f.Count(blinkfake.EpOwlConfig) + f.Count(blinkfake.EpDoorbellConfig) +
		f.Count(blinkfake.EpPrograms) + f.Count(blinkfake.EpNotifications)
}

// configTopic is the discovery config topic of an entity.
func configTopic(component, node, key string) string {
	return "homeassistant/" + component + "/" + node + "/" + key + "/config"
}

// attrs decodes the retained attributes JSON on topic.
func (e *env) attrs(topic string) map[string]any {
	e.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.retained(topic)[topic], &m); err != nil {
		e.t.Fatalf("attributes on %s: %v", topic, err)
	}
	return m
}

// TestE2EScheduleToggled drives a schedule's switch as HA does (ON on its
// …/set topic), then the program request: Blink's schedule changes, the
// switch and the system's attributes follow.
func TestE2EScheduleToggled(t *testing.T) {
	e := newEnv(t)
	home := e.fake.Networks()[0]
	prog := e.fake.Programs(home.ID)[0]
	state := e.topics.NetworkEntity(home.ID, discovery.ProgramKey(prog.ID))
	cfg := configTopic("switch", discovery.NetworkDeviceID(home.ID), discovery.ProgramKey(prog.ID))
	if got := e.retained(cfg)[cfg]; !strings.Contains(string(got), `"command_topic":"`+state+`/set"`) {
		t.Fatalf("schedule switch config %s = %s", cfg, got)
	}
	if got := string(e.retained(state)[state]); got != discovery.Off {
		t.Fatalf("schedule state %q, want OFF", got)
	}

	mark := e.rec.Mark()
	e.set(state, discovery.On)
	e.rec.WaitForAfter(t, mark, state, mqtttest.Equals(discovery.On))
	if !e.fake.Programs(home.ID)[0].Enabled {
		t.Fatal("Blink's schedule is still off")
	}
	e.rec.WaitForAfter(t, mark, e.topics.NetworkAttributes(home.ID), mqtttest.Contains(`"programs":[{"id":`))
	progs, _ := e.attrs(e.topics.NetworkAttributes(home.ID))["programs"].([]any)
	if len(progs) != 1 || progs[0].(map[string]any)["enabled"] != true || progs[0].(map[string]any)["name"] != "Nights" {
		t.Errorf("system attributes programs = %v", progs)
	}

	resp := e.request(OpProgram, map[string]any{"network": home.ID, "program": prog.ID, "enabled": false, "transaction": "t1"})
	data, _ := resp["data"].(map[string]any)
	if resp["status"] != "ok" || resp["transaction"] != "t1" || data["enabled"] != false || data["program"] != float64(prog.ID) {
		t.Fatalf("response = %v", resp)
	}
	if e.fake.Programs(home.ID)[0].Enabled {
		t.Error("Blink's schedule is still on")
	}
	if got := string(e.retained(state)[state]); got != discovery.Off {
		t.Errorf("schedule state %q after disabling, want OFF", got)
	}

	resp = e.request(OpProgram, map[string]any{"network": home.ID, "program": 99, "enabled": true})
	if msg, _ := resp["error"].(string); resp["status"] != "error" || !strings.Contains(msg, "unknown schedule 99") || !strings.Contains(msg, "Nights") {
		t.Errorf("unknown schedule: %v", resp)
	}
}

// TestE2ESensitivitySet drives a camera's sensitivity number as HA does,
// then changes two settings with one request.
func TestE2ESensitivitySet(t *testing.T) {
	e := newEnv(t)
	d := deviceOf(t, e.fake, blink.FamilyCamera)
	state := e.devTopic(d, blink.SettingMotionSensitivity)
	cfg := configTopic("number", discovery.DeviceID(d.Family, d.ID), blink.SettingMotionSensitivity)
	var c map[string]any
	if err := json.Unmarshal(e.retained(cfg)[cfg], &c); err != nil || c["entity_category"] != "config" || c["min"] != 1.0 || c["max"] != 9.0 {
		t.Fatalf("sensitivity config %s = %v (%v)", cfg, c, err)
	}
	if got := string(e.retained(state)[state]); got != "5" {
		t.Fatalf("sensitivity state %q, want 5", got)
	}

	mark := e.rec.Mark()
	e.set(state, "8")
	e.rec.WaitForAfter(t, mark, state, mqtttest.Equals("8"))
	if cfg, _ := e.fake.DeviceConfigAt(d.Ref()); cfg["motion_sensitivity"] != 8 {
		t.Fatalf("Blink's sensitivity = %v, want 8", cfg["motion_sensitivity"])
	}
	e.rec.WaitForAfter(t, mark, e.devTopic(d, discovery.EntityAttributes), mqtttest.Contains(`"motion_sensitivity":8`))

	resp := e.request(OpSettings, map[string]any{"device": d.ID, "settings": map[string]any{
		"motion_sensitivity": 3, "night_vision": "off"}, "transaction": 7})
	data, _ := resp["data"].(map[string]any)
	settings, _ := data["settings"].(map[string]any)
	if resp["status"] != "ok" || resp["transaction"] != 7.0 || settings["motion_sensitivity"] != 3.0 || settings["night_vision"] != "off" {
		t.Fatalf("response = %v", resp)
	}
	if cfg, _ := e.fake.DeviceConfigAt(d.Ref()); cfg["motion_sensitivity"] != 3 || cfg["illuminator_enable"] != 0 {
		t.Errorf("Blink's config = %v", cfg)
	}
	if got := string(e.retained(e.devTopic(d, blink.SettingNightVision))[e.devTopic(d, blink.SettingNightVision)]); got != "off" {
		t.Errorf("night vision state %q", got)
	}
	n := 0
	for _, cmd := range e.fake.Commands() {
		if cmd.Command == "config_set" && cmd.DeviceID == d.ID {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d config_set commands, want 2 (one per change)", n)
	}
}

// TestE2EOutOfRangeRefused: 60 s is a clip length the catalogue (and the
// entity) allows, but a Mini records at most 30 s: Blink refuses, the
// request answers with Blink's message and the entity goes back to 30.
func TestE2EOutOfRangeRefused(t *testing.T) {
	e := newEnv(t)
	mini := deviceOf(t, e.fake, blink.FamilyOwl)
	state := e.devTopic(mini, blink.SettingClipLength)
	before, _ := e.fake.DeviceConfigAt(mini.Ref())

	mark := e.rec.Mark()
	e.set(state, "60") // HA shows 60 until the state says otherwise
	e.rec.WaitForAfter(t, mark, state, mqtttest.Equals("30"))

	resp := e.request(OpSettings, map[string]any{"device": mini.ID, "settings": map[string]any{"clip_length": 60}})
	// The request ran after the HA command on the same queue, so that
	// command's log line is written by now.
	if n := strings.Count(e.logs.String(), "clip_length must be between 5 and 30"); n != 2 {
		t.Errorf("%d log lines carry Blink's message, want 2 (the HA command and the request)", n)
	}
	msg, _ := resp["error"].(string)
	if resp["status"] != "error" || !strings.HasPrefix(msg, "Blink refused clip_length = 60 of ") || !strings.HasSuffix(msg, ": clip_length must be between 5 and 30") {
		t.Fatalf("response = %v", resp)
	}
	if after, _ := e.fake.DeviceConfigAt(mini.Ref()); after["clip_length"] != before["clip_length"] {
		t.Errorf("Blink's clip length changed to %v", after["clip_length"])
	}
	if got := string(e.retained(state)[state]); got != "30" {
		t.Errorf("retained clip length %q, want 30", got)
	}

	// Outside the catalogue's range the bridge refuses before asking Blink.
	total := e.fake.Total()
	resp = e.request(OpSettings, map[string]any{"device": mini.ID, "settings": map[string]any{"motion_sensitivity": 12}})
	if msg, _ := resp["error"].(string); resp["status"] != "error" || !strings.Contains(msg, "motion_sensitivity must be a whole number from 1 to 9, got 12") {
		t.Errorf("response = %v", resp)
	}
	if n := e.fake.Total() - total; n != 0 {
		t.Errorf("%d Blink requests for a value the bridge refuses", n)
	}
}

// TestE2EAppChangeShowsAfterNextRead: a setting, a schedule and a flag
// changed in the Blink app show up after the next settings read.
func TestE2EAppChangeShowsAfterNextRead(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.settingsInterval = 100 * time.Millisecond }))
	cam := deviceOf(t, e.fake, blink.FamilyCamera)
	home := e.fake.Networks()[0]
	prog := e.fake.Programs(home.ID)[0]
	mark := e.rec.Mark()
	if err := e.fake.SetDeviceConfigOn(cam.Ref(), "motion_sensitivity", 2); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.SetProgram(home.ID, prog.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.SetNotification("motion", false); err != nil {
		t.Fatal(err)
	}
	e.rec.WaitForAfter(t, mark, e.devTopic(cam, blink.SettingMotionSensitivity), mqtttest.Equals("2"))
	e.rec.WaitForAfter(t, mark, e.topics.NetworkEntity(home.ID, discovery.ProgramKey(prog.ID)), mqtttest.Equals(discovery.On))
	e.rec.WaitForAfter(t, mark, e.topics.BridgeEntity(discovery.NotificationKey("motion")), mqtttest.Equals(discovery.Off))
}

// TestE2ESettingsNotReadOnPolls: polls never read settings; an app change
// waits for the next settings read — or a rediscover.
func TestE2ESettingsNotReadOnPolls(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.settingsFloor = time.Millisecond }))
	cam := deviceOf(t, e.fake, blink.FamilyCamera)
	state := e.devTopic(cam, blink.SettingMotionSensitivity)
	if err := e.fake.SetDeviceConfigOn(cam.Ref(), "motion_sensitivity", 2); err != nil {
		t.Fatal(err)
	}
	reads := settingsReads(e.fake)
	for range 3 {
		e.request(OpRefresh, map[string]any{})
	}
	if n := settingsReads(e.fake) - reads; n != 0 {
		t.Fatalf("%d settings reads during 3 polls, want 0", n)
	}
	if got := string(e.retained(state)[state]); got != "5" {
		t.Fatalf("sensitivity %q before a settings read, want the old 5", got)
	}
	mark := e.rec.Mark()
	e.request(OpRediscover, map[string]any{})
	e.rec.WaitForAfter(t, mark, state, mqtttest.Equals("2"))
	sources := len(e.fake.Devices()) + len(e.fake.Networks()) + 1
	if err := e.fake.WaitFor(t.Context(), func() bool { return settingsReads(e.fake)-reads >= sources }); err != nil {
		t.Fatal(err)
	}
	if n := settingsReads(e.fake) - reads; n != sources {
		t.Errorf("rediscover made %d settings reads, want one per source (%d)", n, sources)
	}
}

// TestE2ENotificationToggled drives a notification switch as HA does, then
// the notifications request.
func TestE2ENotificationToggled(t *testing.T) {
	e := newEnv(t)
	state := e.topics.BridgeEntity(discovery.NotificationKey("low_battery"))
	cfg := configTopic("switch", discovery.BridgeDeviceID(e.topics), discovery.NotificationKey("low_battery"))
	if got := e.retained(cfg)[cfg]; !strings.Contains(string(got), `"entity_category":"config"`) {
		t.Fatalf("notification switch config = %s", got)
	}
	mark := e.rec.Mark()
	e.set(state, discovery.Off)
	e.rec.WaitForAfter(t, mark, state, mqtttest.Equals(discovery.Off))
	if e.fake.Notifications()["low_battery"] {
		t.Fatal("Blink's flag is still on")
	}
	resp := e.request(OpNotifications, map[string]any{"settings": map[string]any{"low_battery": true, "general": false}})
	data, _ := resp["data"].(map[string]any)
	if resp["status"] != "ok" || data["settings"].(map[string]any)["general"] != false {
		t.Fatalf("response = %v", resp)
	}
	if got := e.fake.Notifications(); !got["low_battery"] || got["general"] {
		t.Errorf("Blink's flags = %v", got)
	}
	resp = e.request(OpNotifications, map[string]any{"settings": map[string]any{"sirens": true}})
	if msg, _ := resp["error"].(string); resp["status"] != "error" || !strings.Contains(msg, `unknown notification flag "sirens"`) || !strings.Contains(msg, "low_battery") {
		t.Errorf("unknown flag: %v", resp)
	}
}

// TestE2EOnlyReportedSettings: a setting the device's config lacks gets no
// entity and cannot be set; the camera's Wi-Fi reading comes from
// last_connect when the top level says -255.
func TestE2EOnlyReportedSettings(t *testing.T) {
	e := newEnv(t, withFake(blinkfake.Config{Account: &blinkfake.Account{
		Networks: []blinkfake.Network{{ID: 10, Name: "Home", SyncModule: &blinkfake.SyncModule{ID: 11}}},
		Devices: []blinkfake.Device{
			{ID: 20, NetworkID: 10, Family: blink.FamilyCamera, Name: "Yard", WiFiPlaceholder: true, Config: map[string]any{"motion_sensitivity": 4}},
			{ID: 30, NetworkID: 10, Family: blink.FamilyDoorbell, Name: "Door", Config: map[string]any{}},
		},
	}}))
	cam, bell := e.fake.Devices()[0], e.fake.Devices()[1]
	ha := e.retained("homeassistant/#")
	camNode, bellNode := discovery.DeviceID(cam.Family, cam.ID), discovery.DeviceID(bell.Family, bell.ID)
	if _, ok := ha[configTopic("number", camNode, blink.SettingMotionSensitivity)]; !ok {
		t.Error("no sensitivity entity for the camera that reports it")
	}
	for topic := range ha {
		for _, s := range blink.Settings() {
			if strings.HasSuffix(topic, "/"+s.Name+"/config") && (strings.Contains(topic, "/"+bellNode+"/") || s.Name != blink.SettingMotionSensitivity) {
				t.Errorf("entity %s for a setting the config does not report", topic)
			}
		}
	}
	a := e.attrs(e.topics.DeviceAttributes(cam.NetworkID, cam.ID))
	if s, _ := a["settings"].(map[string]any); len(s) != 1 || s["motion_sensitivity"] != 4.0 {
		t.Errorf("camera attributes settings = %v", a["settings"])
	}
	if a["wifi_dbm"] != float64(-40-8*(5-cam.WiFiBars)) {
		t.Errorf("wifi_dbm = %v, want the last_connect reading", a["wifi_dbm"])
	}
	resp := e.request(OpSettings, map[string]any{"device": cam.ID, "settings": map[string]any{"clip_length": 20}})
	if msg, _ := resp["error"].(string); resp["status"] != "error" || !strings.Contains(msg, "does not report the setting clip_length (it has: motion_sensitivity)") {
		t.Errorf("response = %v", resp)
	}
}

// TestE2ESettingsSurviveRestart: after a restart whose reads fail, the
// entities stay (nothing removed) and keep the last values read.
func TestE2ESettingsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, withStateDir(dir))
	cam := deviceOf(t, e.fake, blink.FamilyCamera)
	state := e.devTopic(cam, blink.SettingMotionSensitivity)
	e.stop()
	e.fake.Inject(blinkfake.Fault{Endpoint: "*_config", Status: 503, Count: -1})
	e.fake.Inject(blinkfake.Fault{Endpoint: blinkfake.EpPrograms, Status: 503, Count: -1})
	e.fake.Inject(blinkfake.Fault{Endpoint: blinkfake.EpNotifications, Status: 503, Count: -1})
	mark := e.rec.Mark()
	e.start()
	for _, m := range e.rec.Since(mark) {
		if strings.HasPrefix(m.Topic, "homeassistant/") && len(m.Payload) == 0 {
			t.Errorf("restart removed %s", m.Topic)
		}
	}
	if got := string(e.retained(state)[state]); got != "5" {
		t.Errorf("sensitivity %q after a restart with failing reads, want 5", got)
	}
	cfg := configTopic("number", discovery.DeviceID(cam.Family, cam.ID), blink.SettingMotionSensitivity)
	if len(e.retained(cfg)[cfg]) == 0 {
		t.Error("the sensitivity entity is gone")
	}
	if n := e.fake.Count(blinkfake.EpCameraConfig); n == 0 {
		t.Error("the restart did not try to read the settings")
	}
}
