package blinkfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// Device settings, schedules (programs) and notification flags, kept as
// state with the checks Blink applies: a value outside what the model
// takes is refused with 400 and a message naming the field and its range,
// and nothing changes. Changes through the API apply when their command
// completes; the control methods (SetDeviceConfigOn, SetProgram,
// SetNotification) change them at once, as a person in the Blink app does.

// ruleKind is the JSON type a config field takes.
type ruleKind int

const (
	ruleInt ruleKind = iota
	ruleBool
	ruleChoice
)

// rule is what one config field of a family accepts.
type rule struct {
	kind    ruleKind
	lo, hi  int
	options []string
}

// configRules are the settings fields each family's config reports and
// accepts. Minis and doorbells record at most 30 s clips, cameras 60 s.
// Never modified.
var configRules = map[blink.Family]map[string]rule{
	blink.FamilyCamera: {
		"motion_sensitivity":    {kind: ruleInt, lo: 1, hi: 9},
		"video_length":          {kind: ruleInt, lo: 5, hi: 60},
		"alert_interval":        {kind: ruleInt, lo: 10, hi: 60},
		"illuminator_enable":    {kind: ruleInt, lo: 0, hi: 2},
		"illuminator_intensity": {kind: ruleInt, lo: 1, hi: 10},
		"video_quality":         {kind: ruleChoice, options: []string{"saver", "standard", "best"}},
		"record_audio_enable":   {kind: ruleBool},
		"motion_alert":          {kind: ruleBool},
		"early_termination":     {kind: ruleBool},
	},
	blink.FamilyOwl: {
		"motion_sensitivity":  {kind: ruleInt, lo: 1, hi: 9},
		"clip_length":         {kind: ruleInt, lo: 5, hi: 30},
		"retrigger_time":      {kind: ruleInt, lo: 10, hi: 60},
		"illuminator_enable":  {kind: ruleChoice, options: []string{"off", "on", "auto"}},
		"video_quality":       {kind: ruleChoice, options: []string{"saver", "standard", "best"}},
		"record_audio_enable": {kind: ruleBool},
	},
	blink.FamilyDoorbell: {
		"motion_sensitivity":  {kind: ruleInt, lo: 1, hi: 9},
		"clip_length":         {kind: ruleInt, lo: 5, hi: 30},
		"video_quality":       {kind: ruleChoice, options: []string{"saver", "standard", "best"}},
		"record_audio_enable": {kind: ruleBool},
		"early_notification":  {kind: ruleBool},
	},
}

// defaultConfig is the settings part of a new device's config.
func defaultConfig(f blink.Family) map[string]any {
	switch f {
	case blink.FamilyOwl:
		return map[string]any{
			"motion_sensitivity": 5, "clip_length": 30, "retrigger_time": 10, "illuminator_enable": "auto",
			"video_quality": "best", "record_audio_enable": true,
		}
	case blink.FamilyDoorbell:
		return map[string]any{
			"motion_sensitivity": 5, "clip_length": 30, "video_quality": "best",
			"record_audio_enable": true, "early_notification": false,
		}
	}
	return map[string]any{
		"motion_sensitivity": 5, "video_length": 30, "alert_interval": 10, "illuminator_enable": 2,
		"illuminator_intensity": 7, "video_quality": "standard", "record_audio_enable": true,
		"motion_alert": true, "early_termination": true,
	}
}

// check returns v as the fake stores it, or Blink's message for a value the
// field refuses.
func (r rule) check(name string, raw json.RawMessage) (any, string) {
	switch r.kind {
	case ruleBool:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return nil, name + " must be true or false"
		}
		return b, ""
	case ruleChoice:
		var s string
		if json.Unmarshal(raw, &s) != nil || !slices.Contains(r.options, s) {
			return nil, fmt.Sprintf("%s must be one of %v", name, r.options)
		}
		return s, ""
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&n) != nil {
		return nil, name + " must be a number"
	}
	v, err := strconv.Atoi(n.String())
	if err != nil || v < r.lo || v > r.hi {
		return nil, fmt.Sprintf("%s must be between %d and %d", name, r.lo, r.hi)
	}
	return v, ""
}

// checkValue is check for a Go value (the control API).
func (r rule) checkValue(name string, v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("blinkfake: %s: %w", name, err)
	}
	out, msg := r.check(name, raw)
	if msg != "" {
		return nil, fmt.Errorf("blinkfake: %s", msg)
	}
	return out, nil
}

// configChanges reads a config POST body: the settings fields the family
// knows (others are ignored, as Blink does) and, for Minis and doorbells,
// "enabled". msg is Blink's message when a value is refused.
func configChanges(fam blink.Family, body map[string]json.RawMessage) (changes map[string]any, enabled *bool, msg string) {
	rules := configRules[fam]
	for k, raw := range body {
		if k == "enabled" && fam != blink.FamilyCamera {
			var b bool
			if json.Unmarshal(raw, &b) != nil {
				return nil, nil, "enabled must be true or false"
			}
			enabled = &b
			continue
		}
		r, ok := rules[k]
		if !ok {
			continue
		}
		v, m := r.check(k, raw)
		if m != "" {
			return nil, nil, m
		}
		if changes == nil {
			changes = map[string]any{}
		}
		changes[k] = v
	}
	return changes, enabled, ""
}

