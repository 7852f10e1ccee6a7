package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// withRTSP serves RTSP on a free loopback port with a short idle time.
func withRTSP(idle time.Duration, tweak func(*Options)) envOpt {
	return withOptions(func(o *Options) {
		o.RTSPListen = "127.0.0.1:0"
		o.LiveviewIdle = idle
		if tweak != nil {
			tweak(o)
		}
	})
}

// rtspURL is the stream URL of a device, optionally with user:password@.
func (e *env) rtspURL(path, userinfo string) string {
	if userinfo != "" {
		userinfo += "@"
	}
	return "rtsp://" + userinfo + e.bridge.live.server.addr().String() + path
}

func devicePath(d blinkfake.Device) string { return fmt.Sprintf("/%d/%d", d.NetworkID, d.ID) }

// reading is one RTSP reader's result.
type reading struct {
	aus        int
	firstKey   bool          // the first access unit was a key frame
	toFirstAU  time.Duration // from PLAY to the first whole access unit
	toDescribe time.Duration // the DESCRIBE (Blink's start included)
}

// readH264 plays url with gortsplib's client until n H.264 access units
// arrived (giving up 30 s after they were due at 15 per second), then
// leaves.
func readH264(t *testing.T, url string, transport gortsplib.Transport, n int) (reading, error) {
	t.Helper()
	return readH264After(t, url, transport, n, 0)
}

// readH264After is readH264 with a pause between SETUP and PLAY, as a slow
// player makes.
func readH264After(t *testing.T, url string, transport gortsplib.Transport, n int, pause time.Duration) (reading, error) {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		return reading{}, err
	}
	c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &transport, ReadTimeout: 40 * time.Second}
	if err := c.Start2(); err != nil {
		return reading{}, err
	}
	defer c.Close()
	var r reading
	start := time.Now()
	desc, _, err := c.Describe(u)
	if err != nil {
		return r, err
	}
	r.toDescribe = time.Since(start)
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if medi == nil {
		return r, errors.New("no H.264 in the description")
	}
	dec, err := forma.CreateDecoder()
	if err != nil {
		return r, err
	}
	if err := c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		return r, err
	}
	if pause > 0 {
		time.Sleep(pause) // the player being slow is the point
	}
	done := make(chan struct{})
	var mu sync.Mutex // the callback runs on the client's reader goroutine
	var played time.Time
	c.OnPacketRTP(medi, forma, func(pkt *rtp.Packet) {
		au, err := dec.Decode(pkt)
		if err != nil {
			return // rtph264.ErrMorePacketsNeeded and the like
		}
		mu.Lock()
		defer mu.Unlock()
		if r.aus == 0 {
			r.toFirstAU, r.firstKey = time.Since(played), h264.IsRandomAccess(au)
		}
		if r.aus < n {
			if r.aus++; r.aus == n {
				close(done)
			}
		}
	})
	mu.Lock()
	played = time.Now()
	mu.Unlock()
	if _, err := c.Play(nil); err != nil {
		return r, err
	}
	wait := 30*time.Second + time.Duration(n)*time.Second/15
	select {
	case <-done:
	case <-time.After(wait):
	}
	mu.Lock()
	defer mu.Unlock()
	if r.aus < n {
		return r, fmt.Errorf("only %d access units in %s", r.aus, wait)
	}
	return r, nil
}

// liveviewsOf waits until the fake has n live views and returns them.
func (e *env) liveviewsOf(n int) []blinkfake.LiveviewInfo {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var lvs []blinkfake.LiveviewInfo
	if err := e.fake.WaitFor(ctx, func() bool { lvs = e.fake.Liveviews(); return len(lvs) >= n }); err != nil {
		e.t.Fatalf("the fake has %d live views, want %d", len(lvs), n)
	}
	return lvs
}

// waitLive waits until cond holds for the fake's live view id.
func (e *env) waitLive(id int64, what string, cond func(blinkfake.LiveviewInfo) bool) blinkfake.LiveviewInfo {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var l blinkfake.LiveviewInfo
	err := e.fake.WaitFor(ctx, func() bool {
		for _, x := range e.fake.Liveviews() {
			if x.CommandID == id {
				l = x
				return cond(x)
			}
		}
		return false
	})
	if err != nil {
		e.t.Fatalf("live view %d never %s: %+v", id, what, l)
	}
	return l
}

