package bridge

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

func mp4Box(typ string, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
	return append(append(b, typ...), payload...)
}

func TestCheckMP4(t *testing.T) {
	ftyp := mp4Box("ftyp", []byte("isom\x00\x00\x02\x00isomiso2avc1mp41"))
	mdat := mp4Box("mdat", bytes.Repeat([]byte{7}, 200))
	moov := mp4Box("moov", bytes.Repeat([]byte{1}, 40))
	good := append(append(append([]byte{}, ftyp...), moov...), mdat...)
	large := append(append([]byte{}, ftyp...), binary.BigEndian.AppendUint64(append(binary.BigEndian.AppendUint32(nil, 1), "mdat"...), 16+100)...)
	large = append(large, bytes.Repeat([]byte{9}, 100)...)
	toEnd := append(append([]byte{}, ftyp...), append([]byte{0, 0, 0, 0, 'm', 'd', 'a', 't'}, bytes.Repeat([]byte{3}, 100)...)...)
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"complete", good, true},
		{"64-bit box size", large, true},
		{"last box runs to the end", toEnd, true},
		{"cut in half (Content-Length matches)", good[:len(good)/2], false},
		{"one byte short", good[:len(good)-1], false},
		{"trailing junk", append(append([]byte{}, good...), 1, 2, 3), false},
		{"20-byte stub", good[:20], false},
		{"JSON error body", []byte(`{"message":"Media not found","code":700}` + strings.Repeat(" ", 40)), false},
		{"no ftyp first", append(append([]byte{}, mdat...), ftyp...), false},
		{"no media data", append(append([]byte{}, ftyp...), moov...), false},
		{"empty", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkMP4(bytes.NewReader(tc.data))
			if (err == nil) != tc.ok {
				t.Errorf("checkMP4 = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !tc.ok && !errors.Is(err, errBadMP4) {
				t.Errorf("checkMP4 = %v, want errBadMP4 (retryable)", err)
			}
		})
	}
}

// noTempFiles fails when any file under dir is a temporary clip.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), ".clip-") {
			t.Errorf("temporary file left behind: %s", path)
		}
		return nil
	})
}

// clipRun runs the scheduler and the clip worker with the real client
// against fake, triggers one motion clip and returns its media item, the
// events and the recorded publishes; faults are injected first.
func clipRun(t *testing.T, fake *blinkfake.Server, mediaDir string, faults ...blinkfake.Fault) (blink.Media, []eventPayload, *fakePub, *Bridge) {
	t.Helper()
	cam := deviceOf(t, fake, blink.FamilyCamera)
	access, refresh, exp := fake.IssueTokens()
	var m blink.Media
	var events []eventPayload
	var pub *fakePub
	var b *Bridge
	synctest.Test(t, func(t *testing.T) {
		client := newBubbleClient(t, fake, access, refresh, exp)
		b, pub = newPubBridge(t, client, func(o *Options) { o.MediaDir = mediaDir })
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{}, 2)
		go func() { b.runScheduler(ctx); done <- struct{}{} }()
		go func() { b.runClips(ctx); done <- struct{}{} }()
		time.Sleep(time.Second)
		for _, f := range faults {
			fake.Inject(f)
		}
		fm := fake.TriggerMotion(cam.ID, "pir")
		time.Sleep(5 * time.Minute)
		cancel()
		<-done
		<-done
		for _, msg := range pub.history(b.topics.Events()) {
			var ev eventPayload
			if err := json.Unmarshal([]byte(msg.payload), &ev); err != nil {
				t.Fatal(err)
			}
			events = append(events, ev)
		}
		m = blink.Media{ID: fm.ID, CreatedAt: fm.CreatedAt, DeviceID: fm.DeviceID, NetworkID: fm.NetworkID, Clip: fm.Clip}
	})
	return m, events, pub, b
}

// TestClipSavedAfterTruncationAndMediaNotFound: a cut-off body (that looks
// complete to HTTP) and a 700 "Media not found" are retried; the clip is
// saved under its final name, 0640, with no temporary file; the event
// carries the local path and goes out after motion ON.
func TestClipSavedAfterTruncationAndMediaNotFound(t *testing.T) {
	fake := blinkfake.New(t, blinkfake.Config{})
	dir := t.TempDir()
	m, events, pub, b := clipRun(t, fake, dir,
		blinkfake.Fault{Endpoint: blinkfake.EpMediaClip, Truncate: true},
		blinkfake.Fault{Endpoint: blinkfake.EpMediaClip, Status: 404, Body: `{"message":"Media not found","code":700}`},
	)
	if n := fake.Count(blinkfake.EpMediaClip); n != 3 {
		t.Errorf("%d clip downloads, want 3 (cut off, not found, good)", n)
	}
	want := filepath.Join(dir, id(m.NetworkID), id(m.DeviceID), m.CreatedAt.UTC().Format("20060102T150405Z")+"_"+id(m.ID)+".mp4")
	if len(events) != 1 || events[0].Clip != want {
		t.Fatalf("events = %+v, want one with clip %s", events, want)
	}
	f, err := os.Open(want)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := checkMP4(f); err != nil {
		t.Errorf("saved clip: %v", err)
	}
	if st, _ := f.Stat(); st.Mode().Perm() != 0o640 {
		t.Errorf("clip mode %v, want 0640", st.Mode().Perm())
	}
	if st, _ := os.Stat(filepath.Dir(want)); st.Mode().Perm() != 0o750 {
		t.Errorf("clip dir mode %v, want 0750", st.Mode().Perm())
	}
	noTempFiles(t, dir)
	on := pub.history(b.topics.DeviceEntity(m.NetworkID, m.DeviceID, discovery.EntityMotion))
	ev := pub.history(b.topics.Events())
	if len(on) < 2 || on[1].payload != discovery.On || ev[0].at.Before(on[1].at) {
		t.Errorf("motion ON must not wait for the clip: motion %v, event at %v", on, ev[0].at)
	}
	if entity := pub.history(b.topics.DeviceEntity(m.NetworkID, m.DeviceID, discovery.EntityEvent)); len(entity) != 1 || entity[0].at.After(on[1].at) {
		t.Errorf("HA event entity %v must fire with motion ON (%v)", entity, on[1].at)
	}
}

