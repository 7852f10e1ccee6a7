package bridge

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// TestE2EThumbnails: every device's picture is published retained as raw
// JPEG after start; it is downloaded again only when homescreen shows a
// new one; a bad download keeps the previous image and logs one line; a
// snapshot downloads once; a restart downloads nothing and republishes the
// saved images.
func TestE2EThumbnails(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, withStateDir(dir))
	devs := e.fake.Devices()
	if n := e.fake.Count(blinkfake.EpDeviceThumbnail); n != len(devs) {
		t.Errorf("%d thumbnail downloads at start, want one per device (%d)", n, len(devs))
	}
	thumb := func(d blinkfake.Device) []byte {
		return e.retained(e.devTopic(d, discovery.EntityThumbnail))[e.devTopic(d, discovery.EntityThumbnail)]
	}
	for _, d := range devs {
		if img := thumb(d); checkJPEG(img) != nil {
			t.Errorf("device %d thumbnail is not a JPEG (%d bytes)", d.ID, len(img))
		}
	}

	downloads := func() int { return e.fake.Count(blinkfake.EpDeviceThumbnail) }
	before := downloads()
	e.request(OpRefresh, map[string]any{})
	if n := downloads() - before; n != 0 {
		t.Errorf("%d thumbnail downloads on a refresh without a new thumbnail, want 0", n)
	}

	d := deviceOf(t, e.fake, blink.FamilyCamera)
	old := thumb(d)
	e.fake.TriggerMotion(d.ID, "pir") // a new thumbnail ts
	mark := e.rec.Mark()
	e.request(OpRefresh, map[string]any{})
	if n := downloads() - before; n != 1 {
		t.Errorf("%d thumbnail downloads after one new thumbnail, want 1", n)
	}
	msg := e.rec.WaitForAfter(t, mark, e.devTopic(d, discovery.EntityThumbnail), mqtttest.Any)
	if !msg.Retained || bytes.Equal(msg.Payload, old) || checkJPEG(msg.Payload) != nil {
		t.Errorf("new thumbnail: %d bytes, JPEG check %v", len(msg.Payload), checkJPEG(msg.Payload))
	}

	for _, f := range []blinkfake.Fault{
		{Endpoint: blinkfake.EpDeviceThumbnail, Malformed: true},
		{Endpoint: blinkfake.EpDeviceThumbnail, Truncate: true},
		{Endpoint: blinkfake.EpDeviceThumbnail, Status: 404, Body: `{"message":"Media not found","code":700}`},
	} {
		prev := thumb(d)
		e.fake.Inject(f)
		e.fake.TriggerMotion(d.ID, "pir")
		logs := strings.Count(e.logs.String(), "keeping the previous image")
		mark := e.rec.Mark()
		e.request(OpRefresh, map[string]any{})
		if e.rec.Count(mark, e.devTopic(d, discovery.EntityThumbnail)) != 0 || !bytes.Equal(thumb(d), prev) {
			t.Errorf("fault %+v: the thumbnail changed", f)
		}
		if n := strings.Count(e.logs.String(), "keeping the previous image") - logs; n != 1 {
			t.Errorf("fault %+v: %d log lines, want 1", f, n)
		}
	}

	before = downloads()
	resp := e.request(OpSnapshot, map[string]any{"device": d.ID})
	if resp["status"] != "ok" {
		t.Fatalf("snapshot: %v", resp)
	}
	e.request(OpRefresh, map[string]any{})
	if n := downloads() - before; n != 1 {
		t.Errorf("%d thumbnail downloads for one snapshot, want 1", n)
	}

	want := thumb(d)
	e.stop()
	before = downloads()
	mark = e.rec.Mark()
	e.start()
	if n := downloads() - before; n != 0 {
		t.Errorf("%d thumbnail downloads after a restart, want 0", n)
	}
	msg = e.rec.WaitForAfter(t, mark, e.devTopic(d, discovery.EntityThumbnail), mqtttest.Any)
	if !bytes.Equal(msg.Payload, want) {
		t.Errorf("after a restart the thumbnail republished is not the saved one")
	}
}

// blockingCloud is a fakeCloud whose downloads wait for release and count
// how many run at once.
type blockingCloud struct {
	*fakeCloud
	release        chan struct{}
	mu             sync.Mutex
	running, peak  int
	calls          int
	firstDownload  chan struct{}
	firstDownloadO sync.Once
}

func (c *blockingCloud) Download(ctx context.Context, _ string, _ int64) ([]byte, string, error) {
	c.mu.Lock()
	c.running++
	c.calls++
	c.peak = max(c.peak, c.running)
	c.mu.Unlock()
	c.firstDownloadO.Do(func() { close(c.firstDownload) })
	defer func() {
		c.mu.Lock()
		c.running--
		c.mu.Unlock()
	}()
	select {
	case <-c.release:
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
	img := append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 200)...)
	return append(img, 0xFF, 0xD9), "image/jpeg", nil
}

// TestThumbnailsDoNotBlockPolls: a first start with 500 devices queues 500
// downloads, which run one at a time on the worker; homescreen polls go on
// meanwhile.
func TestThumbnailsDoNotBlockPolls(t *testing.T) {
	hs := testHomescreen()
	hs.Devices = nil
	for i := range 500 {
		hs.Devices = append(hs.Devices, blink.Device{ID: int64(10000 + i), NetworkID: 4321, Family: blink.FamilyCamera, Type: "catalina",
			Name: "cam", Enabled: true, Status: "done", Thumbnail: "/api/v3/media/accounts/1001/networks/4321/catalina/1/thumbnail/thumbnail.jpg?ts=1&ext="})
	}
	c := &blockingCloud{fakeCloud: &fakeCloud{hs: hs, session: true}, release: make(chan struct{}), firstDownload: make(chan struct{})}
	b, _ := newPubBridge(t, c, nil)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan struct{})
	go func() { b.runThumbnails(ctx); close(done) }()
	if err := b.pollHomescreen(ctx); err != nil {
		t.Fatal(err)
	}
	<-c.firstDownload
	for range 3 { // polls return while a download hangs
		if err := b.pollHomescreen(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for range 500 {
		c.release <- struct{}{}
	}
	b.thumbs.awaitIdle(ctx)
	cancel()
	<-done
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.peak != 1 || c.calls != 500 {
		t.Errorf("%d downloads, at most %d at once; want 500, one at a time", c.calls, c.peak)
	}
	n := len(b.thumbs.images())
	if n != 500 {
		t.Errorf("%d thumbnails held, want 500", n)
	}
}

func TestCheckJPEG(t *testing.T) {
	good := append(append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 300)...), 0xFF, 0xD9)
	tests := []struct {
		name string
		img  []byte
		ok   bool
	}{
		{"complete", good, true},
		{"cut off", good[:200], false},
		{"tiny", []byte{0xFF, 0xD8, 0xFF, 0xD9}, false},
		{"JSON", []byte(`{"message":"Media not found","code":700}` + strings.Repeat(" ", 200)), false},
		{"PNG", append([]byte("\x89PNG\r\n\x1a\n"), good[4:]...), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkJPEG(tc.img); (err == nil) != tc.ok {
				t.Errorf("checkJPEG = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
