package blinkfake

import (
	"fmt"
	"maps"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// Account is the explicit starting state of the fake account (Config.Account).
// IDs left zero are assigned; timestamps left zero are set to the clock's now.
type Account struct {
	Networks []Network
	Devices  []Device
	// Notifications are the account's notification flags; nil gives the
	// usual set, all on.
	Notifications map[string]bool
}

// Network is one Blink system. SyncModule is nil for a standalone network
// (a Mini or doorbell that talks to Blink over its own Wi-Fi).
type Network struct {
	ID         int64
	Name       string
	TimeZone   string
	Armed      bool
	SyncModule *SyncModule
	// Subscription keeps clips in the media feed even when the sync
	// module's local storage is active (a Blink subscription).
	Subscription bool
	// Programs are the network's schedules (ids left zero are assigned).
	Programs  []Program
	CreatedAt time.Time
	UpdatedAt time.Time
}

// SyncModule is the sync module of a network.
type SyncModule struct {
	ID              int64
	Name            string
	Serial          string
	FirmwareVersion string
	Type            string // sm1, sm2, kalahari
	Subtype         string // vinnie, billy, …
	Status          string // online, offline
	WiFiBars        int
	// LocalStorageStatus is "active" when a USB stick is in use (clips then
	// go there, see localstorage.go); default "unavailable".
	LocalStorageStatus string
	// LastHeartbeat is homescreen's last_hb. While the module is online it
	// moves once a minute on the clock (at a second of the minute fixed by
	// its id) and when a command on the network completes; offline, it stays.
	LastHeartbeat time.Time
}

// Device is a camera, Mini (owl) or doorbell as the fake stores it.
type Device struct {
	// ID is unique within the family: Blink numbers each family on its
	// own, so a camera and a Mini may share one (give it explicitly).
	ID              int64
	NetworkID       int64
	Family          blink.Family // decides the homescreen array and the endpoints
	Type            string       // catalina, xt2, owl, lotus, sedona, …
	Name            string
	Serial          string
	FirmwareVersion string
	Enabled         bool   // motion detection
	Status          string // cameras/doorbells "done" or "offline"; owls "online" or "offline"
	Battery         string // "ok", "low"; "" = mains powered (no battery field)
	// HasSignals makes homescreen carry a "signals" object (sync-module
	// cameras); TempF, WiFiBars, LFRBars, BatteryBars are its values.
	HasSignals  bool
	TempF       int
	WiFiBars    int
	LFRBars     int
	BatteryBars int
	// ThumbnailTS is the epoch second in the homescreen thumbnail URL; it
	// changes when a new thumbnail exists.
	ThumbnailTS int64
	// LegacyThumbnail makes homescreen show the pre-2022 thumbnail path
	// (fetched with ".jpg" appended) instead of the v3 URL.
	LegacyThumbnail bool
	// WiFiPlaceholder makes a camera's config say -255 for wifi_strength
	// and lfr_strength at the top level and carry the readings under
	// last_connect, as some cameras do.
	WiFiPlaceholder bool
	// Config holds the settings fields the device's config reports
	// (motion_sensitivity, video_length, illuminator_enable, …); nil gives
	// the family's usual set. Only the fields present are reported, so a
	// device without one has no such setting.
	Config    map[string]any
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Media is one entry of the media/changed feed.
type Media struct {
	ID        int64
	CreatedAt time.Time
	UpdatedAt time.Time
	DeviceID  int64
	Family    blink.Family // of the device that recorded it
	NetworkID int64
	Source    string // pir, liveview, snapshot
	Deleted   bool
	Watched   bool
	// Thumbnail and Clip are the server paths the feed carries.
	Thumbnail string
	Clip      string
}

// ID ranges; generated devices of all families share one range, so only an
// explicit id names two devices.
const (
	firstNetworkID    = 410_000_000
	firstSyncModuleID = 520_000_000
	firstDeviceID     = 630_000_000
	firstCommandID    = 9_876_500_000
	firstMediaID      = 3_123_400_000
	firstUSBID        = 866_300_000 // manifest and local clip ids
	firstProgramID    = 740_000_000
)

var deviceNames = []string{
	"Front Yard", "Back Yard", "Driveway", "Front Door", "Garage", "Porch", "Side Gate",
	"Patio", "Hallway", "Living Room", "Kitchen", "Basement", "Garden", "Shed", "Nursery",
	"Office", "Pool", "Carport", "Back Door", "Stairs",
}

var networkNames = []string{
	"Home", "Cabin", "Office", "Lake House", "Workshop", "Barn", "Studio", "Warehouse",
}

func nthName(names []string, i int) string {
	if i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("%s %d", names[i%len(names)], i/len(names)+1)
}

// serialFor makes a 16-character Blink-style serial.
func serialFor(prefix string, id int64) string {
	n := 16 - len(prefix)
	mod := int64(1)
	for range n {
		mod *= 10
	}
	return fmt.Sprintf("%s%0*d", prefix, n, id%mod)
}

// defaultAccount is the small account of a zero Config: networks "Home" and
// "Cabin" with a sync module and three cameras each, doorbell "Front Door" on
// Home, and a standalone Mini "Living Room" on its own network.
func defaultAccount() Account {
	a := Account{
		Networks: []Network{
			{Name: "Home", Armed: true, SyncModule: &SyncModule{}, Programs: defaultPrograms()},
			{Name: "Cabin", SyncModule: &SyncModule{}, Programs: defaultPrograms()},
			{Name: "Living Room"},
		},
	}
	a.Networks[0].ID = firstNetworkID
	a.Networks[1].ID = firstNetworkID + 1
	a.Networks[2].ID = firstNetworkID + 2
	cam := func(net int64, name, typ string, enabled bool) Device {
		return Device{NetworkID: net, Family: blink.FamilyCamera, Type: typ, Name: name, Enabled: enabled}
	}
	a.Devices = []Device{
		cam(firstNetworkID, "Front Yard", "catalina", true),
		cam(firstNetworkID, "Back Yard", "xt2", true),
		cam(firstNetworkID, "Driveway", "catalina", false),
		{NetworkID: firstNetworkID, Family: blink.FamilyDoorbell, Type: "lotus", Name: "Front Door", Enabled: true},
		cam(firstNetworkID+1, "Porch", "catalina", true),
		cam(firstNetworkID+1, "Shed", "xt2", false),
		cam(firstNetworkID+1, "Dock", "catalina", true),
		{NetworkID: firstNetworkID + 2, Family: blink.FamilyOwl, Type: "owl", Name: "Living Room", Enabled: true},
	}
	return a
}

// generateAccount builds cfg.Networks × cfg.DevicesPerNetwork devices behind
// sync modules plus cfg.StandaloneNetworks networks holding one Mini or
// doorbell each. The mix is deterministic: families cycle catalina, xt2, owl,
// lotus; with UnknownTypes every seventh device is a "sedona" camera; with
// LegacyThumbnails every fifth camera or Mini has a legacy thumbnail path.
func generateAccount(cfg Config) Account {
	var a Account
	dev := 0
	for i := 0; i < cfg.Networks; i++ {
		id := int64(firstNetworkID + i)
		a.Networks = append(a.Networks, Network{
			ID: id, Name: nthName(networkNames, i), Armed: i%2 == 0, SyncModule: &SyncModule{},
			Programs: defaultPrograms(),
		})
		for j := 0; j < cfg.DevicesPerNetwork; j++ {
			d := Device{NetworkID: id, Name: nthName(deviceNames, dev), Enabled: (i+j)%3 != 2}
			switch (i + j) % 4 {
			case 0:
				d.Family, d.Type = blink.FamilyCamera, "catalina"
			case 1:
				d.Family, d.Type = blink.FamilyCamera, "xt2"
			case 2:
				d.Family, d.Type = blink.FamilyOwl, "owl"
			case 3:
				d.Family, d.Type = blink.FamilyDoorbell, "lotus"
			}
			if cfg.UnknownTypes && dev%7 == 6 {
				d.Family, d.Type = blink.FamilyCamera, "sedona"
			}
			d.LegacyThumbnail = cfg.LegacyThumbnails && dev%5 == 3 && d.Family != blink.FamilyDoorbell
			a.Devices = append(a.Devices, d)
			dev++
		}
	}
	for k := 0; k < cfg.StandaloneNetworks; k++ {
		id := int64(firstNetworkID + cfg.Networks + k)
		name := nthName(deviceNames, dev)
		a.Networks = append(a.Networks, Network{ID: id, Name: name})
		d := Device{NetworkID: id, Name: name, Enabled: true, Family: blink.FamilyOwl, Type: "owl"}
		if k%2 == 1 {
			d.Family, d.Type = blink.FamilyDoorbell, "lotus"
		}
		a.Devices = append(a.Devices, d)
		dev++
	}
	return a
}

// fillNetwork completes a network's zero fields.
func (s *Server) fillNetwork(n *Network, now time.Time) {
	if n.ID == 0 {
		n.ID = s.nextNetworkID()
	}
	if n.Name == "" {
		n.Name = fmt.Sprintf("Network %d", n.ID)
	}
	if n.TimeZone == "" {
		n.TimeZone = "America/New_York"
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = now.Add(-400 * 24 * time.Hour).Truncate(time.Second)
	}
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = now.Add(-time.Hour).Truncate(time.Second)
	}
	if sm := n.SyncModule; sm != nil {
		if sm.ID == 0 {
			sm.ID = firstSyncModuleID + (n.ID - firstNetworkID)
			if sm.ID < firstSyncModuleID || s.usedID(sm.ID) {
				sm.ID = s.nextDeviceID()
			}
		}
		if sm.Name == "" {
			sm.Name = n.Name + " Sync Module"
		}
		if sm.Serial == "" {
			sm.Serial = serialFor("G8T1V7", sm.ID)
		}
		if sm.FirmwareVersion == "" {
			sm.FirmwareVersion = "16.0.34"
		}
		if sm.Type == "" {
			sm.Type, sm.Subtype = "sm2", "billy"
		}
		if sm.Status == "" {
			sm.Status = "online"
		}
		if sm.WiFiBars == 0 {
			sm.WiFiBars = 5
		}
		if sm.LocalStorageStatus == "" {
			sm.LocalStorageStatus = "unavailable"
		}
		if sm.LastHeartbeat.IsZero() {
			sm.LastHeartbeat = now.Add(-17 * time.Second).Truncate(time.Second)
		}
	}
}

// fillDevice completes a device's zero fields with plausible values derived
// from its id, so generated accounts are deterministic.
func (s *Server) fillDevice(d *Device, now time.Time) {
	if d.ID == 0 {
		d.ID = s.nextDeviceID()
	}
	if d.Family == "" {
		d.Family = blink.FamilyCamera
	}
	if d.Type == "" {
		switch d.Family {
		case blink.FamilyOwl:
			d.Type = "owl"
		case blink.FamilyDoorbell:
			d.Type = "lotus"
		default:
			d.Type = "catalina"
		}
	}
	if d.Name == "" {
		d.Name = fmt.Sprintf("Camera %d", d.ID)
	}
	if d.Serial == "" {
		d.Serial = serialFor("G8V1", d.ID)
	}
	if d.FirmwareVersion == "" {
		d.FirmwareVersion = map[blink.Family]string{blink.FamilyOwl: "9.77", blink.FamilyDoorbell: "11.10"}[d.Family]
		if d.FirmwareVersion == "" {
			d.FirmwareVersion = "10.72"
		}
	}
	if d.Status == "" {
		d.Status = onlineWord(d.Family)
	}
	seed := int(d.ID % 1000)
	switch d.Family {
	case blink.FamilyCamera:
		if d.Battery == "" {
			d.Battery = "ok"
			if seed%9 == 4 {
				d.Battery = "low"
			}
		}
		if !d.HasSignals && d.TempF == 0 && d.WiFiBars == 0 {
			d.HasSignals = true
			d.TempF = 45 + (seed*7)%40
			d.WiFiBars = 5 - seed%4
			d.LFRBars = 5 - (seed/4)%3
			d.BatteryBars = 3
			if d.Battery == "low" {
				d.BatteryBars = 1
			}
		}
	case blink.FamilyDoorbell:
		if d.Battery == "" {
			d.Battery = "ok"
		}
		if d.TempF == 0 {
			d.TempF = 50 + seed%30
		}
		if d.WiFiBars == 0 {
			d.WiFiBars = 5 - seed%4
		}
	case blink.FamilyOwl:
		if d.WiFiBars == 0 {
			d.WiFiBars = 5 - seed%4
		}
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = now.Add(-300 * 24 * time.Hour).Truncate(time.Second)
	}
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = now.Add(-time.Duration(seed+1) * time.Minute).Truncate(time.Second)
	}
	if d.ThumbnailTS == 0 {
		d.ThumbnailTS = d.UpdatedAt.Unix()
	}
	if d.Config == nil {
		d.Config = defaultConfig(d.Family)
	} else {
		d.Config = maps.Clone(d.Config) // the caller's map stays theirs
	}
}

func onlineWord(f blink.Family) string {
	if f == blink.FamilyOwl {
		return "online"
	}
	return "done"
}

func cloneNetwork(n *Network) Network {
	c := *n
	if n.SyncModule != nil {
		sm := *n.SyncModule
		c.SyncModule = &sm
	}
	c.Programs = clonePrograms(n.Programs)
	return c
}
