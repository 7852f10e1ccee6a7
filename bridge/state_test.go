package bridge

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/hatest"
)

func testView(hs *blink.Homescreen) *stateView {
	return &stateView{
		now:         time.Date(2026, 3, 1, 18, 0, 0, 0, time.UTC),
		hs:          hs,
		blinkOK:     true,
		alarm:       map[int64]string{},
		motionUntil: map[devKey]time.Time{},
		lastEvent:   map[devKey]time.Time{},
		bridge:      bridgeView{auth: AuthStatus{State: AuthOK}, requestsHour: 12, info: []byte(`{"version":"x"}`)},
	}
}

// TestDesiredStateMatchesDiscovery checks every state payload against what
// the discovery configs declare (hatest.StateContract), and that every
// state topic the configs read is published, except images and events,
// which come from commands and media.
func TestDesiredStateMatchesDiscovery(t *testing.T) {
	topics := discovery.Topics{Root: "b2m"}
	hs := testHomescreen()
	msgs := discovery.Build(discovery.Options{Topics: topics, Version: "t", HoldTime: 30 * time.Second}, hs)
	contract := hatest.StateContract(msgs)

	views := map[string]*stateView{"idle": testView(hs)}
	busy := testView(hs)
	busy.alarm[4321] = discovery.Disarming
	busy.motionUntil[devKey{Network: 4321, Family: blink.FamilyCamera, ID: 555}] = busy.now.Add(time.Minute)
	busy.lastEvent[devKey{Network: 4321, Family: blink.FamilyCamera, ID: 555}] = busy.now.Add(-time.Minute)
	busy.bridge.auth = AuthStatus{State: AuthCodeRequired, Detail: "code sent by sms to ***12"}
	busy.bridge.codePending = true
	busy.bridge.cooldown = busy.now.Add(time.Hour)
	views["busy"] = busy
	off := testView(hs)
	off.blinkOK = false
	off.bridge.auth = AuthStatus{State: AuthReauthRequired, Detail: "log in again"}
	off.bridge.requestsHour = -1
	views["reauth"] = off

	for name, v := range views {
		t.Run(name, func(t *testing.T) {
			got := desiredState(topics, discovery.Caps, v)
			for topic, payload := range got {
				check, ok := contract[topic]
				if !ok {
					continue // bridge/auth, bridge/info, attributes of networks…
				}
				if err := check([]byte(payload)); err != nil {
					t.Errorf("%s = %q: %v", topic, payload, err)
				}
			}
			for topic := range contract {
				if strings.HasSuffix(topic, "/"+discovery.EntityThumbnail) || strings.HasSuffix(topic, "/"+discovery.EntityEvent) ||
					topic == topics.BridgeState() { // online/offline from the connection, not the state map
					continue
				}
				if _, ok := got[topic]; !ok {
					t.Errorf("discovery reads %s but the bridge publishes nothing there", topic)
				}
			}
			for _, topic := range hatest.NonRetainedTopics(msgs) {
				if _, ok := got[topic]; ok {
					t.Errorf("retained state published on event topic %s", topic)
				}
			}
		})
	}
}

func TestDesiredStateValues(t *testing.T) {
	topics := discovery.Topics{Root: "b2m"}
	hs := testHomescreen()
	hs.Devices[0].Status = "offline"
	v := testView(hs)
	v.alarm[4400] = discovery.Arming
	v.motionUntil[devKey{Network: 4321, Family: blink.FamilyDoorbell, ID: 999}] = v.now.Add(time.Second)
	got := desiredState(topics, discovery.Caps, v)
	want := map[string]string{
		"b2m/4321/alarm":                discovery.ArmedAway,
		"b2m/4400/alarm":                discovery.Arming,
		"b2m/4321/availability":         online,
		"b2m/4321/555/availability":     offline, // Blink says offline
		"b2m/4321/555/online":           discovery.Off,
		"b2m/4321/555/temperature":      "68",
		"b2m/4321/555/battery_level":    "3",
		"b2m/4321/555/wifi":             "4",
		"b2m/4321/555/battery_low":      discovery.Off,
		"b2m/4321/555/motion_detection": discovery.On,
		"b2m/4321/555/last_event":       discovery.StateNone,
		"b2m/4321/999/battery_low":      discovery.On,
		"b2m/4321/999/motion":           discovery.On,
		"b2m/4321/999/availability":     online,
		"b2m/4400/888/motion_detection": discovery.Off,
		"b2m/4321/777/online":           discovery.On,
		"b2m/4321/777/local_storage":    "active",
		"b2m/4321/777/wifi":             "5",
		"b2m/4321/777/availability":     online,
		"b2m/bridge/auth":               `{"state":"ok","detail":""}`,
		"b2m/bridge/auth_state":         "ok",
		"b2m/bridge/auth_code":          "",
		"b2m/bridge/api_requests_hour":  "12",
		"b2m/bridge/cooldown_until":     discovery.StateNone,
		"b2m/bridge/info":               `{"version":"x"}`,
	}
	for topic, w := range want {
		if got[topic] != w {
			t.Errorf("%s = %q, want %q", topic, got[topic], w)
		}
	}
	for _, absent := range []string{"b2m/4321/999/temperature", "b2m/4400/888/battery_low", "b2m/4321/555/thumbnail", "b2m/4321/555/event"} {
		if _, ok := got[absent]; ok {
			t.Errorf("%s published, want absent (no such capability or not retained state)", absent)
		}
	}
	var attrs map[string]any
	if err := json.Unmarshal([]byte(got["b2m/4321/555/attributes"]), &attrs); err != nil {
		t.Fatalf("attributes: %v", err)
	}
	if attrs["name"] != "Front Yard" || attrs["temperature_f"] != float64(68) || attrs["online"] != false {
		t.Errorf("attributes = %v", attrs)
	}
	// Pure: the same view gives the same map.
	if again := desiredState(topics, discovery.Caps, v); !maps.Equal(got, again) {
		t.Errorf("desiredState is not deterministic")
	}
}

