package bridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/bridge"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// soakSpeed compresses time: every interval of the daemon (polls, hold,
// command spacing, command-status polling, busy retries) is divided by it,
// so 30 simulated minutes take 30 s.
const soakSpeed = 60

// TestSoak runs 30 simulated minutes against a 50-network × 10-device fake
// account with random faults, random motion and random commands, and checks
// that no goroutine leaks, memory stays bounded, every request is answered
// exactly once and every clip is published exactly once.
//
//	BLINK2MQTT_SOAK=1 go test -run Soak -v ./bridge/
//	BLINK2MQTT_SOAK=1 BLINK2MQTT_SOAK_MINUTES=5 go test -run Soak -v ./bridge/
func TestSoak(t *testing.T) {
	if os.Getenv("BLINK2MQTT_SOAK") == "" {
		t.Skip("soak scenario: set BLINK2MQTT_SOAK=1 to run it (30 simulated minutes, about 40 s)")
	}
	minutes := 30
	if v, err := strconv.Atoi(os.Getenv("BLINK2MQTT_SOAK_MINUTES")); err == nil && v > 0 {
		minutes = v
	}
	scaled := func(d time.Duration) time.Duration { return d / soakSpeed }
	goroutinesBefore := runtime.NumGoroutine()

	fake, err := blinkfake.Start(blinkfake.Config{Networks: 50, DevicesPerNetwork: 10, MaxMedia: 100000, MediaPageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	broker := mqtttest.StartBroker(t)
	rec := mqtttest.NewRecorder(t, broker.URL(), "blink2mqtt/bridge/#", "blink2mqtt/events")
	rec.Timeout = 30 * time.Second
	stateDir := t.TempDir()

	client, err := blink.New(blink.Options{
		OAuthURL:            fake.OAuthURL(),
		RESTURL:             fake.RESTURL(),
		Limiter:             rate.NewLimiter(soakSpeed, 3*soakSpeed/2),
		Store:               &blink.FileTokenStore{Path: filepath.Join(stateDir, "tokens.json")},
		Logger:              zerolog.Nop(),
		CommandPollInterval: scaled(time.Second),
		BusyRetryFor:        scaled(60 * time.Second),
		CommandTimeout:      scaled(2 * time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	fc := fake.Config()
	if _, err := client.BeginLogin(context.Background(), fc.Email, blink.Secret(fc.Password)); err != nil {
		t.Fatal(err)
	}
	b, err := bridge.New(bridge.Options{
		Cloud:             client,
		MQTT:              bridge.MQTTOptions{URL: broker.URL(), ClientID: "soak"},
		Topics:            discovery.Topics{Root: "blink2mqtt"},
		Discovery:         true,
		PollInterval:      scaled(30 * time.Second),
		MediaPollInterval: scaled(15 * time.Second),
		HoldTime:          scaled(30 * time.Second),
		CommandSpacing:    scaled(5 * time.Second),
		PollBackoffBase:   scaled(bridge.DefaultPollBackoffBase),
		PollBackoffMax:    scaled(bridge.DefaultPollBackoffMax),
		StateDir:          stateDir,
		Logger:            zerolog.Nop(),
		Version:           "soak",
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- b.Run(ctx) }()
	rec.WaitFor(t, "blink2mqtt/bridge/state", mqtttest.Equals("online"))
	rec.WaitFor(t, "blink2mqtt/bridge/info", mqtttest.Contains(`"last_successful_poll":"2`))
	requestsAtStart := fake.Total()

	nets := fake.Networks()
	devs := fake.Devices()
	rng := rand.New(rand.NewPCG(1, 2))
	var (
		sent       []string // transactions
		heapMax    uint64
		heapAtMid  uint64
		faults     int
		motions    int
		sampleHeap = func() uint64 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heapMax = max(heapMax, ms.HeapAlloc)
			return ms.HeapAlloc
		}
	)
	// One step is one simulated second.
	steps := minutes * 60
	tick := time.NewTicker(scaled(time.Second))
	for step := range steps {
		<-tick.C
		switch r := rng.IntN(100); {
		case r < 8: // motion somewhere
			d := devs[rng.IntN(len(devs))]
			fake.TriggerMotion(d.ID, "pir")
			motions++
		case r < 11: // a command with a transaction
			txn := fmt.Sprintf("soak-%d", step)
			sent = append(sent, txn)
			var op string
			var body map[string]any
			switch rng.IntN(4) {
			case 0:
				op, body = "arm", map[string]any{"network": nets[rng.IntN(len(nets))].ID}
			case 1:
				op, body = "disarm", map[string]any{"network": nets[rng.IntN(len(nets))].ID}
			case 2:
				op, body = "snapshot", map[string]any{"device": devs[rng.IntN(len(devs))].ID}
			default:
				op, body = "motion_detection", map[string]any{"device": devs[rng.IntN(len(devs))].ID, "enabled": rng.IntN(2) == 0}
			}
			body["transaction"] = txn
			payload, _ := json.Marshal(body)
			rec.Publish(t, "blink2mqtt/bridge/request/"+op, payload, false)
		case r < 13: // a fault from the fake
			faults++
			switch rng.IntN(6) {
			case 0:
				fake.Inject(blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Status: 503, Count: 2})
			case 1:
				fake.Inject(blinkfake.Fault{Endpoint: blinkfake.EpMediaChanged, Malformed: true})
			case 2:
				fake.Inject(blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Truncate: true})
			case 3:
				fake.Inject(blinkfake.Fault{Endpoint: "rest", Status: 429, RetryAfter: time.Second})
			case 4:
				fake.FailNextCommand(523, "Live view failed")
			default:
				fake.Inject(blinkfake.Fault{Endpoint: "rest", Delay: scaled(5 * time.Second)})
			}
		}
		if step == steps/3 {
			heapAtMid = sampleHeap()
		} else if step%60 == 0 {
			sampleHeap()
		}
	}
	tick.Stop()
	fake.ClearFaults()

	// Every request answered exactly once.
	answered := func() map[string]int {
		n := map[string]int{}
		for _, m := range rec.Messages() {
			if !strings.HasPrefix(m.Topic, "blink2mqtt/bridge/response/") {
				continue
			}
			var resp struct {
				Transaction string `json:"transaction"`
			}
			if json.Unmarshal(m.Payload, &resp) == nil && resp.Transaction != "" {
				n[resp.Transaction]++
			}
		}
		return n
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if len(answered()) >= len(sent) {
			break
		}
		time.Sleep(100 * time.Millisecond) // bounded drain of the command queues
	}
	got := answered()
	for _, txn := range sent {
		if got[txn] != 1 {
			t.Errorf("request %s answered %d times, want exactly 1", txn, got[txn])
		}
	}

	// Every clip published exactly once: poll media once more after the last motion.
	mediaIDs := map[int64]bool{}
	for _, m := range fake.Media() {
		if !m.Deleted {
			mediaIDs[m.ID] = true
		}
	}
	published := func() map[int64]int {
		n := map[int64]int{}
		for _, m := range rec.Messages() {
			if m.Topic != "blink2mqtt/events" {
				continue
			}
			var ev struct {
				ID int64 `json:"id"`
			}
			if json.Unmarshal(m.Payload, &ev) == nil {
				n[ev.ID]++
			}
		}
		return n
	}
	deadline = time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && len(published()) < len(mediaIDs) {
		time.Sleep(100 * time.Millisecond) // bounded wait for the last media polls
	}
	events := published()
	for id := range mediaIDs {
		if events[id] != 1 {
			t.Errorf("media %d published %d times, want exactly 1", id, events[id])
		}
	}
	for id, n := range events {
		if !mediaIDs[id] {
			t.Errorf("event for media %d (%d times) that the fake does not have", id, n)
		}
	}

	requests := fake.Total() - requestsAtStart
	heapEnd := sampleHeap()
	cancel()
	select {
	case err := <-runDone:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("bridge did not stop within 10 s")
	}
	fake.Close()
	broker.Close()

	// No goroutine leak: everything we started has stopped (the recorder is
	// closed by its cleanup, so allow its few goroutines).
	var leaked int
	for range 50 {
		leaked = runtime.NumGoroutine() - goroutinesBefore
		if leaked <= 8 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if leaked > 8 {
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Errorf("%d goroutines more than before the soak:\n%s", leaked, buf[:n])
	}
	const heapLimit = 256 << 20
	if heapMax > heapLimit {
		t.Errorf("heap reached %d MiB, limit %d MiB", heapMax>>20, heapLimit>>20)
	}
	if heapEnd > 2*heapAtMid+32<<20 {
		t.Errorf("heap grew from %d MiB at a third of the run to %d MiB at the end", heapAtMid>>20, heapEnd>>20)
	}

	counts := fake.Counts()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var byEndpoint []string
	for _, k := range keys {
		byEndpoint = append(byEndpoint, fmt.Sprintf("%s=%d", k, counts[k]))
	}
	t.Logf("soak: %d simulated minutes, %d networks, %d devices; %d motions, %d requests sent, %d faults injected",
		minutes, len(nets), len(devs), motions, len(sent), faults)
	t.Logf("soak: %d Blink requests (%.1f per simulated minute); %d events published; heap max %d MiB, mid %d MiB, end %d MiB; goroutines +%d",
		requests, float64(requests)/float64(minutes), len(events), heapMax>>20, heapAtMid>>20, heapEnd>>20, leaked)
	t.Logf("soak: requests by endpoint: %s", strings.Join(byEndpoint, " "))
}
