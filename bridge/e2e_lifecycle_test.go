package bridge

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// checkRestored asserts what a fresh subscriber sees after a reconnect:
// bridge online, the network's alarm and a device's state retained, and
// commands work again (subscriptions restored).
func checkRestored(t *testing.T, e *env, mark int) {
	t.Helper()
	e.waitRepublished(mark)
	net := e.fake.Networks()[1]
	d := deviceOf(t, e.fake, blink.FamilyCamera)
	want := map[string]string{
		e.topics.BridgeState():                                                            online,
		e.alarmTopic(net.ID):                                                              discovery.Disarmed,
		e.devTopic(d, discovery.EntityMotionDetection):                                    onOff(d.Enabled),
		e.topics.DeviceAvailability(d.NetworkID, d.ID):                                    online,
		e.topics.BridgeEntity(discovery.BridgeAuthState):                                  string(AuthOK),
		e.topics.NetworkAvailability(net.ID):                                              online,
		e.topics.DeviceEntity(d.NetworkID, d.ID, "attributes"):                            "",
		"homeassistant/alarm_control_panel/blink_network_" + id(net.ID) + "/alarm/config": "",
	}
	got := e.retained("#")
	for topic, p := range want {
		v, ok := got[topic]
		if !ok {
			if strings.HasPrefix(topic, "homeassistant/") {
				// Topic layout of discovery is its own business; look for any alarm config.
				found := false
				for k := range got {
					if strings.HasPrefix(k, "homeassistant/alarm_control_panel/") {
						found = true
					}
				}
				if !found {
					t.Errorf("no alarm discovery config retained")
				}
				continue
			}
			t.Errorf("%s not retained", topic)
			continue
		}
		if p != "" && string(v) != p {
			t.Errorf("retained %s = %q, want %q", topic, v, p)
		}
	}
	resp := e.request(OpArm, map[string]any{"network": net.ID})
	if resp["status"] != "ok" {
		t.Fatalf("arm after reconnect: %v", resp)
	}
}

func TestE2EBrokerRestartRestoresStateAndSubscriptions(t *testing.T) {
	e := newEnv(t)
	for i := range 3 {
		mark := e.rec.Mark()
		e.broker.Restart(t) // retained messages are gone with the old broker
		e.rec.WaitForAfter(t, mark, e.topics.BridgeState(), mqtttest.Equals(online))
		e.rec.WaitForAfter(t, mark, e.alarmTopic(e.fake.Networks()[1].ID), mqtttest.Any)
		if i == 0 {
			checkRestored(t, e, mark)
			// Put the network back for the next round.
			if resp := e.request(OpDisarm, map[string]any{"network": e.fake.Networks()[1].ID}); resp["status"] != "ok" {
				t.Fatal(resp)
			}
		}
	}
}

// TestE2EWillAfterOnlineRace drops the bridge's connection from the broker
// side many times: the broker's will "offline" may land after the new
// connection's "online" (a session-takeover race of MQTT 3.1.1). The bridge must never be left
// offline while connected.
func TestE2EWillAfterOnlineRace(t *testing.T) {
	e := newEnv(t)
	wills, mark := 0, 0
	for range 15 {
		sessions := e.broker.Sessions("bridge-test")
		mark = e.rec.Mark()
		if err := e.broker.Kick("bridge-test"); err != nil {
			t.Fatal(err)
		}
		e.broker.WaitSessions(t, "bridge-test", sessions+1)
		// The retained value is what HA sees: it must settle on online.
		e.rec.WaitMatch(t, mark, "bridge/state online after the reconnect", func(m mqtttest.Message) bool {
			if m.Topic != e.topics.BridgeState() || string(m.Payload) != online {
				return false
			}
			return string(e.retained(e.topics.BridgeState())[e.topics.BridgeState()]) == online
		})
		if e.rec.Count(mark, e.topics.BridgeState()) > 1 {
			wills++
		}
	}
	t.Logf("%d of 15 rounds saw the will", wills)
	if wills == 0 {
		t.Errorf("no round saw the will: the test did not exercise the race")
	}
	checkRestored(t, e, mark)
}

