package discovery

import (
	"slices"
	"strings"
	"testing"
)

func TestStateContract(t *testing.T) {
	opts := testOptions()
	tp := opts.Topics
	contract := StateContract(Build(opts, defaultAccount()))
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'}
	tests := []struct {
		topic   string
		payload string
		ok      bool
	}{
		{tp.NetworkEntity(4321, EntityAlarm), ArmedAway, true},
		{tp.NetworkEntity(4321, EntityAlarm), Disarmed, true},
		{tp.NetworkEntity(4321, EntityAlarm), Arming, true},
		{tp.NetworkEntity(4321, EntityAlarm), Disarming, true},
		{tp.NetworkEntity(4321, EntityAlarm), StateNone, true},
		{tp.NetworkEntity(4321, EntityAlarm), "armed", false},
		{tp.NetworkEntity(4321, EntityAlarm), "ARMED_AWAY", false},
		{tp.NetworkAvailability(4321), Online, true},
		{tp.NetworkAvailability(4321), "true", false},
		{tp.NetworkAttributes(4321), `{"armed":true,"time_zone":"Europe/Berlin"}`, true},
		{tp.NetworkAttributes(4321), `{"state":"x"}`, false},
		{tp.NetworkAttributes(4321), `[1]`, false},
		{tp.DeviceEntity(4321, 555, EntityMotion), On, true},
		{tp.DeviceEntity(4321, 555, EntityMotion), Off, true},
		{tp.DeviceEntity(4321, 555, EntityMotion), "on", false},
		{tp.DeviceEntity(4321, 555, EntityMotionDetection), On, true},
		{tp.DeviceEntity(4321, 555, EntityMotionDetection), "true", false},
		{tp.DeviceEntity(4321, 555, EntityBatteryLow), Off, true},
		{tp.DeviceEntity(4321, 555, EntityBatteryLow), "ok", false},
		{tp.DeviceEntity(4321, 555, EntityBatteryLevel), "3", true},
		{tp.DeviceEntity(4321, 555, EntityBatteryLevel), "full", false},
		{tp.DeviceEntity(4321, 555, EntityTemperature), "47", true},
		{tp.DeviceEntity(4321, 555, EntityTemperature), "-3", true},
		{tp.DeviceEntity(4321, 555, EntityTemperature), "47°F", false},
		{tp.DeviceEntity(4321, 555, EntityWiFi), "5", true},
		{tp.DeviceEntity(4321, 555, EntityWiFi), StateNone, true},
		{tp.DeviceEntity(4321, 555, EntityWiFi), "", false},
		{tp.DeviceEntity(4321, 555, EntityOnline), On, true},
		{tp.DeviceEntity(4321, 555, EntityOnline), Online, false},
		{tp.DeviceEntity(4321, 555, EntityLastEvent), "2026-03-01T17:05:12Z", true},
		{tp.DeviceEntity(4321, 555, EntityLastEvent), "2026-03-01T17:05:12+01:00", true},
		{tp.DeviceEntity(4321, 555, EntityLastEvent), StateNone, true},
		{tp.DeviceEntity(4321, 555, EntityLastEvent), "2026-03-01 17:05:12", false},
		{tp.DeviceEntity(4321, 555, EntityLastEvent), "1772384712", false},
		{tp.DeviceEntity(4321, 555, EntityEvent), `{"event_type":"motion","clip":"/x.mp4"}`, true},
		{tp.DeviceEntity(4321, 555, EntityEvent), `{"event_type":"doorbell"}`, false},
		{tp.DeviceEntity(4321, 999, EntityEvent), `{"event_type":"doorbell"}`, true},
		{tp.DeviceEntity(4321, 555, EntityEvent), `{"type":"motion"}`, false},
		{tp.DeviceEntity(4321, 555, EntityEvent), `motion`, false},
		{tp.DeviceEntity(4321, 555, EntityThumbnail), string(jpeg), true},
		{tp.DeviceEntity(4321, 555, EntityThumbnail), "", false},
		{tp.DeviceEntity(4321, 555, EntityThumbnail), "iVBORw0KGgo=", false},
		{tp.DeviceAvailability(4321, 555), Offline, true},
		{tp.DeviceAvailability(4321, 555), Off, false},
		{tp.DeviceAttributes(4321, 555), `{"serial":"G8V1000012345678","battery_voltage":1.54}`, true},
		{tp.DeviceAttributes(4321, 555), `{"unit_of_measurement":"V"}`, false},
		{tp.DeviceEntity(4321, 777, EntityLocalStorage), "active", true},
		{tp.DeviceEntity(4321, 777, EntityWiFi), "5", true},
		{tp.BridgeState(), Online, true},
		{tp.BridgeState(), Offline, true},
		{tp.BridgeState(), On, false},
		{tp.BridgeInfo(), `{"version":"1.2.3","api_requests_last_hour":12}`, true},
		{tp.BridgeEntity(BridgeAuthState), "code_required", true},
		{tp.BridgeEntity(BridgeAuthState), "waiting", false},
		{tp.BridgeEntity(BridgeAuthCode), "", true},
		{tp.BridgeEntity(BridgeAuthCode), "******", true},
		{tp.BridgeEntity(BridgeAuthCode), "123456", true},
		{tp.BridgeEntity(BridgeAuthCode), "12ab", false},
		{tp.BridgeEntity(BridgeAuthCode), strings.Repeat("1", 17), false},
		{tp.BridgeEntity(BridgeRequests), "12", true},
		{tp.BridgeEntity(BridgeRequests), "12 requests", false},
		{tp.BridgeEntity(BridgeCooldown), StateNone, true},
		{tp.BridgeEntity(BridgeCooldown), "2026-11-26T08:00:00Z", true},
		{tp.BridgeEntity(BridgeCooldown), "", false},
	}
	for _, tc := range tests {
		t.Run(tc.topic+"="+tc.payload, func(t *testing.T) {
			v, ok := contract[tc.topic]
			if !ok {
				t.Fatalf("no rule for %s", tc.topic)
			}
			err := v([]byte(tc.payload))
			if tc.ok && err != nil {
				t.Errorf("HA accepts %q on %s, contract says %v", tc.payload, tc.topic, err)
			}
			if !tc.ok && err == nil {
				t.Errorf("HA rejects %q on %s, contract accepted it", tc.payload, tc.topic)
			}
		})
	}

	// Topics no config reads have no rule, so a bridge test can flag state
	// published where HA never looks.
	for _, topic := range []string{tp.Events(), tp.DeviceEntity(4321, 555, EntitySnapshot), tp.DeviceEntity(4400, 888, EntityTemperature)} {
		if _, ok := contract[topic]; ok {
			t.Errorf("unexpected rule for %s", topic)
		}
	}
}

