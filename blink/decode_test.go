package blink

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ptr(n int) *int { return &n }

func TestDecodeHomescreenFixture(t *testing.T) {
	hs, err := decodeHomescreen("GET /hs", mustFixture(t, "homescreen.json"))
	if err != nil {
		t.Fatal(err)
	}
	if hs.AccountID != 1001 {
		t.Errorf("AccountID = %d", hs.AccountID)
	}
	wantNets := []Network{
		{ID: 4321, Name: "Home", Armed: true, TimeZone: "Europe/Berlin", UpdatedAt: time.Date(2026, 3, 1, 7, 12, 0, 0, time.UTC)},
		{ID: 4400, Name: "Garage", Armed: false, TimeZone: "Europe/Berlin", UpdatedAt: time.Date(2026, 2, 28, 21, 0, 0, 0, time.UTC)},
		{ID: 4500, Name: "Cabin", Armed: true, UpdatedAt: time.Date(2026, 2, 28, 21, 0, 0, 0, time.UTC)},
	}
	if !reflect.DeepEqual(hs.Networks, wantNets) {
		t.Errorf("Networks =\n%+v\nwant\n%+v", hs.Networks, wantNets)
	}
	wantSM := []SyncModule{
		{ID: 777, NetworkID: 4321, Name: "My Blink Sync Module", Serial: "G8T1V7010000ABCD", FirmwareVersion: "16.0.34",
			Type: "sm2", Subtype: "billy", Status: "online", WiFiBars: 5,
			LastHeartbeat: time.Date(2026, 3, 1, 17, 19, 40, 0, time.UTC), LocalStorageStatus: "active",
			UpdatedAt: time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)},
		{ID: 778, NetworkID: 4500, Name: "Cabin Sync", Serial: "G8T1V7010000EFGH", FirmwareVersion: "4.4.8",
			Type: "sm1", Status: "offline", WiFiBars: -1, LastHeartbeat: time.Date(2026, 2, 27, 1, 2, 3, 0, time.UTC)},
	}
	if !reflect.DeepEqual(hs.SyncModules, wantSM) {
		t.Errorf("SyncModules =\n%+v\nwant\n%+v", hs.SyncModules, wantSM)
	}
	type dev struct {
		id       int64
		fam      Family
		typ      string
		enabled  bool
		online   bool
		battery  string
		thumb    string
		hasSigs  bool
		tempF    *int
		wifiBars *int
	}
	want := []dev{
		{555, FamilyCamera, "catalina", true, true, "ok", "/api/v3/media/accounts/1001/networks/4321/catalina/555/thumbnail/thumbnail.jpg?ts=1772384712&ext=", true, ptr(47), ptr(5)},
		{556, FamilyCamera, "xt2", false, false, "low", "1772380800", true, ptr(39), nil},
		{557, FamilyCamera, "white", false, true, "ok", "/media/production/account/1001/network/4500/camera/557/clip_Ab12Cd_2020_10_02__00_28AM", false, nil, nil},
		{558, FamilyCamera, "sedona", true, true, "", "/api/v3/media/accounts/1001/networks/4321/sedona/558/thumbnail/thumbnail.jpg?ts=1772384000&ext=", false, nil, nil},
		{888, FamilyOwl, "owl", false, true, "", "/api/v3/media/accounts/1001/networks/4400/owl/888/thumbnail/thumbnail.jpg?ts=1772383200&ext=", false, nil, nil},
		{889, FamilyOwl, "hawk", true, false, "", "/media/e006/account/1001/network/4600/owl/889/thumbnail/fw_9.63__Ab12Cd_2022_02_22__16_58PM", false, nil, nil},
		{999, FamilyDoorbell, "lotus", true, true, "ok", "/api/v3/media/accounts/1001/networks/4321/lotus/999/thumbnail/thumbnail.jpg?ts=1772377200&ext=", false, nil, nil},
	}
	if len(hs.Devices) != len(want) {
		t.Fatalf("got %d devices, want %d", len(hs.Devices), len(want))
	}
	for i, w := range want {
		d := hs.Devices[i]
		got := dev{d.ID, d.Family, d.Type, d.Enabled, d.Online(), d.Battery, d.Thumbnail, d.Signals != nil, nil, nil}
		if d.Signals != nil {
			got.tempF, got.wifiBars = d.Signals.TemperatureF, d.Signals.WiFiBars
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("device %d =\n%+v\nwant\n%+v", i, got, w)
		}
	}
	if s := hs.Devices[0].Signals; s.LFRBars == nil || *s.LFRBars != 4 || s.BatteryState != "ok" || s.UpdatedAt.IsZero() {
		t.Errorf("signals of 555 = %+v", s)
	}
	if got := hs.Devices[1].UpdatedAt; !got.Equal(time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("fractional Z timestamp = %s", got)
	}
}

