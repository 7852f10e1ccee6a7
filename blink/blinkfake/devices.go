package blinkfake

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// devKey names a device: Blink numbers each family on its own, so a camera
// and a Mini may share an id.
type devKey struct {
	family blink.Family
	id     int64
}

func keyOf(d *Device) devKey { return devKey{d.Family, d.ID} }

func refKey(r blink.DeviceRef) devKey { return devKey{r.Family, r.ID} }

// Ref is the address package blink uses for the device.
func (d Device) Ref() blink.DeviceRef {
	return blink.DeviceRef{Family: d.Family, NetworkID: d.NetworkID, ID: d.ID}
}

// resolve finds the one device with id, whatever its family. An id shared by
// two families is an error: the caller must say which (a …On or …At method
// taking a blink.DeviceRef). Caller holds mu.
func (s *Server) resolve(id int64) (*Device, error) {
	var found []*Device
	for _, k := range s.devOrder {
		if k.id == id {
			found = append(found, s.devices[k])
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("blinkfake: no device %d", id)
	case 1:
		return found[0], nil
	}
	e := &sharedIDError{id: id}
	for _, d := range found {
		e.families = append(e.families, string(d.Family))
	}
	return nil, e
}

// sharedIDError: a control call named a device by an id two families use.
type sharedIDError struct {
	id       int64
	families []string
}

func (e *sharedIDError) Error() string {
	return fmt.Sprintf("blinkfake: device id %d is used by a %s; use the method taking a blink.DeviceRef",
		e.id, strings.Join(e.families, " and a "))
}

// panicIfShared turns a shared id into a panic for the methods that cannot
// return an error: picking one device silently would hide a test's mistake.
func panicIfShared(name string, err error) {
	var se *sharedIDError
	if errors.As(err, &se) {
		panic(name + ": " + se.Error())
	}
}

// at finds the device a ref names (its network must match when set). Caller holds mu.
func (s *Server) at(ref blink.DeviceRef) (*Device, error) {
	d, ok := s.devices[refKey(ref)]
	if !ok || ref.NetworkID != 0 && d.NetworkID != ref.NetworkID {
		return nil, fmt.Errorf("blinkfake: no %s %d on network %d", ref.Family, ref.ID, ref.NetworkID)
	}
	return d, nil
}

// isDeviceID reports whether a device of any family uses id. Caller holds mu.
func (s *Server) isDeviceID(id int64) bool {
	return slices.ContainsFunc(s.devOrder, func(k devKey) bool { return k.id == id })
}

func (s *Server) addDevice(d Device, now time.Time) (Device, error) {
	if d.Family == "" {
		d.Family = blink.FamilyCamera
	}
	if d.ID != 0 {
		// Another family may use the id; a network, a sync module or a
		// device of the same family may not.
		if _, dup := s.devices[keyOf(&d)]; dup || s.ids[d.ID] && !s.isDeviceID(d.ID) {
			return Device{}, fmt.Errorf("blinkfake: duplicate id %d", d.ID)
		}
	}
	if _, ok := s.networks[d.NetworkID]; !ok {
		return Device{}, fmt.Errorf("blinkfake: device %q: unknown network %d", d.Name, d.NetworkID)
	}
	if d.ID != 0 {
		s.ids[d.ID] = true
	}
	s.fillDevice(&d, now)
	s.ids[d.ID] = true
	s.devices[keyOf(&d)] = &d
	s.devOrder = append(s.devOrder, keyOf(&d))
	return d, nil
}

// AddDevice adds a device to an existing network and returns it with the
// zero fields filled in (ID, serial, signals, …). Its id may be one a device
// of another family already has, as on Blink.
func (s *Server) AddDevice(d Device) (Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	return s.addDevice(d, s.now())
}

// RemoveDevice deletes the device with id from the account (it disappears
// from homescreen; its media stay). An id two families use is refused.
func (s *Server) RemoveDevice(id int64) error {
	return s.withDevice(func() (*Device, error) { return s.resolve(id) }, s.removeLocked)
}

// RemoveDeviceAt is RemoveDevice for the device ref names.
func (s *Server) RemoveDeviceAt(ref blink.DeviceRef) error {
	return s.withDevice(func() (*Device, error) { return s.at(ref) }, s.removeLocked)
}

func (s *Server) removeLocked(d *Device) {
	k := keyOf(d)
	delete(s.devices, k)
	s.devOrder = slices.DeleteFunc(s.devOrder, func(x devKey) bool { return x == k })
}

// SetDeviceStatus sets the status of a device or sync module: "offline", or
// "online" (which becomes "done" for cameras and doorbells, Blink's word for
// an idle reachable camera), or any raw value. An id two families use is
// refused.
func (s *Server) SetDeviceStatus(id int64, status string) error {
	s.mu.Lock()
	for _, n := range s.networks {
		if n.SyncModule != nil && n.SyncModule.ID == id {
			n.SyncModule.Status = status
			s.notifyLocked()
			s.mu.Unlock()
			return nil
		}
	}
	s.mu.Unlock()
	return s.touch(func() (*Device, error) { return s.resolve(id) }, setStatus(status))
}

// SetDeviceStatusOn is SetDeviceStatus for the device ref names.
func (s *Server) SetDeviceStatusOn(ref blink.DeviceRef, status string) error {
	return s.touch(func() (*Device, error) { return s.at(ref) }, setStatus(status))
}

func setStatus(status string) func(*Device) {
	return func(d *Device) {
		if status == "online" {
			d.Status = onlineWord(d.Family)
			return
		}
		d.Status = status
	}
}

// SetEnabled changes a device's motion detection directly (no command). An
// id two families use is refused.
func (s *Server) SetEnabled(deviceID int64, enabled bool) error {
	return s.touch(func() (*Device, error) { return s.resolve(deviceID) }, func(d *Device) { d.Enabled = enabled })
}

// SetEnabledOn is SetEnabled for the device ref names.
func (s *Server) SetEnabledOn(ref blink.DeviceRef, enabled bool) error {
	return s.touch(func() (*Device, error) { return s.at(ref) }, func(d *Device) { d.Enabled = enabled })
}

// SetBattery sets a device's battery field ("ok", "low", or "" for mains).
// An id two families use is refused.
func (s *Server) SetBattery(deviceID int64, battery string) error {
	return s.touch(func() (*Device, error) { return s.resolve(deviceID) }, setBattery(battery))
}

// SetBatteryOn is SetBattery for the device ref names.
func (s *Server) SetBatteryOn(ref blink.DeviceRef, battery string) error {
	return s.touch(func() (*Device, error) { return s.at(ref) }, setBattery(battery))
}

func setBattery(battery string) func(*Device) {
	return func(d *Device) {
		d.Battery = battery
		if d.HasSignals {
			d.BatteryBars = 3
			if battery == "low" {
				d.BatteryBars = 1
			}
		}
	}
}

// touch changes one device under the lock and stamps its updated_at.
func (s *Server) touch(find func() (*Device, error), f func(*Device)) error {
	return s.withDevice(find, func(d *Device) {
		f(d)
		d.UpdatedAt = s.now().Truncate(time.Second)
	})
}

// withDevice runs f on the device find returns, under the lock, and wakes
// waiters.
func (s *Server) withDevice(find func() (*Device, error), f func(*Device)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	d, err := find()
	if err != nil {
		return err
	}
	f(d)
	return nil
}

// TriggerMotion records a clip for the device with id as if it had seen
// motion: a media item (created_at = now; source "pir" when empty, or
// "liveview", "snapshot") and a new thumbnail. On a network whose local
// storage is active the clip goes onto the USB storage (LocalClips) and the
// returned Media has ID 0. An unknown device fails the
// test (or returns a zero Media without one); an id two families use panics
// (use TriggerMotionOn). With Config.MotionRequiresArmed a "pir" trigger on a
// disarmed network or disabled device records nothing.
func (s *Server) TriggerMotion(deviceID int64, source string) Media {
	return s.trigger("TriggerMotion", func() (*Device, error) { return s.resolve(deviceID) }, source)
}

// TriggerMotionOn is TriggerMotion for the device ref names.
func (s *Server) TriggerMotionOn(ref blink.DeviceRef, source string) Media {
	return s.trigger("TriggerMotionOn", func() (*Device, error) { return s.at(ref) }, source)
}

func (s *Server) trigger(name string, find func() (*Device, error), source string) Media {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	d, err := find()
	if err != nil {
		panicIfShared(name, err)
		s.errorf("blinkfake: %s: %v", name, err)
		return Media{}
	}
	if source == "" {
		source = "pir"
	}
	if s.cfg.MotionRequiresArmed && source == "pir" && (!d.Enabled || !s.networks[d.NetworkID].Armed) {
		return Media{}
	}
	now := s.now()
	s.bumpThumbnail(d, now)
	return s.record(d, source, now)
}

// Device returns a snapshot of the device with id; an id two families use
// panics (use DeviceAt).
func (s *Server) Device(id int64) (Device, bool) {
	return s.snapshot(func() (*Device, error) { return s.resolve(id) })
}

// DeviceAt returns a snapshot of the device ref names.
func (s *Server) DeviceAt(ref blink.DeviceRef) (Device, bool) {
	return s.snapshot(func() (*Device, error) { return s.at(ref) })
}

func (s *Server) snapshot(find func() (*Device, error)) (Device, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
	d, err := find()
	if err != nil {
		panicIfShared("Device", err)
		return Device{}, false
	}
	return *d, true
}