func TestE2EHomeAssistantBirthRepublishes(t *testing.T) {
	e := newEnv(t)
	net := e.fake.Networks()[0]
	mark := e.rec.Mark()
	e.rec.Publish(t, "homeassistant/status", []byte("online"), false)
	e.rec.WaitForAfter(t, mark, e.alarmTopic(net.ID), mqtttest.Equals(discovery.ArmedAway))
	e.waitRepublished(mark)
	e.rec.WaitMatch(t, mark, "a discovery config", func(m mqtttest.Message) bool {
		return strings.HasPrefix(m.Topic, "homeassistant/") && strings.HasSuffix(m.Topic, "/config") && len(m.Payload) > 0
	})
	// HA's will ("offline") republishes nothing.
	mark = e.rec.Mark()
	e.rec.Publish(t, "homeassistant/status", []byte("offline"), false)
	e.request(OpAuthVerify, map[string]any{"code": "123456"}) // a sentinel that publishes one response
	for _, m := range e.rec.Since(mark) {
		if m.Topic != "homeassistant/status" && !strings.HasPrefix(m.Topic, e.topics.RequestPrefix()) && m.Topic != e.topics.Response(OpAuthVerify) {
			t.Errorf("unexpected publish after HA offline: %s", m.Topic)
		}
	}
}

// TestE2EDaemonRestartNoStormNoReplay restarts the bridge on the same state
// directory and broker: each state topic is published at most once, and no
// event is replayed.
func TestE2EDaemonRestartNoStormNoReplay(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, withStateDir(dir))
	d := deviceOf(t, e.fake, blink.FamilyCamera)
	e.fake.TriggerMotion(d.ID, "pir")
	mark := e.rec.Mark()
	e.request(OpRefresh, map[string]any{})
	e.rec.WaitForAfter(t, mark, e.topics.Events(), mqtttest.Any)

	// A refresh where nothing changed publishes no state at all.
	mark = e.rec.Mark()
	e.request(OpRefresh, map[string]any{})
	for _, m := range e.rec.Since(mark) {
		if !strings.HasPrefix(m.Topic, e.topics.RequestPrefix()) && m.Topic != e.topics.Response(OpRefresh) {
			t.Errorf("refresh without changes published %s", m.Topic)
		}
	}

	e.stop()
	mark = e.rec.Mark()
	e.start()
	e.request(OpRefresh, map[string]any{}) // at least one full poll after the restart
	counts := map[string]int{}
	for _, m := range e.rec.Since(mark) {
		counts[m.Topic]++
	}
	for topic, n := range counts {
		switch {
		case topic == e.topics.BridgeState():
			// offline on the way out, online on the way in.
		case topic == e.topics.Events():
			t.Errorf("event replayed after restart")
		case n > 1 && !strings.Contains(topic, "/bridge/"):
			t.Errorf("%s published %d times after restart, want at most once", topic, n)
		}
	}
	if counts[e.topics.Events()] != 0 {
		t.Errorf("%d events after restart, want 0", counts[e.topics.Events()])
	}
}

var badInputs = []struct {
	name    string
	op      string
	payload string
	want    string // substring of the error
}{
	{"not json", OpArm, `{"network": 4`, "not valid JSON"},
	{"json array", OpArm, `[1,2]`, "JSON object"},
	{"unknown op", "explode", `{}`, "unknown operation"},
	{"unknown op nested", "auth/hack", `{}`, "unknown operation"},
	{"unknown network", OpArm, `{"network": 999}`, "unknown network 999"},
	{"unknown device", OpSnapshot, `{"device": 12345}`, "unknown device 12345"},
	{"network as bool", OpArm, `{"network": true}`, "must be a Blink network id"},
	{"network as float", OpDisarm, `{"network": 1.5}`, "must be a Blink network id"},
	{"network negative", OpDisarm, `{"network": -3}`, "must be a Blink network id"},
	{"missing network", OpArm, `{}`, `needs the field "network"`},
	{"enabled as string", OpMotionDetection, `{"device": 1, "enabled": "yes"}`, `"enabled" must be true or false`},
	{"unknown field", OpSnapshot, `{"devcie": 1}`, `unknown field "devcie"`},
	{"code with letters", OpAuthVerify, `{"code": "12ab56"}`, "digits only"},
	{"refresh with fields", OpRefresh, `{"now": true}`, "takes no fields"},
	{"too large", OpArm, `{"network": 1, "pad": "` + strings.Repeat("x", 70<<10) + `"}`, "too large"},
}