// TestLiveE2EReadsH264: gortsplib's client reads at least 30 H.264 access
// units over TCP and over UDP, starting at a key frame; one Blink live view
// per reading, ended after the reader left.
func TestLiveE2EReadsH264(t *testing.T) {
	for _, tc := range []struct {
		name      string
		transport gortsplib.Transport
	}{{"tcp", gortsplib.TransportTCP}, {"udp", gortsplib.TransportUDP}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withRTSP(200*time.Millisecond, nil))
			cam := deviceOf(t, e.fake, blink.FamilyCamera)
			r, err := readH264(t, e.rtspURL(devicePath(cam), ""), tc.transport, 30)
			if err != nil {
				t.Fatalf("after %d access units: %v", r.aus, err)
			}
			if !r.firstKey {
				t.Error("the first access unit was not a key frame")
			}
			t.Logf("figures (%s): DESCRIBE incl. Blink start %s, PLAY to first access unit %s", tc.name, r.toDescribe, r.toFirstAU)
			lv := e.liveviewsOf(1)[0]
			e.waitLive(lv.CommandID, "ended", func(l blinkfake.LiveviewInfo) bool { return l.State == "done" })
			if n := e.fake.Count(blinkfake.EpCameraLiveview); n != 1 {
				t.Errorf("%d live views started, want 1", n)
			}
			for _, sec := range e.fake.Secrets() { // the live view's token and connection id too
				if strings.Contains(e.logs.String(), sec) {
					t.Errorf("secret %.6s… in the bridge's log", sec)
				}
			}
		})
	}
}

// TestLiveE2ESharedSession: two readers at once share one Blink live
// view; it ends LIVEVIEW_IDLE after the last one left, not before.
func TestLiveE2ESharedSession(t *testing.T) {
	const idle = 700 * time.Millisecond
	e := newEnv(t, withRTSP(idle, nil))
	cam := deviceOf(t, e.fake, blink.FamilyCamera)
	url := e.rtspURL(devicePath(cam), "")
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { _, errs[i] = readH264(t, url, gortsplib.TransportTCP, 30) })
	}
	wg.Wait()
	left := time.Now()
	for i, err := range errs {
		if err != nil {
			t.Errorf("reader %d: %v", i, err)
		}
	}
	if n := e.fake.Count(blinkfake.EpCameraLiveview); n != 1 {
		t.Fatalf("%d Blink live views for two readers, want 1", n)
	}
	lv := e.liveviewsOf(1)[0]
	if lv.State != "running" {
		t.Errorf("the live view ended at once (%+v); want it kept for LIVEVIEW_IDLE", lv)
	}
	e.waitLive(lv.CommandID, "ended", func(l blinkfake.LiveviewInfo) bool { return l.State == "done" })
	if gone := time.Since(left); gone < idle {
		t.Errorf("ended %s after the last reader left, before LIVEVIEW_IDLE (%s)", gone, idle)
	}
	if n := e.fake.Count(blinkfake.EpCommandDone); n != 1 {
		t.Errorf("%d done calls, want 1", n)
	}
	if !strings.Contains(e.logs.String(), `"reason":"idle"`) {
		t.Error("no log line says the live view ended for idleness")
	}
}

// TestLiveE2ERefusals: what cannot stream answers with an error within
// seconds, and one log line says why.
func TestLiveE2ERefusals(t *testing.T) {
	e := newEnv(t, withRTSP(time.Hour, nil))
	cams := e.fake.DevicesOf(blink.FamilyCamera)
	first := cams[0]
	var sibling, offline blinkfake.Device
	for _, d := range cams[1:] {
		switch {
		case d.NetworkID == first.NetworkID && sibling.ID == 0:
			sibling = d
		case d.NetworkID != first.NetworkID && offline.ID == 0:
			offline = d
		}
	}
	if err := e.fake.SetDeviceStatusOn(offline.Ref(), "offline"); err != nil {
		t.Fatal(err)
	}
	e.request(OpRefresh, map[string]any{})

	// first streams (kept up by the hour-long idle), so its network is busy
	if _, err := readH264(t, e.rtspURL(devicePath(first), ""), gortsplib.TransportTCP, 1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		path   string
		status base.StatusCode
		log    string
	}{
		{"unknown device", "/1/2", base.StatusNotFound, ""},
		{"not a device path", "/nonsense", base.StatusNotFound, ""},
		{"offline camera", devicePath(offline), base.StatusServiceUnavailable, "the device is offline"},
		{"second camera on a busy network", devicePath(sibling), base.StatusServiceUnavailable, "Blink runs one live view per network"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := readH264(t, e.rtspURL(tc.path, ""), gortsplib.TransportTCP, 1)
			var bad liberrors.ErrClientBadStatusCode
			if !errors.As(err, &bad) || bad.Code != tc.status {
				t.Fatalf("got %v, want status %d", err, tc.status)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("the answer took %s", took)
			}
			if tc.log != "" && !strings.Contains(e.logs.String(), tc.log) {
				t.Errorf("no log line says %q", tc.log)
			}
		})
	}
	if n := e.fake.Count(blinkfake.EpCameraLiveview); n != 1 {
		t.Errorf("%d live views started at Blink, want only the first camera's", n)
	}
}

