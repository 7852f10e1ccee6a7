package blink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Decoders from Blink's JSON to the models. Each names the endpoint (op) in
// its DecodeError and never quotes the body.

// jsonErr keeps a decoding error short and free of body content. encoding/json
// errors name types and offsets, not values — except UnmarshalTypeError's
// Value, which is a kind ("string") but for a number that does not fit also
// its text ("number 123456"): only the kind is kept.
func jsonErr(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("invalid JSON at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		kind, _, _ := strings.Cut(te.Value, " ")
		return fmt.Errorf("unexpected JSON %s for field %q", kind, te.Field)
	}
	if errors.Is(err, errEmptyBody) {
		return err
	}
	if err.Error() == "unexpected end of JSON input" {
		return errors.New("truncated JSON")
	}
	return errors.New("invalid JSON")
}

var errEmptyBody = errors.New("empty body")

// decodeJSON unmarshals body into v, naming op on failure.
func decodeJSON(op string, body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &DecodeError{Op: op, Err: errEmptyBody}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &DecodeError{Op: op, Err: jsonErr(err)}
	}
	return nil
}

type rawHomescreen struct {
	Account struct {
		ID flexInt `json:"id"`
	} `json:"account"`
	// Value slices: a null element decodes to a zero entry, which the id
	// check drops, without a pointer allocation per element.
	Networks    []rawNetwork    `json:"networks"`
	SyncModules []rawSyncModule `json:"sync_modules"`
	Cameras     []rawDevice     `json:"cameras"`
	Owls        []rawDevice     `json:"owls"`
	Doorbells   []rawDevice     `json:"doorbells"`
}

type rawNetwork struct {
	ID        flexInt    `json:"id"`
	Name      flexString `json:"name"`
	Armed     flexBool   `json:"armed"`
	TimeZone  flexString `json:"time_zone"`
	UpdatedAt flexTime   `json:"updated_at"`
}

type rawSyncModule struct {
	ID                 flexInt    `json:"id"`
	NetworkID          flexInt    `json:"network_id"`
	Name               flexString `json:"name"`
	Serial             flexString `json:"serial"`
	FirmwareVersion    flexString `json:"fw_version"`
	Type               flexString `json:"type"`
	Subtype            flexString `json:"subtype"`
	Status             flexString `json:"status"`
	WiFiStrength       flexInt    `json:"wifi_strength"`
	LastHeartbeat      flexTime   `json:"last_hb"`
	LocalStorageStatus flexString `json:"local_storage_status"`
	UpdatedAt          flexTime   `json:"updated_at"`
}

type rawDevice struct {
	ID              flexInt     `json:"id"`
	NetworkID       flexInt     `json:"network_id"`
	Type            flexString  `json:"type"`
	Name            flexString  `json:"name"`
	Serial          flexString  `json:"serial"`
	FirmwareVersion flexString  `json:"fw_version"`
	Enabled         flexBool    `json:"enabled"`
	Status          flexString  `json:"status"`
	Battery         flexString  `json:"battery"`
	Thumbnail       flexString  `json:"thumbnail"`
	UpdatedAt       flexTime    `json:"updated_at"`
	Signals         *rawSignals `json:"signals"`
}

type rawSignals struct {
	Temp         flexInt    `json:"temp"`
	WiFi         flexInt    `json:"wifi"`
	LFR          flexInt    `json:"lfr"`
	Battery      flexInt    `json:"battery"`
	BatteryState flexString `json:"battery_state"`
	UpdatedAt    flexTime   `json:"updated_at"`
}

func (s *rawSignals) model() *Signals {
	if s == nil {
		return nil
	}
	return &Signals{
		TemperatureF: s.Temp.ptr(),
		WiFiBars:     s.WiFi.ptr(),
		LFRBars:      s.LFR.ptr(),
		BatteryBars:  s.Battery.ptr(),
		BatteryState: s.BatteryState.v,
		UpdatedAt:    s.UpdatedAt.v,
	}
}

