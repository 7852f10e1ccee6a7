package bridge

import (
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// TestMosquittoIntegration runs the bridge against a real Mosquitto that
// the test starts on a free loopback port: arm with HA's payload, a
// request with a transaction, then Mosquitto killed and started again —
// state, discovery and subscriptions must come back and bridge/state must
// end online. Skipped when Mosquitto is not installed.
func TestMosquittoIntegration(t *testing.T) {
	m := mqtttest.StartMosquitto(t)
	e := newEnv(t, withBroker(m.URL()))

	net := e.fake.Networks()[1]
	topic := e.alarmTopic(net.ID)
	mark := e.rec.Mark()
	e.set(topic, discovery.ArmAway)
	e.rec.WaitForAfter(t, mark, topic, mqtttest.Equals(discovery.Arming))
	e.rec.WaitForAfter(t, mark, topic, mqtttest.Equals(discovery.ArmedAway))

	resp := e.request(OpDisarm, map[string]any{"network": net.ID, "transaction": "m1"})
	if resp["status"] != "ok" || resp["transaction"] != "m1" {
		t.Fatalf("disarm response = %v", resp)
	}

	// Kill Mosquitto (no persistence: every retained message is gone) and
	// start it again on the same port.
	m.Stop()
	m.Start(t)
	// The recorder reconnects by itself; wait for the bridge's snapshot.
	d := deviceOf(t, e.fake, blink.FamilyCamera)
	e.rec.Timeout = 2 * mqtttest.DefaultTimeout // both clients back off up to their reconnect cap
	got := func() map[string][]byte { return e.retained(e.topics.Root + "/#") }
	e.rec.WaitMatch(t, 0, "bridge state retained again", func(m mqtttest.Message) bool {
		if m.Topic != e.topics.BridgeState() && m.Topic != topic {
			return false
		}
		r := got()
		return string(r[e.topics.BridgeState()]) == online && string(r[topic]) == discovery.Disarmed &&
			len(r[e.topics.DeviceAvailability(d.NetworkID, d.ID)]) > 0
	})
	if n := len(e.retained("homeassistant/#")); n == 0 {
		t.Errorf("no discovery retained after the restart")
	}
	// Subscriptions are back: a command works.
	mark = e.rec.Mark()
	e.set(topic, discovery.ArmAway)
	e.rec.WaitForAfter(t, mark, topic, mqtttest.Equals(discovery.ArmedAway))
	if n, _ := e.fake.Network(net.ID); !n.Armed {
		t.Fatalf("network not armed after the broker restart")
	}
	if string(got()[e.topics.BridgeState()]) != online {
		t.Fatalf("bridge/state not online at the end")
	}
}
