package bridge

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// End-to-end tests against the fake cloud for what the fake only recently
// learned: a camera and a Mini sharing an id, and heartbeats that move.

const (
	sharedNet int64 = 410_000_100
	sharedID  int64 = 630_000_555
)

// TestE2EIdentitySharedIDAcrossFamilies: Blink numbers families on their
// own; the camera keeps <root>/<net>/<id>/…, the Mini gets owl-<id>, and
// commands and motion reach only the device they name.
func TestE2EIdentitySharedIDAcrossFamilies(t *testing.T) {
	e := newEnv(t, withFake(blinkfake.Config{Account: &blinkfake.Account{
		Networks: []blinkfake.Network{{ID: sharedNet, Name: "Home", Armed: true, SyncModule: &blinkfake.SyncModule{}}},
		Devices: []blinkfake.Device{
			{ID: sharedID, NetworkID: sharedNet, Family: blink.FamilyCamera, Type: "catalina", Name: "Front Yard", Enabled: true},
			{ID: sharedID, NetworkID: sharedNet, Family: blink.FamilyOwl, Type: "owl", Name: "Porch Mini", Enabled: true},
		},
	}}))
	cam := fmt.Sprintf("%s/%d/%d/", e.topics.Root, sharedNet, sharedID)
	owl := fmt.Sprintf("%s/%d/owl-%d/", e.topics.Root, sharedNet, sharedID)
	owlRef := blink.DeviceRef{Family: blink.FamilyOwl, NetworkID: sharedNet, ID: sharedID}

	t.Run("attributes carry each one's name", func(t *testing.T) {
		for topic, want := range map[string]string{cam + "attributes": "Front Yard", owl + "attributes": "Porch Mini"} {
			m := e.rec.WaitFor(t, topic, mqtttest.Any)
			var attrs map[string]any
			if err := json.Unmarshal(m.Payload, &attrs); err != nil || attrs["name"] != want {
				t.Errorf("%s = %s, want the attributes of %q", topic, m.Payload, want)
			}
		}
	})

	t.Run("the Mini's snapshot button reaches the owl endpoint", func(t *testing.T) {
		mark := e.rec.Mark()
		e.set(owl+"snapshot", "PRESS")
		e.rec.WaitForAfter(t, mark, owl+"thumbnail", mqtttest.Any)
		if n, c := e.fake.Count(blinkfake.EpOwlThumbnail), e.fake.Count(blinkfake.EpCameraThumbnail); n != 1 || c != 0 {
			t.Errorf("owl thumbnail requests %d, camera thumbnail requests %d; want 1 and 0", n, c)
		}
		if n := e.rec.Count(mark, cam+"thumbnail"); n != 0 {
			t.Errorf("the camera's thumbnail was published %d times for the Mini's snapshot", n)
		}
	})

	t.Run("a request by id alone must name the family", func(t *testing.T) {
		resp := e.request(OpSnapshot, map[string]any{"device": sharedID})
		if resp["status"] != "error" || !strings.Contains(fmt.Sprint(resp["error"]), "family") {
			t.Errorf("snapshot of a shared id = %v, want an error asking for the family", resp)
		}
		before := e.fake.Count(blinkfake.EpOwlThumbnail)
		resp = e.request(OpSnapshot, map[string]any{"device": sharedID, "family": "owl"})
		if resp["status"] != "ok" {
			t.Fatalf("snapshot with family owl = %v", resp)
		}
		if n := e.fake.Count(blinkfake.EpOwlThumbnail); n != before+1 || e.fake.Count(blinkfake.EpCameraThumbnail) != 0 {
			t.Errorf("owl thumbnail requests %d → %d, camera %d; want one more owl and no camera",
				before, n, e.fake.Count(blinkfake.EpCameraThumbnail))
		}
	})

	t.Run("motion on the Mini turns on only the Mini's motion", func(t *testing.T) {
		e.rec.WaitFor(t, owl+"motion", mqtttest.Equals("OFF"))
		mark := e.rec.Mark()
		if m := e.fake.TriggerMotionOn(owlRef, "pir"); m.ID == 0 {
			t.Fatal("the fake recorded no clip")
		}
		if resp := e.request(OpRefresh, map[string]any{}); resp["status"] != "ok" {
			t.Fatalf("refresh: %v", resp)
		}
		e.rec.WaitForAfter(t, mark, owl+"motion", mqtttest.Equals("ON"))
		for _, m := range e.rec.Since(mark) {
			if m.Topic == cam+"motion" && string(m.Payload) == "ON" {
				t.Errorf("the camera's motion turned ON for the Mini's clip")
			}
		}
	})
}

// TestE2EHeartbeatIdleAccountPublishesNothing: sync modules check in once a
// minute; an account where nothing else happens publishes nothing across
// many polls within one 15-minute heartbeat step, and no attributes carry
// the heartbeat.
func TestE2EHeartbeatIdleAccountPublishesNothing(t *testing.T) {
	// Near real time (the client judges token expiry by its own clock), at
	// the start of a 15-minute step so the polls below stay inside it.
	clock := blinkfake.NewClock(time.Now().UTC().Truncate(15 * time.Minute).Add(90 * time.Second))
	e := newEnv(t, withFake(blinkfake.Config{Now: clock.Now}))
	heartbeats := func() map[int64]time.Time {
		hb := map[int64]time.Time{}
		for _, n := range e.fake.Networks() {
			if n.SyncModule != nil {
				hb[n.SyncModule.ID] = n.SyncModule.LastHeartbeat
			}
		}
		return hb
	}
	before := heartbeats()
	if len(before) == 0 {
		t.Fatal("the fake account has no sync module")
	}

	mark := e.rec.Mark()
	const polls = 8
	for range polls {
		clock.Add(time.Minute)
		if resp := e.request(OpRefresh, map[string]any{}); resp["status"] != "ok" {
			t.Fatalf("refresh: %v", resp)
		}
	}
	for id, hb := range heartbeats() {
		if moved := hb.Sub(before[id]); moved < (polls-1)*time.Minute {
			t.Fatalf("sync module %d's heartbeat moved %s in %d minutes; the test would prove nothing", id, moved, polls)
		}
	}
	for _, m := range e.rec.Since(mark) {
		if !strings.HasPrefix(m.Topic, e.topics.RequestPrefix()) && m.Topic != e.topics.Response(OpRefresh) {
			t.Errorf("an idle account published %s = %.80s", m.Topic, m.Payload)
		}
	}

	// The heartbeat has a topic of its own; attributes never carry it.
	var seen int
	for _, m := range e.rec.Messages() {
		if !strings.HasSuffix(m.Topic, "/attributes") {
			continue
		}
		seen++
		var attrs map[string]any
		if err := json.Unmarshal(m.Payload, &attrs); err != nil {
			t.Errorf("%s is not a JSON object: %.80s", m.Topic, m.Payload)
			continue
		}
		for k, v := range attrs {
			if strings.Contains(k, "heartbeat") || strings.Contains(k, "last_hb") {
				t.Errorf("%s carries %q = %v", m.Topic, k, v)
			}
		}
	}
	if seen == 0 {
		t.Error("no attributes were published at all")
	}
}
