package bridge

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

const (
	online  = discovery.Online
	offline = discovery.Offline
)

// heartbeatGranularity coarsens a sync module's heartbeat (Blink moves it
// about once a minute) so an idle account stays quiet.
const heartbeatGranularity = 15 * time.Minute

// devKey identifies a device or sync module, family included (Blink
// numbers each family on its own).
type devKey = discovery.DeviceKey

// stateView is everything the retained state is computed from.
type stateView struct {
	now time.Time
	hs  *blink.Homescreen
	// nodes are hs's topic nodes (discovery.NodesOf(hs)).
	nodes *discovery.Nodes
	// blinkOK is false while Blink cannot be used (re-login needed): every
	// network and device is then unavailable.
	blinkOK bool
	// alarm overrides a network's alarm state while a command runs.
	alarm map[int64]string
	// motionUntil holds the devices whose motion is ON (until when).
	motionUntil map[devKey]time.Time
	lastEvent   map[devKey]time.Time
	// localWatch: USB storage is watched (sync modules get the sensor of
	// its last check); localChecks are those checks by sync module id.
	localWatch  bool
	localChecks map[int64]localCheck
	// settings are the read settings, schedules and notification flags
	// (nil: none).
	settings *settingsState
	bridge   bridgeView
	// rtsp adds each device's stream path to its attributes.
	rtsp bool
	// onError hears about a payload that could not be encoded (its topic is
	// left out); nil ignores it.
	onError func(topic string, err error)
}

// alarmOf is a network's alarm state: Blink's, or the state of a command
// running on it.
func (v *stateView) alarmOf(n blink.Network) string {
	if o, ok := v.alarm[n.ID]; ok {
		return o
	}
	if n.Armed {
		return discovery.ArmedAway
	}
	return discovery.Disarmed
}

// put stores the JSON encoding of p as topic's payload.
func (v *stateView) put(m map[string]string, topic string, p any) {
	s, err := marshal(p)
	if err != nil {
		if v.onError != nil {
			v.onError(topic, err)
		}
		return
	}
	m[topic] = s
}

// bridgeView is the bridge's own retained state.
type bridgeView struct {
	auth         AuthStatus
	codePending  bool
	requestsHour int // < 0: unknown
	cooldown     time.Time
	info         []byte
}

