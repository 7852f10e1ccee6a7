package discovery

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// The schema below is Home Assistant's MQTT discovery schema (HA 2026). It
// is stricter than HA: HA silently drops unknown top-level keys, this
// check refuses them, so a typo ("payload_of") cannot hide.

// supportedComponents is HA's SUPPORTED_COMPONENTS.
var supportedComponents = []string{
	"alarm_control_panel", "binary_sensor", "button", "camera", "climate", "cover", "date",
	"datetime", "device_automation", "device_tracker", "event", "fan", "humidifier", "image",
	"infrared", "lawn_mower", "light", "lock", "notify", "number", "scene", "siren", "select",
	"sensor", "switch", "tag", "text", "time", "update", "vacuum", "valve", "water_heater",
}

// commonKeys are the base and common entity keys every entity platform takes.
var commonKeys = []string{
	"qos", "encoding", "group",
	"availability", "availability_mode", "availability_topic", "availability_template",
	"payload_available", "payload_not_available",
	"device", "entity_picture", "origin", "enabled_by_default", "entity_category", "icon",
	"json_attributes_topic", "json_attributes_template", "default_entity_id",
	"message_expiry_interval", "unique_id", "visible_by_default", "name",
}

type platformSchema struct {
	required      []string
	optional      []string
	deviceClasses []string // nil: device_class not allowed
}

// platforms are HA's platform schemas for the components blink2mqtt uses.
var platforms = map[string]platformSchema{
	"alarm_control_panel": {
		required: []string{"command_topic", "state_topic"},
		optional: []string{"supported_features", "code", "code_arm_required", "code_disarm_required",
			"code_trigger_required", "command_template", "payload_arm_away", "payload_arm_home",
			"payload_arm_night", "payload_arm_vacation", "payload_arm_custom_bypass", "payload_disarm",
			"payload_trigger", "retain", "value_template"},
	},
	"binary_sensor": {
		required: []string{"state_topic"},
		optional: []string{"value_template", "device_class", "expire_after", "force_update",
			"off_delay", "payload_on", "payload_off"},
		deviceClasses: []string{"battery", "battery_charging", "carbon_monoxide", "cold", "connectivity",
			"door", "garage_door", "gas", "heat", "light", "lock", "moisture", "motion", "moving",
			"occupancy", "opening", "plug", "power", "presence", "problem", "running", "safety", "smoke",
			"sound", "tamper", "update", "vibration", "window"},
	},
	"sensor": {
		required: []string{"state_topic"},
		optional: []string{"value_template", "device_class", "expire_after", "force_update",
			"last_reset_value_template", "options", "suggested_display_precision", "state_class",
			"unit_of_measurement"},
		deviceClasses: sensorClassNames(),
	},
	"switch": {
		required: []string{"command_topic"},
		optional: []string{"state_topic", "optimistic", "retain", "payload_on", "payload_off",
			"state_on", "state_off", "value_template", "command_template", "device_class"},
		deviceClasses: []string{"outlet", "switch"},
	},
	"button": {
		required:      []string{"command_topic"},
		optional:      []string{"command_template", "device_class", "payload_press", "retain"},
		deviceClasses: []string{"identify", "restart", "update"},
	},
	"image": {
		optional: []string{"image_topic", "url_topic", "url_template", "content_type", "image_encoding"},
	},
	"camera": {
		required: []string{"topic"},
		optional: []string{"image_encoding"},
	},
	"event": {
		required:      []string{"state_topic", "event_types"},
		optional:      []string{"value_template", "device_class"},
		deviceClasses: []string{"button", "doorbell", "motion"},
	},
	"text": {
		required: []string{"command_topic"},
		optional: []string{"state_topic", "command_template", "min", "max", "mode", "pattern",
			"value_template", "optimistic", "retain"},
	},
	"number": {
		required: []string{"command_topic"},
		optional: []string{"state_topic", "command_template", "min", "max", "step", "mode",
			"payload_reset", "unit_of_measurement", "value_template", "optimistic", "retain", "device_class"},
		deviceClasses: numberClassNames(),
	},
	"select": {
		required: []string{"command_topic", "options"},
		optional: []string{"state_topic", "command_template", "value_template", "optimistic", "retain"},
	},
}

// numberClassNames are the number device classes: the sensor list without
// the non-numeric ones.
func numberClassNames() []string {
	var out []string
	for _, c := range sensorClassNames() {
		switch c {
		case "date", "enum", "timestamp", "uptime", "monetary":
			continue
		}
		out = append(out, c)
	}
	return out
}

