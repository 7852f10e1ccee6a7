package hatest

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

	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// Validator checks one payload published on a state topic.
type Validator func(payload []byte) error

// StateContract maps every topic the configs in msgs tell HA to read — state,
// image, attributes and availability topics — to a check that a payload is
// one HA would accept there: alarm states, payload_on/payload_off, RFC 3339
// timestamps, numbers for numeric sensors, enum options, text length and
// pattern, event JSON with a declared event_type, JPEG bytes for images, a
// JSON object for attributes. A topic several configs read must satisfy
// every one of them. Removal messages (empty payloads) are skipped; a
// payload that is not a config makes StateContract panic, since
// discovery.Build never produces one.
//
// Event topics must also not be retained: see NonRetainedTopics.
func StateContract(msgs []discovery.Message) map[string]Validator {
	rules := map[string][]Validator{}
	add := func(topic string, v Validator) {
		if topic != "" {
			rules[topic] = append(rules[topic], v)
		}
	}
	for _, c := range mustParse(msgs) {
		for _, a := range c.Availability {
			add(a.Topic, availabilityValidator(a.PayloadAvailable, a.PayloadNotAvailable))
		}
		if c.AvailabilityTopic != "" {
			add(c.AvailabilityTopic, availabilityValidator(c.PayloadAvailable, c.PayloadNotAvailable))
		}
		add(c.JSONAttributesTopic, attributes)
		switch c.component {
		case "alarm_control_panel":
			add(c.StateTopic, oneOf("alarm state", append(alarmStates(), discovery.StateNone)...))
		case "binary_sensor":
			add(c.StateTopic, oneOf("binary_sensor state", or(c.PayloadOn, discovery.On), or(c.PayloadOff, discovery.Off), discovery.StateNone))
		case "switch":
			on, off := or(c.PayloadOn, discovery.On), or(c.PayloadOff, discovery.Off)
			add(c.StateTopic, oneOf("switch state", or(c.StateOn, on), or(c.StateOff, off), discovery.StateNone))
		case "sensor":
			add(c.StateTopic, sensorValidator(c))
		case "text":
			add(c.StateTopic, textValidator(c))
		case "number":
			add(c.StateTopic, numberValidator(c))
		case "select":
			add(c.StateTopic, oneOf("select state", append(slices.Clone(c.Options), discovery.StateNone)...))
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
func NonRetainedTopics(msgs []discovery.Message) []string {
	var t []string
	for _, c := range mustParse(msgs) {
		if c.component == "event" && c.StateTopic != "" {
			t = append(t, c.StateTopic)
		}
	}
	slices.Sort(t)
	return slices.Compact(t)
}

// alarmStates are the alarm_control_panel state payloads HA accepts.
func alarmStates() []string {
	return []string{
		"disarmed", "armed_home", "armed_away", "armed_night", "armed_vacation",
		"armed_custom_bypass", "pending", "arming", "disarming", "triggered",
	}
}

// blockedAttribute reports keys HA drops from json_attributes (with a
// warning): the documented examples plus HA's common entity properties.
func blockedAttribute(k string) bool {
	switch k {
	case "assumed_state", "available", "device_class", "entity_category", "entity_id",
		"entity_picture", "friendly_name", "icon", "state", "state_class",
		"supported_features", "unique_id", "unit_of_measurement":
		return true
	}
	return false
}

func oneOf(what string, allowed ...string) Validator {
	return func(p []byte) error {
		if slices.Contains(allowed, string(p)) {
			return nil
		}
		return fmt.Errorf("%s %q: want one of %q", what, p, allowed)
	}
}

func availabilityValidator(available, notAvailable *string) Validator {
	return oneOf("availability", or(available, discovery.Online), or(notAvailable, discovery.Offline))
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

// timeValidator accepts a time in layout (described as want) or StateNone.
func timeValidator(what, layout, want string) Validator {
	return func(p []byte) error {
		if string(p) == discovery.StateNone {
			return nil
		}
		if _, err := time.Parse(layout, string(p)); err != nil {
			return fmt.Errorf("%s %q: want %s or %q", what, p, want, discovery.StateNone)
		}
		return nil
	}
}

func sensorValidator(c config) Validator {
	switch dc := strings.ToLower(c.DeviceClass); {
	case dc == "timestamp":
		return timeValidator("timestamp", time.RFC3339, "RFC 3339 with a time zone")
	case dc == "date":
		return timeValidator("date", time.DateOnly, "YYYY-MM-DD")
	case dc == "enum":
		return oneOf("enum state", append(slices.Clone(c.Options), discovery.StateNone)...)
	case c.StateClass != "" || c.Unit != "" || (dc != "" && !nonNumericSensorClass(dc)):
		return func(p []byte) error {
			if string(p) == discovery.StateNone {
				return nil
			}
			if _, err := strconv.ParseFloat(string(p), 64); err != nil {
				return fmt.Errorf("numeric sensor state %q: want a number or %q", p, discovery.StateNone)
			}
			return nil
		}
	default:
		return utf8State
	}
}

// nonNumericSensorClass reports the sensor device classes whose state is not a number.
func nonNumericSensorClass(dc string) bool {
	return dc == "date" || dc == "enum" || dc == "timestamp" || dc == "uptime"
}

// numberRange is a number entity's min and max with HA's defaults.
func numberRange(c config) (lo, hi, step float64) {
	lo, hi, step = 0, 100, 1
	if c.Min != nil {
		lo = *c.Min
	}
	if c.Max != nil {
		hi = *c.Max
	}
	if c.Step != nil {
		step = *c.Step
	}
	return lo, hi, step
}

// numberValidator accepts a number from min to max (HA logs and ignores
// others) or StateNone.
func numberValidator(c config) Validator {
	lo, hi, _ := numberRange(c)
	return func(p []byte) error {
		if string(p) == discovery.StateNone {
			return nil
		}
		f, err := strconv.ParseFloat(string(p), 64)
		if err != nil || f < lo || f > hi {
			return fmt.Errorf("number state %q: want a number from %v to %v or %q", p, lo, hi, discovery.StateNone)
		}
		return nil
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
		re, _ = regexp.Compile(c.Pattern) // discovery's schema test keeps patterns RE2-compatible
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
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same payload always names the same key
	for _, k := range keys {
		if blockedAttribute(k) {
			return fmt.Errorf("attributes: key %q is reserved by HA and dropped", k)
		}
	}
	return nil
}