// desiredState computes every retained state topic and its payload. It is a
// pure function of v: the same view always gives the same map.
func desiredState(t discovery.Topics, caps func(blink.Device) discovery.Capabilities, v *stateView) map[string]string {
	n := 8
	if v.hs != nil {
		n += 4*len(v.hs.Networks) + 6*len(v.hs.SyncModules) + 12*len(v.hs.Devices)
	}
	m := make(map[string]string, n)
	bridgeState(t, v, m)
	if v.hs == nil {
		return m
	}
	nodes := v.nodes
	if nodes == nil {
		nodes = discovery.NodesOf(v.hs)
	}
	avail := offline
	if v.blinkOK {
		avail = online
	}
	for _, nw := range v.hs.Networks {
		m[t.NetworkEntity(nw.ID, discovery.EntityAlarm)] = v.alarmOf(nw)
		m[t.NetworkAvailability(nw.ID)] = avail
		v.put(m, t.NetworkAttributes(nw.ID), networkAttrs{
			ID: nw.ID, Name: nw.Name, Armed: nw.Armed, TimeZone: nw.TimeZone, UpdatedAt: timeOrNil(nw.UpdatedAt),
			Programs: putPrograms(t, v.settings, nw.ID, m),
		})
	}
	for _, sm := range v.hs.SyncModules {
		node := nodes.Node(discovery.SyncModuleKey(sm))
		st := func(key string) string { return t.NodeEntity(node, key) }
		c := discovery.SyncCapsWatched(sm, v.localWatch)
		if c.Online {
			m[st(discovery.EntityOnline)] = onOff(sm.Online())
		}
		if c.LocalStorage {
			m[st(discovery.EntityLocalStorage)] = noneIfEmpty(sm.LocalStorageStatus)
		}
		check, checked := v.localChecks[sm.ID]
		if c.LocalStorageChecked {
			m[st(discovery.EntityLocalStorageChecked)] = timeOrNone(check.at)
		}
		if c.WiFiBars {
			m[st(discovery.EntityWiFi)] = strconv.Itoa(sm.WiFiBars)
		}
		m[t.NodeAvailability(node)] = avail
		// The heartbeat moves about once a minute: kept out of the
		// attributes (HA records every attributes change) and coarsened.
		m[st(discovery.EntityHeartbeat)] = timeOrNone(sm.LastHeartbeat.Truncate(heartbeatGranularity))
		a := syncAttrs{
			ID: sm.ID, NetworkID: sm.NetworkID, Name: sm.Name, Serial: sm.Serial, Firmware: sm.FirmwareVersion,
			Type: sm.Type, Status: sm.Status, Online: sm.Online(), LocalStorage: sm.LocalStorageStatus,
		}
		if sm.WiFiBars >= 0 {
			a.WiFiBars = &sm.WiFiBars
		}
		if checked && c.LocalStorageChecked {
			a.LocalStorageClips = &check.clips
		}
		v.put(m, t.NodeAttributes(node), a)
	}
	for i := range v.hs.Devices {
		d := &v.hs.Devices[i]
		c := caps(*d)
		if len(c.Keys()) == 0 {
			continue
		}
		k := discovery.KeyOf(*d)
		node := nodes.Node(k)
		st := func(key string) string { return t.NodeEntity(node, key) }
		_, motion := v.motionUntil[k]
		last, hasLast := v.lastEvent[k]
		if c.Motion {
			m[st(discovery.EntityMotion)] = onOff(motion)
		}
		if c.MotionDetection {
			m[st(discovery.EntityMotionDetection)] = onOff(d.Enabled)
		}
		if c.BatteryLow {
			m[st(discovery.EntityBatteryLow)] = onOff(d.Battery == "low")
		}
		s := d.Signals
		if c.BatteryLevel {
			m[st(discovery.EntityBatteryLevel)] = intOrNone(sigInt(s, func(s *blink.Signals) *int { return s.BatteryBars }))
		}
		if c.Temperature {
			m[st(discovery.EntityTemperature)] = intOrNone(sigInt(s, func(s *blink.Signals) *int { return s.TemperatureF }))
		}
		if c.WiFiBars {
			m[st(discovery.EntityWiFi)] = intOrNone(sigInt(s, func(s *blink.Signals) *int { return s.WiFiBars }))
		}
		if c.Online {
			m[st(discovery.EntityOnline)] = onOff(d.Online())
		}
		if c.LastEvent {
			m[st(discovery.EntityLastEvent)] = timeOrNone(last) // zero when !hasLast
		}
		da := offline
		if v.blinkOK && d.Online() {
			da = online
		}
		m[t.NodeAvailability(node)] = da
		a := deviceAttrs{
			ID: d.ID, NetworkID: d.NetworkID, Name: d.Name, Family: string(d.Family), Type: d.Type,
			Model: discovery.DeviceModel(*d), Serial: d.Serial, Firmware: d.FirmwareVersion, Status: d.Status,
			Online: d.Online(), MotionDetection: d.Enabled, Motion: motion, Battery: d.Battery,
			UpdatedAt: timeOrNil(d.UpdatedAt),
		}
		if hasLast {
			a.LastEvent = timeOrNil(last)
		}
		if s != nil {
			a.TemperatureF, a.WiFiBars, a.LFRBars, a.BatteryBars = s.TemperatureF, s.WiFiBars, s.LFRBars, s.BatteryBars
		}
		a.Settings, a.WiFiDBm = putDeviceSettings(t, v.settings, k, node, m)
		if v.rtsp && d.Family.Valid() {
			a.RTSPPath = livePath(node)
		}
		v.put(m, t.NodeAttributes(node), a)
	}
	return m
}

func bridgeState(t discovery.Topics, v *stateView, m map[string]string) {
	b := &v.bridge
	v.put(m, t.BridgeAuth(), b.auth.payload())
	m[t.BridgeEntity(discovery.BridgeAuthState)] = string(b.auth.State)
	if b.codePending {
		m[t.BridgeEntity(discovery.BridgeAuthCode)] = "******"
	} else {
		m[t.BridgeEntity(discovery.BridgeAuthCode)] = ""
	}
	if b.requestsHour >= 0 {
		m[t.BridgeEntity(discovery.BridgeRequests)] = strconv.Itoa(b.requestsHour)
	} else {
		m[t.BridgeEntity(discovery.BridgeRequests)] = discovery.StateNone
	}
	m[t.BridgeEntity(discovery.BridgeCooldown)] = timeOrNone(b.cooldown)
	if b.info != nil {
		m[t.BridgeInfo()] = string(b.info)
	}
	putNotifications(t, v.settings, m)
}

