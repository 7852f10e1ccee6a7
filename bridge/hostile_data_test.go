package bridge

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// unmarshalableTimes are times Blink has been seen (or could be) sending
// that Go cannot write as RFC 3339 or JSON once in UTC.
var unmarshalableTimes = map[string]time.Time{
	"year 10000 in UTC": time.Date(9999, 12, 31, 23, 30, 0, 0, time.FixedZone("", -3600)),
	"year -1 in UTC":    time.Date(0, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600)),
	"year 12345":        time.Date(12345, 1, 1, 0, 0, 0, 0, time.UTC),
	"year -500":         time.Date(-500, 1, 1, 0, 0, 0, 0, time.UTC),
}

// TestOutOfRangeTimesNeverPanic feeds homescreen and media times that
// json.Marshal refuses: the bridge publishes every attributes object as
// valid JSON with the time left out (null), and the event for such a clip
// is a complete JSON object, not an empty payload.
func TestOutOfRangeTimesNeverPanic(t *testing.T) {
	for name, bad := range unmarshalableTimes {
		t.Run(name, func(t *testing.T) {
			hs := testHomescreen()
			hs.Networks[0].UpdatedAt = bad
			hs.SyncModules[0].LastHeartbeat = bad
			for i := range hs.Devices {
				hs.Devices[i].UpdatedAt = bad
			}
			clip := blink.Media{ID: 71, CreatedAt: bad, DeviceID: 555, NetworkID: 4321, Source: "pir",
				Clip: "/api/v2/accounts/1001/media/clip/71.mp4"}
			c := &fakeCloud{hs: hs, session: true, media: []blink.Media{clip}}
			b, p := newUnitBridge(t, c, nil)
			if err := b.pollHomescreen(t.Context()); err != nil {
				t.Fatal(err)
			}
			if _, err := b.pollMedia(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, topic := range []string{
				b.topics.NetworkAttributes(4321),
				b.topics.DeviceAttributes(4321, 777),
				b.topics.DeviceAttributes(4321, 555),
				b.topics.DeviceAttributes(4400, 888),
			} {
				got, ok := p.last(topic)
				if !ok {
					t.Fatalf("%s: nothing published", topic)
				}
				var attrs map[string]any
				if err := json.Unmarshal([]byte(got), &attrs); err != nil {
					t.Fatalf("%s = %q: %v", topic, got, err)
				}
				if v, ok := attrs["updated_at"]; ok && v != nil {
					t.Errorf("%s: updated_at = %v, want null for an unusable time", topic, v)
				}
			}
			if hb, _ := p.last(b.topics.DeviceEntity(4321, 777, discovery.EntityHeartbeat)); hb != discovery.StateNone {
				t.Errorf("heartbeat = %q, want %s", hb, discovery.StateNone)
			}
			evs := p.history(b.topics.Events())
			if len(evs) != 1 {
				t.Fatalf("events published: %d, want 1", len(evs))
			}
			var ev map[string]any
			if err := json.Unmarshal([]byte(evs[0].payload), &ev); err != nil || ev["id"] != float64(71) {
				t.Fatalf("event payload %q (err %v): want a complete object for clip 71", evs[0].payload, err)
			}
			if ev["created_at"] != nil {
				t.Errorf("event created_at = %v, want null", ev["created_at"])
			}
			last, _ := p.last(b.topics.DeviceEntity(4321, 555, discovery.EntityLastEvent))
			if _, err := time.Parse(time.RFC3339, last); err != nil {
				t.Errorf("last_event = %q: want an RFC 3339 time (when the clip was seen)", last)
			}
		})
	}
}

// TestFutureClipDoesNotSilenceMotion: one clip dated a day ahead is
// published once, the cursor stays near now, and real clips after it still
// arrive — also after a restart.
func TestFutureClipDoesNotSilenceMotion(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().Truncate(time.Second)
	future := blink.Media{ID: 90, CreatedAt: now.Add(24 * time.Hour), DeviceID: 555, NetworkID: 4321, Source: "pir",
		Clip: "/api/v2/accounts/1001/media/clip/90.mp4"}
	c := &fakeCloud{hs: testHomescreen(), session: true, media: []blink.Media{future}}
	opts := func(o *Options) { o.StateDir = dir }
	b, p := newUnitBridge(t, c, opts)
	ctx := t.Context()
	if err := b.pollHomescreen(ctx); err != nil {
		t.Fatal(err)
	}
	poll := func(b *Bridge) {
		t.Helper()
		if _, err := b.pollMedia(ctx); err != nil {
			t.Fatal(err)
		}
	}
	poll(b)
	poll(b) // Blink keeps listing the future clip
	real1 := blink.Media{ID: 91, CreatedAt: now.Add(time.Second), DeviceID: 999, NetworkID: 4321, Source: "pir",
		Clip: "/api/v2/accounts/1001/media/clip/91.mp4"}
	c.mu.Lock()
	c.media = []blink.Media{real1, future}
	c.mu.Unlock()
	poll(b)
	ids := eventIDs(t, p)
	if want := []int64{90, 91}; !equalIDs(ids, want) {
		t.Fatalf("events = %v, want %v (the future clip once, then the real one)", ids, want)
	}
	var saved mediaFile
	data, err := os.ReadFile(filepath.Join(dir, mediaFileName))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &saved); err != nil {
		t.Fatal(err)
	}
	if saved.Watermark.After(time.Now().Add(maxClockSkew)) {
		t.Errorf("saved watermark %s is past now plus the skew allowance", saved.Watermark)
	}

	// A restart replays nothing and still sees the next real clip.
	b2, p2 := newUnitBridge(t, c, opts)
	if err := b2.pollHomescreen(ctx); err != nil {
		t.Fatal(err)
	}
	real2 := blink.Media{ID: 92, CreatedAt: time.Now().Add(2 * time.Second).Truncate(time.Second), DeviceID: 555, NetworkID: 4321,
		Source: "pir", Clip: "/api/v2/accounts/1001/media/clip/92.mp4"}
	c.mu.Lock()
	c.media = []blink.Media{real2, real1, future}
	c.mu.Unlock()
	poll(b2)
	if ids := eventIDs(t, p2); !equalIDs(ids, []int64{92}) {
		t.Fatalf("after restart events = %v, want [92]", ids)
	}
}

