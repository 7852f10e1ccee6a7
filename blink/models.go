package blink

import "time"

// Family is a device family. It decides which endpoints a device uses (Blink
// numbers each family on its own); the client picks the path from it, so a
// call for one family can never be sent to another family's endpoint.
type Family string

// Device families Blink has. Sync modules are not devices in this sense.
const (
	FamilyCamera   Family = "camera"   // homescreen "cameras": white, xt, xt2, catalina, …
	FamilyOwl      Family = "owl"      // homescreen "owls": Mini, Mini 2, wired floodlight
	FamilyDoorbell Family = "doorbell" // homescreen "doorbells": lotus, tulip, orchid
)

// Valid reports whether f is one of the known families.
func (f Family) Valid() bool {
	return f == FamilyCamera || f == FamilyOwl || f == FamilyDoorbell
}

// DeviceRef addresses one camera, Mini or doorbell for a command.
type DeviceRef struct {
	Family    Family
	NetworkID int64
	ID        int64
}

// Homescreen is the account state from GET /api/v3/accounts/{acct}/homescreen,
// reduced to what a bridge uses. Unknown keys are ignored; devices of unknown
// type are kept with their raw Type.
type Homescreen struct {
	AccountID   int64
	Networks    []Network
	SyncModules []SyncModule
	// Devices holds cameras, then owls, then doorbells, each in Blink's order.
	Devices []Device
}

// Network is one Blink system ("networks[]"). Armed is the source of truth
// for the alarm state.
type Network struct {
	ID        int64
	Name      string
	Armed     bool
	TimeZone  string
	UpdatedAt time.Time
}

// SyncModule is one sync module ("sync_modules[]").
type SyncModule struct {
	ID                 int64
	NetworkID          int64
	Name               string
	Serial             string
	FirmwareVersion    string
	Type               string // sm1, sm2, kalahari, …
	Subtype            string
	Status             string // "online" / "offline"
	WiFiBars           int    // wifi_strength, 0–5 bars; -1 when absent
	LastHeartbeat      time.Time
	LocalStorageStatus string // "active", "unavailable", … ("" when absent)
	UpdatedAt          time.Time
}

// Online reports whether the sync module answers Blink.
func (s SyncModule) Online() bool { return s.Status == "online" }

// Device is a camera, Mini (owl) or doorbell.
type Device struct {
	ID              int64
	NetworkID       int64
	Family          Family
	Type            string // raw Blink type: catalina, xt2, owl, hawk, lotus, … (unknown kept as-is)
	Name            string
	Serial          string
	FirmwareVersion string
	Enabled         bool   // motion detection enabled
	Status          string // "done"/"online" = online, "offline", …
	// Battery is "ok" or "low"; "" when the device has no battery field
	// (mains powered).
	Battery string
	// Thumbnail is the homescreen thumbnail exactly as Blink sent it (path,
	// v3 URL, or a bare epoch turned into a decimal string).
	Thumbnail string
	UpdatedAt time.Time
	// Signals is nil when homescreen carried no "signals" object (owls,
	// doorbells).
	Signals *Signals
}

// Online reports whether Blink can reach the device ("done" is Blink's legacy
// word for an idle, reachable camera).
func (d Device) Online() bool { return d.Status == "done" || d.Status == "online" }

// Ref returns the address used for commands.
func (d Device) Ref() DeviceRef { return DeviceRef{Family: d.Family, NetworkID: d.NetworkID, ID: d.ID} }

// Signals is the coarse telemetry homescreen carries for sync-module cameras.
// Fields Blink left out are nil.
type Signals struct {
	TemperatureF *int // signals.temp, °F
	WiFiBars     *int // 0–5
	LFRBars      *int // sync-module radio link, 0–5
	BatteryBars  *int // coarse battery level (1–3 seen)
	BatteryState string
	UpdatedAt    time.Time
}

// Media is one entry of the media/changed feed.
type Media struct {
	ID          int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Deleted     bool
	Device      string // "camera", "owl", "doorbell", a product type… — don't switch on it
	DeviceID    int64
	DeviceName  string
	NetworkID   int64
	NetworkName string
	Type        string // "video", …
	Source      string // "pir", "liveview", "snapshot", …
	Watched     bool
	Partial     bool
	Thumbnail   string // server path; see Client.Download
	Clip        string // server path of the mp4 ("media" in Blink's JSON)
}

// Command is what an async POST returns (short or full form; liveview's
// "command_id" is folded into ID).
type Command struct {
	ID        int64
	NetworkID int64
	Command   string // arm, disarm, thumbnail, clip, device_motion_enable, …
	State     string
}

// CommandStatus is one answer of GET /network/{net}/command/{cmd}.
type CommandStatus struct {
	Complete   bool
	Status     int
	StatusCode int // 908 = ok; anything else is a failure
	StatusMsg  string
	MediaID    int64
	// HasStatusCode is false when the body had no status_code (a failure).
	HasStatusCode bool
}

// CommandResult is the outcome of a command that completed.
type CommandResult struct {
	Command Command
	// Warning is Blink's message for a success with a caveat, e.g. code 304
	// "No Cameras Enabled for Motion" on arm/disarm.
	Warning string
	// MediaID is set for clip commands when Blink reported it.
	MediaID int64
}

// CameraConfig is the useful part of GET /network/{net}/camera/{cam}/config.
type CameraConfig struct {
	ID                int64
	Name              string
	Enabled           bool
	BatteryState      string
	BatteryVoltageCV  *int // centivolts, 154 = 1.54 V
	TemperatureF      *int
	WiFiDBm           *int
	LFRDBm            *int
	MotionSensitivity *int
	Signals           *Signals
}

// OwlConfig is the useful part of GET …/owls/{cam}/config.
type OwlConfig struct {
	Name            string
	Enabled         bool
	Status          string
	FirmwareVersion string
	WiFiBars        *int
	Illuminator     string // "auto"/"on"/"off"
}

// DoorbellConfig is the useful part of GET …/doorbells/{cam}/config — the only
// source of doorbell telemetry.
type DoorbellConfig struct {
	Enabled      bool
	TemperatureF *int
	WiFiRSSI     *int // dBm
	LFRRSSI      *int
	BatteryState string
}