// TestLiveE2EOfflineAtBlink: a camera Blink knows is offline, while the
// bridge still thinks it online, answers with an error within seconds,
// and Blink's live view is ended.
func TestLiveE2EOfflineAtBlink(t *testing.T) {
	e := newEnv(t, withRTSP(time.Hour, nil))
	cam := deviceOf(t, e.fake, blink.FamilyCamera)
	if err := e.fake.SetDeviceStatusOn(cam.Ref(), "offline"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := readH264(t, e.rtspURL(devicePath(cam), ""), gortsplib.TransportTCP, 1)
	var bad liberrors.ErrClientBadStatusCode
	if !errors.As(err, &bad) || bad.Code != base.StatusBadGateway || time.Since(start) > 5*time.Second {
		t.Fatalf("got %v after %s, want 502 within seconds", err, time.Since(start))
	}
	lv := e.liveviewsOf(1)[0]
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := e.fake.WaitCount(ctx, blinkfake.EpCommandDone, 1); err != nil || lv.State != "failed" {
		t.Errorf("live view %+v, %d done calls; want failed and ended once", lv, e.fake.Count(blinkfake.EpCommandDone))
	}
	if !strings.Contains(e.logs.String(), "live view failed") {
		t.Error("no log line says the live view failed")
	}
}

// TestLiveE2ECredentials: with RTSP_USERNAME/RTSP_PASSWORD an anonymous
// reader is refused before Blink is asked; the right credentials stream.
func TestLiveE2ECredentials(t *testing.T) {
	e := newEnv(t, withRTSP(200*time.Millisecond, func(o *Options) {
		o.RTSPUsername, o.RTSPPassword = "viewer", blink.Secret("s3cret pass")
	}))
	cam := deviceOf(t, e.fake, blink.FamilyCamera)
	tests := []struct {
		name     string
		userinfo string
		ok       bool
	}{
		{"anonymous", "", false},
		{"wrong password", "viewer:nope", false},
		{"right credentials", "viewer:s3cret%20pass", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readH264(t, e.rtspURL(devicePath(cam), tc.userinfo), gortsplib.TransportTCP, 5)
			if tc.ok != (err == nil) {
				t.Fatalf("read: %v", err)
			}
			if !tc.ok && e.fake.Count(blinkfake.EpCameraLiveview) != 0 {
				t.Error("Blink was asked for a refused reader")
			}
		})
	}
	if strings.Contains(e.logs.String(), "s3cret") {
		t.Error("the RTSP password reached the log")
	}
}