func TestE2EBadInputs(t *testing.T) {
	e := newEnv(t)
	for _, tc := range badInputs {
		t.Run(tc.name, func(t *testing.T) {
			mark := e.rec.Mark()
			payload := tc.payload
			if !strings.HasPrefix(tc.name, "not json") && !strings.HasPrefix(tc.name, "json array") && !strings.HasPrefix(tc.name, "too large") {
				payload = strings.Replace(payload, "{", `{"transaction":"bad-1",`, 1)
				payload = strings.Replace(payload, ",}", "}", 1)
			}
			logsBefore := strings.Count(e.logs.String(), "\n")
			resp := e.request(tc.op, payload)
			if n := strings.Count(e.logs.String(), "\n") - logsBefore; n != 1 {
				t.Errorf("%d log lines for one bad request, want 1", n)
			}
			if resp["status"] != "error" || !strings.Contains(fmt.Sprint(resp["error"]), tc.want) {
				t.Fatalf("response = %v, want an error containing %q", resp, tc.want)
			}
			if strings.Contains(payload, "bad-1") && resp["transaction"] != "bad-1" {
				t.Errorf("transaction not echoed: %v", resp)
			}
			// Nothing else changed: only the request and its one response.
			for _, m := range e.rec.Since(mark) {
				if !strings.HasPrefix(m.Topic, e.topics.RequestPrefix()) && m.Topic != e.topics.Response(tc.op) {
					t.Errorf("bad input caused a publish on %s", m.Topic)
				}
			}
			if n := e.rec.Count(mark, e.topics.Response(tc.op)); n != 1 {
				t.Errorf("%d responses, want 1", n)
			}
		})
	}
	// Bad HA commands get no response and change nothing either.
	net := e.fake.Networks()[1]
	mark := e.rec.Mark()
	e.set(e.alarmTopic(net.ID), "ARM_NIGHT")
	e.set(e.topics.DeviceEntity(net.ID, 1, discovery.EntityMotionDetection), "ON")
	e.request(OpAuthVerify, map[string]any{"code": "123456"}) // sentinel
	for _, m := range e.rec.Since(mark) {
		if !strings.HasSuffix(m.Topic, "/set") && !strings.Contains(m.Topic, "auth/verify") {
			t.Errorf("bad command caused a publish on %s", m.Topic)
		}
	}
	if n, _ := e.fake.Network(net.ID); n.Armed {
		t.Errorf("ARM_NIGHT armed the network")
	}
}

func TestE2EAuthVerifyWithoutLogin(t *testing.T) {
	e := newEnv(t)
	resp := e.request(OpAuthVerify, map[string]any{"code": "123456", "transaction": 1})
	if resp["status"] != "error" || !strings.Contains(fmt.Sprint(resp["error"]), "no login pending") {
		t.Fatalf("response = %v", resp)
	}
}

func TestE2EReauthRequiredPausesAndMarksDevicesOffline(t *testing.T) {
	e := newEnv(t)
	d := deviceOf(t, e.fake, blink.FamilyCamera)
	e.fake.RevokeRefreshTokens()
	e.fake.ExpireAccessTokens()
	mark := e.rec.Mark()
	resp := e.request(OpRefresh, map[string]any{})
	if resp["status"] != "error" || !strings.Contains(fmt.Sprint(resp["error"]), "login") {
		t.Fatalf("refresh with revoked tokens: %v", resp)
	}
	auth := e.rec.WaitForAfter(t, mark, e.topics.BridgeAuth(), mqtttest.Contains(`"reauth_required"`))
	var a authPayload
	if err := json.Unmarshal(auth.Payload, &a); err != nil || a.Detail == "" {
		t.Fatalf("bridge/auth = %s", auth.Payload)
	}
	e.rec.WaitForAfter(t, mark, e.topics.DeviceAvailability(d.NetworkID, d.ID), mqtttest.Equals(offline))
	got := e.retained(e.topics.Root + "/#")
	if string(got[e.topics.BridgeState()]) != online {
		t.Errorf("bridge/state = %q, want online while waiting for a login", got[e.topics.BridgeState()])
	}
	// Polling stopped: a refresh makes no Blink request.
	before := e.fake.Total()
	resp = e.request(OpRefresh, map[string]any{})
	if resp["status"] != "error" || e.fake.Total() != before {
		t.Fatalf("refresh while reauth_required: %v, %d Blink requests", resp, e.fake.Total()-before)
	}
	// A login elsewhere ends it (issue 5 calls SetAuthState).
	e.bridge.SetAuthState(AuthOK, "")
	e.rec.WaitForAfter(t, mark, e.topics.BridgeAuth(), mqtttest.Contains(`"ok"`))
}

