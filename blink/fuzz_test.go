package blink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func addFixtures(f *testing.F, names ...string) {
	for _, n := range names {
		f.Add(mustFixture(f, n))
	}
}

// checkTimes fails when a decoded time is neither zero nor encodable in UTC.
func checkTimes(t *testing.T, what string, ts ...time.Time) {
	t.Helper()
	for _, tm := range ts {
		if !marshalsInUTC(tm) {
			t.Fatalf("%s: decoded time %s cannot be marshalled in UTC", what, tm)
		}
	}
}

func FuzzDecodeHomescreen(f *testing.F) {
	addFixtures(f, "homescreen.json", "homescreen_odd_times.json")
	f.Add([]byte(`{"cameras":[null,{"id":"1","signals":{}}],"owls":{},"networks":[{"id":1e3}]}`))
	f.Add([]byte(`{"networks":[{"id":1,"armed":"1","updated_at":12}]}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		hs, err := decodeHomescreen("GET /hs", body)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || de.Op != "GET /hs" {
				t.Fatalf("error is not a *DecodeError naming the endpoint: %v", err)
			}
			if len(body) > 8 && strings.Contains(err.Error(), string(body)) {
				t.Fatalf("error quotes the body")
			}
			return
		}
		for _, n := range hs.Networks {
			if n.ID == 0 {
				t.Fatal("network without id kept")
			}
			checkTimes(t, "network", n.UpdatedAt)
		}
		for _, s := range hs.SyncModules {
			if s.ID == 0 {
				t.Fatal("sync module without id kept")
			}
			checkTimes(t, "sync module", s.LastHeartbeat, s.UpdatedAt)
		}
		lastFam := 0
		order := map[Family]int{FamilyCamera: 1, FamilyOwl: 2, FamilyDoorbell: 3}
		for _, d := range hs.Devices {
			if d.ID == 0 || !d.Family.Valid() {
				t.Fatalf("bad device kept: %+v", d)
			}
			if order[d.Family] < lastFam {
				t.Fatal("devices not grouped cameras, owls, doorbells")
			}
			lastFam = order[d.Family]
			checkTimes(t, "device", d.UpdatedAt)
			if d.Signals != nil {
				checkTimes(t, "signals", d.Signals.UpdatedAt)
			}
			_ = ThumbnailPath(hs.AccountID, d) // must not panic on anything decoded
		}
	})
}

func FuzzDecodeMedia(f *testing.F) {
	addFixtures(f, "media_changed_page1.json", "media_changed_page2.json", "media_changed_empty.json", "media_odd_times.json")
	f.Add([]byte(`[{"id":1,"created_at":1772384400}]`))
	f.Add([]byte(`{"media":[null,{"id":"x"}],"limit":"500"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		items, limit, err := decodeMediaPage("GET /m", body)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error is not a *DecodeError: %v", err)
			}
			return
		}
		_ = limit
		for _, m := range items {
			if m.ID == 0 {
				t.Fatal("media without id kept")
			}
			checkTimes(t, "media", m.CreatedAt, m.UpdatedAt)
			_ = MediaThumbnailPath(m.Thumbnail)
		}
	})
}

func FuzzDecodeCommandStatus(f *testing.F) {
	addFixtures(f, "command_status_running.json", "command_status_complete.json", "command_status_failed.json")
	f.Add([]byte(`{"complete":"true","status_code":"908"}`))
	f.Add([]byte(`null`))
	f.Add([]byte(` `))
	f.Fuzz(func(t *testing.T, body []byte) {
		st, err := decodeCommandStatus("GET /s", body)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error is not a *DecodeError: %v", err)
			}
			return
		}
		if st == nil {
			if t := bytes.TrimSpace(body); len(t) != 0 && string(t) != "null" {
				panic(fmt.Sprintf("nil status for a non-empty body %q", body))
			}
			return
		}
		if !st.HasStatusCode && st.StatusCode != 0 {
			t.Fatal("StatusCode set without HasStatusCode")
		}
		if !oneLine(st.StatusMsg) || len(st.StatusMsg) > maxMessage+len("…") {
			t.Fatalf("status_msg %q is not one bounded line", st.StatusMsg)
		}
		// The decision never depends on status_msg: decoding the same body
		// with a different message must not change anything else.
		var m map[string]any
		if json.Unmarshal(body, &m) == nil && m != nil {
			m["status_msg"] = "Command failed"
			b2, _ := json.Marshal(m)
			st2, err := decodeCommandStatus("GET /s", b2)
			if err == nil && st2 != nil && (st2.Complete != st.Complete || st2.StatusCode != st.StatusCode || st2.HasStatusCode != st.HasStatusCode) {
				t.Fatalf("status_msg changed the outcome: %+v vs %+v", st, st2)
			}
		}
	})
}

