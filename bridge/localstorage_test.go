package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

func TestLocalDevice(t *testing.T) {
	hs := &blink.Homescreen{Devices: []blink.Device{
		{ID: 1, NetworkID: 10, Family: blink.FamilyCamera, Name: "Back Door"},
		{ID: 2, NetworkID: 10, Family: blink.FamilyOwl, Name: "Küche (Nord)"},
		{ID: 3, NetworkID: 10, Family: blink.FamilyCamera, Name: "Side Gate"},
		{ID: 4, NetworkID: 10, Family: blink.FamilyDoorbell, Name: "Side-Gate"},
		{ID: 5, NetworkID: 10, Family: blink.FamilyCamera, Name: "front_yard"},
		{ID: 6, NetworkID: 11, Family: blink.FamilyCamera, Name: "Back Door"},
		{ID: 7, NetworkID: 10, Family: blink.FamilyCamera, Name: "Garage"},
		{ID: 8, NetworkID: 10, Family: blink.FamilyCamera, Name: "GARAGE!"},
	}}
	tests := []struct {
		name   string
		net    int64
		camera string
		wantID int64
		want   nameMatch
	}{
		{"spaces stripped", 10, "BackDoor", 1, nameFound},
		{"same name on another network", 11, "BackDoor", 6, nameFound},
		{"Unicode letters kept", 10, "KücheNord", 2, nameFound},
		{"ASCII only", 10, "KcheNord", 2, nameFound},
		{"underscore kept (word characters)", 10, "front_yard", 5, nameFound},
		{"underscore dropped", 10, "frontyard", 5, nameFound},
		{"case differs", 10, "backdoor", 1, nameFound},
		{"exact case wins over a case-insensitive twin", 10, "Garage", 7, nameFound},
		{"two devices strip alike", 10, "SideGate", 0, nameAmbiguous},
		{"no such camera", 10, "Ghost", 0, nameUnknown},
		{"empty name", 10, "", 0, nameUnknown},
		{"other network's only", 12, "BackDoor", 0, nameUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, m := localDevice(hs, tc.net, tc.camera)
			if m != tc.want || d.ID != tc.wantID {
				t.Errorf("localDevice(%d, %q) = %d, %s; want %d, %s", tc.net, tc.camera, d.ID, m, tc.wantID, tc.want)
			}
		})
	}
	if _, m := localDevice(nil, 10, "BackDoor"); m != nameUnknown {
		t.Errorf("no homescreen: %s", m)
	}
}