func TestFlexScalars(t *testing.T) {
	type doc struct {
		I flexInt    `json:"i"`
		B flexBool   `json:"b"`
		S flexString `json:"s"`
		T flexTime   `json:"t"`
	}
	ts := time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in    string
		i     int64
		iset  bool
		b     bool
		s     string
		t     time.Time
		label string
	}{
		{`{"i":5,"b":true,"s":"x","t":"2026-03-01T17:00:00+00:00"}`, 5, true, true, "x", ts, "plain"},
		{`{"i":"5","b":"true","s":17,"t":"2026-03-01T17:00:00+0000"}`, 5, true, true, "17", ts, "strings and numbers swapped"},
		{`{"i":null,"b":null,"s":null,"t":null}`, 0, false, false, "", time.Time{}, "nulls"},
		{`{"i":4.0,"b":1,"s":1.5e3,"t":1772384400}`, 4, true, true, "1500", ts, "floats, 0/1, epoch"},
		{`{"i":"abc","b":"no","s":{"x":1},"t":"yesterday"}`, 0, false, false, "", time.Time{}, "garbage is zero"},
		{`{"i":true,"b":0,"s":[1],"t":"2026-03-01 17:00:00"}`, 1, true, false, "", ts, "bool int, space layout"},
		{`{"i":1e300,"t":1772384400000}`, 0, false, false, "", ts, "huge float, epoch ms"},
		{`{"t":"2026-03-01T18:00:00+01:00"}`, 0, false, false, "", ts, "offset normalised to UTC"},
	} {
		t.Run(tc.label, func(t *testing.T) {
			var d doc
			if err := json.Unmarshal([]byte(tc.in), &d); err != nil {
				t.Fatal(err)
			}
			if d.I.v != tc.i || d.I.set != tc.iset || d.B.v != tc.b || d.S.v != tc.s || !d.T.v.Equal(tc.t) {
				t.Errorf("got i=%d/%v b=%v s=%q t=%s", d.I.v, d.I.set, d.B.v, d.S.v, d.T.v)
			}
		})
	}
}

