package bridge

import (
	"hash/crc32"
	"strconv"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// Status is a read-only picture of the bridge for a status page: the login,
// the broker connection, every system and device as last polled, the last
// events and the Blink request budget. It holds no secret.
type Status struct {
	Version       string
	MQTTConnected bool
	Auth          AuthStatus
	// NextStep says what a person has to do about the login; "" when
	// nothing.
	NextStep  string
	AccountID int64
	Tier      string
	// LastPoll is the last successful homescreen poll; zero before the
	// first.
	LastPoll time.Time
	// RequestsLastHour counts the requests sent to Blink in the last hour.
	RequestsLastHour int
	// CooldownUntil is the end of Blink's rate-limit cooldown; zero when
	// none runs.
	CooldownUntil time.Time
	// Systems are Blink's networks in the homescreen's order; nil before
	// the first poll.
	Systems []SystemStatus
	// Events are the last events published on <root>/events, newest first.
	Events []RecentEvent
}

// SystemStatus is one Blink system (network) with what belongs to it.
type SystemStatus struct {
	ID    int64
	Name  string
	Armed bool
	// Alarm is the alarm panel's state: armed_away or disarmed, arming or
	// disarming while a command runs.
	Alarm       string
	SyncModules []SyncModuleStatus
	Devices     []DeviceStatus
}

// SyncModuleStatus is one sync module.
type SyncModuleStatus struct {
	ID     int64
	Name   string
	Online bool
	// WiFiBars is 0–5; -1 when Blink did not say.
	WiFiBars int
}

// DeviceStatus is one camera, Mini or doorbell.
type DeviceStatus struct {
	Key             discovery.DeviceKey
	Name            string
	Family          blink.Family
	Model           string
	Online          bool
	MotionDetection bool
	// Motion is true while the motion sensor is ON.
	Motion bool
	// Battery is "ok" or "low"; "" for mains-powered devices.
	Battery      string
	BatteryBars  *int
	TemperatureF *int
	WiFiBars     *int
	// LastEvent is the device's last media item; zero when none was seen.
	LastEvent time.Time
	// Thumbnail identifies the picture held (Bridge.Thumbnail returns it):
	// it changes when the picture does, and is "" when there is none.
	Thumbnail string
}

// Status reports what the bridge knows right now. It is safe to call at
// any time, also before Run, and never calls Blink: it reads each part in
// turn, holding no lock across another.
func (b *Bridge) Status() Status {
	now := b.opts.Now()
	h := b.Health()
	v := b.model.view(now)
	st := b.cloud.Stats()
	sess := b.cloud.Session()
	s := Status{
		Version:          b.opts.Version,
		MQTTConnected:    h.MQTTConnected,
		Auth:             v.bridge.auth,
		NextStep:         nextStep(v.bridge.auth.State),
		AccountID:        sess.AccountID,
		Tier:             sess.Tier,
		LastPoll:         h.LastPoll,
		RequestsLastHour: st.LastHour,
		CooldownUntil:    h.CooldownUntil,
		Events:           b.events.recent(),
	}
	if v.hs == nil {
		return s
	}
	if s.AccountID == 0 {
		s.AccountID = v.hs.AccountID
	}
	pictures := b.thumbs.images()
	index := make(map[int64]int, len(v.hs.Networks))
	for _, n := range v.hs.Networks {
		index[n.ID] = len(s.Systems)
		s.Systems = append(s.Systems, SystemStatus{ID: n.ID, Name: n.Name, Armed: n.Armed, Alarm: v.alarmOf(n)})
	}
	system := func(id int64) *SystemStatus {
		i, ok := index[id]
		if !ok { // a device of a network the homescreen does not list
			index[id] = len(s.Systems)
			s.Systems = append(s.Systems, SystemStatus{ID: id, Name: "Network " + strconv.FormatInt(id, 10), Alarm: discovery.Disarmed})
			i = index[id]
		}
		return &s.Systems[i]
	}
	for _, sm := range v.hs.SyncModules {
		sys := system(sm.NetworkID)
		sys.SyncModules = append(sys.SyncModules, SyncModuleStatus{ID: sm.ID, Name: sm.Name, Online: sm.Online(), WiFiBars: sm.WiFiBars})
	}
	for _, d := range v.hs.Devices {
		k := discovery.KeyOf(d)
		_, motion := v.motionUntil[k]
		ds := DeviceStatus{
			Key: k, Name: d.Name, Family: d.Family, Model: discovery.DeviceModel(d),
			Online: d.Online(), MotionDetection: d.Enabled, Motion: motion, Battery: d.Battery,
			LastEvent: v.lastEvent[k],
		}
		if sg := d.Signals; sg != nil {
			ds.BatteryBars, ds.TemperatureF, ds.WiFiBars = sg.BatteryBars, sg.TemperatureF, sg.WiFiBars
		}
		if img, ok := pictures[k]; ok {
			ds.Thumbnail = strconv.FormatUint(uint64(crc32.ChecksumIEEE(img)), 36) + "-" + strconv.Itoa(len(img))
		}
		sys := system(d.NetworkID)
		sys.Devices = append(sys.Devices, ds)
	}
	return s
}

// nextStep is what a person does about a login state.
func nextStep(state AuthState) string {
	switch state {
	case AuthCodeRequired:
		return "enter the code Blink sent"
	case AuthReauthRequired:
		return "log in to Blink"
	case AuthError:
		return "fix what the detail says, then log in again"
	}
	return ""
}

// Thumbnail returns the picture held for device k (a JPEG) and whether
// there is one. The bytes must not be changed.
func (b *Bridge) Thumbnail(k discovery.DeviceKey) ([]byte, bool) {
	return b.thumbs.image(k)
}