// TestClipNeverPartial: a clip that always comes back cut off is tried a
// bounded number of times; no file (final or temporary) is left, and the
// event still goes out, with Blink's path, within the bounded wait.
func TestClipNeverPartial(t *testing.T) {
	fake := blinkfake.New(t, blinkfake.Config{})
	dir := t.TempDir()
	m, events, pub, b := clipRun(t, fake, dir, blinkfake.Fault{Endpoint: blinkfake.EpMediaClip, Truncate: true, Count: -1})
	if n := fake.Count(blinkfake.EpMediaClip); n != clipAttempts {
		t.Errorf("%d clip downloads, want %d", n, clipAttempts)
	}
	if len(events) != 1 || events[0].Clip != m.Clip {
		t.Fatalf("events = %+v, want one with Blink's clip path %s", events, m.Clip)
	}
	on := pub.history(b.topics.DeviceEntity(m.NetworkID, m.DeviceID, discovery.EntityMotion))
	if ev := pub.history(b.topics.Events()); ev[0].at.Sub(on[1].at) > clipEventWait {
		t.Errorf("event %s after motion ON, want within %s", ev[0].at.Sub(on[1].at), clipEventWait)
	}
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("file left behind: %s", path)
		}
		return nil
	})
}

// TestMediaRetention deletes saved clips by age and then by total size,
// oldest first, removes temporary files a crash left at start, and never
// touches files it did not write.
func TestMediaRetention(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	type file struct {
		rel  string
		size int
	}
	clip := func(net, dev int, ago time.Duration, mid int) string {
		return filepath.Join(id(int64(net)), id(int64(dev)), now.Add(-ago).Format(clipTimeFmt)+"_"+id(int64(mid))+".mp4")
	}
	files := []file{
		{clip(1, 2, 40*24*time.Hour, 1), 100}, // older than 30 days
		{clip(1, 2, 10*24*time.Hour, 2), 100},
		{clip(1, 3, 5*24*time.Hour, 3), 100},
		{clip(4, 5, 24*time.Hour, 4), 100},
		{clip(4, 5, time.Hour, 5), 100},
		{"1/2/.clip-123.tmp", 50},
		{"1/2/holiday.mp4", 1000},
		{"notes.txt", 10},
	}
	tests := []struct {
		name      string
		retention time.Duration
		maxBytes  int64
		start     bool
		gone      []int
	}{
		{"age", 30 * 24 * time.Hour, 0, false, []int{0}},
		{"size, oldest first", 0, 250, false, []int{0, 1, 2}},
		{"both", 30 * 24 * time.Hour, 350, false, []int{0, 1}},
		{"start removes temp files", 0, 0, true, []int{5}},
		{"keep everything", 0, 0, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range files {
				p := filepath.Join(dir, f.rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, make([]byte, f.size), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			b, _ := newUnitBridge(t, &fakeCloud{}, func(o *Options) {
				o.MediaDir, o.MediaRetention, o.MediaMaxBytes = dir, tc.retention, tc.maxBytes
			})
			b.clips.clean(now, tc.start)
			for i, f := range files {
				_, err := os.Stat(filepath.Join(dir, f.rel))
				gone := errors.Is(err, os.ErrNotExist)
				want := false
				for _, g := range tc.gone {
					want = want || g == i
				}
				if gone != want {
					t.Errorf("%s: deleted=%v, want %v", f.rel, gone, want)
				}
			}
		})
	}
}

// TestE2EClipSaved: with MediaDir, the daemon saves a new clip and the
// event on <root>/events carries its local path.
func TestE2EClipSaved(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, withOptions(func(o *Options) { o.MediaDir = dir }))
	d := deviceOf(t, e.fake, blink.FamilyCamera)
	m := e.fake.TriggerMotion(d.ID, "pir")
	mark := e.rec.Mark()
	e.request(OpRefresh, map[string]any{})
	msg := e.rec.WaitForAfter(t, mark, e.topics.Events(), mqtttest.Any)
	var ev eventPayload
	if err := json.Unmarshal(msg.Payload, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ID != m.ID || !strings.HasPrefix(ev.Clip, dir) {
		t.Fatalf("event = %+v, want media %d with a clip under %s", ev, m.ID, dir)
	}
	f, err := os.Open(ev.Clip)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := checkMP4(f); err != nil {
		t.Errorf("saved clip: %v", err)
	}
	noTempFiles(t, dir)
}