func TestDecodeConfigs(t *testing.T) {
	cc, err := decodeCameraConfig("GET /c", mustFixture(t, "camera_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantCC := &CameraConfig{ID: 555, Name: "Front Yard", Enabled: true, BatteryState: "ok", BatteryVoltageCV: ptr(154),
		TemperatureF: ptr(47), WiFiDBm: ptr(-52), LFRDBm: ptr(-61), MotionSensitivity: ptr(5),
		Signals: &Signals{TemperatureF: ptr(63), WiFiBars: ptr(5), LFRBars: ptr(5), BatteryBars: ptr(2), BatteryState: "low",
			UpdatedAt: time.Date(2026, 3, 1, 17, 5, 12, 0, time.UTC)}}
	if !reflect.DeepEqual(cc, wantCC) {
		t.Errorf("camera config = %+v", cc)
	}
	oc, err := decodeOwlConfig("GET /o", mustFixture(t, "owl_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (&OwlConfig{Name: "Hallway", Status: "online", FirmwareVersion: "9.77", WiFiBars: ptr(4), Illuminator: "auto"}); !reflect.DeepEqual(oc, want) {
		t.Errorf("owl config = %+v", oc)
	}
	dc, err := decodeDoorbellConfig("GET /d", mustFixture(t, "doorbell_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (&DoorbellConfig{Enabled: true, TemperatureF: ptr(58), WiFiRSSI: ptr(-63), LFRRSSI: ptr(-55), BatteryState: "ok"}); !reflect.DeepEqual(dc, want) {
		t.Errorf("doorbell config = %+v", dc)
	}
}

func TestDecodeCommandFixtures(t *testing.T) {
	for name, want := range map[string]CommandStatus{
		"command_status_running.json":  {Status: 0, StatusCode: 908, StatusMsg: "Command succeeded", HasStatusCode: true},
		"command_status_complete.json": {Complete: true, StatusCode: 908, StatusMsg: "Command succeeded", MediaID: 3123456800, HasStatusCode: true},
		"command_status_failed.json":   {Complete: true, Status: 1, StatusCode: 523, StatusMsg: "Live view failed", HasStatusCode: true},
	} {
		got, err := decodeCommandStatus("GET /s", mustFixture(t, name))
		if err != nil || got == nil || *got != want {
			t.Errorf("%s: %+v, %v; want %+v", name, got, err, want)
		}
	}
	for name, want := range map[string]Command{
		"command_arm.json":            {ID: 9876543210, NetworkID: 4321, Command: "arm", State: "new"},
		"command_thumbnail_full.json": {ID: 9876543210, NetworkID: 4321, Command: "thumbnail", State: "new"},
	} {
		got, err := decodeCommand("POST /c", mustFixture(t, name))
		if err != nil || got.cmd != want {
			t.Errorf("%s: %+v, %v; want %+v", name, got.cmd, err, want)
		}
	}
}

// mediaServer serves the media/changed fixtures page by page.
func mediaServer(t *testing.T, pages ...string) (*Client, *counter, *[]string) {
	var cnt counter
	var queries []string
	c, _, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/u011/api/v1/accounts/1001/media/changed" {
			http.NotFound(w, r)
			return
		}
		cnt.add(r)
		queries = append(queries, r.URL.RawQuery)
		var page int
		fmt.Sscan(r.URL.Query().Get("page"), &page)
		if page < 1 || page > len(pages) {
			w.Write(mustFixture(t, "media_changed_empty.json"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(mustFixture(t, pages[page-1]))
	}))
	return c, &cnt, &queries
}

func TestMediaChangedPagesDedupSort(t *testing.T) {
	c, cnt, queries := mediaServer(t, "media_changed_page1.json", "media_changed_page2.json")
	since := time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)
	got, err := c.MediaChanged(t.Context(), since)
	if err != nil {
		t.Fatal(noteErr(err))
	}
	var ids []int64
	for _, m := range got {
		ids = append(ids, m.ID)
	}
	// 3123456700 is deleted; 3123456789 appears twice (page 1, newest change, wins).
	want := []int64{3123456600, 3123456601, 3123456789, 3123456791}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("ids = %v, want %v", ids, want)
	}
	for _, m := range got {
		if m.ID == 3123456789 && m.Partial {
			t.Error("duplicate resolved to the older (partial) record")
		}
	}
	if n := cnt.total(); n != 3 {
		t.Errorf("pages fetched = %d, want 3 (until the empty one)", n)
	}
	if q := (*queries)[0]; !strings.Contains(q, "since=2026-03-01T17%3A00%3A00%2B0000") || !strings.Contains(q, "page=1") {
		t.Errorf("query = %q", q)
	}
	m := got[len(got)-1]
	if m.DeviceID != 888 || m.NetworkID != 4400 || m.Source != "pir" || m.Clip == "" || m.Thumbnail == "" || m.CreatedAt.IsZero() {
		t.Errorf("media fields = %+v", m)
	}
}

func TestMediaChangedShortPageStops(t *testing.T) {
	c, cnt, _ := mediaServer(t, "media_changed_empty.json")
	got, err := c.MediaChanged(t.Context(), time.Time{})
	if err != nil || len(got) != 0 || cnt.total() != 1 {
		t.Errorf("got %d items, err %v, %d calls", len(got), err, cnt.total())
	}
}

func TestMediaChangedBounded(t *testing.T) {
	pages := make([]string, 50)
	for i := range pages {
		pages[i] = "media_changed_page1.json" // never empty, always full
	}
	c, cnt, _ := mediaServer(t, pages...)
	if _, err := c.MediaChanged(t.Context(), time.Time{}); err != nil {
		t.Fatal(noteErr(err))
	}
	if cnt.total() != maxMediaPages {
		t.Errorf("pages = %d, want bound %d", cnt.total(), maxMediaPages)
	}
}
