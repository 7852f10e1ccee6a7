package discovery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Validator checks one payload published on a state topic.
type Validator func(payload []byte) error

// config is the part of a discovery payload the contract reads. Only full
// key names are understood; Build never abbreviates.
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
	if n >= 5 && knownComponents[p[n-4]] {
		return p[n-4]
	}
	if n >= 4 {
		return p[n-3]
	}
	return ""
}

var knownComponents = map[string]bool{
	"alarm_control_panel": true, "binary_sensor": true, "button": true, "camera": true,
	"event": true, "image": true, "sensor": true, "switch": true, "text": true,
	"number": true, "select": true, "update": true,
}

func parseConfigs(msgs []Message) ([]config, error) {
	var cs []config
	for _, m := range msgs {
		if len(m.Payload) == 0 {
			continue
		}
		var c config
		if err := json.Unmarshal(m.Payload, &c); err != nil {
			return nil, fmt.Errorf("discovery: parse %s: %w", m.Topic, err)
		}
		c.component = componentOf(m.Topic)
		if len(c.RawAvailability) > 0 {
			if err := json.Unmarshal(c.RawAvailability, &c.Availability); err != nil {
				var one availabilityEntry
				if err2 := json.Unmarshal(c.RawAvailability, &one); err2 != nil {
					return nil, fmt.Errorf("discovery: parse availability of %s: %w", m.Topic, err)
				}
				c.Availability = []availabilityEntry{one}
			}
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// AlarmStates are the alarm_control_panel state payloads HA accepts.
var AlarmStates = []string{
	"disarmed", "armed_home", "armed_away", "armed_night", "armed_vacation",
	"armed_custom_bypass", "pending", "arming", "disarming", "triggered",
}

// blockedAttributes are keys HA drops from json_attributes (with a warning);
// the list is the documented examples plus HA's common entity properties.
var blockedAttributes = []string{
	"assumed_state", "available", "device_class", "entity_category", "entity_id",
	"entity_picture", "friendly_name", "icon", "state", "state_class",
	"supported_features", "unique_id", "unit_of_measurement",
}

// nonNumericSensorClasses are the sensor device classes whose state is not a number.
var nonNumericSensorClasses = map[string]bool{"date": true, "enum": true, "timestamp": true, "uptime": true}

// StateContract maps every topic the configs in msgs tell HA to read — state,
// image, attributes and availability topics — to a check that a payload is
// one HA would accept there: alarm states, payload_on/payload_off, RFC 3339
// timestamps, numbers for numeric sensors, enum options, text length and
// pattern, event JSON with a declared event_type, JPEG bytes for images, a
// JSON object for attributes. A topic several configs read must satisfy
// every one of them. Removal messages (empty payloads) are skipped; a
// payload that is not a config makes StateContract panic, since Build never
// produces one.
//
// Event topics must also not be retained: see NonRetainedTopics.
func StateContract(msgs []Message) map[string]Validator {
	cs, err := parseConfigs(msgs)
	if err != nil {
		panic(err)
	}
	rules := map[string][]Validator{}
	add := func(topic string, v Validator) {
		if topic != "" {
			rules[topic] = append(rules[topic], v)
		}
	}
	for _, c := range cs {
		for _, a := range c.Availability {
			add(a.Topic, oneOf("availability", or(a.PayloadAvailable, Online), or(a.PayloadNotAvailable, Offline)))
		}
		if c.AvailabilityTopic != "" {
			add(c.AvailabilityTopic, oneOf("availability", or(c.PayloadAvailable, Online), or(c.PayloadNotAvailable, Offline)))
		}
		add(c.JSONAttributesTopic, attributes)
		switch c.component {
		case "alarm_control_panel":
			add(c.StateTopic, oneOf("alarm state", append(slices.Clone(AlarmStates), StateNone)...))
		case "binary_sensor":
			add(c.StateTopic, oneOf("binary_sensor state", or(c.PayloadOn, On), or(c.PayloadOff, Off), StateNone))
		case "switch":
			on, off := or(c.PayloadOn, On), or(c.PayloadOff, Off)
			add(c.StateTopic, oneOf("switch state", or(c.StateOn, on), or(c.StateOff, off), StateNone))
		case "sensor":
			add(c.StateTopic, sensorValidator(c))
		case "text":
			add(c.StateTopic, textValidator(c))
		case "event":
			add(c.StateTopic, eventValidator(c.EventTypes))
		case "image":
			if c.ImageTopic != "" {
				add(c.ImageTopic, imageValidator(c.ContentType, c.ImageEncoding))
			}
			add(c.URLTopic, urlValidator)
		case "camera":
			add(c.Topic, imageValidator("", c.ImageEncoding))
		case "button":
			// no state
		default:
			add(c.StateTopic, utf8State)
		}
	}
	out := make(map[string]Validator, len(rules))
	for t, vs := range rules {
		out[t] = func(p []byte) error {
			for _, v := range vs {
				if err := v(p); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return out
}

// NonRetainedTopics returns the state topics that must never carry a
// retained message: HA ignores replayed retained events, so an event
// published retained is lost (or, worse, fires again for other clients).
func NonRetainedTopics(msgs []Message) []string {
	cs, err := parseConfigs(msgs)
	if err != nil {
		panic(err)
	}
	var t []string
	for _, c := range cs {
		if c.component == "event" && c.StateTopic != "" {
			t = append(t, c.StateTopic)
		}
	}
	slices.Sort(t)
	return slices.Compact(t)
}

// Command is one command topic and the payloads HA sends on it.
type Command struct {
	Topic     string
	Component string
	UniqueID  string
	Payloads  []string
	// StateTopic is the topic HA expects to follow the command ("" for buttons).
	StateTopic string
}

// Commands lists every command topic in msgs with the payloads HA sends
// there (alarm actions it supports, switch on/off, button press, a sample
// 2FA code for text), sorted by topic, for end-to-end tests that drive the
// bridge the way HA would.
func Commands(msgs []Message) []Command {
	cs, err := parseConfigs(msgs)
	if err != nil {
		panic(err)
	}
	var out []Command
	for _, c := range cs {
		if c.CommandTopic == "" {
			continue
		}
		cmd := Command{Topic: c.CommandTopic, Component: c.component, UniqueID: c.UniqueID, StateTopic: c.StateTopic}
		switch c.component {
		case "alarm_control_panel":
			feats := c.SupportedFeatures
			if feats == nil {
				feats = []string{"arm_home", "arm_away", "arm_night", "arm_vacation", "arm_custom_bypass", "trigger"}
			}
			for _, f := range feats {
				switch f {
				case "arm_home":
					cmd.Payloads = append(cmd.Payloads, or(c.PayloadArmHome, "ARM_HOME"))
				case "arm_away":
					cmd.Payloads = append(cmd.Payloads, or(c.PayloadArmAway, ArmAway))
				case "arm_night":
					cmd.Payloads = append(cmd.Payloads, or(c.PayloadArmNight, "ARM_NIGHT"))
				case "arm_vacation":
					cmd.Payloads = append(cmd.Payloads, or(c.PayloadArmVacation, "ARM_VACATION"))
				case "arm_custom_bypass":
					cmd.Payloads = append(cmd.Payloads, or(c.PayloadArmCustom, "ARM_CUSTOM_BYPASS"))
				case "trigger":
					cmd.Payloads = append(cmd.Payloads, or(c.PayloadTrigger, "TRIGGER"))
				}
			}
			cmd.Payloads = append(cmd.Payloads, or(c.PayloadDisarm, Disarm))
		case "switch":
			cmd.Payloads = []string{or(c.PayloadOn, On), or(c.PayloadOff, Off)}
		case "button":
			cmd.Payloads = []string{or(c.PayloadPress, Press)}
		case "text":
			v := textValidator(c)
			for _, s := range []string{"123456", "abcdef", ""} {
				if v([]byte(s)) == nil {
					cmd.Payloads = []string{s}
					break
				}
			}
		}
		out = append(out, cmd)
	}
	slices.SortFunc(out, func(a, b Command) int { return strings.Compare(a.Topic, b.Topic) })
	return out
}

func oneOf(what string, allowed ...string) Validator {
	return func(p []byte) error {
		if slices.Contains(allowed, string(p)) {
			return nil
		}
		return fmt.Errorf("%s %q: want one of %q", what, p, allowed)
	}
}

func utf8State(p []byte) error {
	if !utf8.Valid(p) {
		return errors.New("state is not UTF-8")
	}
	if utf8.RuneCount(p) > 255 {
		return fmt.Errorf("state of %d characters: HA keeps at most 255", utf8.RuneCount(p))
	}
	return nil
}

func sensorValidator(c config) Validator {
	switch dc := strings.ToLower(c.DeviceClass); {
	case dc == "timestamp":
		return func(p []byte) error {
			if string(p) == StateNone {
				return nil
			}
			if _, err := time.Parse(time.RFC3339, string(p)); err != nil {
				return fmt.Errorf("timestamp %q: want RFC 3339 with a time zone or %q", p, StateNone)
			}
			return nil
		}
	case dc == "date":
		return func(p []byte) error {
			if string(p) == StateNone {
				return nil
			}
			if _, err := time.Parse(time.DateOnly, string(p)); err != nil {
				return fmt.Errorf("date %q: want YYYY-MM-DD or %q", p, StateNone)
			}
			return nil
		}
	case dc == "enum":
		return oneOf("enum state", append(slices.Clone(c.Options), StateNone)...)
	case c.StateClass != "" || c.Unit != "" || (dc != "" && !nonNumericSensorClasses[dc]):
		return func(p []byte) error {
			if string(p) == StateNone {
				return nil
			}
			if _, err := strconv.ParseFloat(string(p), 64); err != nil {
				return fmt.Errorf("numeric sensor state %q: want a number or %q", p, StateNone)
			}
			return nil
		}
	default:
		return utf8State
	}
}

func textValidator(c config) Validator {
	lo, hi := 0, 255
	if c.Min != nil {
		lo = int(*c.Min)
	}
	if c.Max != nil {
		hi = int(*c.Max)
	}
	var re *regexp.Regexp
	if c.Pattern != "" {
		re, _ = regexp.Compile(c.Pattern) // the schema test keeps patterns RE2-compatible
	}
	return func(p []byte) error {
		if err := utf8State(p); err != nil {
			return err
		}
		n := utf8.RuneCount(p)
		if n < lo || n > hi {
			return fmt.Errorf("text of %d characters: want %d to %d", n, lo, hi)
		}
		if re != nil && !re.Match(p) {
			return fmt.Errorf("text does not match pattern %s", c.Pattern)
		}
		return nil
	}
}

func eventValidator(types []string) Validator {
	return func(p []byte) error {
		var m map[string]any
		if err := json.Unmarshal(p, &m); err != nil || m == nil {
			return fmt.Errorf("event %q: want a JSON object", p)
		}
		t, ok := m["event_type"].(string)
		if !ok {
			return fmt.Errorf("event %s: no string event_type", p)
		}
		if !slices.Contains(types, t) {
			return fmt.Errorf("event_type %q: want one of %q", t, types)
		}
		return nil
	}
}

func imageValidator(contentType, encoding string) Validator {
	return func(p []byte) error {
		if len(p) == 0 {
			return errors.New("empty image")
		}
		if encoding == "b64" {
			return nil
		}
		if (contentType == "" || contentType == "image/jpeg") && !bytes.HasPrefix(p, []byte{0xFF, 0xD8, 0xFF}) {
			return errors.New("image is not JPEG bytes (no FF D8 FF header)")
		}
		return nil
	}
}

func urlValidator(p []byte) error {
	u, err := url.Parse(string(p))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("image url %q: want http(s)", p)
	}
	return nil
}

func attributes(p []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(p, &m); err != nil || m == nil {
		return fmt.Errorf("attributes %.60q: want a JSON object", p)
	}
	for _, k := range blockedAttributes {
		if _, ok := m[k]; ok {
			return fmt.Errorf("attributes: key %q is reserved by HA and dropped", k)
		}
	}
	return nil
}
