package discovery

import "github.com/blink2mqtt/blink2mqtt/blink"

// Event types a device's event entity declares (the "event_type" of each
// message on its EntityEvent topic).
const (
	EventMotion   = "motion"   // a motion clip (Blink source "pir" and anything unknown)
	EventSnapshot = "snapshot" // a thumbnail someone requested
	EventLiveview = "liveview" // a live-view recording
	EventDoorbell = "doorbell" // a doorbell press, only when Blink says so
)

// Capabilities says which entities a camera, Mini or doorbell gets. Build
// creates a config for each true field and the bridge publishes a state for
// the same ones, so both decide from this one function.
type Capabilities struct {
	Motion          bool // binary_sensor EntityMotion
	MotionDetection bool // switch EntityMotionDetection
	Snapshot        bool // button EntitySnapshot
	Record          bool // button EntityRecord
	Thumbnail       bool // image EntityThumbnail
	BatteryLow      bool // binary_sensor EntityBatteryLow (Battery != "")
	BatteryLevel    bool // sensor EntityBatteryLevel (Signals.BatteryBars)
	Temperature     bool // sensor EntityTemperature (Signals.TemperatureF)
	WiFiBars        bool // sensor EntityWiFi (Signals.WiFiBars)
	WiFiDBm         bool // sensor EntityWiFiDBm; never set by Caps (homescreen has no dBm), see Options.Caps
	Online          bool // binary_sensor EntityOnline
	LastEvent       bool // sensor EntityLastEvent
	Event           bool // event EntityEvent
	// EventTypes are the event_types of the event entity.
	EventTypes []string
}

// Caps returns the entities a device gets, from what its family reports:
// every family has motion, motion detection, snapshot,
// record, thumbnail, online, last event and the clip event; battery and the
// homescreen "signals" values only where Blink sends them. A device of an
// unknown family gets nothing, because no command could reach it.
//
// Type is not consulted: no known type differs from its family in what
// homescreen carries, and presence of the fields is the better signal.
func Caps(d blink.Device) Capabilities {
	if !d.Family.Valid() {
		return Capabilities{}
	}
	c := Capabilities{
		Motion:          true,
		MotionDetection: true,
		Snapshot:        true,
		Record:          true,
		Thumbnail:       true,
		BatteryLow:      d.Battery != "",
		Online:          true,
		LastEvent:       true,
		Event:           true,
		EventTypes:      EventTypes(d.Family),
	}
	if s := d.Signals; s != nil {
		c.BatteryLevel = s.BatteryBars != nil
		c.Temperature = s.TemperatureF != nil
		c.WiFiBars = s.WiFiBars != nil
	}
	return c
}

// EventTypes returns the event_types of a family's event entity. Doorbells
// add EventDoorbell for the day Blink marks presses; the entity's
// device_class stays "motion" (see eventEntity).
func EventTypes(f blink.Family) []string {
	t := []string{EventMotion, EventSnapshot, EventLiveview}
	if f == blink.FamilyDoorbell {
		t = append(t, EventDoorbell)
	}
	return t
}

// Keys returns the entity keys (topics.go Entity* constants) of the
// entities c enables, in a fixed order. Buttons and the event entity are
// included; their topics take commands or carry non-retained events.
func (c Capabilities) Keys() []string {
	var k []string
	add := func(on bool, key string) {
		if on {
			k = append(k, key)
		}
	}
	add(c.Motion, EntityMotion)
	add(c.MotionDetection, EntityMotionDetection)
	add(c.Snapshot, EntitySnapshot)
	add(c.Record, EntityRecord)
	add(c.Thumbnail, EntityThumbnail)
	add(c.BatteryLow, EntityBatteryLow)
	add(c.BatteryLevel, EntityBatteryLevel)
	add(c.Temperature, EntityTemperature)
	add(c.WiFiBars, EntityWiFi)
	add(c.WiFiDBm, EntityWiFiDBm)
	add(c.Online, EntityOnline)
	add(c.LastEvent, EntityLastEvent)
	add(c.Event, EntityEvent)
	return k
}

// SyncCapabilities says which entities a sync module gets.
type SyncCapabilities struct {
	Online       bool // binary_sensor EntityOnline
	LocalStorage bool // sensor EntityLocalStorage
	// LocalStorageChecked: sensor EntityLocalStorageChecked, the last check
	// of the USB storage (only when the bridge watches it).
	LocalStorageChecked bool
	WiFiBars            bool // sensor EntityWiFi
}

// SyncCaps returns the entities a sync module gets. Local storage is decided
// by type where the type is known (sm2 has a USB port; sm1 and kalahari have
// none), otherwise by whether homescreen reported a status, so a field
// missing from one poll does not make the entity come and go on known types.
func SyncCaps(s blink.SyncModule) SyncCapabilities {
	c := SyncCapabilities{Online: true, WiFiBars: s.WiFiBars >= 0}
	switch s.Type {
	case "sm2":
		c.LocalStorage = true
	case "sm1", "kalahari":
	default:
		c.LocalStorage = s.LocalStorageStatus != ""
	}
	return c
}

// SyncCapsWatched is SyncCaps for a bridge that watches the USB storage of
// sync modules (watch): one that has local storage also gets the sensor of
// the last manifest check.
func SyncCapsWatched(s blink.SyncModule, watch bool) SyncCapabilities {
	c := SyncCaps(s)
	c.LocalStorageChecked = watch && c.LocalStorage
	return c
}

// Keys returns the entity keys c enables, in a fixed order.
func (c SyncCapabilities) Keys() []string {
	var k []string
	if c.Online {
		k = append(k, EntityOnline)
	}
	if c.LocalStorage {
		k = append(k, EntityLocalStorage)
	}
	if c.LocalStorageChecked {
		k = append(k, EntityLocalStorageChecked)
	}
	if c.WiFiBars {
		k = append(k, EntityWiFi)
	}
	return k
}
