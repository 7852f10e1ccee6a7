package bridge

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// TestMotionDowntimeRecentLiveview starts a bridge whose watermark is two
// hours old while the feed holds: a clip from the downtime, a clip from
// seconds ago, a saved live view, a deleted clip and one older than the
// watermark's lookback. The first three are published once each, in
// created_at order and with their real created_at; only the recent motion
// clip turns motion ON; a restart publishes nothing again.
func TestMotionDowntimeRecentLiveview(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		now := time.Now()
		saved, _ := json.Marshal(mediaFile{Watermark: now.Add(-2 * time.Hour)})
		if err := os.WriteFile(filepath.Join(dir, mediaFileName), saved, 0o600); err != nil {
			t.Fatal(err)
		}
		item := func(mid int64, dev, net int64, ago time.Duration, source string) blink.Media {
			return blink.Media{ID: mid, CreatedAt: now.Add(-ago).Truncate(time.Second), DeviceID: dev, NetworkID: net,
				Source: source, Clip: "/api/v2/accounts/1001/media/clip/" + id(mid) + ".mp4"}
		}
		downtime := item(11, 555, 4321, 90*time.Minute, "pir")
		recent := item(12, 999, 4321, 20*time.Second, "pir")
		live := item(13, 888, 4400, 10*time.Second, "liveview")
		deleted := item(14, 555, 4321, 5*time.Second, "pir")
		deleted.Deleted = true
		ancient := item(15, 555, 4321, 3*time.Hour, "pir")
		c := &fakeCloud{hs: testHomescreen(), session: true,
			media: []blink.Media{live, recent, deleted, ancient, downtime}} // newest first, as Blink sends
		opts := func(o *Options) {
			o.StateDir = dir
			o.HoldTime = 30 * time.Second
			o.MediaPollInterval = 15 * time.Second
		}
		b, p := newUnitBridge(t, c, opts)
		ctx := t.Context()
		if err := b.pollHomescreen(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := b.pollMedia(ctx); err != nil {
			t.Fatal(err)
		}
		var got []eventPayload
		for _, m := range p.history(b.topics.Events()) {
			var ev eventPayload
			if err := json.Unmarshal([]byte(m.payload), &ev); err != nil {
				t.Fatal(err)
			}
			got = append(got, ev)
		}
		want := []struct {
			id   int64
			typ  string
			at   time.Time
			clip string
		}{
			{11, discovery.EventMotion, downtime.CreatedAt, downtime.Clip},
			{12, discovery.EventMotion, recent.CreatedAt, recent.Clip},
			{13, discovery.EventLiveview, live.CreatedAt, live.Clip},
		}
		if len(got) != len(want) {
			t.Fatalf("events = %+v, want ids 11, 12, 13", got)
		}
		for i, w := range want {
			if g := got[i]; g.ID != w.id || g.Type != w.typ || !g.CreatedAt.Equal(w.at) || g.Clip != w.clip {
				t.Errorf("event %d = %+v, want id %d type %s created_at %s clip %s", i, g, w.id, w.typ, w.at, w.clip)
			}
		}
		motion := func(dev, net int64) string {
			v, _ := p.last(b.topics.DeviceEntity(net, dev, discovery.EntityMotion))
			return v
		}
		if m := motion(555, 4321); m != discovery.Off {
			t.Errorf("motion of the camera with only a downtime clip = %q, want OFF", m)
		}
		if m := motion(999, 4321); m != discovery.On {
			t.Errorf("motion of the doorbell with a recent clip = %q, want ON", m)
		}
		if m := motion(888, 4400); m == discovery.On {
			t.Errorf("a saved live view turned motion ON")
		}
		if v, _ := p.last(b.topics.DeviceEntity(4400, 888, discovery.EntityEvent)); v != `{"event_type":"liveview"}` {
			t.Errorf("Mini event entity = %q, want liveview", v)
		}
		if v, _ := p.last(b.topics.DeviceEntity(4321, 555, discovery.EntityLastEvent)); v == "" {
			t.Errorf("last event of the camera not published")
		}

		// The same feed again, in this process and after a restart: nothing.
		if n, err := b.pollMedia(ctx); err != nil || n != 0 {
			t.Errorf("second poll: %d new, %v; want 0", n, err)
		}
		b2, p2 := newUnitBridge(t, c, opts)
		if err := b2.pollHomescreen(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := b2.pollMedia(ctx); err != nil || n != 0 {
			t.Errorf("after a restart: %d new, %v; want 0", n, err)
		}
		if h := p2.history(b2.topics.Events()); len(h) != 0 {
			t.Errorf("restart replayed %d events", len(h))
		}
	})
}

// TestMotionHoldExtendedByNewClip: motion stays ON for the hold after the
// last clip seen, and a liveview during the hold does not extend it.
func TestMotionHoldExtendedByNewClip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeCloud{hs: testHomescreen(), session: true}
		b, p := newUnitBridge(t, c, func(o *Options) { o.HoldTime = 30 * time.Second; o.MediaPollInterval = time.Hour })
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { b.runScheduler(ctx); close(done) }()
		synctest.Wait()
		motion := b.topics.DeviceEntity(4321, 555, discovery.EntityMotion)
		add := func(id int64, source string) {
			c.mu.Lock()
			c.media = append(c.media, blink.Media{ID: id, CreatedAt: time.Now().Truncate(time.Second), DeviceID: 555, NetworkID: 4321, Source: source, Clip: "/c.mp4"})
			c.mu.Unlock()
			if _, err := b.pollMedia(ctx); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		add(1, "pir")
		time.Sleep(20 * time.Second)
		add(2, "pir") // extends to start+50s
		time.Sleep(20 * time.Second)
		add(3, "liveview") // at +40s: does not extend
		at := func(d time.Duration) string {
			time.Sleep(time.Until(start.Add(d)))
			synctest.Wait()
			v, _ := p.last(motion)
			return v
		}
		if v := at(49 * time.Second); v != discovery.On {
			t.Errorf("motion at +49s = %q, want ON (extended by the clip at +20s)", v)
		}
		if v := at(50*time.Second + time.Millisecond); v != discovery.Off {
			t.Errorf("motion at +50s = %q, want OFF", v)
		}
		if n := len(p.history(motion)); n != 3 { // OFF at start, ON, OFF
			t.Errorf("motion published %d times, want 3: %v", n, p.history(motion))
		}
		cancel()
		<-done
	})
}
