// Package hatest is Home Assistant's side of blink2mqtt's MQTT contract, for
// tests: given the discovery configs the bridge publishes, it says which
// payloads HA accepts on each topic they point at (StateContract), which of
// those topics must not be retained (NonRetainedTopics), and what HA sends
// on each command topic (Commands). It reads configs the way HA does, with
// HA's defaults for keys left out. Nothing in the daemon imports it.
package hatest

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// config is the part of a discovery payload the contract reads. Only full
// key names are understood; discovery.Build never abbreviates.
type config struct {
	component           string
	UniqueID            string              `json:"unique_id"`
	StateTopic          string              `json:"state_topic"`
	CommandTopic        string              `json:"command_topic"`
	ImageTopic          string              `json:"image_topic"`
	URLTopic            string              `json:"url_topic"`
	Topic               string              `json:"topic"`
	JSONAttributesTopic string              `json:"json_attributes_topic"`
	DeviceClass         string              `json:"device_class"`
	StateClass          string              `json:"state_class"`
	Unit                string              `json:"unit_of_measurement"`
	Options             []string            `json:"options"`
	EventTypes          []string            `json:"event_types"`
	PayloadOn           *string             `json:"payload_on"`
	PayloadOff          *string             `json:"payload_off"`
	StateOn             *string             `json:"state_on"`
	StateOff            *string             `json:"state_off"`
	PayloadPress        *string             `json:"payload_press"`
	PayloadArmAway      *string             `json:"payload_arm_away"`
	PayloadArmHome      *string             `json:"payload_arm_home"`
	PayloadArmNight     *string             `json:"payload_arm_night"`
	PayloadArmVacation  *string             `json:"payload_arm_vacation"`
	PayloadArmCustom    *string             `json:"payload_arm_custom_bypass"`
	PayloadTrigger      *string             `json:"payload_trigger"`
	PayloadDisarm       *string             `json:"payload_disarm"`
	SupportedFeatures   []string            `json:"supported_features"`
	ContentType         string              `json:"content_type"`
	ImageEncoding       string              `json:"image_encoding"`
	Min                 *float64            `json:"min"`
	Max                 *float64            `json:"max"`
	Step                *float64            `json:"step"`
	Pattern             string              `json:"pattern"`
	Availability        []availabilityEntry `json:"-"`
	AvailabilityTopic   string              `json:"availability_topic"`
	PayloadAvailable    *string             `json:"payload_available"`
	PayloadNotAvailable *string             `json:"payload_not_available"`
	RawAvailability     json.RawMessage     `json:"availability"`
}

type availabilityEntry struct {
	Topic               string  `json:"topic"`
	PayloadAvailable    *string `json:"payload_available"`
	PayloadNotAvailable *string `json:"payload_not_available"`
}

// or is a config value, or HA's default when the key is left out.
func or(p *string, def string) string {
	if p != nil {
		return *p
	}
	return def
}

// componentOf returns the component of a discovery config topic
// "<prefix>/<component>/[<node_id>/]<object_id>/config"; the prefix may
// itself hold slashes, so the known component names decide.
func componentOf(topic string) string {
	p := strings.Split(topic, "/")
	n := len(p)
	if n >= 5 && knownComponent(p[n-4]) {
		return p[n-4]
	}
	if n >= 4 {
		return p[n-3]
	}
	return ""
}

func knownComponent(c string) bool {
	switch c {
	case "alarm_control_panel", "binary_sensor", "button", "camera", "event", "image",
		"sensor", "switch", "text", "number", "select", "update":
		return true
	}
	return false
}

// mustParse reads every config in msgs, skipping removals (empty payloads).
// A payload that is not a config panics: discovery.Build never makes one, so
// it is a bug in the test that passed it.
func mustParse(msgs []discovery.Message) []config {
	cs, err := parse(msgs)
	if err != nil {
		panic(err)
	}
	return cs
}

func parse(msgs []discovery.Message) ([]config, error) {
	var cs []config
	for _, m := range msgs {
		if len(m.Payload) == 0 {
			continue
		}
		var c config
		if err := json.Unmarshal(m.Payload, &c); err != nil {
			return nil, fmt.Errorf("hatest: parse %s: %w", m.Topic, err)
		}
		c.component = componentOf(m.Topic)
		if len(c.RawAvailability) > 0 {
			if err := json.Unmarshal(c.RawAvailability, &c.Availability); err != nil {
				var one availabilityEntry
				if err2 := json.Unmarshal(c.RawAvailability, &one); err2 != nil {
					return nil, fmt.Errorf("hatest: parse availability of %s: %w", m.Topic, err)
				}
				c.Availability = []availabilityEntry{one}
			}
		}
		cs = append(cs, c)
	}
	return cs, nil
}