// TestDiscoveryFingerprintCoversBuild guards discoveryFingerprint: changing
// any field it ignores must leave discovery.Build's output unchanged, and
// changing a field it covers must change the fingerprint.
func TestDiscoveryFingerprintCoversBuild(t *testing.T) {
	opts := discovery.Options{Topics: discovery.Topics{Root: "b2m"}, Version: "t"}
	base := testHomescreen()
	build := func(hs *blink.Homescreen) []discovery.Message { return discovery.Build(opts, hs) }
	ignored := map[string]func(*blink.Homescreen){
		"armed":        func(h *blink.Homescreen) { h.Networks[0].Armed = !h.Networks[0].Armed },
		"net updated":  func(h *blink.Homescreen) { h.Networks[0].UpdatedAt = time.Now() },
		"enabled":      func(h *blink.Homescreen) { h.Devices[0].Enabled = !h.Devices[0].Enabled },
		"status":       func(h *blink.Homescreen) { h.Devices[0].Status = "offline" },
		"battery":      func(h *blink.Homescreen) { h.Devices[0].Battery = "low" },
		"thumbnail":    func(h *blink.Homescreen) { h.Devices[0].Thumbnail += "1" },
		"dev updated":  func(h *blink.Homescreen) { h.Devices[0].UpdatedAt = time.Now() },
		"temp value":   func(h *blink.Homescreen) { v := 12; h.Devices[0].Signals.TemperatureF = &v },
		"sm status":    func(h *blink.Homescreen) { h.SyncModules[0].Status = "offline" },
		"sm heartbeat": func(h *blink.Homescreen) { h.SyncModules[0].LastHeartbeat = time.Now() },
		"sm wifi":      func(h *blink.Homescreen) { h.SyncModules[0].WiFiBars = 1 },
		"sm storage":   func(h *blink.Homescreen) { h.SyncModules[0].LocalStorageStatus = "unavailable" },
	}
	want := build(base)
	fp := discoveryFingerprint(base)
	for name, mutate := range ignored {
		hs := cloneHS(base)
		sig := *base.Devices[0].Signals
		hs.Devices[0].Signals = &sig
		mutate(hs)
		if discoveryFingerprint(hs) != fp {
			continue // covered after all: always safe
		}
		if got := build(hs); !slices.EqualFunc(got, want, func(a, b discovery.Message) bool {
			return a.Topic == b.Topic && string(a.Payload) == string(b.Payload)
		}) {
			t.Errorf("%s: discovery output changed but the fingerprint did not", name)
		}
	}
	covered := map[string]func(*blink.Homescreen){
		"name":     func(h *blink.Homescreen) { h.Devices[0].Name = "Back" },
		"firmware": func(h *blink.Homescreen) { h.Devices[0].FirmwareVersion = "9" },
		"new device": func(h *blink.Homescreen) {
			h.Devices = append(h.Devices, blink.Device{ID: 1, NetworkID: 4321, Family: blink.FamilyOwl})
		},
		"no battery":  func(h *blink.Homescreen) { h.Devices[0].Battery = "" },
		"no signals":  func(h *blink.Homescreen) { h.Devices[0].Signals = nil },
		"network":     func(h *blink.Homescreen) { h.Networks[0].Name = "Cottage" },
		"sync module": func(h *blink.Homescreen) { h.SyncModules[0].Name = "SM" },
	}
	for name, mutate := range covered {
		hs := cloneHS(base)
		mutate(hs)
		if discoveryFingerprint(hs) == fp {
			t.Errorf("%s: fingerprint unchanged", name)
		}
	}
}