// handleConfigSet serves POST …/camera/{c}/update and the Mini's and
// doorbell's POST …/config: checked at once, applied when the command
// completes.
func (s *Server) handleConfigSet(fam blink.Family, full bool) func(http.ResponseWriter, *http.Request, params) {
	return func(w http.ResponseWriter, r *http.Request, p params) {
		var body map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body == nil {
			writeJSON(w, http.StatusBadRequest, apiError{Message: "Invalid request body"})
			return
		}
		s.mu.Lock()
		_, ok := s.device(p, fam)
		s.mu.Unlock()
		if !ok {
			s.notFound(w, p)
			return
		}
		changes, enabled, msg := configChanges(fam, body)
		switch {
		case msg != "":
			writeJSON(w, http.StatusBadRequest, apiError{Message: msg})
			return
		case changes == nil && enabled == nil:
			writeJSON(w, http.StatusBadRequest, apiError{Message: "Invalid request body"})
			return
		}
		s.startDeviceCommand(w, p, fam, cmdConfigSet, full, func(c *command, _ *Device) any {
			c.enabled, c.config = enabled, changes
			if full {
				return s.fullCommand(c, nil)
			}
			return s.shortCommand(c)
		})
	}
}

// applyConfig stores changes in d's config (a new map: snapshots share the
// old one). Caller holds mu.
func applyConfig(d *Device, changes map[string]any) {
	if len(changes) == 0 {
		return
	}
	cfg := maps.Clone(d.Config)
	if cfg == nil {
		cfg = map[string]any{}
	}
	maps.Copy(cfg, changes)
	d.Config = cfg
}

// DeviceConfigAt returns the settings fields of the device's config (a copy).
func (s *Server) DeviceConfigAt(ref blink.DeviceRef) (map[string]any, bool) {
	d, ok := s.DeviceAt(ref)
	if !ok {
		return nil, false
	}
	return maps.Clone(d.Config), true
}

// SetDeviceConfigOn changes one settings field of a device's config as a
// person in the Blink app does: at once, no command, with Blink's checks.
// A nil value removes the field (the device no longer reports it).
func (s *Server) SetDeviceConfigOn(ref blink.DeviceRef, field string, value any) error {
	var v any
	if value != nil {
		r, ok := configRules[ref.Family][field]
		if !ok {
			return fmt.Errorf("blinkfake: a %s has no setting %q", ref.Family, field)
		}
		var err error
		if v, err = r.checkValue(field, value); err != nil {
			return err
		}
	}
	return s.touch(func() (*Device, error) { return s.at(ref) }, func(d *Device) {
		if v == nil {
			cfg := maps.Clone(d.Config)
			delete(cfg, field)
			d.Config = cfg
			return
		}
		applyConfig(d, map[string]any{field: v})
	})
}

// ---- programs ----

// Program is one schedule of a network.
type Program struct {
	ID       int64
	Name     string
	Enabled  bool
	Schedule []ScheduleEntry
}

// ScheduleEntry is one step of a schedule.
type ScheduleEntry struct {
	Days   []string // mon … sun
	Time   string   // "21:00"
	Action string   // arm, disarm
}

// defaultPrograms are the schedules of a generated network with a sync
// module: one that arms at night, off.
func defaultPrograms() []Program {
	days := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	return []Program{{Name: "Nights", Schedule: []ScheduleEntry{
		{Days: days, Time: "22:00", Action: "arm"},
		{Days: days, Time: "07:00", Action: "disarm"},
	}}}
}

func clonePrograms(ps []Program) []Program {
	out := slices.Clone(ps)
	for i := range out {
		out[i].Schedule = slices.Clone(out[i].Schedule)
		for j := range out[i].Schedule {
			out[i].Schedule[j].Days = slices.Clone(out[i].Schedule[j].Days)
		}
	}
	return out
}

// fillPrograms gives programs without an id one. Caller holds mu.
func (s *Server) fillPrograms(ps []Program) {
	for i := range ps {
		if ps[i].ID == 0 {
			for s.ids[s.progSeq] {
				s.progSeq++
			}
			ps[i].ID = s.progSeq
		}
		s.ids[ps[i].ID] = true
		if ps[i].Name == "" {
			ps[i].Name = fmt.Sprintf("Schedule %d", ps[i].ID)
		}
	}
}

type wireScheduleEntry struct {
	Days    []string `json:"dow"`
	Devices []int64  `json:"devices"`
	Time    string   `json:"time"`
	Action  string   `json:"action"`
}

type wireProgram struct {
	ID        int64               `json:"id"`
	NetworkID int64               `json:"network_id"`
	Status    string              `json:"status"`
	Name      string              `json:"name"`
	Format    string              `json:"format"`
	Schedule  []wireScheduleEntry `json:"schedule"`
}

