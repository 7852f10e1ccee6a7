package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// waitRetained polls the broker's retained store (a fresh client each time)
// until want holds, for up to 20 s.
func waitRetained(t *testing.T, url, filter string, want func(map[string][]byte) bool) map[string][]byte {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := mqtttest.Retained(t, url, filter)
		if want(got) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("retained %s never reached the expected state; last: %d topics", filter, len(got))
		}
		time.Sleep(200 * time.Millisecond) // bounded poll of the broker's retained store
	}
}

// TestMosquittoIntegration runs the whole daemon against a real Mosquitto that
// the test starts on a free loopback port (skipped without mosquitto): state
// and discovery arrive retained, an arm command completes, the broker crashes
// and comes back empty, and the bridge restores availability, discovery,
// state and its subscriptions; on shutdown it leaves "offline".
func TestMosquittoIntegration(t *testing.T) {
	t.Parallel()
	mosq := mqtttest.StartMosquitto(t)
	fake := blinkfake.New(t, blinkfake.Config{})
	env := daemonEnv(fake, mosq.URL(), daemonStateDir(t))
	cabin := fake.Networks()[1]
	alarm := "blink2mqtt/" + itoa(cabin.ID) + "/alarm"

	var out, logs syncBuffer
	stop := startRun(t, []string{"run"}, env, &out, &logs)
	rec := mqtttest.NewRecorder(t, mosq.URL(), "blink2mqtt/#")
	rec.WaitFor(t, "blink2mqtt/bridge/state", mqtttest.Equals("online"))
	rec.WaitFor(t, alarm, mqtttest.Equals("disarmed"))

	mark := rec.Mark()
	rec.Publish(t, alarm+"/set", []byte("ARM_AWAY"), false)
	rec.WaitForAfter(t, mark, alarm, mqtttest.Equals("arming"))
	rec.WaitForAfter(t, mark, alarm, mqtttest.Equals("armed_away"))

	// Crash the broker; it comes back with no retained messages at all.
	mosq.Stop()
	mosq.Start(t)
	got := waitRetained(t, mosq.URL(), "#", func(m map[string][]byte) bool {
		return string(m["blink2mqtt/bridge/state"]) == "online" && string(m[alarm]) == "armed_away"
	})
	var configs int
	for topic := range got {
		if strings.HasPrefix(topic, "homeassistant/") && strings.HasSuffix(topic, "/config") {
			configs++
		}
	}
	if configs < 50 {
		t.Errorf("after the broker restart %d discovery configs are retained, want the whole account (≥ 50)", configs)
	}

	// Subscriptions are back: a command after the restart works.
	rec2 := mqtttest.NewRecorder(t, mosq.URL(), "blink2mqtt/#")
	mark = rec2.Mark()
	rec2.Publish(t, alarm+"/set", []byte("DISARM"), false)
	rec2.WaitForAfter(t, mark, alarm, mqtttest.Equals("disarmed"))

	if err := stop(); err != nil {
		t.Fatalf("daemon returned %v", err)
	}
	waitRetained(t, mosq.URL(), "blink2mqtt/bridge/state", func(m map[string][]byte) bool {
		return string(m["blink2mqtt/bridge/state"]) == "offline"
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
