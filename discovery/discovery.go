// Package discovery builds the Home Assistant MQTT discovery configs of
// blink2mqtt and owns the topic layout (topics.go) the bridge publishes to.
//
// Everything here is a pure function of its arguments: no I/O, no clocks, no
// goroutines, no package state. The bridge decides when to publish, keeps the
// ledger of published config topics and feeds it back to Removals.
//
// # API
//
//   - Build(opts, hs) returns every config (bridge device included), sorted
//     by topic, retained; BuildBridge(opts) only the bridge device, for when
//     there is no homescreen yet. BuildWith(opts, hs, extras) adds a switch
//     per schedule, a number/select/switch per device setting
//     (SettingEntity, SettingState) and a switch per notification flag
//     (settings.go).
//   - Caps(device) and SyncCaps(syncModule) say which entities a device gets;
//     Build uses them and the bridge publishes states for the same keys.
//     Options.Caps may replace Caps (e.g. to add the dBm sensor).
//   - Removals(ledger, current) turns config topics that are gone into empty
//     retained payloads; TopicsOf gives the topics to store in the ledger;
//     LayoutVersion goes into the ledger too.
//
// Tests read the configs as Home Assistant would with internal/hatest.
//
// # Discovery topics and ids
//
// Every entity is one single-component config, retained, on
//
//	<prefix>/<component>/<node_id>/<key>/config
//
// where node_id is the HA device identifier (NetworkDeviceID,
// SyncModuleDeviceID, DeviceID, BridgeDeviceID) and key is the entity key of
// topics.go. The unique_id is "<node_id>_<key>": made from Blink ids only, so
// it survives restarts and renames. Build returns the configs sorted by
// topic, so equal inputs give byte-equal output.
//
// # Availability
//
// Entities of a device list two availability topics with availability_mode
// "all": <root>/bridge/state and the device's (or network's) availability
// topic. The "online" connectivity sensors list only bridge/state — they must
// be able to show OFF while the device is offline — and the bridge's own
// connectivity sensor lists none, so it shows OFF when the bridge is gone.
//
// # Choices
//
//   - The thumbnail is an "image" entity on the raw JPEG topic, not a
//     "camera": Blink gives stills, not a stream; an image entity shows the
//     latest still from raw bytes, a camera entity would promise live video.
//   - Doorbells get no device_class "doorbell" event: HA (2026.4) requires the
//     "ring" type on it, and Blink does not report presses reliably. The clip
//     event of every family is device_class "motion"; doorbells also list the
//     "doorbell" type for when Blink does say so.
//   - Battery is Blink's ok/low as a binary_sensor (battery, ON = low); the
//     homescreen's 1–3 bars are a plain sensor without device_class battery,
//     since bars are not percent. Wi-Fi bars likewise have no device class
//     and no unit.
//   - The motion binary_sensor sets off_delay to Options.HoldTime, so a
//     retained ON left by a crashed bridge still clears in HA.
package discovery

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// LayoutVersion is the version of the discovery topic layout. Bump it when a
// change moves or drops config topics; the bridge's ledger stores it and
// removes every topic it holds from an older layout.
const LayoutVersion = 1

// DefaultPrefix is HA's default discovery prefix.
const DefaultPrefix = "homeassistant"

// DefaultBridgeName is the bridge device's name when Options.BridgeName is empty.
const DefaultBridgeName = "Blink2MQTT Bridge"

// SupportURL is the origin support_url of every config.
const SupportURL = "https://github.com/blink2mqtt/blink2mqtt"

// Options configure Build.
type Options struct {
	Prefix     string        // discovery prefix; "" means DefaultPrefix
	Topics     Topics        // state/command topic layout
	Version    string        // blink2mqtt version: origin and bridge sw_version
	HoldTime   time.Duration // motion hold; becomes off_delay (rounded up to s) when > 0
	BridgeName string        // bridge device name; "" means DefaultBridgeName
	// Caps overrides Caps, e.g. to add WiFiDBm or Temperature for doorbells
	// once the bridge reads their config endpoint. nil means Caps.
	Caps func(blink.Device) Capabilities
	// LocalStorage: the bridge watches the USB storage of sync modules
	// (LOCAL_STORAGE=auto), so they get the sensor of its last check.
	LocalStorage bool
}

// Message is one retained MQTT publish. An empty Payload removes the config.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
}