func TestE2EVanishedDeviceGoesOfflineAndLosesDiscovery(t *testing.T) {
	e := newEnv(t)
	d := deviceOf(t, e.fake, blink.FamilyCamera)
	configs := func() []string {
		var out []string
		for topic, p := range e.retained("homeassistant/#") {
			if len(p) > 0 && strings.Contains(string(p), e.topics.DeviceAvailability(d.NetworkID, d.ID)) {
				out = append(out, topic)
			}
		}
		return out
	}
	if len(configs()) == 0 {
		t.Fatal("device has no discovery configs to begin with")
	}
	if err := e.fake.RemoveDevice(d.ID); err != nil {
		t.Fatal(err)
	}
	mark := e.rec.Mark()
	e.request(OpRefresh, map[string]any{})
	avail := e.rec.WaitForAfter(t, mark, e.topics.DeviceAvailability(d.NetworkID, d.ID), mqtttest.Equals(offline))
	removal := e.rec.WaitMatch(t, mark, "a discovery removal", func(m mqtttest.Message) bool {
		return strings.HasPrefix(m.Topic, "homeassistant/") && len(m.Payload) == 0
	})
	if removal.Seq < avail.Seq {
		t.Errorf("discovery removed before the device went offline")
	}
	if left := configs(); len(left) != 0 {
		t.Errorf("configs still retained for the removed device: %v", left)
	}
	ledger, err := os.ReadFile(filepath.Join(e.stateDir, ledgerFileName))
	if err != nil || strings.Contains(string(ledger), "_"+id(d.ID)+"/") {
		t.Errorf("ledger still lists the device (err %v)", err)
	}
}

func TestE2EDiscoveryOffRemovesLedgerConfigs(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, withStateDir(dir))
	if n := len(e.retained("homeassistant/#")); n == 0 {
		t.Fatal("no discovery published")
	}
	e.stop()
	e.opts.Discovery = false
	e.start()
	e.rec.WaitMatch(t, 0, "removals", func(mqtttest.Message) bool {
		return len(e.retained("homeassistant/#")) == 0
	})
	var l ledgerFile
	data, _ := os.ReadFile(filepath.Join(dir, ledgerFileName))
	if err := json.Unmarshal(data, &l); err != nil || len(l.Topics) != 0 {
		t.Fatalf("ledger after discovery off = %s (err %v)", data, err)
	}
}

func TestE2EShutdownPublishesOfflineAndClipsFromDowntimeOnce(t *testing.T) {
	e := newEnv(t)
	d := deviceOf(t, e.fake, blink.FamilyOwl)
	start := time.Now()
	e.stop()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Run took %s to return", took)
	}
	if got := e.retained(e.topics.BridgeState())[e.topics.BridgeState()]; string(got) != offline {
		t.Fatalf("bridge/state after shutdown = %q, want offline", got)
	}
	m := e.fake.TriggerMotion(d.ID, "pir") // while the bridge is down
	mark := e.rec.Mark()
	e.start()
	ev := e.rec.WaitForAfter(t, mark, e.topics.Events(), mqtttest.Contains(fmt.Sprintf(`"id":%d`, m.ID)))
	var got eventPayload
	if err := json.Unmarshal(ev.Payload, &got); err != nil || !got.CreatedAt.Equal(m.CreatedAt.UTC().Truncate(time.Second)) && !got.CreatedAt.Equal(m.CreatedAt.UTC()) {
		t.Errorf("downtime event created_at = %v, want the clip's %v", got.CreatedAt, m.CreatedAt)
	}
	e.request(OpRefresh, map[string]any{})
	if n := e.rec.Count(mark, e.topics.Events()); n != 1 {
		t.Errorf("%d events for one downtime clip, want 1", n)
	}
}