// TestStateContractCoversCaps: every state topic Caps implies has a rule.
func TestStateContractCoversCaps(t *testing.T) {
	opts := testOptions()
	hs := bigAccount()
	contract := StateContract(Build(opts, hs))
	for _, d := range hs.Devices {
		for _, k := range Caps(d).Keys() {
			if k == EntitySnapshot || k == EntityRecord {
				continue
			}
			if _, ok := contract[opts.Topics.DeviceEntity(d.NetworkID, d.ID, k)]; !ok {
				t.Errorf("device %d: no rule for %s", d.ID, k)
			}
		}
	}
}

func TestNonRetainedTopics(t *testing.T) {
	opts := testOptions()
	got := NonRetainedTopics(Build(opts, defaultAccount()))
	want := []string{
		opts.Topics.DeviceEntity(4321, 555, EntityEvent),
		opts.Topics.DeviceEntity(4321, 999, EntityEvent),
		opts.Topics.DeviceEntity(4400, 888, EntityEvent),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestCommands(t *testing.T) {
	opts := testOptions()
	tp := opts.Topics
	cmds := Commands(Build(opts, defaultAccount()))
	byTopic := map[string]Command{}
	for _, c := range cmds {
		byTopic[c.Topic] = c
		if !strings.HasSuffix(c.Topic, "/set") {
			t.Errorf("command topic %s outside the …/set subscriptions", c.Topic)
		}
		if len(c.Payloads) == 0 {
			t.Errorf("%s: no payloads", c.Topic)
		}
	}
	tests := []struct {
		topic    string
		payloads []string
		state    string
	}{
		{Set(tp.NetworkEntity(4321, EntityAlarm)), []string{ArmAway, Disarm}, tp.NetworkEntity(4321, EntityAlarm)},
		{Set(tp.DeviceEntity(4321, 555, EntityMotionDetection)), []string{On, Off}, tp.DeviceEntity(4321, 555, EntityMotionDetection)},
		{Set(tp.DeviceEntity(4321, 555, EntitySnapshot)), []string{Press}, ""},
		{Set(tp.DeviceEntity(4400, 888, EntityRecord)), []string{Press}, ""},
		{Set(tp.BridgeEntity(BridgeAuthCode)), []string{"123456"}, tp.BridgeEntity(BridgeAuthCode)},
		{Set(tp.BridgeEntity(BridgeAuthSubmit)), []string{Press}, ""},
		{Set(tp.BridgeEntity(BridgeRediscover)), []string{Press}, ""},
	}
	for _, tc := range tests {
		c, ok := byTopic[tc.topic]
		if !ok {
			t.Errorf("no command on %s", tc.topic)
			continue
		}
		if !slices.Equal(c.Payloads, tc.payloads) || c.StateTopic != tc.state {
			t.Errorf("%s: payloads %v state %q, want %v %q", tc.topic, c.Payloads, c.StateTopic, tc.payloads, tc.state)
		}
	}
	// Every command topic matches one of the bridge's subscriptions.
	for _, c := range cmds {
		if !slices.ContainsFunc(tp.SetSubscriptions(), func(sub string) bool { return topicMatches(sub, c.Topic) }) {
			t.Errorf("%s matches none of %v", c.Topic, tp.SetSubscriptions())
		}
	}
}

// topicMatches is MQTT filter matching for + and a trailing #.
func topicMatches(filter, topic string) bool {
	f, p := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, part := range f {
		if part == "#" {
			return true
		}
		if i >= len(p) || (part != "+" && part != p[i]) {
			return false
		}
	}
	return len(f) == len(p)
}

func TestRemovals(t *testing.T) {
	opts := testOptions()
	before := Build(opts, bigAccount())
	hs := bigAccount()
	hs.Devices = hs.Devices[:1] // every device but Front Yard leaves the account
	after := Build(opts, hs)

	rm := Removals(TopicsOf(before), after)
	if len(rm) == 0 {
		t.Fatal("no removals after devices left")
	}
	cur := map[string]bool{}
	for _, m := range after {
		cur[m.Topic] = true
	}
	for i, m := range rm {
		if len(m.Payload) != 0 || !m.Retained {
			t.Errorf("%s: removal must be an empty retained payload", m.Topic)
		}
		if cur[m.Topic] {
			t.Errorf("%s removed but still current", m.Topic)
		}
		if i > 0 && rm[i-1].Topic >= m.Topic {
			t.Errorf("removals not sorted/unique at %s", m.Topic)
		}
	}
	if len(rm)+len(after) != len(before) {
		t.Errorf("%d removals + %d current != %d before", len(rm), len(after), len(before))
	}
	if got := Removals(TopicsOf(after), after); len(got) != 0 {
		t.Errorf("nothing changed but %d removals", len(got))
	}
	// A ledger with repeats, and a topic whose current message is itself a
	// removal, both still yield one removal.
	dup := []string{"homeassistant/sensor/x/y/config", "homeassistant/sensor/x/y/config"}
	if got := Removals(dup, []Message{{Topic: dup[0], Retained: true}}); len(got) != 1 {
		t.Errorf("got %d removals, want 1", len(got))
	}
}
