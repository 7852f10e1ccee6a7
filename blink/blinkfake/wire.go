package blinkfake

import (
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// The fake's own JSON shapes, written from what Blink sends (DEVELOPERS.md,
// "Blink API notes") — deliberately not package blink's decoders.

// ts formats like Blink: ISO-8601, UTC, second precision, "+00:00".
func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05+00:00") }

type wireHomescreen struct {
	Account       wireAccount       `json:"account"`
	Networks      []wireNetwork     `json:"networks"`
	SyncModules   []wireSyncModule  `json:"sync_modules"`
	Cameras       []wireCamera      `json:"cameras"`
	Owls          []wireOwl         `json:"owls"`
	Doorbells     []wireDoorbell    `json:"doorbells"`
	Sirens        []any             `json:"sirens"`
	Chimes        []any             `json:"chimes"`
	DoorbellBtns  []any             `json:"doorbell_buttons"`
	VideoStats    map[string]any    `json:"video_stats"`
	AppUpdates    map[string]any    `json:"app_updates"`
	DeviceLimits  map[string]int    `json:"device_limits"`
	WhatsNew      map[string]any    `json:"whats_new"`
	Subscriptions map[string]string `json:"subscriptions"`
	Entitlements  map[string]string `json:"entitlements"`
	TivLockEnable bool              `json:"tiv_lock_enable"`
	TivLockStatus map[string]bool   `json:"tiv_lock_status"`
	Accessories   map[string][]any  `json:"accessories"`
}

type wireAccount struct {
	ID                        int64 `json:"id"`
	EmailVerified             bool  `json:"email_verified"`
	EmailVerificationRequired bool  `json:"email_verification_required"`
	AmazonAccountLinked       bool  `json:"amazon_account_linked"`
}

type wireNetwork struct {
	ID        int64  `json:"id"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	Name      string `json:"name"`
	TimeZone  string `json:"time_zone"`
	DST       bool   `json:"dst"`
	Armed     bool   `json:"armed"`
	LVSave    bool   `json:"lv_save"`
}

type wireSyncModule struct {
	ID                     int64  `json:"id"`
	CreatedAt              string `json:"created_at"`
	UpdatedAt              string `json:"updated_at"`
	Onboarded              bool   `json:"onboarded"`
	Status                 string `json:"status"`
	Name                   string `json:"name"`
	Serial                 string `json:"serial"`
	FWVersion              string `json:"fw_version"`
	Type                   string `json:"type"`
	Subtype                string `json:"subtype"`
	LastHB                 string `json:"last_hb"`
	WiFiStrength           int    `json:"wifi_strength"`
	NetworkID              int64  `json:"network_id"`
	EnableTempAlerts       bool   `json:"enable_temp_alerts"`
	LocalStorageEnabled    bool   `json:"local_storage_enabled"`
	LocalStorageCompatible bool   `json:"local_storage_compatible"`
	LocalStorageStatus     string `json:"local_storage_status"`
	Revision               string `json:"revision"`
}

type wireSignals struct {
	LFR          int    `json:"lfr"`
	WiFi         int    `json:"wifi"`
	Temp         int    `json:"temp"`
	Battery      int    `json:"battery"`
	BatteryState string `json:"battery_state,omitempty"`
	UpdatedAt    string `json:"updated_at"`
}

type wireCamera struct {
	ID                     int64        `json:"id"`
	CreatedAt              string       `json:"created_at"`
	UpdatedAt              string       `json:"updated_at"`
	Name                   string       `json:"name"`
	Serial                 string       `json:"serial"`
	FWVersion              string       `json:"fw_version"`
	Type                   string       `json:"type"`
	Enabled                bool         `json:"enabled"`
	Thumbnail              string       `json:"thumbnail"`
	Status                 string       `json:"status"`
	Battery                string       `json:"battery,omitempty"`
	UsageRate              bool         `json:"usage_rate"`
	NetworkID              int64        `json:"network_id"`
	Issues                 []any        `json:"issues"`
	Signals                *wireSignals `json:"signals,omitempty"`
	LocalStorageEnabled    bool         `json:"local_storage_enabled"`
	LocalStorageCompatible bool         `json:"local_storage_compatible"`
	Snooze                 bool         `json:"snooze"`
	SnoozeTimeRemaining    *int         `json:"snooze_time_remaining"`
	Revision               string       `json:"revision"`
	Color                  string       `json:"color"`
}

type wireOwl struct {
	ID                     int64  `json:"id"`
	CreatedAt              string `json:"created_at"`
	UpdatedAt              string `json:"updated_at"`
	Name                   string `json:"name"`
	Type                   string `json:"type"`
	Onboarded              bool   `json:"onboarded"`
	Serial                 string `json:"serial"`
	FWVersion              string `json:"fw_version"`
	Enabled                bool   `json:"enabled"`
	Status                 string `json:"status"`
	NetworkID              int64  `json:"network_id"`
	Thumbnail              string `json:"thumbnail"`
	LocalStorageEnabled    bool   `json:"local_storage_enabled"`
	LocalStorageCompatible bool   `json:"local_storage_compatible"`
	Snooze                 bool   `json:"snooze"`
	SnoozeTimeRemaining    *int   `json:"snooze_time_remaining"`
	Revision               string `json:"revision"`
}

type wireDoorbell struct {
	ID        int64  `json:"id"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	Onboarded bool   `json:"onboarded"`
	Serial    string `json:"serial"`
	FWVersion string `json:"fw_version"`
	Enabled   bool   `json:"enabled"`
	Status    string `json:"status"`
	Battery   string `json:"battery,omitempty"`
	NetworkID int64  `json:"network_id"`
	Thumbnail string `json:"thumbnail"`
}

// legacyLayout is the date suffix of pre-2022 thumbnail names.
const legacyLayout = "2006_01_02__03_04PM"

// thumbnailURL is the homescreen thumbnail: the v3 media URL, or the
// pre-2022 legacy path whose name carries ts in base 36.
func (s *Server) thumbnailURL(d *Device) string {
	if d.LegacyThumbnail {
		tag := strconv.FormatInt(d.ThumbnailTS, 36)
		when := time.Unix(d.ThumbnailTS, 0).UTC().Format(legacyLayout)
		if d.Family == blink.FamilyOwl {
			return fmt.Sprintf("/media/%s/account/%d/network/%d/owl/%d/thumbnail/fw_%s__%s_%s",
				s.cfg.Tier, s.cfg.AccountID, d.NetworkID, d.ID, d.FirmwareVersion, tag, when)
		}
		return fmt.Sprintf("/media/production/account/%d/network/%d/camera/%d/clip_%s_%s",
			s.cfg.AccountID, d.NetworkID, d.ID, tag, when)
	}
	return fmt.Sprintf("/api/v3/media/accounts/%d/networks/%d/%s/%d/thumbnail/thumbnail.jpg?ts=%d&ext=",
		s.cfg.AccountID, d.NetworkID, d.Type, d.ID, d.ThumbnailTS)
}

func (s *Server) homescreen() wireHomescreen {
	h := wireHomescreen{
		Account:     wireAccount{ID: s.cfg.AccountID, EmailVerified: true, EmailVerificationRequired: true},
		Networks:    []wireNetwork{},
		SyncModules: []wireSyncModule{},
		Cameras:     []wireCamera{},
		Owls:        []wireOwl{},
		Doorbells:   []wireDoorbell{},
		Sirens:      []any{}, Chimes: []any{}, DoorbellBtns: []any{},
		VideoStats:    map[string]any{"storage": 2, "auto_delete_days": 60, "auto_delete_day_options": []int{3, 7, 14, 30, 60}},
		AppUpdates:    map[string]any{"message": "OK", "code": 103, "update_available": false, "update_required": false},
		DeviceLimits:  map[string]int{"camera": 10, "chime": 5, "doorbell": 10, "doorbell_button": 2, "owl": 10, "siren": 5, "total_devices": 20},
		WhatsNew:      map[string]any{"updated_at": 20210204, "url": "https://updates.blinkforhome.com/"},
		Subscriptions: map[string]string{"updated_at": "2026-02-01T01:50:27+00:00"},
		Entitlements:  map[string]string{"updated_at": "2026-02-01T01:50:27+00:00"},
		TivLockEnable: true, TivLockStatus: map[string]bool{"locked": true},
		Accessories: map[string][]any{"storm": {}, "rosie": {}},
	}
	for _, id := range s.netOrder {
		n := s.networks[id]
		h.Networks = append(h.Networks, wireNetwork{
			ID: n.ID, CreatedAt: ts(n.CreatedAt), UpdatedAt: ts(n.UpdatedAt), Name: n.Name,
			TimeZone: n.TimeZone, DST: true, Armed: n.Armed,
		})
		if sm := n.SyncModule; sm != nil {
			h.SyncModules = append(h.SyncModules, wireSyncModule{
				ID: sm.ID, CreatedAt: ts(n.CreatedAt), UpdatedAt: ts(n.UpdatedAt), Onboarded: true,
				Status: sm.Status, Name: sm.Name, Serial: sm.Serial, FWVersion: sm.FirmwareVersion,
				Type: sm.Type, Subtype: sm.Subtype, LastHB: ts(sm.LastHeartbeat),
				WiFiStrength: sm.WiFiBars, NetworkID: n.ID, EnableTempAlerts: true,
				LocalStorageEnabled: sm.LocalStorageStatus == "active", LocalStorageCompatible: sm.Type != "sm1",
				LocalStorageStatus: sm.LocalStorageStatus, Revision: "01",
			})
		}
	}
	for _, k := range s.devOrder {
		d := s.devices[k]
		switch d.Family {
		case blink.FamilyOwl:
			h.Owls = append(h.Owls, wireOwl{
				ID: d.ID, CreatedAt: ts(d.CreatedAt), UpdatedAt: ts(d.UpdatedAt), Name: d.Name, Type: d.Type,
				Onboarded: true, Serial: d.Serial, FWVersion: d.FirmwareVersion, Enabled: d.Enabled,
				Status: d.Status, NetworkID: d.NetworkID, Thumbnail: s.thumbnailURL(d),
				LocalStorageCompatible: true, Revision: "00",
			})
		case blink.FamilyDoorbell:
			h.Doorbells = append(h.Doorbells, wireDoorbell{
				ID: d.ID, CreatedAt: ts(d.CreatedAt), UpdatedAt: ts(d.UpdatedAt), Name: d.Name, Type: d.Type,
				Onboarded: true, Serial: d.Serial, FWVersion: d.FirmwareVersion, Enabled: d.Enabled,
				Status: d.Status, Battery: d.Battery, NetworkID: d.NetworkID, Thumbnail: s.thumbnailURL(d),
			})
		default:
			c := wireCamera{
				ID: d.ID, CreatedAt: ts(d.CreatedAt), UpdatedAt: ts(d.UpdatedAt), Name: d.Name,
				Serial: d.Serial, FWVersion: d.FirmwareVersion, Type: d.Type, Enabled: d.Enabled,
				Thumbnail: s.thumbnailURL(d), Status: d.Status, Battery: d.Battery, NetworkID: d.NetworkID,
				Issues: []any{}, LocalStorageEnabled: true, LocalStorageCompatible: true,
				Revision: "00", Color: "black",
			}
			if d.HasSignals {
				c.Signals = &wireSignals{LFR: d.LFRBars, WiFi: d.WiFiBars, Temp: d.TempF,
					Battery: d.BatteryBars, BatteryState: d.Battery, UpdatedAt: ts(d.UpdatedAt)}
			}
			h.Cameras = append(h.Cameras, c)
		}
	}
	return h
}

// ---- commands ----

type wireCommandShort struct {
	ID        int64              `json:"id"`
	NetworkID int64              `json:"network_id"`
	Command   string             `json:"command"`
	State     string             `json:"state"`
	Commands  []wireCommandShort `json:"commands,omitempty"`
}

type wireCommandFull struct {
	ID                int64   `json:"id"`
	CreatedAt         string  `json:"created_at"`
	UpdatedAt         string  `json:"updated_at"`
	ExecuteTime       string  `json:"execute_time"`
	Command           string  `json:"command"`
	StateStage        string  `json:"state_stage"`
	StageRest         *string `json:"stage_rest"`
	StageCSDB         *string `json:"stage_cs_db"`
	StageCSSent       *string `json:"stage_cs_sent"`
	StageSM           *string `json:"stage_sm"`
	StageDev          *string `json:"stage_dev"`
	StageIS           *string `json:"stage_is"`
	StageLV           *string `json:"stage_lv"`
	StageVS           *string `json:"stage_vs"`
	StateCondition    string  `json:"state_condition"`
	SMAck             *int    `json:"sm_ack"`
	LFRAck            *int    `json:"lfr_ack"`
	Sequence          *int    `json:"sequence"`
	Attempts          int     `json:"attempts"`
	Transaction       string  `json:"transaction"`
	PlayerTransaction string  `json:"player_transaction"`
	Server            *string `json:"server"`
	Duration          *int    `json:"duration"`
	ByWhom            string  `json:"by_whom"`
	Diagnostic        bool    `json:"diagnostic"`
	Debug             string  `json:"debug"`
	Opts1             int     `json:"opts_1"`
	Target            string  `json:"target"`
	TargetID          *int64  `json:"target_id"`
	ParentCommandID   *int64  `json:"parent_command_id"`
	CameraID          *int64  `json:"camera_id"`
	SirenID           *int64  `json:"siren_id"`
	FirmwareID        *int64  `json:"firmware_id"`
	NetworkID         int64   `json:"network_id"`
	AccountID         int64   `json:"account_id"`
	SyncModuleID      *int64  `json:"sync_module_id"`
}

type wireCommandStatus struct {
	Complete   bool              `json:"complete"`
	Status     int               `json:"status"`
	StatusMsg  string            `json:"status_msg"`
	StatusCode int               `json:"status_code"`
	Commands   []wireCommandFull `json:"commands"`
	MediaID    *int64            `json:"media_id"`
}

var stages = []string{"rest", "cs_db", "cs_sent", "sm", "dev", "lv", "vs"}

func (s *Server) shortCommand(c *command) wireCommandShort {
	w := wireCommandShort{ID: c.id, NetworkID: c.networkID, Command: c.kind, State: "new"}
	for _, ch := range c.children {
		w.Commands = append(w.Commands, wireCommandShort{ID: ch.id, NetworkID: c.networkID, Command: cmdConfigLFR, State: "running"})
	}
	return w
}

// fullCommand renders c (or one of its config_lfr children when ch is set)
// at its current progress.
func (s *Server) fullCommand(c *command, ch *child) wireCommandFull {
	id, kind, target := c.id, c.kind, string(c.family)
	var targetID, cameraID, parent *int64
	if c.deviceID != 0 {
		targetID = &c.deviceID
		if c.family == blink.FamilyCamera {
			cameraID = &c.deviceID
		}
	}
	if target == "" {
		target = "network"
		targetID = &c.networkID
	}
	if ch != nil {
		id, kind, target = ch.id, cmdConfigLFR, "camera"
		targetID, cameraID, parent = &ch.deviceID, &ch.deviceID, &c.id
	}
	// stage index: 0 at submit, last stage when done
	stage := 0
	cond := "new"
	switch c.state {
	case cmdRunning:
		if !c.liveSince.IsZero() {
			cond, stage = "running", 5 // "lv": streaming
		} else if c.polls > 0 {
			cond = "running"
			stage = min(4, 1+c.polls*4/max(1, s.cfg.CommandPolls)) // up to "dev"
		}
	case cmdDone, cmdCancelled:
		cond, stage = "done", len(stages)-1
	case cmdFailed:
		cond, stage = "error", 4
	}
	created := ts(c.createdAt)
	w := wireCommandFull{
		ID: id, CreatedAt: created, UpdatedAt: created, ExecuteTime: created, Command: kind,
		StateStage: stages[stage], StateCondition: cond,
		Transaction: fmt.Sprintf("tx%010d", id%10_000_000_000), PlayerTransaction: fmt.Sprintf("pt%010d", id%10_000_000_000),
		ByWhom: "unknown - 6.1.1 (8854) #abcdef", Target: target, TargetID: targetID, ParentCommandID: parent,
		CameraID: cameraID, NetworkID: c.networkID, AccountID: s.cfg.AccountID,
	}
	if !c.completedAt.IsZero() {
		w.UpdatedAt = ts(c.completedAt)
	}
	ptrs := []**string{&w.StageRest, &w.StageCSDB, &w.StageCSSent, &w.StageSM, &w.StageDev, &w.StageLV, &w.StageVS}
	for i := 0; i <= stage && i < len(ptrs); i++ {
		*ptrs[i] = &created
	}
	if stage >= 3 {
		one := 1
		w.SMAck = &one
		seq := int(id % 10000)
		w.Sequence = &seq
	}
	if n, ok := s.networks[c.networkID]; ok && n.SyncModule != nil {
		sm := n.SyncModule.ID
		w.SyncModuleID = &sm
	}
	return w
}

func (s *Server) commandStatus(c *command) wireCommandStatus {
	w := wireCommandStatus{Status: 0, StatusMsg: "Command succeeded", StatusCode: StatusOK}
	switch c.state {
	case cmdRunning:
		w.Complete = !c.liveSince.IsZero()
	case cmdDone, cmdCancelled:
		w.Complete = true
	case cmdFailed:
		w.Complete, w.Status, w.StatusCode, w.StatusMsg = true, 1, c.fail.code, c.fail.msg
	}
	if len(c.children) == 0 {
		w.Commands = []wireCommandFull{s.fullCommand(c, nil)}
	}
	for i := range c.children {
		w.Commands = append(w.Commands, s.fullCommand(c, &c.children[i]))
	}
	if c.mediaID != 0 {
		w.MediaID = &c.mediaID
	}
	return w
}

// ---- media ----

type wireMediaPage struct {
	Limit        int         `json:"limit"`
	PurgeID      int64       `json:"purge_id"`
	RefreshCount int         `json:"refresh_count"`
	Media        []wireMedia `json:"media"`
}

type wireMedia struct {
	ID                int64  `json:"id"`
	CreatedAt         string `json:"created_at"`
	UpdatedAt         string `json:"updated_at"`
	Deleted           bool   `json:"deleted"`
	Device            string `json:"device"`
	DeviceID          int64  `json:"device_id"`
	DeviceName        string `json:"device_name"`
	NetworkID         int64  `json:"network_id"`
	NetworkName       string `json:"network_name"`
	Type              string `json:"type"`
	Source            string `json:"source"`
	Watched           bool   `json:"watched"`
	Partial           bool   `json:"partial"`
	Thumbnail         string `json:"thumbnail"`
	Media             string `json:"media"`
	Metadata          any    `json:"metadata"`
	AdditionalDevices []any  `json:"additional_devices"`
	TimeZone          string `json:"time_zone"`
}

func (s *Server) wireMedia(m *Media) wireMedia {
	w := wireMedia{
		ID: m.ID, CreatedAt: ts(m.CreatedAt), UpdatedAt: ts(m.UpdatedAt), Deleted: m.Deleted,
		Device: string(m.Family), DeviceID: m.DeviceID, NetworkID: m.NetworkID, Type: "video",
		Source: m.Source, Watched: m.Watched, Thumbnail: m.Thumbnail, Media: m.Clip,
		AdditionalDevices: []any{}, TimeZone: "America/New_York",
	}
	if d, ok := s.devices[devKey{m.Family, m.DeviceID}]; ok {
		w.DeviceName = d.Name
	}
	if n, ok := s.networks[m.NetworkID]; ok {
		w.NetworkName = n.Name
		w.TimeZone = n.TimeZone
	}
	return w
}

// ---- configs ----

func (s *Server) cameraConfig(d *Device) map[string]any {
	now := s.now()
	voltage := 160
	if d.Battery == "low" {
		voltage = 118
	}
	cam := map[string]any{
		"id": d.ID, "created_at": ts(d.CreatedAt), "updated_at": ts(d.UpdatedAt), "name": d.Name,
		"network_id": d.NetworkID, "serial": d.Serial, "fw_version": d.FirmwareVersion,
		"type": d.Type, "enabled": d.Enabled, "status": d.Status,
		"battery_state": d.Battery, "battery_voltage": voltage, "battery_check_time": ts(now),
		"temperature": d.TempF, "temp_adjust": 0, "temp_min": 40, "temp_max": 90, "temp_alarm_enable": false,
		"wifi_strength": -40 - 8*(5-d.WiFiBars), "lfr_strength": -45 - 8*(5-d.LFRBars),
		"thumbnail":    d.ThumbnailTS,
		"last_connect": map[string]any{"ac_power": false, "battery_alert_status": false},
	}
	if d.WiFiPlaceholder {
		// As Blink sends for some cameras: the reading only in last_connect.
		cam["wifi_strength"], cam["lfr_strength"] = -255, -255
		cam["last_connect"] = map[string]any{"ac_power": false, "battery_alert_status": false,
			"wifi_strength": -40 - 8*(5-d.WiFiBars), "lfr_strength": -45 - 8*(5-d.LFRBars)}
	}
	maps.Copy(cam, d.Config)
	if n, ok := s.networks[d.NetworkID]; ok {
		cam["armed"] = n.Armed
		if n.SyncModule != nil {
			cam["sync_module_id"] = n.SyncModule.ID
		}
	}
	return map[string]any{"camera": []any{cam}, "signals": s.signals(d, true)}
}

func (s *Server) signals(d *Device, withState bool) map[string]any {
	m := map[string]any{"lfr": d.LFRBars, "wifi": d.WiFiBars, "temp": d.TempF,
		"battery": d.BatteryBars, "updated_at": ts(d.UpdatedAt)}
	if withState {
		m["battery_state"] = d.Battery
	} else {
		m["vo9"] = 1
	}
	return m
}

func (s *Server) owlConfig(d *Device) map[string]any {
	m := map[string]any{
		"name": d.Name, "updated_at": ts(d.UpdatedAt), "fw_version": d.FirmwareVersion,
		"enabled": d.Enabled, "led_enabled": true, "status": d.Status,
		"night_vision_control": "normal", "illuminator_enable_v2": "auto",
		"volume_control": 7, "wifi": d.WiFiBars, "flip_video": false,
		"local_storage_enabled": false,
	}
	maps.Copy(m, d.Config)
	return m
}

func (s *Server) doorbellConfig(d *Device) map[string]any {
	m := map[string]any{
		"name": d.Name, "updated_at": ts(d.UpdatedAt), "fw_version": d.FirmwareVersion,
		"enabled": d.Enabled, "status": d.Status, "temp": d.TempF,
		"wifi_rssi": -40 - 8*(5-d.WiFiBars), "lfr_rssi": -50, "battery_state": d.Battery,
	}
	maps.Copy(m, d.Config)
	return m
}

type wireLiveview struct {
	CommandID        int64           `json:"command_id"`
	JoinAvailable    bool            `json:"join_available"`
	JoinState        string          `json:"join_state"`
	Server           string          `json:"server"`
	Duration         int             `json:"duration"`
	ExtendedDuration int             `json:"extended_duration"`
	ContinueInterval int             `json:"continue_interval"`
	ContinueWarning  int             `json:"continue_warning"`
	PollingInterval  int             `json:"polling_interval"`
	SubmitLogs       bool            `json:"submit_logs"`
	NewCommand       bool            `json:"new_command"`
	MediaID          *int64          `json:"media_id"`
	Options          map[string]bool `json:"options"`
	LiveviewToken    string          `json:"liveview_token"`
	Type             string          `json:"type"`
	IsMCLV           bool            `json:"is_mclv"`
	FirstJoiner      bool            `json:"first_joiner"`
	ParentCommandID  *int64          `json:"parent_command_id"`
	VideoID          int64           `json:"video_id"`
}

func (s *Server) liveview(c *command, extended bool) wireLiveview {
	typ := "lv"
	if extended {
		typ = "elv"
	}
	token := randText()
	// the token and the connection id name the session: logs must not
	s.handOut(token, c.live.connID)
	return wireLiveview{
		CommandID: c.id, JoinAvailable: true, JoinState: "available", Server: s.liveviewURL(c),
		Duration: int(c.liveFor / time.Second), ExtendedDuration: int(c.liveMax / time.Second),
		ContinueInterval: int(c.liveBase / time.Second),
		PollingInterval:  15, SubmitLogs: true, NewCommand: true,
		Options: map[string]bool{"poor_connection": false}, LiveviewToken: token,
		Type: typ, FirstJoiner: true, VideoID: c.id % 1_000_000,
	}
}