// TestE2ERetainedBirthDoesNotRepublishOnConnect: some users retain HA's
// birth message; it then arrives on every subscribe and must not double
// the snapshot OnConnect just published.
func TestE2ERetainedBirthDoesNotRepublishOnConnect(t *testing.T) {
	broker := mqtttest.StartBroker(t)
	broker.Server().Publish("homeassistant/status", []byte("online"), true, 0)
	e := newEnv(t, withBrokerOf(broker))
	net := e.fake.Networks()[0]
	sessions := broker.Sessions("bridge-test")
	mark := e.rec.Mark()
	if err := broker.Kick("bridge-test"); err != nil {
		t.Fatal(err)
	}
	broker.WaitSessions(t, "bridge-test", sessions+1)
	e.waitRepublished(mark)
	e.rec.Timeout = time.Minute
	e.request(OpRefresh, map[string]any{}) // a sentinel after any second republish
	if n := e.rec.Count(mark, e.alarmTopic(net.ID)); n != 1 {
		t.Errorf("alarm published %d times after a reconnect, want 1", n)
	}
}

// TestE2ERetainedCommandsAreIgnored: a retained command would run again on
// every reconnect; the bridge ignores it with one log line.
func TestE2ERetainedCommandsAreIgnored(t *testing.T) {
	broker := mqtttest.StartBroker(t)
	net := int64(410000001) // the fake's second network, disarmed
	srv := broker.Server()
	srv.Publish("blink2mqtt/"+id(net)+"/alarm/set", []byte("ARM_AWAY"), true, 1)
	srv.Publish("blink2mqtt/bridge/request/arm", []byte(`{"network": `+id(net)+`}`), true, 1)
	e := newEnv(t, withBrokerOf(broker))
	if n, _ := e.fake.Network(net); n.Armed {
		t.Fatalf("a retained command armed network %d", net)
	}
	if got := strings.Count(e.logs.String(), "ignored a retained command"); got != 2 {
		t.Errorf("%d log lines about retained commands, want 2", got)
	}
	if e.rec.Count(0, e.topics.Response(OpArm)) != 0 {
		t.Errorf("a retained request was answered")
	}
}

// TestE2EClipsBeforeTheBrokerIsUpAreNotLost: the daemon starts while the
// broker is down and polls Blink meanwhile; a clip found then must still be
// published once the broker is there (paho drops what was queued before its
// first connection).
func TestE2EClipsBeforeTheBrokerIsUpAreNotLost(t *testing.T) {
	fake := blinkfake.New(t, blinkfake.Config{})
	client := newFakeClient(t, fake, nil)
	broker := mqtttest.StartBroker(t)
	rec := mqtttest.NewBrokerRecorder(t, broker, "#")
	broker.Stop()
	polls := make(chan struct{}, 100)
	b, err := New(Options{
		Cloud: client, StateDir: t.TempDir(), Topics: topicsRoot("blink2mqtt"), Logger: testLogger(t),
		MQTT:         MQTTOptions{URL: broker.URL(), ClientID: "early", ConnectRetryInterval: 20 * time.Millisecond},
		PollInterval: 20 * time.Millisecond, MediaPollInterval: 20 * time.Millisecond,
		OnEvent: func(e Event) {
			if e.Kind == EventPoll && e.Name == "homescreen" {
				select {
				case polls <- struct{}{}:
				default:
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-polls
	d := deviceOf(t, fake, blink.FamilyCamera)
	m := fake.TriggerMotion(d.ID, "pir")
	for range 5 { // several poll rounds pass while the broker is down
		<-polls
	}
	broker.Start(t)
	rec.WaitFor(t, "blink2mqtt/events", mqtttest.Contains(fmt.Sprintf(`"id":%d`, m.ID)))
}