// sensorUnits are the units HA allows per sensor device class; an empty
// list means "no unit".
var sensorUnits = map[string][]string{
	"absolute_humidity":                {"g/m³", "mg/m³"},
	"apparent_power":                   {"mVA", "VA", "kVA"},
	"aqi":                              {},
	"ph":                               {},
	"area":                             {"m²", "cm²", "km²", "mm²", "in²", "ft²", "yd²", "mi²", "ac", "ha"},
	"atmospheric_pressure":             {"cbar", "bar", "hPa", "mmHg", "inHg", "inH₂O", "kPa", "mbar", "Pa", "psi", "mPa"},
	"pressure":                         {"cbar", "bar", "hPa", "mmHg", "inHg", "inH₂O", "kPa", "mbar", "Pa", "psi", "mPa"},
	"battery":                          {"%"},
	"humidity":                         {"%"},
	"moisture":                         {"%"},
	"blood_glucose_concentration":      {"mg/dL", "mmol/L"},
	"carbon_dioxide":                   {"ppm"},
	"carbon_monoxide":                  {"ppb", "ppm", "µg/m³", "mg/m³"},
	"conductivity":                     {"S/cm", "mS/cm", "µS/cm"},
	"current":                          {"A", "mA", "µA"},
	"data_rate":                        {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "B/s", "kB/s", "MB/s", "GB/s", "KiB/s", "MiB/s", "GiB/s"},
	"data_size":                        {"bit", "kbit", "Mbit", "Gbit", "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"},
	"distance":                         {"km", "m", "cm", "mm", "mi", "nmi", "yd", "ft", "in"},
	"duration":                         {"d", "h", "min", "s", "ms", "µs"},
	"energy":                           {"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal"},
	"energy_storage":                   {"J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal", "Gcal"},
	"energy_distance":                  {"kWh/100km", "Wh/km", "mi/kWh", "km/kWh"},
	"frequency":                        {"mHz", "Hz", "kHz", "MHz", "GHz"},
	"gas":                              {"L", "m³", "ft³", "CCF", "MCF"},
	"illuminance":                      {"lx"},
	"irradiance":                       {"W/m²", "BTU/(h⋅ft²)"},
	"nitrogen_dioxide":                 {"ppb", "ppm", "µg/m³"},
	"ozone":                            {"ppb", "ppm", "µg/m³"},
	"nitrogen_monoxide":                {"ppb", "µg/m³"},
	"sulphur_dioxide":                  {"ppb", "µg/m³"},
	"nitrous_oxide":                    {"µg/m³"},
	"pm1":                              {"µg/m³"},
	"pm25":                             {"µg/m³"},
	"pm4":                              {"µg/m³"},
	"pm10":                             {"µg/m³"},
	"power":                            {"mW", "W", "kW", "MW", "GW", "TW"},
	"power_factor":                     {"%", ""},
	"precipitation":                    {"cm", "in", "mm"},
	"precipitation_intensity":          {"in/d", "in/h", "mm/d", "mm/h"},
	"radon":                            {"Bq/m³", "pCi/L"},
	"reactive_energy":                  {"varh", "kvarh"},
	"reactive_power":                   {"mvar", "var", "kvar"},
	"signal_strength":                  {"dB", "dBm"},
	"sound_pressure":                   {"dB", "dBA"},
	"speed":                            {"ft/s", "in/d", "in/h", "in/s", "km/h", "kn", "m/s", "mph", "mm/d", "mm/s", "Beaufort"},
	"temperature":                      {"°C", "°F", "K"},
	"temperature_delta":                {"°C", "°F", "K"},
	"volatile_organic_compounds":       {"µg/m³", "mg/m³"},
	"volatile_organic_compounds_parts": {"ppm", "ppb"},
	"voltage":                          {"V", "mV", "µV", "kV", "MV"},
	"volume":                           {"L", "mL", "gal", "fl. oz.", "m³", "ft³", "CCF", "MCF"},
	"volume_storage":                   {"L", "mL", "gal", "fl. oz.", "m³", "ft³", "CCF", "MCF"},
	"volume_flow_rate":                 {"m³/h", "m³/min", "m³/s", "ft³/min", "L/h", "L/min", "L/s", "gal/d", "gal/h", "gal/min", "mL/s"},
	"water":                            {"L", "gal", "m³", "ft³", "CCF", "MCF"},
	"weight":                           {"kg", "g", "mg", "µg", "oz", "lb", "st"},
	"wind_direction":                   {"°"},
	"wind_speed":                       {"ft/s", "km/h", "kn", "m/s", "mph", "Beaufort"},
	"date":                             {},
	"enum":                             {},
	"timestamp":                        {},
	"uptime":                           {},
	"monetary":                         nil, // any ISO 4217 code
}