// TestLocalCursor: what counts as new across checks, manifest rebuilds
// (new ids), restarts (a reload) and a subscriber's copies of cloud clips.
func TestLocalCursor(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clip := func(id string, cam string, at time.Time, size int64) blink.LocalClip {
		return blink.LocalClip{ID: id, CameraName: cam, CreatedAt: at, Size: size}
	}
	ids := func(fs []freshClip) string {
		var s []string
		for _, f := range fs {
			s = append(s, f.clip.ID)
		}
		return strings.Join(s, ",")
	}
	dir := t.TempDir()
	c, err := loadLocalCursor(dir, start)
	if err != nil {
		t.Fatal(err)
	}
	old := clip("1", "BackDoor", start.Add(-time.Hour), 100)
	a := clip("2", "BackDoor", start.Add(time.Minute), 200)
	b := clip("3", "Porch", start.Add(2*time.Minute), 300)
	now := start.Add(3 * time.Minute)

	steps := []struct {
		name  string
		clips []blink.LocalClip
		want  string
	}{
		{"first check: clips from before the start are old", []blink.LocalClip{b, a, old}, "2,3"},
		{"the same manifest again", []blink.LocalClip{b, a, old}, ""},
		{"a rebuild: new ids, same clips", []blink.LocalClip{clip("12", "Porch", b.CreatedAt, 300), clip("11", "BackDoor", a.CreatedAt, 200)}, ""},
		{"a clip that showed up late, within the lookback", []blink.LocalClip{clip("4", "Porch", start.Add(90*time.Second), 310)}, "4"},
		{"same camera and second, other size: another clip", []blink.LocalClip{clip("5", "BackDoor", a.CreatedAt, 201)}, "5"},
	}
	for _, s := range steps {
		fresh := c.fresh(5001, s.clips, now, maxLocalPerCheck)
		if got := ids(fresh); got != s.want {
			t.Fatalf("%s: fresh = %q, want %q", s.name, got, s.want)
		}
		c.commit(5001, fresh)
	}
	if err := c.save(map[devKey]time.Time{{Network: 5001, Family: blink.FamilyCamera, ID: 6001}: now}); err != nil {
		t.Fatal(err)
	}
	c2, err := loadLocalCursor(dir, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(c2.fresh(5001, []blink.LocalClip{b, a, old}, now.Add(time.Hour), maxLocalPerCheck)); got != "" {
		t.Errorf("after a restart: fresh = %q, want nothing", got)
	}
	if got := c2.last[devKey{Network: 5001, Family: blink.FamilyCamera, ID: 6001}]; !got.Equal(now) {
		t.Errorf("last event after reload = %v, want %v", got, now)
	}
	// A downtime clip (after the watermark) is new after the restart.
	down := clip("6", "Porch", now.Add(30*time.Minute), 400)
	if got := ids(c2.fresh(5001, []blink.LocalClip{down, b}, now.Add(time.Hour), maxLocalPerCheck)); got != "6" {
		t.Errorf("downtime clip: fresh = %q, want 6", got)
	}

	t.Run("a network met later counts from the start", func(t *testing.T) {
		// c2 started at now+1h.
		got := c2.fresh(5002, []blink.LocalClip{clip("7", "X", now.Add(59*time.Minute), 1), clip("8", "X", now.Add(61*time.Minute), 1)}, now.Add(2*time.Hour), maxLocalPerCheck)
		if ids(got) != "8" {
			t.Errorf("fresh = %q, want 8", ids(got))
		}
	})
	t.Run("limit: the oldest first, the rest stay new", func(t *testing.T) {
		var many []blink.LocalClip
		for i := range 5 {
			many = append(many, clip(strconv.Itoa(100+i), "Y", now.Add(time.Duration(70-i)*time.Minute), 1))
		}
		first := c2.fresh(5003, many, now.Add(2*time.Hour), 3)
		c2.commit(5003, first)
		second := c2.fresh(5003, many, now.Add(2*time.Hour), 3)
		if ids(first) != "104,103,102" || ids(second) != "101,100" {
			t.Errorf("fresh %q then %q", ids(first), ids(second))
		}
	})
	t.Run("an undated clip is published once while it keeps showing up", func(t *testing.T) {
		u := clip("9", "Z", time.Time{}, 5)
		at := now.Add(2 * time.Hour)
		for i := range 4 { // far beyond the lookback
			f := c2.fresh(5004, []blink.LocalClip{u}, at.Add(time.Duration(i)*time.Hour), maxLocalPerCheck)
			if (i == 0) != (len(f) == 1) {
				t.Fatalf("check %d: fresh %q", i, ids(f))
			}
			c2.commit(5004, f)
		}
	})
	t.Run("a subscriber's copies of cloud clips are not news", func(t *testing.T) {
		at := now.Add(3 * time.Hour)
		c2.cloudMotion(5005, at)
		copied := clip("10", "Gate", at.Add(-time.Minute), 7)
		if got := c2.fresh(5005, []blink.LocalClip{copied}, at.Add(time.Hour), maxLocalPerCheck); len(got) != 0 {
			t.Errorf("fresh = %q, want nothing", ids(got))
		}
		if until := c2.cloudUntil(5005); !until.Equal(at.Add(cloudQuiet)) {
			t.Errorf("cloudUntil = %v", until)
		}
	})
}

// FuzzLocalCursorFile: whatever local_storage.json holds, the cursor loads,
// never starts past now, and survives a check, a save and a reload.
func FuzzLocalCursorFile(f *testing.F) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	good, _ := json.Marshal(localFile{
		Networks: map[string]*localNetCursor{"5001": {Watermark: now, Floor: now.Add(-localLookback),
			Seen: map[string]time.Time{"BackDoor|2026-03-01T11:59:00Z|200": now.Add(-time.Minute)}, CloudUntil: now.Add(time.Hour)}},
		LastEvent: map[string]time.Time{"5001/camera/6001": now},
	})
	f.Add(good)
	f.Add([]byte(`{"networks":{"x":{"watermark":"9999-12-31T23:30:00-01:00"},"-1":null,"7":{"watermark":"2030-01-01T00:00:00Z","floor":"2031-01-01T00:00:00Z","cloud_until":"2099-01-01T00:00:00Z"}}}`))
	f.Add([]byte(`{"networks":null,"last_event":{"1/2":"0000-01-01T00:30:00+01:00"}}`))
	f.Add([]byte(`[]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, localFileName), data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, _ := loadLocalCursor(dir, now)
		for id, n := range c.nets {
			if id <= 0 || n.Watermark.After(now.Add(maxClockSkew)) || n.Floor.After(n.Watermark) || n.CloudUntil.After(now.Add(cloudQuiet)) {
				t.Fatalf("network %d loaded as %+v", id, n)
			}
		}
		for id := range c.nets {
			c.commit(id, c.fresh(id, []blink.LocalClip{{ID: "1", CameraName: "A", CreatedAt: now, Size: 1}}, now, maxLocalPerCheck))
		}
		saved, err := c.encode(c.last)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, localFileName), saved, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := loadLocalCursor(dir, now); err != nil {
			t.Fatalf("reload of a saved cursor: %v", err)
		}
	})
}

func TestCanRecordUSB(t *testing.T) {
	hs := testHomescreen() // 4321 armed, its sync module's storage active
	usbOnly := func(hs *blink.Homescreen, net int64) bool { return hasActiveStorage(hs, net) }
	if !canRecord(hs, nil) {
		t.Fatal("armed network without the watcher: cannot record?")
	}
	if canRecord(hs, usbOnly) {
		t.Error("an armed network recording onto its USB stick still counts for media/changed")
	}
	hs.SyncModules[0].LocalStorageStatus = "unavailable"
	if !canRecord(hs, usbOnly) {
		t.Error("an armed network without a stick does not count")
	}
}

// TestLocalClipRetries: a cut-off download and a "Media not found" (the
// upload not finished) are retried; the clip lands whole under its final
// name, with no temporary file, after one upload request.
func TestLocalClipRetries(t *testing.T) {
	fake := blinkfake.New(t, blinkfake.Config{Account: usbAccount()})
	access, refresh, exp := fake.IssueTokens()
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		client := newBubbleClient(t, fake, access, refresh, exp)
		b, pub := newPubBridge(t, client, func(o *Options) { o.MediaDir = dir })
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{}, 3)
		go func() { b.runScheduler(ctx); done <- struct{}{} }()
		go func() { b.runLocalStorage(ctx); done <- struct{}{} }()
		go func() { b.runClips(ctx); done <- struct{}{} }()
		time.Sleep(10 * time.Second)
		fake.Inject(blinkfake.Fault{Endpoint: blinkfake.EpLocalClip, Truncate: true})
		fake.Inject(blinkfake.Fault{Endpoint: blinkfake.EpLocalClip, Status: 200, Body: `{"message":"Media not found","code":700}`})
		fake.TriggerMotion(camBackDoor, "pir")
		clip := fake.LocalClips(usbHome)[0]
		time.Sleep(5 * time.Minute)
		cancel()
		for range 3 {
			<-done
		}
		var events []eventPayload
		for _, m := range pub.history(b.topics.Events()) {
			var ev eventPayload
			if err := json.Unmarshal([]byte(m.payload), &ev); err != nil {
				t.Fatal(err)
			}
			events = append(events, ev)
		}
		want := filepath.Join(dir, id(usbHome), id(camBackDoor), clip.CreatedAt.UTC().Format(clipTimeFmt)+"_"+id(clip.ID)+".mp4")
		if len(events) != 1 || events[0].Clip != want {
			t.Fatalf("events %+v, want one with clip %s", events, want)
		}
		data, err := os.ReadFile(want)
		if err != nil || !bytes.Equal(data, blinkfake.LocalClipMP4(clip)) {
			t.Fatalf("saved %d bytes (%v), want the clip's %d", len(data), err, len(blinkfake.LocalClipMP4(clip)))
		}
		noTempFiles(t, dir)
		for ep, n := range map[string]int{blinkfake.EpLocalClip: 3, blinkfake.EpLocalClipRequest: 1} {
			if got := fake.Count(ep); got != n {
				t.Errorf("%d %s requests, want %d", got, ep, n)
			}
		}
	})
}

// TestLocalClipPath: a local clip is saved like a cloud clip, under its
// device's directory ("unknown" when its camera is not known); an id that
// is not digits (retention would not know the file) is not saved.
func TestLocalClipPath(t *testing.T) {
	dir := t.TempDir()
	p := &localStorage{clips: &clipSaver{dir: dir}}
	ref := blink.SyncModuleRef{NetworkID: usbHome, ID: usbHomeSM}
	at := time.Date(2026, 3, 1, 21, 11, 50, 0, time.UTC)
	tests := []struct {
		name string
		id   string
		dev  int64
		want string // "" = not saved
	}{
		{"known camera", "866333964", camBackDoor, filepath.Join(dir, "5001", "6001", "20260301T211150Z_866333964.mp4")},
		{"unknown camera", "42", 0, filepath.Join(dir, "5001", "unknown", "20260301T211150Z_42.mp4")},
		{"id with letters", "abc", camBackDoor, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := p.clipSource(ref, "4321", blink.LocalClip{ID: tc.id, CreatedAt: at}, blink.Device{ID: tc.dev}, at)
			switch {
			case tc.want == "" && src != nil:
				t.Errorf("saved as %s", src.path)
			case tc.want != "" && (src == nil || src.path != tc.want):
				t.Errorf("source %+v, want path %s", src, tc.want)
			case tc.want != "" && !clipName.MatchString(filepath.Base(src.path)):
				t.Errorf("%s is not a name retention knows", src.path)
			}
		})
	}
	p.clips.dir = ""
	if src := p.clipSource(ref, "4321", blink.LocalClip{ID: "1", CreatedAt: at}, blink.Device{ID: 1}, at); src != nil {
		t.Error("a source without MEDIA_DIR")
	}
}