type networkAttrs struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Armed     bool       `json:"armed"`
	TimeZone  string     `json:"time_zone,omitempty"`
	UpdatedAt *time.Time `json:"updated_at"`
	// Programs are the system's schedules once read.
	Programs []programAttrs `json:"programs,omitempty"`
}

type syncAttrs struct {
	ID           int64  `json:"id"`
	NetworkID    int64  `json:"network_id"`
	Name         string `json:"name"`
	Serial       string `json:"serial,omitempty"`
	Firmware     string `json:"firmware,omitempty"`
	Type         string `json:"type,omitempty"`
	Status       string `json:"status"`
	Online       bool   `json:"online"`
	WiFiBars     *int   `json:"wifi_bars"`
	LocalStorage string `json:"local_storage,omitempty"`
	// LocalStorageClips is how many clips the last check of the USB
	// storage listed.
	LocalStorageClips *int `json:"local_storage_clips,omitempty"`
}

type deviceAttrs struct {
	ID              int64      `json:"id"`
	NetworkID       int64      `json:"network_id"`
	Name            string     `json:"name"`
	Family          string     `json:"family"`
	Type            string     `json:"type"`
	Model           string     `json:"model"`
	Serial          string     `json:"serial,omitempty"`
	Firmware        string     `json:"firmware,omitempty"`
	Status          string     `json:"status"`
	Online          bool       `json:"online"`
	MotionDetection bool       `json:"motion_detection"`
	Motion          bool       `json:"motion"`
	Battery         string     `json:"battery,omitempty"`
	BatteryBars     *int       `json:"battery_bars,omitempty"`
	TemperatureF    *int       `json:"temperature_f,omitempty"`
	WiFiBars        *int       `json:"wifi_bars,omitempty"`
	LFRBars         *int       `json:"lfr_bars,omitempty"`
	LastEvent       *time.Time `json:"last_event"`
	UpdatedAt       *time.Time `json:"updated_at"`
	// Settings are the values the device's config reported; WiFiDBm its
	// Wi-Fi signal from the same read.
	Settings map[string]blink.SettingValue `json:"settings,omitempty"`
	WiFiDBm  *int                          `json:"wifi_dbm,omitempty"`
	RTSPPath string                        `json:"rtsp_path,omitempty"`
}

// marshal encodes a payload. Blink's data reaches it only through the
// guards below, but a failure still never panics: the topic is left out
// (and keeps its last value) and the caller logs it.
func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func onOff(b bool) string {
	if b {
		return discovery.On
	}
	return discovery.Off
}

func noneIfEmpty(s string) string {
	if s == "" {
		return discovery.StateNone
	}
	return s
}

func intOrNone(p *int) string {
	if p == nil {
		return discovery.StateNone
	}
	return strconv.Itoa(*p)
}

func sigInt(s *blink.Signals, f func(*blink.Signals) *int) *int {
	if s == nil {
		return nil
	}
	return f(s)
}

// publishable reports whether t can appear in a payload: set, and within
// the years RFC 3339 and encoding/json can write. Blink has sent times
// outside them (9999-12-31T23:30:00-01:00 is year 10000 in UTC); such a
// time counts as absent.
func publishable(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	y := t.UTC().Year()
	return y >= 1 && y <= 9999
}

// timeOrNil is t in UTC for a JSON payload, or nil when t is absent or not
// publishable.
func timeOrNil(t time.Time) *time.Time {
	if !publishable(t) {
		return nil
	}
	u := t.UTC()
	return &u
}

// timeOrNone is t as an RFC 3339 state, or HA's "None".
func timeOrNone(t time.Time) string {
	if !publishable(t) {
		return discovery.StateNone
	}
	return t.UTC().Format(time.RFC3339)
}

// isAvailabilityTopic reports whether topic is a per-network or per-device
// availability topic under root.
func isAvailabilityTopic(t discovery.Topics, topic string) bool {
	return strings.HasPrefix(topic, t.Root+"/") && strings.HasSuffix(topic, "/"+discovery.EntityAvailability)
}
