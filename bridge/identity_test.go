package bridge

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// collidingHomescreen is testHomescreen plus a Mini on network 4321 whose id
// is the camera's (Blink numbers families on their own).
func collidingHomescreen() *blink.Homescreen {
	hs := testHomescreen()
	hs.Devices = append(hs.Devices, blink.Device{ID: 555, NetworkID: 4321, Family: blink.FamilyOwl, Type: "owl",
		Name: "Porch Mini", Enabled: false, Status: "online",
		Thumbnail: "/api/v3/media/accounts/1001/networks/4321/owl/555/thumbnail/thumbnail.jpg?ts=1772384799&ext="})
	return hs
}

// TestSharedIDsGetTheirOwnTopics: a camera and a Mini with one id on one
// network never share a topic; the camera keeps the topics it always had.
func TestSharedIDsGetTheirOwnTopics(t *testing.T) {
	c := &fakeCloud{hs: collidingHomescreen(), session: true}
	b, p := newUnitBridge(t, c, nil)
	if err := b.pollHomescreen(t.Context()); err != nil {
		t.Fatal(err)
	}
	attrs := func(topic string) map[string]any {
		t.Helper()
		raw, ok := p.last(topic)
		if !ok {
			t.Fatalf("nothing on %s", topic)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	cam := attrs("b2m/4321/555/attributes")
	owl := attrs("b2m/4321/owl-555/attributes")
	if cam["family"] != "camera" || cam["name"] != "Front Yard" {
		t.Errorf("4321/555 attributes = %v, want the camera's", cam)
	}
	if owl["family"] != "owl" || owl["name"] != "Porch Mini" {
		t.Errorf("4321/owl-555 attributes = %v, want the Mini's", owl)
	}
	if v, _ := p.last("b2m/4321/555/motion_detection"); v != discovery.On {
		t.Errorf("camera motion_detection = %q, want ON", v)
	}
	if v, _ := p.last("b2m/4321/owl-555/motion_detection"); v != discovery.Off {
		t.Errorf("Mini motion_detection = %q, want OFF", v)
	}

	// Every discovery config of one device reads topics no other device's
	// config reads.
	owner := map[string]string{}
	for _, m := range discovery.Build(b.writer.ledger.opts, collidingHomescreen()) {
		var cfg map[string]any
		if json.Unmarshal(m.Payload, &cfg) != nil {
			continue
		}
		dev, _ := cfg["device"].(map[string]any)
		ids, _ := dev["identifiers"].([]any)
		if len(ids) == 0 {
			continue
		}
		who := ids[0].(string)
		for k, v := range cfg {
			s, ok := v.(string)
			if !ok || !strings.HasSuffix(k, "_topic") || !strings.HasPrefix(s, "b2m/4321/") {
				continue
			}
			if o, seen := owner[s]; seen && o != who {
				t.Errorf("%s is read by %s and %s", s, o, who)
			}
			owner[s] = who
		}
	}
}

// TestSharedIDCommandsReachTheRightDevice: the Mini's …/set topic commands
// the Mini; a request by bare id is refused as ambiguous with a way out,
// and "family" resolves it.
func TestSharedIDCommandsReachTheRightDevice(t *testing.T) {
	c := &fakeCloud{hs: collidingHomescreen(), session: true}
	b, p := newUnitBridge(t, c, func(o *Options) { o.CommandSpacing = time.Millisecond })
	if err := b.pollHomescreen(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.onMessage(nil, testMessage{topic: "b2m/4321/owl-555/motion_detection/set", payload: []byte("ON")})
	b.onMessage(nil, testMessage{topic: b.topics.Request(OpRecord), payload: []byte(`{"device":555,"transaction":1}`)})
	b.onMessage(nil, testMessage{topic: b.topics.Request(OpRecord), payload: []byte(`{"device":555,"family":"owl","transaction":2}`)})
	p.waitUntil(t, func() bool { return len(p.history(b.topics.Response(OpRecord))) == 2 && len(c.deviceRefs()) == 2 })
	refs := c.deviceRefs()
	for _, r := range refs {
		if r.Family != blink.FamilyOwl || r.ID != 555 || r.NetworkID != 4321 {
			t.Errorf("command sent to %+v, want the Mini owl/555", r)
		}
	}
	for _, m := range p.history(b.topics.Response(OpRecord)) {
		var resp response
		if err := json.Unmarshal([]byte(m.payload), &resp); err != nil {
			t.Fatal(err)
		}
		switch string(resp.Transaction) {
		case "1":
			if resp.Status != "error" || !strings.Contains(resp.Error, `"family"`) || !strings.Contains(resp.Error, "owl") {
				t.Errorf("bare id answered %+v, want an error naming the families", resp)
			}
		case "2":
			if resp.Status != "ok" {
				t.Errorf("family owl answered %+v", resp)
			}
		}
	}
	p.waitUntil(t, func() bool {
		v, _ := p.last("b2m/4321/owl-555/motion_detection")
		return v == discovery.On
	})
	if v, _ := p.last("b2m/4321/555/motion_detection"); v != discovery.On {
		t.Errorf("the camera's switch changed to %q", v)
	}
}

// TestSharedIDMotionGoesToTheFeedsDevice: a clip the feed attributes to
// the Mini turns the Mini's motion ON, not the camera's.
func TestSharedIDMotionGoesToTheFeedsDevice(t *testing.T) {
	clip := blink.Media{ID: 61, CreatedAt: time.Now().Truncate(time.Second), DeviceID: 555, NetworkID: 4321, Device: "owl",
		DeviceName: "Porch Mini", Source: "pir", Clip: "/api/v2/accounts/1001/media/clip/61.mp4"}
	c := &fakeCloud{hs: collidingHomescreen(), session: true, media: []blink.Media{clip}}
	b, p := newUnitBridge(t, c, nil)
	if err := b.pollHomescreen(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pollMedia(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v, _ := p.last("b2m/4321/owl-555/motion"); v != discovery.On {
		t.Errorf("Mini motion = %q, want ON", v)
	}
	if v, _ := p.last("b2m/4321/555/motion"); v != discovery.Off {
		t.Errorf("camera motion = %q, want OFF", v)
	}
	if len(p.history("b2m/4321/owl-555/event")) != 1 || len(p.history("b2m/4321/555/event")) != 0 {
		t.Errorf("event entity fired on the wrong device")
	}
}

// TestLegacyStateKeysAdopted: state files from before families were keys
// ("<net>/<id>") keep their last events and pictures for the one device
// with that id, without a download.
func TestLegacyStateKeysAdopted(t *testing.T) {
	dir := t.TempDir()
	last := time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)
	saved, _ := json.Marshal(mediaFile{Watermark: time.Now(), LastEvent: map[string]time.Time{"4321/999": last}})
	if err := os.WriteFile(filepath.Join(dir, mediaFileName), saved, 0o600); err != nil {
		t.Fatal(err)
	}
	thumbDir := filepath.Join(dir, thumbDirName)
	if err := os.MkdirAll(thumbDir, 0o700); err != nil {
		t.Fatal(err)
	}
	img := testJPEG(t)
	hs := testHomescreen()
	if err := os.WriteFile(filepath.Join(thumbDir, "4321_555.jpg"), img, 0o600); err != nil {
		t.Fatal(err)
	}
	idx, _ := json.Marshal(map[string]string{"4321/555": hs.Devices[0].Thumbnail})
	if err := os.WriteFile(filepath.Join(thumbDir, thumbIndexName), idx, 0o600); err != nil {
		t.Fatal(err)
	}
	c := &fakeCloud{hs: hs, session: true}
	b, p := newUnitBridge(t, c, func(o *Options) { o.StateDir = dir })
	if err := b.pollHomescreen(t.Context()); err != nil {
		t.Fatal(err)
	}
	if v, _ := p.last("b2m/4321/999/last_event"); v != "2026-03-01T16:00:00Z" {
		t.Errorf("doorbell last_event = %q, want the saved one", v)
	}
	b.thumbs.mu.Lock()
	pending := len(b.thumbs.order)
	b.thumbs.mu.Unlock()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	b.thumbs.start(ctx, &wg)
	b.thumbs.awaitIdle(ctx)
	cancel()
	wg.Wait()
	if pending != 0 {
		t.Errorf("%d thumbnails queued for download; the saved picture should be kept", pending)
	}
	if _, err := os.Stat(filepath.Join(thumbDir, "4321_camera_555.jpg")); err != nil {
		t.Errorf("saved picture not moved to its family file: %v", err)
	}
}

// testJPEG is the smallest picture checkJPEG accepts.
func testJPEG(t *testing.T) []byte {
	t.Helper()
	img := append(append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 300)...), 0xFF, 0xD9)
	if err := checkJPEG(img); err != nil {
		t.Fatal(err)
	}
	return img
}