// sensorStateClasses is HA's DEVICE_CLASS_STATE_CLASSES where it differs
// from "measurement only"; "none" classes take no state class at all.
var sensorStateClasses = map[string][]string{
	"energy": {"total", "total_increasing"}, "gas": {"total", "total_increasing"},
	"volume": {"total", "total_increasing"}, "water": {"total", "total_increasing"},
	"reactive_energy": {"total", "total_increasing"},
	"monetary":        {"total"},
	"area":            {"measurement", "total", "total_increasing"}, "data_size": {"measurement", "total", "total_increasing"},
	"distance": {"measurement", "total", "total_increasing"}, "duration": {"measurement", "total", "total_increasing"},
	"precipitation":  {"measurement", "total", "total_increasing"},
	"weight":         {"measurement", "total", "total_increasing"},
	"wind_direction": {"measurement_angle"},
	"date":           {}, "enum": {}, "timestamp": {}, "uptime": {},
}

func sensorClassNames() []string {
	var n []string
	for k := range sensorUnits {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

var (
	deviceKeys = []string{"identifiers", "connections", "manufacturer", "model", "model_id", "name",
		"hw_version", "serial_number", "sw_version", "via_device", "suggested_area", "configuration_url"}
	originKeys       = []string{"name", "sw_version", "support_url"}
	availEntryKeys   = []string{"topic", "payload_available", "payload_not_available", "value_template"}
	alarmFeatures    = []string{"arm_home", "arm_away", "arm_night", "arm_vacation", "arm_custom_bypass", "trigger"}
	discoveryTopicRE = regexp.MustCompile(`^(?P<component>\w+)/(?:(?P<node_id>[a-zA-Z0-9_-]+)/)?(?P<object_id>[a-zA-Z0-9_-]+)/config$`)
	iconRE           = regexp.MustCompile(`^[a-z0-9_-]+:[a-z0-9-]+$`)
	entityIDPartRE   = regexp.MustCompile(`^[a-z0-9_]+$`)
)

// validEntityID is HA's valid_entity_id: "<domain>.<object>", lower-case
// [a-z0-9_], no part starting or ending with "_", no "__".
func validEntityID(s string) bool {
	dom, obj, ok := strings.Cut(s, ".")
	if !ok || strings.Contains(s, "__") {
		return false
	}
	for _, p := range []string{dom, obj} {
		if !entityIDPartRE.MatchString(p) || strings.HasPrefix(p, "_") || strings.HasSuffix(p, "_") {
			return false
		}
	}
	return true
}

// validTopic is util.py's check, plus "subscribe" wildcard rules; blink2mqtt
// never uses wildcards in configs, so any + or # is refused.
func validTopic(s string) error {
	if s == "" || len(s) > 65535 || !utf8.ValidString(s) {
		return errors.New("empty, too long or not UTF-8")
	}
	if strings.ContainsAny(s, "+#") {
		return errors.New("has a wildcard")
	}
	for _, r := range s {
		if r <= 0x1f || r >= 0x7f && r <= 0x9f || r >= 0xfdd0 && r <= 0xfdef || r&0xfffe == 0xfffe {
			return fmt.Errorf("has character %U", r)
		}
	}
	return nil
}

// checkConfig validates one discovery message on its own.
func checkConfig(prefix string, m Message) []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(m.Topic+": "+format, a...)) }

	if !m.Retained {
		bad("config not retained")
	}
	if err := validTopic(m.Topic); err != nil {
		bad("topic: %v", err)
	}
	rest, ok := strings.CutPrefix(m.Topic, prefix+"/")
	sm := discoveryTopicRE.FindStringSubmatch(rest)
	if !ok || sm == nil {
		bad("topic does not match HA's discovery topic pattern")
		return errs
	}
	component := sm[1]
	if !slices.Contains(supportedComponents, component) {
		bad("component %q is not in SUPPORTED_COMPONENTS", component)
	}
	schema, known := platforms[component]
	if !known {
		bad("no schema table for component %q", component)
		return errs
	}

	var p map[string]any
	if err := json.Unmarshal(m.Payload, &p); err != nil || p == nil {
		bad("payload is not a JSON object: %v", err)
		return errs
	}
	for k := range p {
		if !slices.Contains(commonKeys, k) && !slices.Contains(schema.required, k) && !slices.Contains(schema.optional, k) {
			bad("unknown key %q for %s", k, component)
		}
	}
	for _, k := range schema.required {
		if _, ok := p[k]; !ok {
			bad("missing required key %q", k)
		}
	}
	str := func(k string) (string, bool) {
		v, ok := p[k]
		if !ok {
			return "", false
		}
		s, isStr := v.(string)
		if !isStr {
			bad("%s is %T, want a string", k, v)
		}
		return s, isStr
	}
	boolKey := func(k string) {
		if v, ok := p[k]; ok {
			if _, isBool := v.(bool); !isBool {
				bad("%s is %T, want a bool", k, v)
			}
		}
	}
	intKey := func(k string, lo, hi float64) (float64, bool) {
		v, ok := p[k]
		if !ok {
			return 0, false
		}
		f, isNum := v.(float64)
		if !isNum || f != math.Trunc(f) || f < lo || f > hi {
			bad("%s = %v, want an integer in [%v, %v]", k, v, lo, hi)
			return 0, false
		}
		return f, true
	}

	// Topics.
	for k, v := range p {
		if strings.HasSuffix(k, "topic") {
			s, _ := v.(string)
			if err := validTopic(s); err != nil {
				bad("%s %q: %v", k, s, err)
			}
			if k == "command_topic" && !strings.HasSuffix(s, "/set") {
				bad("command_topic %q: the bridge only subscribes to …/set", s)
			}
		}
	}
	if _, ok := p["~"]; ok {
		bad("base topic ~ is not used by blink2mqtt")
	}

	// Identity and naming.
	uid, ok := str("unique_id")
	if !ok || uid == "" {
		bad("unique_id missing: the device block would have no effect")
	}
	if _, ok := p["object_id"]; ok {
		bad("object_id is removed in HA 2026.4; use default_entity_id")
	}
	if def, ok := str("default_entity_id"); ok {
		if !validEntityID(def) {
			bad("default_entity_id %q is not a valid entity id", def)
		}
		if !strings.HasPrefix(def, component+".") {
			bad("default_entity_id %q: domain is not %s", def, component)
		}
	} else {
		bad("default_entity_id missing")
	}
	name, hasName := p["name"]
	if !hasName {
		bad("name missing (HA would name it after the device class or \"MQTT …\")")
	} else if name != nil {
		if _, isStr := name.(string); !isStr {
			bad("name is %T, want a string or null", name)
		}
	}
	if ic, ok := str("icon"); ok && !iconRE.MatchString(ic) {
		bad("icon %q is not prefix:name", ic)
	}
	boolKey("enabled_by_default")
	boolKey("retain")
	boolKey("optimistic")
	boolKey("force_update")
	intKey("qos", 0, 2)

	// entity_category.
	if cat, ok := str("entity_category"); ok {
		if cat != "config" && cat != "diagnostic" {
			bad("entity_category %q", cat)
		}
		if cat == "config" && (component == "sensor" || component == "binary_sensor") {
			bad("HA refuses %s with entity_category config", component)
		}
	}

	// device_class.
	if v, ok := p["device_class"]; ok && v != nil {
		dc, _ := v.(string)
		if schema.deviceClasses == nil || !slices.Contains(schema.deviceClasses, strings.ToLower(dc)) {
			bad("device_class %q not allowed for %s", dc, component)
		}
	}

	// device block.
	dev, ok := p["device"].(map[string]any)
	if !ok {
		bad("device block missing or not an object")
	} else {
		for k := range dev {
			if !slices.Contains(deviceKeys, k) {
				bad("device key %q is not allowed (HA fails the whole config)", k)
			}
		}
		ids, _ := dev["identifiers"].([]any)
		if len(ids) == 0 {
			bad("device has no identifiers")
		}
		for _, id := range ids {
			if s, _ := id.(string); s == "" {
				bad("device identifier %v is not a non-empty string", id)
			}
		}
		devName, _ := dev["name"].(string)
		if devName == "" {
			bad("device has no name")
		}
		if s, _ := name.(string); devName != "" && s != "" && (strings.EqualFold(s, devName) || strings.HasPrefix(strings.ToLower(s), strings.ToLower(devName)+" ")) {
			bad("entity name %q repeats the device name %q", s, devName)
		}
		if mf, _ := dev["manufacturer"].(string); mf == "" {
			bad("device has no manufacturer")
		}
		if md, _ := dev["model"].(string); md == "" {
			bad("device has no model")
		}
		for k, v := range dev {
			if k == "identifiers" || k == "connections" {
				continue
			}
			if s, isStr := v.(string); !isStr || s == "" {
				bad("device %s = %v, want a non-empty string", k, v)
			}
		}
	}

	// origin block.
	if o, ok := p["origin"].(map[string]any); !ok {
		bad("origin block missing")
	} else {
		for k := range o {
			if !slices.Contains(originKeys, k) {
				bad("origin key %q is not allowed (HA drops the whole message)", k)
			}
		}
		if n, _ := o["name"].(string); n == "" {
			bad("origin has no name")
		}
		if u, ok := o["support_url"].(string); ok && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			bad("origin support_url %q", u)
		}
	}

	// availability.
	_, hasList := p["availability"]
	_, hasSingle := p["availability_topic"]
	if hasList && hasSingle {
		bad("availability and availability_topic are exclusive")
	}
	if hasList {
		list, ok := p["availability"].([]any)
		if !ok || len(list) == 0 {
			bad("availability is not a non-empty list")
		}
		seen := map[string]bool{}
		for _, e := range list {
			em, ok := e.(map[string]any)
			if !ok {
				bad("availability entry %v is not an object", e)
				continue
			}
			for k := range em {
				if !slices.Contains(availEntryKeys, k) {
					bad("availability entry key %q", k)
				}
			}
			t, _ := em["topic"].(string)
			if err := validTopic(t); err != nil {
				bad("availability topic %q: %v", t, err)
			}
			if seen[t] {
				bad("availability topic %q listed twice", t)
			}
			seen[t] = true
		}
		if mode, ok := str("availability_mode"); ok && !slices.Contains([]string{"all", "any", "latest"}, mode) {
			bad("availability_mode %q", mode)
		}
		if len(list) > 1 && p["availability_mode"] != "all" {
			bad("several availability topics without availability_mode all")
		}
	} else if _, ok := p["availability_mode"]; ok {
		bad("availability_mode without availability")
	}

	// Per platform.
	switch component {
	case "alarm_control_panel":
		feats, _ := p["supported_features"].([]any)
		if len(feats) == 0 {
			bad("supported_features missing: HA would offer every arm mode")
		}
		for _, f := range feats {
			if s, _ := f.(string); !slices.Contains(alarmFeatures, s) {
				bad("supported feature %v", f)
			}
		}
		for _, k := range []string{"code_arm_required", "code_disarm_required", "code_trigger_required"} {
			boolKey(k)
		}
		if _, ok := p["code"]; !ok && p["code_arm_required"] != false {
			bad("no code, so code_arm_required must be false")
		}
	case "binary_sensor":
		intKey("off_delay", 0, math.MaxInt32)
		intKey("expire_after", 0, math.MaxInt32)
		on, _ := p["payload_on"].(string)
		off, _ := p["payload_off"].(string)
		if _, set := p["payload_on"]; set && on == off {
			bad("payload_on equals payload_off")
		}
	case "switch":
		if p["payload_on"] == p["payload_off"] && p["payload_on"] != nil {
			bad("payload_on equals payload_off")
		}
	case "sensor":
		dc, _ := p["device_class"].(string)
		dc = strings.ToLower(dc)
		unit, hasUnit := str("unit_of_measurement")
		sc, hasSC := str("state_class")
		if hasSC && !slices.Contains([]string{"measurement", "measurement_angle", "total", "total_increasing"}, sc) {
			bad("state_class %q", sc)
		}
		if units, listed := sensorUnits[dc]; dc != "" && listed && units != nil && hasUnit && unit != "" {
			if !slices.Contains(units, unit) {
				bad("unit %q not allowed for device_class %s (schema error since 2025.7)", unit, dc)
			}
		}
		if dc != "" && hasUnit && unit == "" {
			bad("blank unit_of_measurement: leave it out")
		}
		if dc != "" && !hasUnit {
			if units := sensorUnits[dc]; len(units) > 0 && !slices.Contains(units, "") {
				bad("device_class %s without a unit", dc)
			}
		}
		if hasSC {
			if allowed, listed := sensorStateClasses[dc]; listed && !slices.Contains(allowed, sc) {
				bad("state_class %s does not fit device_class %s", sc, dc)
			} else if !listed && dc != "" && sc != "measurement" {
				bad("state_class %s does not fit device_class %s", sc, dc)
			}
		}
		if sc == "measurement_angle" && unit != "°" {
			bad("measurement_angle needs unit °")
		}
		if _, ok := p["last_reset_value_template"]; ok && sc != "total" {
			bad("last_reset_value_template needs state_class total")
		}
		if opts, ok := p["options"]; ok {
			list, _ := opts.([]any)
			if dc != "enum" || len(list) == 0 || hasSC || hasUnit {
				bad("options need device_class enum, must not be empty, and exclude state_class and unit")
			}
		} else if dc == "enum" {
			bad("device_class enum without options")
		}
		intKey("suggested_display_precision", 0, 20)
		intKey("expire_after", 0, math.MaxInt32)
	case "button":
	case "image":
		_, img := p["image_topic"]
		_, url := p["url_topic"]
		if img == url {
			bad("exactly one of image_topic and url_topic")
		}
		if _, ok := p["content_type"]; ok && !img {
			bad("content_type only with image_topic")
		}
		if enc, ok := str("image_encoding"); ok && enc != "b64" {
			bad("image_encoding %q, want b64", enc)
		}
	case "camera":
		if enc, ok := str("image_encoding"); ok && enc != "b64" {
			bad("image_encoding %q, want b64", enc)
		}
	case "event":
		types, _ := p["event_types"].([]any)
		if len(types) == 0 {
			bad("event_types empty")
		}
		seen := map[string]bool{}
		for _, t := range types {
			s, _ := t.(string)
			if s == "" || seen[s] {
				bad("event type %v empty or repeated", t)
			}
			seen[s] = true
		}
		if p["device_class"] == "doorbell" && !seen["ring"] {
			bad("doorbell event without the standard type ring (HA 2026.4)")
		}
	case "number":
		num := func(k string, def float64) float64 {
			v, ok := p[k]
			if !ok {
				return def
			}
			f, isNum := v.(float64)
			if !isNum {
				bad("%s = %v, want a number", k, v)
				return def
			}
			return f
		}
		lo, hi, step := num("min", 0), num("max", 100), num("step", 1)
		if lo >= hi {
			bad("number min %v must be < max %v", lo, hi)
		}
		if step < 0.001 {
			bad("number step %v, want at least 0.001", step)
		}
		if mode, ok := str("mode"); ok && !slices.Contains([]string{"auto", "box", "slider"}, mode) {
			bad("number mode %q", mode)
		}
		dc, _ := p["device_class"].(string)
		if unit, ok := str("unit_of_measurement"); ok && dc != "" {
			if units, listed := sensorUnits[dc]; listed && !slices.Contains(units, unit) {
				bad("unit %q not allowed for number device_class %s", unit, dc)
			}
		}
	case "select":
		opts, _ := p["options"].([]any)
		if len(opts) == 0 {
			bad("select options empty")
		}
		seen := map[string]bool{}
		for _, o := range opts {
			s, isStr := o.(string)
			if !isStr || s == "" || seen[s] {
				bad("select option %v empty, not a string or repeated", o)
			}
			seen[s] = true
		}
	case "text":
		lo, hi := 0.0, 255.0
		if v, ok := intKey("min", 0, 255); ok {
			lo = v
		}
		if v, ok := intKey("max", 0, 255); ok {
			hi = v
		}
		if lo >= hi {
			bad("text min %v must be < max %v", lo, hi)
		}
		if mode, ok := str("mode"); ok && mode != "text" && mode != "password" {
			bad("text mode %q", mode)
		}
		if pat, ok := str("pattern"); ok {
			if _, err := regexp.Compile(pat); err != nil {
				bad("pattern %q: %v", pat, err)
			}
		}
	}
	return errs
}