// Validate reports options that would give topics HA cannot use: an empty
// prefix or root, wildcards, a leading or trailing "/", text that is not
// UTF-8, or control and non-characters (HA refuses such topics).
func (o Options) Validate() error {
	for _, f := range []struct{ name, v string }{{"discovery prefix", o.prefix()}, {"topic root", o.Topics.Root}} {
		if err := validTopicPart(f.v); err != nil {
			return fmt.Errorf("discovery: %s %q: %w", f.name, f.v, err)
		}
	}
	return nil
}

func validTopicPart(s string) error {
	switch {
	case s == "":
		return errors.New("must not be empty")
	case strings.ContainsAny(s, "+#"):
		return errors.New("must not contain + or #")
	case strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/"):
		return errors.New("must not start or end with /")
	case !utf8.ValidString(s):
		return errors.New("must be UTF-8")
	}
	for _, r := range s {
		if r <= 0x1f || r >= 0x7f && r <= 0x9f || r >= 0xfdd0 && r <= 0xfdef || r&0xfffe == 0xfffe {
			return fmt.Errorf("must not contain the character %U", r)
		}
	}
	return nil
}

func (o Options) prefix() string {
	if o.Prefix == "" {
		return DefaultPrefix
	}
	return o.Prefix
}

func (o Options) bridgeName() string {
	if o.BridgeName == "" {
		return DefaultBridgeName
	}
	return o.BridgeName
}

func (o Options) caps(d blink.Device) Capabilities {
	if o.Caps != nil {
		return o.Caps(d)
	}
	return Caps(d)
}

// Build returns the config of every entity for hs plus the bridge device,
// sorted by topic, all retained. A nil hs gives BuildBridge. BuildWith adds
// what Extras describes.
func Build(opts Options, hs *blink.Homescreen) []Message { return BuildWith(opts, hs, nil) }

// BuildBridge returns the configs of the bridge device only (no homescreen
// yet, e.g. while login waits for a 2FA code).
func BuildBridge(opts Options) []Message {
	b := newBuilder(opts)
	b.bridge()
	return b.messages()
}

// Removals returns an empty retained message for every topic in prev that
// cur no longer has, sorted, so HA drops entities that left the account.
func Removals(prev []string, cur []Message) []Message {
	keep := make(map[string]bool, len(cur))
	for _, m := range cur {
		if len(m.Payload) > 0 {
			keep[m.Topic] = true
		}
	}
	var out []Message
	seen := map[string]bool{}
	for _, t := range prev {
		if keep[t] || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, Message{Topic: t, Retained: true})
	}
	slices.SortFunc(out, func(a, b Message) int { return strings.Compare(a.Topic, b.Topic) })
	return out
}

// TopicsOf returns the topics of msgs, for the bridge's ledger.
func TopicsOf(msgs []Message) []string {
	t := make([]string, 0, len(msgs))
	for _, m := range msgs {
		t = append(t, m.Topic)
	}
	return t
}

// device is one HA device as the entities see it.
type device struct {
	node  string         // identifier and node_id
	slug  string         // for default_entity_id
	block map[string]any // the "device" object
	avail []string       // availability topics for its ordinary entities
}

// entity is one config before the common keys are added.
type entity struct {
	component string
	key       string
	name      string
	category  string   // "", "diagnostic" or "config"
	avail     []string // nil: the device's; empty non-nil: none
	fields    map[string]any
}

var noAvailability = []string{}

type builder struct {
	opts     Options
	t        Topics
	origin   map[string]any
	out      map[string][]byte
	bridgeID string // bridge device identifier
	nodes    *Nodes // topic nodes of the homescreen being built
	extras   *Extras
}

func newBuilder(opts Options) *builder {
	origin := map[string]any{"name": "blink2mqtt", "support_url": SupportURL}
	if opts.Version != "" {
		origin["sw_version"] = opts.Version
	}
	return &builder{opts: opts, t: opts.Topics, origin: origin, out: map[string][]byte{}, bridgeID: BridgeDeviceID(opts.Topics)}
}

func (b *builder) messages() []Message {
	msgs := make([]Message, 0, len(b.out))
	for t, p := range b.out {
		msgs = append(msgs, Message{Topic: t, Payload: p, Retained: true})
	}
	slices.SortFunc(msgs, func(a, b Message) int { return strings.Compare(a.Topic, b.Topic) })
	return msgs
}

