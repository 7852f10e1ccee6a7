package bridge

import (
	"io"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v4"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestFigureLiveCPU measures what one live stream costs: the process's
// CPU time (getrusage) over a stream of BLINK2MQTT_FIGURES_SECONDS (default
// 60) read by one RTSP reader, minus the same stream read straight from
// the fake by the immis client (the fake's and the reader's share), per
// minute of stream. It also reports PLAY to the first access unit.
//
//	BLINK2MQTT_FIGURES=1 go test -run TestFigureLiveCPU -v ./bridge/
func TestFigureLiveCPU(t *testing.T) {
	if os.Getenv("BLINK2MQTT_FIGURES") == "" {
		t.Skip("set BLINK2MQTT_FIGURES=1 to measure (about two minutes)")
	}
	secs := 60
	if v, err := strconv.Atoi(os.Getenv("BLINK2MQTT_FIGURES_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	d := time.Duration(secs) * time.Second
	e := newEnv(t, withRTSP(200*time.Millisecond, nil))
	cam := deviceOf(t, e.fake, blink.FamilyCamera)

	// the fake and an immis reader alone
	before, start := cpuTime(t), time.Now()
	lv, err := e.client.StartLiveview(t.Context(), cam.Ref())
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.client.OpenLiveview(t.Context(), lv, cam.Serial)
	if err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(d); st.Close() }()
	n, _ := io.Copy(io.Discard, st)
	base := cpuTime(t) - before
	if err := e.client.EndLiveview(t.Context(), lv.NetworkID, lv.CommandID); err != nil {
		t.Fatal(err)
	}
	t.Logf("baseline: fake → immis client, %s, %d kB: CPU %s", time.Since(start).Round(time.Second), n/1000, base)

	// the same through the bridge to an RTSP reader
	before, start = cpuTime(t), time.Now()
	r, err := readH264(t, e.rtspURL(devicePath(cam), ""), gortsplib.TransportTCP, 15*secs)
	if err != nil {
		t.Fatal(err)
	}
	full := cpuTime(t) - before
	streamed := time.Since(start)
	perMin := func(c time.Duration) time.Duration {
		return time.Duration(float64(c) * float64(time.Minute) / float64(streamed))
	}
	t.Logf("through the bridge: %d access units in %s: CPU %s (baseline %s)", r.aus, time.Since(start).Round(time.Second), full, base)
	t.Logf("figures: bridge CPU per stream-minute ≈ %s (%.2f%% of one core); whole process %s per minute; DESCRIBE %s, PLAY to first access unit %s",
		perMin(full-base).Round(time.Millisecond), 100*float64(full-base)/float64(streamed),
		perMin(full).Round(time.Millisecond), r.toDescribe.Round(time.Millisecond), r.toFirstAU.Round(time.Millisecond))
}