func (s *Server) handlePrograms(w http.ResponseWriter, _ *http.Request, p params) {
	s.mu.Lock()
	n, ok := s.network(p)
	var out []wireProgram
	if ok {
		out = []wireProgram{}
		for _, pr := range n.Programs {
			status := "disabled"
			if pr.Enabled {
				status = "enabled"
			}
			wp := wireProgram{ID: pr.ID, NetworkID: n.ID, Status: status, Name: pr.Name, Format: "v1", Schedule: []wireScheduleEntry{}}
			for _, e := range pr.Schedule {
				wp.Schedule = append(wp.Schedule, wireScheduleEntry{Days: e.Days, Devices: []int64{},
					Time: "2026-03-01 " + e.Time + ":00 +0000", Action: e.Action})
			}
			out = append(out, wp)
		}
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, notFoundError)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleProgramSet(enable bool) func(http.ResponseWriter, *http.Request, params) {
	return func(w http.ResponseWriter, _ *http.Request, p params) {
		id, _ := p.id("p")
		s.mu.Lock()
		defer s.mu.Unlock()
		defer s.notifyLocked()
		n, ok := s.network(p)
		if !ok {
			writeJSON(w, http.StatusNotFound, notFoundError)
			return
		}
		i := slices.IndexFunc(n.Programs, func(pr Program) bool { return pr.ID == id })
		if i < 0 {
			writeJSON(w, http.StatusNotFound, apiError{Message: "Program not found"})
			return
		}
		n.Programs = clonePrograms(n.Programs)
		n.Programs[i].Enabled = enable
		verb := "disabled"
		if enable {
			verb = "enabled"
		}
		writeJSON(w, http.StatusOK, apiError{Message: fmt.Sprintf("Successfully %s program %d", verb, id), Code: 802})
	}
}

// Programs returns a network's schedules (a copy).
func (s *Server) Programs(networkID int64) []Program {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.networks[networkID]
	if !ok {
		return nil
	}
	return clonePrograms(n.Programs)
}

// AddProgram adds a schedule to a network and returns it with its id.
func (s *Server) AddProgram(networkID int64, p Program) (Program, error) {
	var out Program
	err := s.withNetwork(networkID, func(n *Network) error {
		if p.ID != 0 && s.ids[p.ID] {
			return fmt.Errorf("blinkfake: duplicate id %d", p.ID)
		}
		ps := clonePrograms([]Program{p})
		s.fillPrograms(ps)
		n.Programs = append(clonePrograms(n.Programs), ps[0])
		out = clonePrograms(ps)[0]
		return nil
	})
	return out, err
}

// SetProgram turns a schedule on or off as a person in the Blink app does.
func (s *Server) SetProgram(networkID, programID int64, enabled bool) error {
	return s.withNetwork(networkID, func(n *Network) error {
		i := slices.IndexFunc(n.Programs, func(pr Program) bool { return pr.ID == programID })
		if i < 0 {
			return fmt.Errorf("blinkfake: no program %d on network %d", programID, networkID)
		}
		n.Programs = clonePrograms(n.Programs)
		n.Programs[i].Enabled = enabled
		return nil
	})
}

// ---- notifications ----

// defaultNotifications are the flags a new account has, all on.
func defaultNotifications() map[string]bool {
	m := map[string]bool{}
	for _, f := range []string{"low_battery", "camera_offline", "camera_usage", "scheduling", "motion",
		"sync_module_offline", "temperature", "doorbell", "wifi", "lfr", "bandwidth", "battery_dead",
		"local_storage", "accessory_connected", "accessory_disconnected", "accessory_low_battery", "general"} {
		m[f] = true
	}
	return m
}

func (s *Server) handleNotifications(w http.ResponseWriter, _ *http.Request, _ params) {
	s.mu.Lock()
	out := maps.Clone(s.notify)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"notifications": out})
}

func (s *Server) handleNotificationsSet(w http.ResponseWriter, r *http.Request, _ params) {
	var body struct {
		Notifications map[string]json.RawMessage `json:"notifications"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Notifications) == 0 {
		writeJSON(w, http.StatusBadRequest, apiError{Message: "Invalid request body"})
		return
	}
	set := map[string]bool{}
	for k, raw := range body.Notifications {
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			writeJSON(w, http.StatusBadRequest, apiError{Message: k + " must be true or false"})
			return
		}
		set[k] = b
	}
	s.mu.Lock()
	next := maps.Clone(s.notify)
	for k, b := range set {
		if _, known := next[k]; known { // unknown flags are ignored, as Blink does
			next[k] = b
		}
	}
	s.notify = next
	s.notifyLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, apiError{Message: "Client Notification Configure Update Successful"})
}

// Notifications returns the account's notification flags (a copy).
func (s *Server) Notifications() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.notify)
}

// SetNotification changes one notification flag as a person in the Blink
// app does; only flags the account has can be changed.
func (s *Server) SetNotification(flag string, on bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	if _, ok := s.notify[flag]; !ok {
		return fmt.Errorf("blinkfake: no notification flag %q", flag)
	}
	next := maps.Clone(s.notify)
	next[flag] = on
	s.notify = next
	return nil
}