// checkAll validates every message and what only shows across messages:
// unique_id uniqueness, one device block per identifier, via_device
// targets that exist, one config per discovery id, one entity per
// state/command/image topic.
func checkAll(prefix string, msgs []Message) []error {
	var errs []error
	uids := map[string]string{}
	devices := map[string]string{}
	var vias []string
	discoveryIDs := map[string]string{}
	ioTopics := map[string]string{}
	for _, m := range msgs {
		errs = append(errs, checkConfig(prefix, m)...)
		var p struct {
			UniqueID     string          `json:"unique_id"`
			Device       json.RawMessage `json:"device"`
			StateTopic   string          `json:"state_topic"`
			CommandTopic string          `json:"command_topic"`
			ImageTopic   string          `json:"image_topic"`
		}
		if json.Unmarshal(m.Payload, &p) != nil {
			continue
		}
		// Two entities on one state or command topic would fight over it.
		for _, tp := range []string{p.StateTopic, p.CommandTopic, p.ImageTopic} {
			if tp == "" {
				continue
			}
			if prev, dup := ioTopics[tp]; dup {
				errs = append(errs, fmt.Errorf("topic %s used by %s and %s", tp, prev, m.Topic))
			}
			ioTopics[tp] = m.Topic
		}
		if prev, dup := uids[p.UniqueID]; dup {
			errs = append(errs, fmt.Errorf("unique_id %q used by %s and %s", p.UniqueID, prev, m.Topic))
		}
		uids[p.UniqueID] = m.Topic
		var dev struct {
			Identifiers []string `json:"identifiers"`
			ViaDevice   string   `json:"via_device"`
		}
		if json.Unmarshal(p.Device, &dev) == nil {
			for _, id := range dev.Identifiers {
				if prev, ok := devices[id]; ok && prev != string(p.Device) {
					errs = append(errs, fmt.Errorf("device %s described differently in two configs:\n%s\n%s", id, prev, p.Device))
				}
				devices[id] = string(p.Device)
			}
			if dev.ViaDevice != "" {
				vias = append(vias, dev.ViaDevice)
			}
		}
		if sm := discoveryTopicRE.FindStringSubmatch(strings.TrimPrefix(m.Topic, prefix+"/")); sm != nil {
			key := sm[1] + " " + sm[2] + " " + sm[3]
			if prev, dup := discoveryIDs[key]; dup {
				errs = append(errs, fmt.Errorf("discovery id %q used by %s and %s", key, prev, m.Topic))
			}
			discoveryIDs[key] = m.Topic
		}
	}
	for _, v := range vias {
		if _, ok := devices[v]; !ok {
			errs = append(errs, fmt.Errorf("via_device %q names no discovered device", v))
		}
	}
	return errs
}

