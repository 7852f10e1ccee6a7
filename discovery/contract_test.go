package discovery_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/hatest"
)

// These tests read Build's configs the way Home Assistant does (hatest), so
// they live outside package discovery: hatest imports discovery.

func TestStateContract(t *testing.T) {
	opts := discovery.FixtureOptions()
	tp := opts.Topics
	contract := hatest.StateContract(discovery.Build(opts, discovery.FixtureAccount()))
	jpeg := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F'}
	tests := []struct {
		topic   string
		payload string
		ok      bool
	}{
		{tp.NetworkEntity(4321, discovery.EntityAlarm), discovery.ArmedAway, true},
		{tp.NetworkEntity(4321, discovery.EntityAlarm), discovery.Disarmed, true},
		{tp.NetworkEntity(4321, discovery.EntityAlarm), discovery.Arming, true},
		{tp.NetworkEntity(4321, discovery.EntityAlarm), discovery.Disarming, true},
		{tp.NetworkEntity(4321, discovery.EntityAlarm), discovery.StateNone, true},
		{tp.NetworkEntity(4321, discovery.EntityAlarm), "armed", false},
		{tp.NetworkEntity(4321, discovery.EntityAlarm), "ARMED_AWAY", false},
		{tp.NetworkAvailability(4321), discovery.Online, true},
		{tp.NetworkAvailability(4321), "true", false},
		{tp.NetworkAttributes(4321), `{"armed":true,"time_zone":"Europe/Berlin"}`, true},
		{tp.NetworkAttributes(4321), `{"state":"x"}`, false},
		{tp.NetworkAttributes(4321), `[1]`, false},
		{tp.DeviceEntity(4321, 555, discovery.EntityMotion), discovery.On, true},
		{tp.DeviceEntity(4321, 555, discovery.EntityMotion), discovery.Off, true},
		{tp.DeviceEntity(4321, 555, discovery.EntityMotion), "on", false},
		{tp.DeviceEntity(4321, 555, discovery.EntityMotionDetection), discovery.On, true},
		{tp.DeviceEntity(4321, 555, discovery.EntityMotionDetection), "true", false},
		{tp.DeviceEntity(4321, 555, discovery.EntityBatteryLow), discovery.Off, true},
		{tp.DeviceEntity(4321, 555, discovery.EntityBatteryLow), "ok", false},
		{tp.DeviceEntity(4321, 555, discovery.EntityBatteryLevel), "3", true},
		{tp.DeviceEntity(4321, 555, discovery.EntityBatteryLevel), "full", false},
		{tp.DeviceEntity(4321, 555, discovery.EntityTemperature), "47", true},
		{tp.DeviceEntity(4321, 555, discovery.EntityTemperature), "-3", true},
		{tp.DeviceEntity(4321, 555, discovery.EntityTemperature), "47°F", false},
		{tp.DeviceEntity(4321, 555, discovery.EntityWiFi), "5", true},
		{tp.DeviceEntity(4321, 555, discovery.EntityWiFi), discovery.StateNone, true},
		{tp.DeviceEntity(4321, 555, discovery.EntityWiFi), "", false},
		{tp.DeviceEntity(4321, 555, discovery.EntityOnline), discovery.On, true},
		{tp.DeviceEntity(4321, 555, discovery.EntityOnline), discovery.Online, false},
		{tp.DeviceEntity(4321, 555, discovery.EntityLastEvent), "2026-03-01T17:05:12Z", true},
		{tp.DeviceEntity(4321, 555, discovery.EntityLastEvent), "2026-03-01T17:05:12+01:00", true},
		{tp.DeviceEntity(4321, 555, discovery.EntityLastEvent), discovery.StateNone, true},
		{tp.DeviceEntity(4321, 555, discovery.EntityLastEvent), "2026-03-01 17:05:12", false},
		{tp.DeviceEntity(4321, 555, discovery.EntityLastEvent), "1772384712", false},
		{tp.DeviceEntity(4321, 555, discovery.EntityEvent), `{"event_type":"motion","clip":"/x.mp4"}`, true},
		{tp.DeviceEntity(4321, 555, discovery.EntityEvent), `{"event_type":"doorbell"}`, false},
		{tp.DeviceEntity(4321, 999, discovery.EntityEvent), `{"event_type":"doorbell"}`, true},
		{tp.DeviceEntity(4321, 555, discovery.EntityEvent), `{"type":"motion"}`, false},
		{tp.DeviceEntity(4321, 555, discovery.EntityEvent), `motion`, false},
		{tp.DeviceEntity(4321, 555, discovery.EntityThumbnail), string(jpeg), true},
		{tp.DeviceEntity(4321, 555, discovery.EntityThumbnail), "", false},
		{tp.DeviceEntity(4321, 555, discovery.EntityThumbnail), "iVBORw0KGgo=", false},
		{tp.DeviceAvailability(4321, 555), discovery.Offline, true},
		{tp.DeviceAvailability(4321, 555), discovery.Off, false},
		{tp.DeviceAttributes(4321, 555), `{"serial":"G8V1000012345678","battery_voltage":1.54}`, true},
		{tp.DeviceAttributes(4321, 555), `{"unit_of_measurement":"V"}`, false},
		{tp.DeviceEntity(4321, 777, discovery.EntityLocalStorage), "active", true},
		{tp.DeviceEntity(4321, 777, discovery.EntityWiFi), "5", true},
		{tp.BridgeState(), discovery.Online, true},
		{tp.BridgeState(), discovery.Offline, true},
		{tp.BridgeState(), discovery.On, false},
		{tp.BridgeInfo(), `{"version":"1.2.3","api_requests_last_hour":12}`, true},
		{tp.BridgeEntity(discovery.BridgeAuthState), "code_required", true},
		{tp.BridgeEntity(discovery.BridgeAuthState), "waiting", false},
		{tp.BridgeEntity(discovery.BridgeAuthCode), "", true},
		{tp.BridgeEntity(discovery.BridgeAuthCode), "******", true},
		{tp.BridgeEntity(discovery.BridgeAuthCode), "123456", true},
		{tp.BridgeEntity(discovery.BridgeAuthCode), "12ab", false},
		{tp.BridgeEntity(discovery.BridgeAuthCode), strings.Repeat("1", 17), false},
		{tp.BridgeEntity(discovery.BridgeRequests), "12", true},
		{tp.BridgeEntity(discovery.BridgeRequests), "12 requests", false},
		{tp.BridgeEntity(discovery.BridgeCooldown), discovery.StateNone, true},
		{tp.BridgeEntity(discovery.BridgeCooldown), "2026-11-26T08:00:00Z", true},
		{tp.BridgeEntity(discovery.BridgeCooldown), "", false},
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
	for _, topic := range []string{tp.Events(), tp.DeviceEntity(4321, 555, discovery.EntitySnapshot), tp.DeviceEntity(4400, 888, discovery.EntityTemperature)} {
		if _, ok := contract[topic]; ok {
			t.Errorf("unexpected rule for %s", topic)
		}
	}
}

// TestStateContractCoversCaps: every state topic Caps implies has a rule.
func TestStateContractCoversCaps(t *testing.T) {
	opts := discovery.FixtureOptions()
	hs := discovery.FixtureBigAccount()
	contract := hatest.StateContract(discovery.Build(opts, hs))
	for _, d := range hs.Devices {
		for _, k := range discovery.Caps(d).Keys() {
			if k == discovery.EntitySnapshot || k == discovery.EntityRecord {
				continue
			}
			if _, ok := contract[opts.Topics.DeviceEntity(d.NetworkID, d.ID, k)]; !ok {
				t.Errorf("device %d: no rule for %s", d.ID, k)
			}
		}
	}
}

func TestNonRetainedTopics(t *testing.T) {
	opts := discovery.FixtureOptions()
	got := hatest.NonRetainedTopics(discovery.Build(opts, discovery.FixtureAccount()))
	want := []string{
		opts.Topics.DeviceEntity(4321, 555, discovery.EntityEvent),
		opts.Topics.DeviceEntity(4321, 999, discovery.EntityEvent),
		opts.Topics.DeviceEntity(4400, 888, discovery.EntityEvent),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestCommands(t *testing.T) {
	opts := discovery.FixtureOptions()
	tp := opts.Topics
	cmds := hatest.Commands(discovery.Build(opts, discovery.FixtureAccount()))
	byTopic := map[string]hatest.Command{}
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
		{discovery.Set(tp.NetworkEntity(4321, discovery.EntityAlarm)), []string{discovery.ArmAway, discovery.Disarm}, tp.NetworkEntity(4321, discovery.EntityAlarm)},
		{discovery.Set(tp.DeviceEntity(4321, 555, discovery.EntityMotionDetection)), []string{discovery.On, discovery.Off}, tp.DeviceEntity(4321, 555, discovery.EntityMotionDetection)},
		{discovery.Set(tp.DeviceEntity(4321, 555, discovery.EntitySnapshot)), []string{discovery.Press}, ""},
		{discovery.Set(tp.DeviceEntity(4400, 888, discovery.EntityRecord)), []string{discovery.Press}, ""},
		{discovery.Set(tp.BridgeEntity(discovery.BridgeAuthCode)), []string{"123456"}, tp.BridgeEntity(discovery.BridgeAuthCode)},
		{discovery.Set(tp.BridgeEntity(discovery.BridgeAuthSubmit)), []string{discovery.Press}, ""},
		{discovery.Set(tp.BridgeEntity(discovery.BridgeRediscover)), []string{discovery.Press}, ""},
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