func FuzzFlexTime(f *testing.F) {
	for _, v := range []string{
		`"2026-03-01T17:05:12+00:00"`, `"2026-03-01 16:00:00"`, `"2026-03-01T17:06:00.000Z"`, `1772384400`, `1772384400000`,
		`"9999-12-31T23:30:00-01:00"`, `"0000-01-01T00:30:00+01:00"`, `"9999-12-31 23:30:00 -0100"`, `"1772384400"`,
		`null`, `-1`, `"\u0032026-03-01T17:05:12Z"`, `1e3`, `{}`,
	} {
		f.Add([]byte(v))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ft flexTime
		if err := json.Unmarshal(b, &ft); err != nil {
			return // not a JSON value; a document around it would fail first
		}
		checkTimes(t, "flexTime", ft.v)
		if !ft.v.IsZero() && ft.v.Location() != time.UTC {
			t.Fatalf("%s is not in UTC", ft.v)
		}
	})
}

func FuzzDecodeConfig(f *testing.F) {
	for i, name := range []string{"camera_config.json", "owl_config.json", "doorbell_config.json"} {
		f.Add(uint8(i), mustFixture(f, name))
	}
	f.Add(uint8(0), []byte(`{"camera":[null],"signals":{"updated_at":"9999-12-31T23:30:00-01:00","temp":"47"}}`))
	f.Add(uint8(1), []byte(`{"wifi":"x","enabled":"1"}`))
	f.Fuzz(func(t *testing.T, kind uint8, body []byte) {
		var err error
		switch kind % 3 {
		case 0:
			var cc *CameraConfig
			if cc, err = decodeCameraConfig("GET /c", body); err == nil && cc.Signals != nil {
				checkTimes(t, "camera signals", cc.Signals.UpdatedAt)
			}
		case 1:
			_, err = decodeOwlConfig("GET /o", body)
		default:
			_, err = decodeDoorbellConfig("GET /d", body)
		}
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || !strings.HasPrefix(err.Error(), "GET /") {
				t.Fatalf("error is not a *DecodeError naming the endpoint: %v", err)
			}
			checkErrorText(t, err, 120)
		}
	})
}