// TestLiveE2EFFprobe: ffprobe, when installed, identifies the stream as
// H.264 (and the fixture's AAC).
func TestLiveE2EFFprobe(t *testing.T) {
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skip("ffprobe is not installed (apt-get install ffmpeg); skipping")
	}
	e := newEnv(t, withRTSP(200*time.Millisecond, nil))
	cam := deviceOf(t, e.fake, blink.FamilyCamera)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-rtsp_transport", "tcp",
		"-show_entries", "stream=codec_name,width,height", "-of", "json", e.rtspURL(devicePath(cam), "")).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var probe struct {
		Streams []struct {
			Codec  string `json:"codec_name"`
			Width  int    `json:"width"`
			Height int    `json:"height"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatalf("ffprobe printed %s: %v", out, err)
	}
	var codecs []string
	for _, s := range probe.Streams {
		codecs = append(codecs, s.Codec)
		if s.Codec == "h264" && (s.Width != 320 || s.Height != 240) {
			t.Errorf("H.264 stream is %dx%d, want the fixture's 320x240", s.Width, s.Height)
		}
	}
	if strings.Join(codecs, ",") != "h264,aac" {
		t.Errorf("ffprobe sees %q, want h264 and aac", codecs)
	}
}

// TestLiveE2EAttributesAndSharedID: each device's attributes carry its
// rtsp_path; a Mini sharing its camera's id streams from its own path, at
// the owl endpoint.
func TestLiveE2EAttributesAndSharedID(t *testing.T) {
	e := newEnv(t, withFake(blinkfake.Config{Account: &blinkfake.Account{
		Networks: []blinkfake.Network{{ID: sharedNet, Name: "Home", SyncModule: &blinkfake.SyncModule{}}},
		Devices: []blinkfake.Device{
			{ID: sharedID, NetworkID: sharedNet, Family: blink.FamilyCamera, Type: "catalina", Name: "Front Yard"},
			{ID: sharedID, NetworkID: sharedNet, Family: blink.FamilyOwl, Type: "owl", Name: "Porch Mini"},
		},
	}}), withRTSP(200*time.Millisecond, nil))
	for node, want := range map[string]string{
		id(sharedID):          fmt.Sprintf("/%d/%d", sharedNet, sharedID),
		"owl-" + id(sharedID): fmt.Sprintf("/%d/owl-%d", sharedNet, sharedID),
	} {
		m := e.rec.WaitFor(t, e.topics.NodeAttributes(discovery.Node{Network: sharedNet, Name: node}), mqtttest.Any)
		var attrs map[string]any
		if err := json.Unmarshal(m.Payload, &attrs); err != nil || attrs["rtsp_path"] != want {
			t.Errorf("attributes of %s carry rtsp_path %v, want %s", node, attrs["rtsp_path"], want)
		}
	}
	if _, err := readH264(t, e.rtspURL(fmt.Sprintf("/%d/owl-%d", sharedNet, sharedID), ""), gortsplib.TransportTCP, 5); err != nil {
		t.Fatal(err)
	}
	if o, c := e.fake.Count(blinkfake.EpOwlLiveview), e.fake.Count(blinkfake.EpCameraLiveview); o != 1 || c != 0 {
		t.Errorf("owl live views %d, camera live views %d; want 1 and 0", o, c)
	}
}

// TestLiveE2ESlowPlayerKeepsTheSession: a reader counts from SETUP, so a
// player that takes longer than LIVEVIEW_IDLE to send PLAY still gets
// video (it once got an ended stream and waited forever).
func TestLiveE2ESlowPlayerKeepsTheSession(t *testing.T) {
	e := newEnv(t, withRTSP(100*time.Millisecond, nil))
	cam := deviceOf(t, e.fake, blink.FamilyCamera)
	r, err := readH264After(t, e.rtspURL(devicePath(cam), ""), gortsplib.TransportTCP, 5, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.aus < 5 {
		t.Fatalf("only %d access units after a slow PLAY", r.aus)
	}
	if n := len(e.liveviewsOf(1)); n != 1 {
		t.Errorf("%d Blink live views, want 1", n)
	}
}

// TestLiveE2ENeverTurnsMotionOn: a live view of an armed camera saves a
// "liveview" clip; it is published as such and motion stays OFF.
func TestLiveE2ENeverTurnsMotionOn(t *testing.T) {
	e := newEnv(t, withRTSP(100*time.Millisecond, nil))
	cam := deviceOf(t, e.fake, blink.FamilyCamera)
	if n, _ := e.fake.Network(cam.NetworkID); !n.Armed {
		if err := e.fake.SetArmed(cam.NetworkID, true); err != nil {
			t.Fatal(err)
		}
	}
	motion := e.devTopic(cam, discovery.EntityMotion)
	e.rec.WaitFor(t, motion, mqtttest.Equals("OFF"))
	if _, err := readH264(t, e.rtspURL(devicePath(cam), ""), gortsplib.TransportTCP, 5); err != nil {
		t.Fatal(err)
	}
	lv := e.liveviewsOf(1)[0]
	e.waitLive(lv.CommandID, "ended", func(l blinkfake.LiveviewInfo) bool { return l.State == "done" })
	mark := e.rec.Mark()
	e.request(OpRefresh, map[string]any{})
	ev := e.rec.WaitForAfter(t, mark, e.topics.Events(), mqtttest.Any)
	if !strings.Contains(string(ev.Payload), `"liveview"`) {
		t.Errorf("event %s, want a liveview event", ev.Payload)
	}
	if n := e.rec.Count(mark, motion); n != 0 {
		t.Errorf("motion was published %d times after a live view", n)
	}
	if m, _ := e.rec.Last(motion); string(m.Payload) != "OFF" {
		t.Errorf("motion = %q after a live view, want OFF", m.Payload)
	}
}