// TestFutureWatermarkFromOlderVersionIsClamped: a media cursor saved a day
// ahead by an older version no longer hides new clips.
func TestFutureWatermarkFromOlderVersionIsClamped(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().Truncate(time.Second)
	saved, _ := json.Marshal(mediaFile{Watermark: now.Add(24 * time.Hour), Seen: map[int64]time.Time{90: now.Add(24 * time.Hour)}})
	if err := os.WriteFile(filepath.Join(dir, mediaFileName), saved, 0o600); err != nil {
		t.Fatal(err)
	}
	clip := blink.Media{ID: 93, CreatedAt: now, DeviceID: 555, NetworkID: 4321, Source: "pir",
		Clip: "/api/v2/accounts/1001/media/clip/93.mp4"}
	c := &fakeCloud{hs: testHomescreen(), session: true, media: []blink.Media{clip}}
	b, p := newUnitBridge(t, c, func(o *Options) { o.StateDir = dir })
	if err := b.pollHomescreen(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.pollMedia(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ids := eventIDs(t, p); !equalIDs(ids, []int64{93}) {
		t.Fatalf("events = %v, want [93]", ids)
	}
}

// TestIdleAccountPublishesNothing: sync module heartbeats move every minute
// while nothing else changes; those polls publish nothing, and the
// attributes (which HA records) never carry the heartbeat.
func TestIdleAccountPublishesNothing(t *testing.T) {
	hs := testHomescreen()
	base := time.Date(2026, 3, 1, 17, 0, 30, 0, time.UTC)
	hs.SyncModules[0].LastHeartbeat = base
	c := &fakeCloud{hs: hs, session: true}
	b, p := newUnitBridge(t, c, nil)
	ctx := t.Context()
	if err := b.pollHomescreen(ctx); err != nil {
		t.Fatal(err)
	}
	before := p.count()
	for i := 1; i <= 10; i++ {
		c.mu.Lock()
		c.hs.SyncModules[0].LastHeartbeat = base.Add(time.Duration(i) * time.Minute)
		c.mu.Unlock()
		if err := b.pollHomescreen(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.count() - before; n != 0 {
		p.mu.Lock()
		var topics []string
		for _, m := range p.msgs[before:] {
			topics = append(topics, m.topic)
		}
		p.mu.Unlock()
		t.Fatalf("10 polls with only the heartbeat moving published %d messages: %s", n, strings.Join(topics, ", "))
	}
	attrs, _ := p.last(b.topics.DeviceAttributes(4321, 777))
	if strings.Contains(attrs, "heartbeat") {
		t.Errorf("sync module attributes carry the heartbeat: %s", attrs)
	}
	if hb, _ := p.last(b.topics.DeviceEntity(4321, 777, discovery.EntityHeartbeat)); hb != "2026-03-01T17:00:00Z" {
		t.Errorf("heartbeat topic = %q, want the heartbeat to 15 minutes", hb)
	}
	// Crossing a 15-minute step publishes the heartbeat topic alone.
	c.mu.Lock()
	c.hs.SyncModules[0].LastHeartbeat = base.Add(15 * time.Minute)
	c.mu.Unlock()
	mark := p.count()
	if err := b.pollHomescreen(ctx); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	got := p.msgs[mark:]
	p.mu.Unlock()
	if len(got) != 1 || got[0].topic != b.topics.DeviceEntity(4321, 777, discovery.EntityHeartbeat) {
		t.Errorf("after 15 minutes: %v, want one message on the heartbeat topic", got)
	}
}

func eventIDs(t *testing.T, p *fakePub) []int64 {
	t.Helper()
	var ids []int64
	for _, m := range p.history(topicsRoot("b2m").Events()) {
		var ev struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal([]byte(m.payload), &ev); err != nil {
			t.Fatalf("event %q: %v", m.payload, err)
		}
		ids = append(ids, ev.ID)
	}
	return ids
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
