package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// readRTSP plays url until n RTP packets of H.264 arrived.
func readRTSP(t *testing.T, url string, n int) error {
	t.Helper()
	u, err := base.ParseURL(url)
	if err != nil {
		return err
	}
	tcp := gortsplib.TransportTCP
	c := gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp, ReadTimeout: 30 * time.Second}
	if err := c.Start2(); err != nil {
		return err
	}
	defer c.Close()
	desc, _, err := c.Describe(u)
	if err != nil {
		return err
	}
	var h264 *format.H264
	medi := desc.FindFormat(&h264)
	if medi == nil {
		return fmt.Errorf("no H.264 in %v", desc.Medias)
	}
	if err := c.SetupAll(desc.BaseURL, desc.Medias); err != nil {
		return err
	}
	got := make(chan struct{}, n)
	c.OnPacketRTP(medi, h264, func(*rtp.Packet) {
		select {
		case got <- struct{}{}:
		default:
		}
	})
	if _, err := c.Play(nil); err != nil {
		return err
	}
	for range n {
		select {
		case <-got:
		case <-time.After(20 * time.Second):
			return fmt.Errorf("fewer than %d packets", n)
		}
	}
	return nil
}

// TestDaemonServesRTSP: RTSP_LISTEN, RTSP_USERNAME/RTSP_PASSWORD and
// LIVEVIEW_IDLE reach the bridge — attributes carry rtsp_path, a reader
// with the credentials streams, the metrics count the session, and the
// password appears in no log line or payload.
func TestDaemonServesRTSP(t *testing.T) {
	t.Parallel()
	fake := blinkfake.New(t, blinkfake.Config{})
	rec, env := daemonEnvWithBroker(t, fake, "blink2mqtt/#")
	env["RTSP_LISTEN"], env["RTSP_USERNAME"], env["RTSP_PASSWORD"] = "127.0.0.1:0", "viewer", "rtsp-pw-6612"
	env["LIVEVIEW_IDLE"], env["HTTP_LISTEN"] = "1s", "127.0.0.1:0"

	var out, logs syncBuffer
	stop := startRun(t, []string{"run"}, env, &out, &logs)
	rtspAddr := loggedAddr(t, &logs, "RTSP server listening", "rtsp")
	httpAddr := loggedAddr(t, &logs, httpServingMsg, "addr")
	cam := fake.DevicesOf(blink.FamilyCamera)[0]
	path := fmt.Sprintf("/%d/%d", cam.NetworkID, cam.ID)
	m := rec.WaitFor(t, fmt.Sprintf("blink2mqtt/%d/%d/attributes", cam.NetworkID, cam.ID), mqtttest.Contains("rtsp_path"))
	var attrs map[string]any
	if err := json.Unmarshal(m.Payload, &attrs); err != nil || attrs["rtsp_path"] != path {
		t.Fatalf("attributes %s, want rtsp_path %s", m.Payload, path)
	}
	if err := readRTSP(t, "rtsp://"+rtspAddr+path, 10); err == nil {
		t.Error("an anonymous reader streamed")
	}
	if err := readRTSP(t, "rtsp://viewer:rtsp-pw-6612@"+rtspAddr+path, 10); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "blink2mqtt_liveview_sessions_started_total 1") {
		t.Errorf("/metrics does not count the live view:\n%s", grepLines(string(body), "liveview"))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, msg := range rec.Messages() {
		if strings.Contains(string(msg.Payload), "rtsp-pw-6612") {
			t.Errorf("the RTSP password is in %s", msg.Topic)
		}
	}
	if strings.Contains(logs.String(), "rtsp-pw-6612") || strings.Contains(out.String(), "rtsp-pw-6612") {
		t.Error("the RTSP password reached the log")
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestDemoServesRTSP: `demo --rtsp` serves the fake cameras' test pattern
// and prints a line that plays it.
func TestDemoServesRTSP(t *testing.T) {
	t.Parallel()
	broker := mqtttest.StartBroker(t)
	rec := mqtttest.NewRecorder(t, broker.URL(), "blink2mqtt/#")
	var out, errOut syncBuffer
	startRun(t, []string{"demo", "--broker", broker.URL(), "--motion-every", "0", "--log-level", "warn", "--rtsp", "127.0.0.1:0"}, nil, &out, &errOut)
	rec.WaitFor(t, "blink2mqtt/bridge/state", mqtttest.Equals("online"))
	// The demo prints the address it bound.
	line := grepLines(out.String(), "ffplay")
	_, url, _ := strings.Cut(line, "ffplay -rtsp_transport tcp ")
	addr, path, ok := strings.Cut(strings.TrimPrefix(url, "rtsp://"), "/")
	if _, port, err := net.SplitHostPort(addr); !ok || err != nil || port == "0" {
		t.Fatalf("the demo prints no ffplay line with a bound address:\n%s", out.String())
	}
	path = "/" + path
	rec.WaitMatch(t, 0, "attributes with "+path, func(m mqtttest.Message) bool {
		return strings.Contains(string(m.Payload), `"rtsp_path":"`+path+`"`)
	})
	if err := readRTSP(t, strings.TrimSpace(url), 10); err != nil {
		t.Fatal(err)
	}
}