// decodeHomescreen turns a homescreen body into the model. Entries without an
// id are dropped; devices of unknown type are kept with their raw type.
func decodeHomescreen(op string, body []byte) (*Homescreen, error) {
	var raw rawHomescreen
	if err := decodeJSON(op, body, &raw); err != nil {
		return nil, err
	}
	hs := &Homescreen{
		AccountID:   raw.Account.ID.v,
		Networks:    make([]Network, 0, len(raw.Networks)),
		SyncModules: make([]SyncModule, 0, len(raw.SyncModules)),
		Devices:     make([]Device, 0, len(raw.Cameras)+len(raw.Owls)+len(raw.Doorbells)),
	}
	for i := range raw.Networks {
		n := &raw.Networks[i]
		if n.ID.v == 0 {
			continue
		}
		hs.Networks = append(hs.Networks, Network{
			ID: n.ID.v, Name: n.Name.v, Armed: n.Armed.v, TimeZone: n.TimeZone.v, UpdatedAt: n.UpdatedAt.v,
		})
	}
	for i := range raw.SyncModules {
		s := &raw.SyncModules[i]
		if s.ID.v == 0 {
			continue
		}
		bars := -1
		if s.WiFiStrength.set {
			bars = int(s.WiFiStrength.v)
		}
		hs.SyncModules = append(hs.SyncModules, SyncModule{
			ID: s.ID.v, NetworkID: s.NetworkID.v, Name: s.Name.v, Serial: s.Serial.v,
			FirmwareVersion: s.FirmwareVersion.v, Type: s.Type.v, Subtype: s.Subtype.v,
			Status: s.Status.v, WiFiBars: bars, LastHeartbeat: s.LastHeartbeat.v,
			LocalStorageStatus: s.LocalStorageStatus.v, UpdatedAt: s.UpdatedAt.v,
		})
	}
	add := func(list []rawDevice, fam Family) {
		for i := range list {
			d := &list[i]
			if d.ID.v == 0 {
				continue
			}
			hs.Devices = append(hs.Devices, Device{
				ID: d.ID.v, NetworkID: d.NetworkID.v, Family: fam, Type: d.Type.v,
				Name: d.Name.v, Serial: d.Serial.v, FirmwareVersion: d.FirmwareVersion.v,
				Enabled: d.Enabled.v, Status: d.Status.v, Battery: d.Battery.v,
				Thumbnail: d.Thumbnail.v, UpdatedAt: d.UpdatedAt.v, Signals: d.Signals.model(),
			})
		}
	}
	add(raw.Cameras, FamilyCamera)
	add(raw.Owls, FamilyOwl)
	add(raw.Doorbells, FamilyDoorbell)
	return hs, nil
}

// ---- media ----

type rawMediaPage struct {
	Limit flexInt    `json:"limit"`
	Media []rawMedia `json:"media"`
}

type rawMedia struct {
	ID          flexInt    `json:"id"`
	CreatedAt   flexTime   `json:"created_at"`
	UpdatedAt   flexTime   `json:"updated_at"`
	Deleted     flexBool   `json:"deleted"`
	Device      flexString `json:"device"`
	DeviceID    flexInt    `json:"device_id"`
	DeviceName  flexString `json:"device_name"`
	NetworkID   flexInt    `json:"network_id"`
	NetworkName flexString `json:"network_name"`
	Type        flexString `json:"type"`
	Source      flexString `json:"source"`
	Watched     flexBool   `json:"watched"`
	Partial     flexBool   `json:"partial"`
	Thumbnail   flexString `json:"thumbnail"`
	Clip        flexString `json:"media"`
}

// decodeMediaPage decodes one media/changed page: all entries with an id, in
// Blink's order, deleted ones included (the caller filters). limit is the
// page size Blink reported (0 when absent).
func decodeMediaPage(op string, body []byte) (items []Media, limit int, err error) {
	var page rawMediaPage
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		err = decodeJSON(op, body, &page.Media)
	} else {
		err = decodeJSON(op, body, &page)
	}
	if err != nil {
		return nil, 0, err
	}
	items = make([]Media, 0, len(page.Media))
	for i := range page.Media {
		m := &page.Media[i]
		if m.ID.v == 0 {
			continue
		}
		items = append(items, Media{
			ID: m.ID.v, CreatedAt: m.CreatedAt.v, UpdatedAt: m.UpdatedAt.v, Deleted: m.Deleted.v,
			Device: m.Device.v, DeviceID: m.DeviceID.v, DeviceName: m.DeviceName.v,
			NetworkID: m.NetworkID.v, NetworkName: m.NetworkName.v, Type: m.Type.v,
			Source: m.Source.v, Watched: m.Watched.v, Partial: m.Partial.v,
			Thumbnail: m.Thumbnail.v, Clip: m.Clip.v,
		})
	}
	return items, int(page.Limit.v), nil
}

// ---- commands ----

type rawCommand struct {
	ID             flexInt    `json:"id"`
	CommandID      flexInt    `json:"command_id"`
	NetworkID      flexInt    `json:"network_id"`
	Command        flexString `json:"command"`
	State          flexString `json:"state"`
	StateCondition flexString `json:"state_condition"`
	Code           flexInt    `json:"code"`
	Message        flexString `json:"message"`
}

// submitAnswer is what an async POST returned: a command, or a message
// without one (304 "No Cameras Enabled for Motion", a synchronous answer).
type submitAnswer struct {
	cmd     Command
	code    int
	message string
}

func decodeCommand(op string, body []byte) (submitAnswer, error) {
	var raw rawCommand
	if err := decodeJSON(op, body, &raw); err != nil {
		return submitAnswer{}, err
	}
	id := raw.ID.v
	if id == 0 {
		id = raw.CommandID.v
	}
	state := raw.State.v
	if state == "" {
		state = raw.StateCondition.v
	}
	return submitAnswer{
		cmd:     Command{ID: id, NetworkID: raw.NetworkID.v, Command: raw.Command.v, State: state},
		code:    int(raw.Code.v),
		message: cleanText(raw.Message.v, maxMessage),
	}, nil
}

type rawCommandStatus struct {
	Complete   flexBool   `json:"complete"`
	Status     flexInt    `json:"status"`
	StatusCode flexInt    `json:"status_code"`
	StatusMsg  flexString `json:"status_msg"`
	MediaID    flexInt    `json:"media_id"`
}