func FuzzDecodeCommand(f *testing.F) {
	addFixtures(f, "command_arm.json", "command_thumbnail_full.json")
	f.Add([]byte(`{"message":"No Cameras Enabled for Motion","code":304}`))
	f.Add([]byte(`{"message":"busy\nnow","code":"307","command_id":"12"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ans, err := decodeCommand("POST /c", body)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error is not a *DecodeError: %v", err)
			}
			return
		}
		if !oneLine(ans.message) || len(ans.message) > maxMessage+len("…") {
			t.Fatalf("message %q is not one bounded line", ans.message)
		}
	})
}

func FuzzThumbnailPath(f *testing.F) {
	for _, s := range []string{
		"/api/v3/media/accounts/1001/networks/4321/catalina/555/thumbnail/thumbnail.jpg?ts=1772384712&ext=",
		"1772380800",
		"/media/production/account/1001/network/4500/camera/557/clip_Ab12Cd_2020_10_02__00_28AM",
		"https://rest-u011.immedia-semi.com/x?y",
		"//evil", "", "?", "/a?b?c",
	} {
		f.Add(s, "catalina")
	}
	f.Fuzz(func(t *testing.T, thumb, typ string) {
		p := ThumbnailPath(1001, Device{ID: 5, NetworkID: 6, Type: typ, Family: FamilyCamera, Thumbnail: thumb})
		if p == "" {
			return
		}
		if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") {
			t.Fatalf("ThumbnailPath(%q) = %q: not a server path", thumb, p)
		}
		path, _, _ := strings.Cut(p, "?")
		if !strings.HasSuffix(strings.ToLower(path), ".jpg") && !strings.HasSuffix(p, "&ext=") {
			t.Fatalf("ThumbnailPath(%q) = %q: neither .jpg nor &ext=", thumb, p)
		}
		if again := ThumbnailPath(1001, Device{ID: 5, NetworkID: 6, Type: typ, Thumbnail: p}); again != p {
			t.Fatalf("not idempotent: %q → %q → %q", thumb, p, again)
		}
		mp := MediaThumbnailPath(thumb)
		if mp != "" && (!strings.HasPrefix(mp, "/") || strings.HasPrefix(mp, "//")) {
			t.Fatalf("MediaThumbnailPath(%q) = %q", thumb, mp)
		}
	})
}

// bigHomescreen builds a homescreen of nets networks with perNet devices each.
func bigHomescreen(nets, perNet int) []byte {
	var b strings.Builder
	b.WriteString(`{"account":{"id":1001},"networks":[`)
	for n := range nets {
		if n > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"created_at":"2021-05-01T10:00:00+00:00","updated_at":"2026-03-01T07:12:00+00:00","name":"Net %d","time_zone":"Europe/Berlin","dst":true,"armed":%v,"lv_save":false}`, 4000+n, n, n%2 == 0)
	}
	b.WriteString(`],"sync_modules":[`)
	for n := range nets {
		if n > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"created_at":"2021-05-01T10:05:00+00:00","updated_at":"2026-03-01T06:00:00+00:00","onboarded":true,"status":"online","name":"Sync %d","serial":"G8T1V70100%05d","fw_version":"16.0.34","type":"sm2","subtype":"billy","last_hb":"2026-03-01T17:19:40+00:00","wifi_strength":5,"network_id":%d,"local_storage_enabled":true,"local_storage_compatible":true,"local_storage_status":"active","revision":"01"}`, 7000+n, n, n, 4000+n)
	}
	fam := func(name string, k int) {
		fmt.Fprintf(&b, `],"%s":[`, name)
		first := true
		for n := range nets {
			for d := range perNet {
				if d%3 != k {
					continue
				}
				if !first {
					b.WriteByte(',')
				}
				first = false
				id := 100000 + n*100 + d
				typ := [...]string{"catalina", "owl", "lotus"}[k]
				fmt.Fprintf(&b, `{"id":%d,"created_at":"2021-05-01T10:20:00+00:00","updated_at":"2026-03-01T17:05:12+00:00","name":"Device %d","serial":"G8V10000%08d","fw_version":"10.72","type":"%s","enabled":true,"thumbnail":"/api/v3/media/accounts/1001/networks/%d/%s/%d/thumbnail/thumbnail.jpg?ts=1772384712&ext=","status":"done","battery":"ok","usage_rate":false,"network_id":%d,"issues":[],`, id, id, id, typ, 4000+n, typ, id, 4000+n)
				if k == 0 {
					b.WriteString(`"signals":{"lfr":4,"wifi":5,"temp":47,"battery":3,"battery_state":"ok","updated_at":"2026-03-01T17:05:12+00:00"},`)
				}
				b.WriteString(`"local_storage_enabled":true,"local_storage_compatible":true,"snooze":false,"snooze_time_remaining":null,"revision":"00","color":"black"}`)
			}
		}
	}
	fam("cameras", 0)
	fam("owls", 1)
	fam("doorbells", 2)
	b.WriteString(`],"sirens":[],"chimes":[],"doorbell_buttons":[],"video_stats":{"storage":2,"auto_delete_days":60},"accessories":{"storm":[],"rosie":[]}}`)
	return []byte(b.String())
}

func TestBigHomescreenDecodes(t *testing.T) {
	hs, err := decodeHomescreen("GET /hs", bigHomescreen(50, 10))
	if err != nil {
		t.Fatal(err)
	}
	if len(hs.Networks) != 50 || len(hs.SyncModules) != 50 || len(hs.Devices) != 500 {
		t.Fatalf("decoded %d networks, %d sync modules, %d devices", len(hs.Networks), len(hs.SyncModules), len(hs.Devices))
	}
}

func BenchmarkDecodeHomescreen(b *testing.B) {
	body := bigHomescreen(50, 10)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeHomescreen("GET /hs", body); err != nil {
			b.Fatal(err)
		}
	}
}