func schemaOptionVariants() []Options {
	base := testOptions()
	custom := base
	custom.Prefix = "ha/discovery"
	custom.Topics = Topics{Root: "home/blink cams"}
	custom.BridgeName = "Blink (Cabin)"
	custom.HoldTime = 1500 * time.Millisecond
	bare := Options{Topics: Topics{Root: "b"}}
	withDBm := base
	withDBm.Caps = func(d blink.Device) Capabilities {
		c := Caps(d)
		c.WiFiDBm = d.Family == blink.FamilyDoorbell
		c.Temperature = c.Temperature || d.Family == blink.FamilyDoorbell
		return c
	}
	return []Options{base, custom, bare, withDBm}
}

func TestSchema(t *testing.T) {
	for i, opts := range schemaOptionVariants() {
		for _, hs := range []*blink.Homescreen{nil, {}, defaultAccount(), bigAccount()} {
			msgs := Build(opts, hs)
			for _, err := range checkAll(opts.prefix(), msgs) {
				t.Errorf("options #%d: %v", i, err)
			}
		}
	}
}

// TestSchemaRejects proves the schema check catches what HA would refuse or
// silently drop; a check that passes everything tests nothing.
func TestSchemaRejects(t *testing.T) {
	msgs := Build(testOptions(), defaultAccount())
	find := func(part string) Message { return findConfig(t, msgs, part) }
	mutate := func(m Message, f func(p map[string]any)) Message { return mutateConfig(t, m, f) }
	tests := []struct {
		name string
		msg  Message
		want string
	}{
		{"typo key", mutate(find("camera_555/motion/"), func(p map[string]any) { p["payload_of"] = "OFF" }), `unknown key "payload_of"`},
		{"object_id", mutate(find("camera_555/motion/"), func(p map[string]any) { p["object_id"] = "x" }), "object_id"},
		{"unit for class", mutate(find("camera_555/temperature/"), func(p map[string]any) { p["unit_of_measurement"] = "F" }), "not allowed for device_class"},
		{"battery percent", mutate(find("camera_555/battery_level/"), func(p map[string]any) { p["device_class"] = "battery" }), "without a unit"},
		{"config sensor", mutate(find("camera_555/wifi/"), func(p map[string]any) { p["entity_category"] = "config" }), "entity_category config"},
		{"device key", mutate(find("camera_555/motion/"), func(p map[string]any) { p["device"].(map[string]any)["firmware"] = "1" }), "device key"},
		{"no identifiers", mutate(find("camera_555/motion/"), func(p map[string]any) { delete(p["device"].(map[string]any), "identifiers") }), "no identifiers"},
		{"origin key", mutate(find("camera_555/motion/"), func(p map[string]any) { p["origin"].(map[string]any)["url"] = "x" }), "origin key"},
		{"both availability", mutate(find("camera_555/motion/"), func(p map[string]any) { p["availability_topic"] = "a/b" }), "exclusive"},
		{"no mode", mutate(find("camera_555/motion/"), func(p map[string]any) { delete(p, "availability_mode") }), "availability_mode all"},
		{"wildcard", mutate(find("camera_555/motion/"), func(p map[string]any) { p["state_topic"] = "blink2mqtt/+/motion" }), "wildcard"},
		{"doorbell ring", mutate(find("doorbell_999/event/"), func(p map[string]any) { p["device_class"] = "doorbell" }), "ring"},
		{"text max", mutate(find("/auth_code/"), func(p map[string]any) { p["max"] = 300 }), "max"},
		{"text min max", mutate(find("/auth_code/"), func(p map[string]any) { p["min"] = 16 }), "must be <"},
		{"enum options", mutate(find("/auth_state/"), func(p map[string]any) { p["state_class"] = "measurement" }), "options need"},
		{"entity id", mutate(find("camera_555/motion/"), func(p map[string]any) { p["default_entity_id"] = "sensor.blink_front_yard_motion" }), "domain"},
		{"repeated name", mutate(find("camera_555/motion/"), func(p map[string]any) { p["name"] = "Front Yard motion" }), "repeats the device name"},
		{"alarm features", mutate(find("/alarm/"), func(p map[string]any) { delete(p, "supported_features") }), "supported_features"},
		{"image exclusive", mutate(find("/thumbnail/"), func(p map[string]any) { p["url_topic"] = "a/b" }), "exactly one"},
		{"timestamp unit", mutate(find("/last_event/"), func(p map[string]any) { p["state_class"] = "measurement" }), "does not fit"},
		{"bad topic", Message{Topic: "homeassistant/sensor/a.b/c/config", Payload: find("/last_event/").Payload, Retained: true}, "pattern"},
		{"not retained", Message{Topic: find("/last_event/").Topic, Payload: find("/last_event/").Payload}, "not retained"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := checkConfig(DefaultPrefix, tc.msg)
			for _, err := range errs {
				if strings.Contains(err.Error(), tc.want) {
					return
				}
			}
			t.Errorf("want an error containing %q, got %v", tc.want, errs)
		})
	}

	t.Run("duplicate unique_id", func(t *testing.T) {
		m := find("camera_555/motion/")
		dup := Message{Topic: strings.Replace(m.Topic, "/motion/", "/motion2/", 1), Payload: m.Payload, Retained: true}
		if errs := checkAll(DefaultPrefix, []Message{m, dup}); !containsErr(errs, "unique_id") {
			t.Errorf("duplicate unique_id not caught: %v", errs)
		}
	})
	t.Run("inconsistent device", func(t *testing.T) {
		a := find("camera_555/motion/")
		b := mutate(find("camera_555/online/"), func(p map[string]any) { p["device"].(map[string]any)["model"] = "Other" })
		if errs := checkAll(DefaultPrefix, []Message{a, b}); !containsErr(errs, "described differently") {
			t.Errorf("inconsistent device not caught: %v", errs)
		}
	})
	t.Run("dangling via_device", func(t *testing.T) {
		if errs := checkAll(DefaultPrefix, []Message{find("camera_555/motion/")}); !containsErr(errs, "via_device") {
			t.Errorf("dangling via_device not caught: %v", errs)
		}
	})
}

// findConfig is the first config in msgs whose topic contains part.
func findConfig(t *testing.T, msgs []Message, part string) Message {
	t.Helper()
	for _, m := range msgs {
		if strings.Contains(m.Topic, part) {
			return m
		}
	}
	t.Fatalf("no config matching %s", part)
	return Message{}
}

// mutateConfig is m with its payload changed by f.
func mutateConfig(t *testing.T, m Message, f func(p map[string]any)) Message {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(m.Payload, &p); err != nil {
		t.Fatal(err)
	}
	f(p)
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return Message{Topic: m.Topic, Payload: b, Retained: true}
}

func containsErr(errs []error, s string) bool {
	for _, e := range errs {
		if strings.Contains(e.Error(), s) {
			return true
		}
	}
	return false
}