// decodeCommandStatus decodes one poll answer. An empty body (or JSON null)
// gives (nil, nil): Blink answers so while a command runs, so keep polling.
func decodeCommandStatus(op string, body []byte) (*CommandStatus, error) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	var raw rawCommandStatus
	if err := decodeJSON(op, body, &raw); err != nil {
		return nil, err
	}
	return &CommandStatus{
		Complete:      raw.Complete.v,
		Status:        int(raw.Status.v),
		StatusCode:    int(raw.StatusCode.v),
		StatusMsg:     cleanText(raw.StatusMsg.v, maxMessage),
		MediaID:       raw.MediaID.v,
		HasStatusCode: raw.StatusCode.set,
	}, nil
}

// ---- configs ----

type rawCameraConfig struct {
	Camera []*struct {
		ID                flexInt    `json:"id"`
		Name              flexString `json:"name"`
		Enabled           flexBool   `json:"enabled"`
		BatteryState      flexString `json:"battery_state"`
		BatteryVoltage    flexInt    `json:"battery_voltage"`
		Temperature       flexInt    `json:"temperature"`
		WiFiStrength      flexInt    `json:"wifi_strength"`
		LFRStrength       flexInt    `json:"lfr_strength"`
		MotionSensitivity flexInt    `json:"motion_sensitivity"`
		LastConnect       *struct {
			WiFiStrength flexInt `json:"wifi_strength"`
			LFRStrength  flexInt `json:"lfr_strength"`
		} `json:"last_connect"`
	} `json:"camera"`
	Signals *rawSignals `json:"signals"`
}

func decodeCameraConfig(op string, body []byte) (*CameraConfig, error) {
	var raw rawCameraConfig
	if err := decodeJSON(op, body, &raw); err != nil {
		return nil, err
	}
	cfg := &CameraConfig{Signals: raw.Signals.model()}
	if len(raw.Camera) > 0 && raw.Camera[0] != nil {
		c := raw.Camera[0]
		cfg.ID, cfg.Name, cfg.Enabled = c.ID.v, c.Name.v, c.Enabled.v
		cfg.BatteryState = c.BatteryState.v
		cfg.BatteryVoltageCV = c.BatteryVoltage.ptr()
		cfg.TemperatureF = c.Temperature.ptr()
		cfg.WiFiDBm, cfg.LFRDBm = dBm(c.WiFiStrength), dBm(c.LFRStrength)
		if lc := c.LastConnect; lc != nil {
			// The top level may hold the placeholder -255 while the
			// reading sits under last_connect.
			if cfg.WiFiDBm == nil {
				cfg.WiFiDBm = dBm(lc.WiFiStrength)
			}
			if cfg.LFRDBm == nil {
				cfg.LFRDBm = dBm(lc.LFRStrength)
			}
		}
		cfg.MotionSensitivity = c.MotionSensitivity.ptr()
	}
	return cfg, nil
}

func decodeOwlConfig(op string, body []byte) (*OwlConfig, error) {
	var raw struct {
		Name            flexString `json:"name"`
		Enabled         flexBool   `json:"enabled"`
		Status          flexString `json:"status"`
		FirmwareVersion flexString `json:"fw_version"`
		WiFi            flexInt    `json:"wifi"`
		Illuminator     flexString `json:"illuminator_enable"`
	}
	if err := decodeJSON(op, body, &raw); err != nil {
		return nil, err
	}
	return &OwlConfig{
		Name: raw.Name.v, Enabled: raw.Enabled.v, Status: raw.Status.v,
		FirmwareVersion: raw.FirmwareVersion.v, WiFiBars: raw.WiFi.ptr(), Illuminator: raw.Illuminator.v,
	}, nil
}

func decodeDoorbellConfig(op string, body []byte) (*DoorbellConfig, error) {
	var raw struct {
		Enabled      flexBool   `json:"enabled"`
		Temp         flexInt    `json:"temp"`
		WiFiRSSI     flexInt    `json:"wifi_rssi"`
		LFRRSSI      flexInt    `json:"lfr_rssi"`
		BatteryState flexString `json:"battery_state"`
	}
	if err := decodeJSON(op, body, &raw); err != nil {
		return nil, err
	}
	return &DoorbellConfig{
		Enabled: raw.Enabled.v, TemperatureF: raw.Temp.ptr(), WiFiRSSI: raw.WiFiRSSI.ptr(),
		LFRRSSI: raw.LFRRSSI.ptr(), BatteryState: raw.BatteryState.v,
	}, nil
}

// tierInfo is GET /api/v1/users/tier_info.
type tierInfo struct {
	Tier      flexString `json:"tier"`
	AccountID flexInt    `json:"account_id"`
}

// dBm is a signal reading, or nil for none: absent, the placeholder -255, or
// outside what a radio reports.
func dBm(n flexInt) *int {
	if !n.set || n.v == dBmPlaceholder || n.v < dBmMin || n.v >= 0 {
		return nil
	}
	return n.ptr()
}