// add renders one config. The first config for a topic wins, so duplicate
// Blink ids cannot make two payloads fight over one topic.
func (b *builder) add(d device, e entity) {
	topic := b.opts.prefix() + "/" + e.component + "/" + d.node + "/" + e.key + "/config"
	if _, dup := b.out[topic]; dup {
		return
	}
	p := map[string]any{
		"name":              e.name,
		"unique_id":         d.node + "_" + e.key,
		"default_entity_id": e.component + "." + d.slug + "_" + e.key,
		"device":            d.block,
		"origin":            b.origin,
	}
	if e.category != "" {
		p["entity_category"] = e.category
	}
	avail := d.avail
	if e.avail != nil {
		avail = e.avail
	}
	if len(avail) > 0 {
		list := make([]map[string]any, len(avail))
		for i, t := range avail {
			// payload_available/payload_not_available are HA's defaults, Online/Offline.
			list[i] = map[string]any{"topic": t}
		}
		p["availability"] = list
		if len(avail) > 1 {
			p["availability_mode"] = "all"
		}
	}
	for k, v := range e.fields {
		p[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		// Only maps of strings, numbers, bools and slices go in; this cannot fail.
		panic(fmt.Sprintf("discovery: encode %s: %v", topic, err))
	}
	b.out[topic] = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func entitySlug(name, fallback string) string {
	s := slug(name)
	if s == "" {
		s = slug(fallback)
	}
	return "blink_" + s
}

func (b *builder) bridge() {
	name := b.opts.bridgeName()
	block := map[string]any{
		"identifiers":  []string{b.bridgeID},
		"name":         name,
		"manufacturer": "blink2mqtt",
		"model":        "Bridge",
	}
	if b.opts.Version != "" {
		block["sw_version"] = b.opts.Version
	}
	s := slug(name)
	if s == "" {
		s = "blink2mqtt_bridge"
	}
	d := device{node: b.bridgeID, slug: s, block: block, avail: []string{b.t.BridgeState()}}
	set := func(key string) string { return Set(b.t.BridgeEntity(key)) }

	b.add(d, entity{component: "binary_sensor", key: "connectivity", name: "Connection", category: "diagnostic",
		avail: noAvailability, fields: map[string]any{
			"state_topic": b.t.BridgeState(), "device_class": "connectivity",
			"payload_on": Online, "payload_off": Offline,
			"json_attributes_topic": b.t.BridgeInfo(),
		}})
	b.add(d, entity{component: "sensor", key: BridgeAuthState, name: "Auth state", fields: map[string]any{
		"state_topic": b.t.BridgeEntity(BridgeAuthState), "device_class": "enum",
		"options": AuthStates(), "icon": "mdi:account-key",
	}})
	b.add(d, entity{component: "text", key: BridgeAuthCode, name: "2FA code", fields: map[string]any{
		"state_topic": b.t.BridgeEntity(BridgeAuthCode), "command_topic": set(BridgeAuthCode),
		"mode": "password", "min": 0, "max": AuthCodeMax, "pattern": AuthCodePattern,
		"icon": "mdi:form-textbox-password",
	}})
	b.add(d, entity{component: "button", key: BridgeAuthSubmit, name: "Submit 2FA code", fields: map[string]any{
		"command_topic": set(BridgeAuthSubmit), "payload_press": Press, "icon": "mdi:send",
	}})
	b.add(d, entity{component: "button", key: BridgeAuthLogin, name: "Log in again", fields: map[string]any{
		"command_topic": set(BridgeAuthLogin), "payload_press": Press, "icon": "mdi:login",
	}})
	b.add(d, entity{component: "sensor", key: BridgeRequests, name: "Blink requests last hour", category: "diagnostic",
		fields: map[string]any{
			"state_topic": b.t.BridgeEntity(BridgeRequests), "state_class": "measurement",
			"unit_of_measurement": "requests", "icon": "mdi:counter",
		}})
	b.add(d, entity{component: "sensor", key: BridgeCooldown, name: "Rate limit cooldown until", category: "diagnostic",
		fields: map[string]any{
			"state_topic": b.t.BridgeEntity(BridgeCooldown), "device_class": "timestamp", "icon": "mdi:timer-sand",
		}})
	b.add(d, entity{component: "button", key: BridgeRediscover, name: "Rediscover", category: "config", fields: map[string]any{
		"command_topic": set(BridgeRediscover), "payload_press": Press, "icon": "mdi:magnify-scan",
	}})
	b.add(d, entity{component: "button", key: BridgeRefresh, name: "Refresh", category: "config", fields: map[string]any{
		"command_topic": set(BridgeRefresh), "payload_press": Press, "icon": "mdi:refresh",
	}})
	b.notificationSwitches(d)
}

// 2FA text entity limits. The state is "" or a mask of '*', never the code.
const (
	AuthCodeMax     = 16
	AuthCodePattern = `^([0-9]*|\*+)$`
)

func (b *builder) homescreen(hs *blink.Homescreen) {
	b.nodes = NodesOf(hs)
	nets := map[int64]bool{}
	for _, n := range hs.Networks {
		nets[n.ID] = true
		b.network(n)
	}
	// The hub of a network is its sync module with the lowest id, so the
	// choice does not depend on Blink's order.
	hub := map[int64]int64{}
	for _, s := range hs.SyncModules {
		if h, ok := hub[s.NetworkID]; !ok || s.ID < h {
			hub[s.NetworkID] = s.ID
		}
		b.syncModule(s, nets[s.NetworkID])
	}
	for _, d := range hs.Devices {
		via := ""
		if h, ok := hub[d.NetworkID]; ok {
			via = SyncModuleDeviceID(h)
		} else if nets[d.NetworkID] {
			via = NetworkDeviceID(d.NetworkID)
		}
		b.device(d, via)
	}
}

func (b *builder) network(n blink.Network) {
	node := NetworkDeviceID(n.ID)
	name := n.Name
	if name == "" {
		name = "Blink " + id(n.ID)
	}
	d := device{
		node: node,
		slug: entitySlug(n.Name, "network_"+id(n.ID)),
		block: map[string]any{
			"identifiers":  []string{node},
			"name":         name,
			"manufacturer": "Blink",
			"model":        "Blink system",
			"via_device":   b.bridgeID,
		},
		avail: []string{b.t.BridgeState(), b.t.NetworkAvailability(n.ID)},
	}
	state := b.t.NetworkEntity(n.ID, EntityAlarm)
	b.add(d, entity{component: "alarm_control_panel", key: EntityAlarm, name: "Alarm", fields: map[string]any{
		"state_topic": state, "command_topic": Set(state),
		"supported_features":    []string{"arm_away"},
		"code_arm_required":     false,
		"code_disarm_required":  false,
		"payload_arm_away":      ArmAway,
		"payload_disarm":        Disarm,
		"json_attributes_topic": b.t.NetworkAttributes(n.ID),
	}})
	b.networkPrograms(d, n)
}

func deviceBlock(node, name, model, modelID, sw, serial, via string) map[string]any {
	m := map[string]any{"identifiers": []string{node}, "name": name, "manufacturer": "Blink", "model": model}
	for k, v := range map[string]string{"model_id": modelID, "sw_version": sw, "serial_number": serial, "via_device": via} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

func (b *builder) syncModule(s blink.SyncModule, netKnown bool) {
	node := SyncModuleDeviceID(s.ID)
	name := s.Name
	if name == "" {
		name = "Sync Module " + id(s.ID)
	}
	via := ""
	if netKnown {
		via = NetworkDeviceID(s.NetworkID)
	}
	d := device{
		node:  node,
		slug:  entitySlug(s.Name, "sync_"+id(s.ID)),
		block: deviceBlock(node, name, SyncModuleModel(s), s.Type, s.FirmwareVersion, s.Serial, via),
		avail: []string{b.t.BridgeState(), b.t.NodeAvailability(b.nodes.Node(SyncModuleKey(s)))},
	}
	c := SyncCapsWatched(s, b.opts.LocalStorage)
	st := func(key string) string { return b.t.NodeEntity(b.nodes.Node(SyncModuleKey(s)), key) }
	if c.Online {
		b.add(d, onlineEntity(b.t, st(EntityOnline), st(EntityAttributes)))
	}
	if c.LocalStorage {
		b.add(d, entity{component: "sensor", key: EntityLocalStorage, name: "Local storage", category: "diagnostic",
			fields: map[string]any{"state_topic": st(EntityLocalStorage), "icon": "mdi:usb-flash-drive"}})
	}
	if c.LocalStorageChecked {
		// The number of clips it listed is in the sync module's attributes.
		b.add(d, entity{component: "sensor", key: EntityLocalStorageChecked, name: "Local storage checked", category: "diagnostic",
			fields: map[string]any{
				"state_topic": st(EntityLocalStorageChecked), "device_class": "timestamp", "icon": "mdi:usb-flash-drive",
				"json_attributes_topic": st(EntityAttributes),
			}})
	}
	if c.WiFiBars {
		b.add(d, wifiBarsEntity(st(EntityWiFi)))
	}
}

func onlineEntity(t Topics, state, attrs string) entity {
	return entity{component: "binary_sensor", key: EntityOnline, name: "Online", category: "diagnostic",
		avail: []string{t.BridgeState()}, fields: map[string]any{
			"state_topic": state, "device_class": "connectivity",
			"payload_on": On, "payload_off": Off,
			"json_attributes_topic": attrs,
		}}
}

func wifiBarsEntity(state string) entity {
	return entity{component: "sensor", key: EntityWiFi, name: "Wi-Fi signal", category: "diagnostic",
		fields: map[string]any{"state_topic": state, "state_class": "measurement", "icon": "mdi:wifi"}}
}

func (b *builder) device(dv blink.Device, via string) {
	c := b.opts.caps(dv)
	if len(c.Keys()) == 0 {
		return
	}
	node := DeviceID(dv.Family, dv.ID)
	model := DeviceModel(dv)
	name := dv.Name
	if name == "" {
		name = "Blink " + model + " " + id(dv.ID)
	}
	d := device{
		node:  node,
		slug:  entitySlug(dv.Name, string(dv.Family)+"_"+id(dv.ID)),
		block: deviceBlock(node, name, model, dv.Type, dv.FirmwareVersion, dv.Serial, via),
		avail: []string{b.t.BridgeState(), b.t.NodeAvailability(b.nodes.Node(KeyOf(dv)))},
	}
	st := func(key string) string { return b.t.NodeEntity(b.nodes.Node(KeyOf(dv)), key) }
	button := func(key, name, icon string) entity {
		return entity{component: "button", key: key, name: name, fields: map[string]any{
			"command_topic": Set(st(key)), "payload_press": Press, "icon": icon}}
	}
	if c.Motion {
		f := map[string]any{"state_topic": st(EntityMotion), "device_class": "motion", "payload_on": On, "payload_off": Off}
		if b.opts.HoldTime > 0 {
			f["off_delay"] = int(math.Ceil(b.opts.HoldTime.Seconds()))
		}
		b.add(d, entity{component: "binary_sensor", key: EntityMotion, name: "Motion", fields: f})
	}
	if c.MotionDetection {
		b.add(d, entity{component: "switch", key: EntityMotionDetection, name: "Motion detection", fields: map[string]any{
			"state_topic": st(EntityMotionDetection), "command_topic": Set(st(EntityMotionDetection)),
			"payload_on": On, "payload_off": Off, "icon": "mdi:motion-sensor",
		}})
	}
	if c.Snapshot {
		b.add(d, button(EntitySnapshot, "Snapshot", "mdi:camera"))
	}
	if c.Record {
		b.add(d, button(EntityRecord, "Record clip", "mdi:record-rec"))
	}
	if c.Thumbnail {
		b.add(d, entity{component: "image", key: EntityThumbnail, name: "Thumbnail", fields: map[string]any{
			"image_topic": st(EntityThumbnail), "content_type": "image/jpeg",
		}})
	}
	if c.BatteryLow {
		b.add(d, entity{component: "binary_sensor", key: EntityBatteryLow, name: "Battery", category: "diagnostic",
			fields: map[string]any{"state_topic": st(EntityBatteryLow), "device_class": "battery", "payload_on": On, "payload_off": Off}})
	}
	if c.BatteryLevel {
		b.add(d, entity{component: "sensor", key: EntityBatteryLevel, name: "Battery level", category: "diagnostic",
			fields: map[string]any{"state_topic": st(EntityBatteryLevel), "state_class": "measurement", "icon": "mdi:battery-medium"}})
	}
	if c.Temperature {
		b.add(d, entity{component: "sensor", key: EntityTemperature, name: "Temperature", fields: map[string]any{
			"state_topic": st(EntityTemperature), "device_class": "temperature",
			"unit_of_measurement": "°F", "state_class": "measurement",
		}})
	}
	if c.WiFiBars {
		b.add(d, wifiBarsEntity(st(EntityWiFi)))
	}
	if c.WiFiDBm {
		b.add(d, entity{component: "sensor", key: EntityWiFiDBm, name: "Wi-Fi RSSI", category: "diagnostic", fields: map[string]any{
			"state_topic": st(EntityWiFiDBm), "device_class": "signal_strength",
			"unit_of_measurement": "dBm", "state_class": "measurement",
		}})
	}
	if c.Online {
		b.add(d, onlineEntity(b.t, st(EntityOnline), st(EntityAttributes)))
	}
	if c.LastEvent {
		b.add(d, entity{component: "sensor", key: EntityLastEvent, name: "Last event", fields: map[string]any{
			"state_topic": st(EntityLastEvent), "device_class": "timestamp",
		}})
	}
	if c.Event && len(c.EventTypes) > 0 {
		b.add(d, entity{component: "event", key: EntityEvent, name: "Event", fields: map[string]any{
			"state_topic": st(EntityEvent), "device_class": "motion", "event_types": c.EventTypes,
		}})
	}
	b.deviceSettings(d, dv)
}
