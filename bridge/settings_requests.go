package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// Request operations of settings, schedules and notification flags
// (README: Requests and responses).
const (
	OpProgram       = "program"
	OpSettings      = "settings"
	OpNotifications = "notifications"
)

// settingChange is one requested change: a setting of the catalogue and
// its new value, already checked against the catalogue.
type settingChange struct {
	name  string
	value blink.SettingValue
}

// Bounds of one request: the catalogue has fewer settings, Blink fewer flags.
const (
	maxSettingsInRequest = 16
	maxFlagsInRequest    = 64
)

func settingNames() string {
	var names []string
	for _, s := range blink.Settings() {
		names = append(names, s.Name)
	}
	return strings.Join(names, ", ")
}

// parseSettingChanges reads a settings request's "settings" object: names
// from the catalogue, values of their kind and range.
func parseSettingChanges(raw json.RawMessage) ([]settingChange, error) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || fields == nil {
		return nil, badInput(`"settings" must be an object of setting names and values, for example {"motion_sensitivity": 5}`)
	}
	if len(fields) == 0 || len(fields) > maxSettingsInRequest {
		return nil, badInput(`"settings" must name 1 to %d settings, got %d`, maxSettingsInRequest, len(fields))
	}
	out := make([]settingChange, 0, len(fields))
	for _, spec := range blink.Settings() {
		rawV, ok := fields[spec.Name]
		if !ok {
			continue
		}
		delete(fields, spec.Name)
		v, err := settingFromJSON(spec, rawV)
		if err != nil {
			return nil, err
		}
		out = append(out, settingChange{name: spec.Name, value: v})
	}
	for name := range fields {
		return nil, badInput("unknown setting %q (settings: %s)", short(name), settingNames())
	}
	return out, nil
}

// settingFromJSON reads one value of a settings request: a whole number
// (also written as a string), an option, or true/false.
func settingFromJSON(spec blink.SettingSpec, raw json.RawMessage) (blink.SettingValue, error) {
	var v blink.SettingValue
	switch spec.Kind {
	case blink.SettingNumber:
		s := string(bytes.TrimSpace(raw))
		if strings.HasPrefix(s, `"`) {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				s = strings.TrimSpace(str)
			}
		}
		n, err := wholeNumber(s)
		if err != nil {
			return v, badInput("%s must be a whole number from %d to %d, got %s", spec.Name, spec.Min, spec.Max, describeJSON(raw))
		}
		v = blink.NumberValue(n)
	case blink.SettingChoice:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return v, badInput("%s must be one of %s, got %s", spec.Name, strings.Join(spec.Options, ", "), describeJSON(raw))
		}
		v = blink.ChoiceValue(strings.ToLower(strings.TrimSpace(s)))
	default:
		var b bool
		if json.Unmarshal(raw, &b) != nil || isNull(raw) {
			return v, badInput("%s must be true or false, got %s", spec.Name, describeJSON(raw))
		}
		v = blink.SwitchValue(b)
	}
	if err := spec.Check(v); err != nil {
		return v, badInput("%s", err.Error())
	}
	return v, nil
}

// wholeNumber parses "5", "5.0" or "5e0" as 5 (Home Assistant and scripts
// write numbers either way) and refuses fractions.
func wholeNumber(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1e9 {
		return 0, errors.New("not a whole number")
	}
	return int(f), nil
}

// settingFromPayload reads a Home Assistant command for a setting's
// entity: the number, the option, or ON/OFF.
func settingFromPayload(spec blink.SettingSpec, p string) (blink.SettingValue, error) {
	var v blink.SettingValue
	switch spec.Kind {
	case blink.SettingNumber:
		n, err := wholeNumber(p)
		if err != nil {
			return v, badInput("%s command must be a whole number from %d to %d", spec.Name, spec.Min, spec.Max)
		}
		v = blink.NumberValue(n)
	case blink.SettingChoice:
		v = blink.ChoiceValue(strings.ToLower(p))
	default:
		switch strings.ToUpper(p) {
		case discovery.On:
			v = blink.SwitchValue(true)
		case discovery.Off:
			v = blink.SwitchValue(false)
		default:
			return v, badInput("%s command must be ON or OFF", spec.Name)
		}
	}
	if err := spec.Check(v); err != nil {
		return v, badInput("%s", err.Error())
	}
	return v, nil
}

// parseNotificationFlags reads a notifications request's "settings"
// object: flag names and true/false.
func parseNotificationFlags(raw json.RawMessage) ([]blink.NotificationFlag, error) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || fields == nil {
		return nil, badInput(`"settings" must be an object of notification flags and true/false, for example {"motion": false}`)
	}
	if len(fields) == 0 || len(fields) > maxFlagsInRequest {
		return nil, badInput(`"settings" must name 1 to %d notification flags, got %d`, maxFlagsInRequest, len(fields))
	}
	out := make([]blink.NotificationFlag, 0, len(fields))
	for name, rawV := range fields {
		if !blink.ValidNotificationName(name) {
			return nil, badInput("%q is not a notification flag (lower-case letters, digits and _)", short(name))
		}
		var on bool
		if json.Unmarshal(rawV, &on) != nil || isNull(rawV) {
			return nil, badInput("notification flag %s must be true or false, got %s", name, describeJSON(rawV))
		}
		out = append(out, blink.NotificationFlag{Name: name, On: on})
	}
	slices.SortFunc(out, func(a, b blink.NotificationFlag) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// errSettingsUnavailable answers the settings ops when the Blink client
// cannot read or change settings.
var errSettingsUnavailable = errors.New("settings are not available with this Blink client")

// refusedError is a change Blink refused, with Blink's own message.
type refusedError struct {
	what, msg string
}

func (e *refusedError) Error() string { return "Blink refused " + e.what + ": " + e.msg }

// refused turns Blink's answer to a bad value (a 4xx with a message) into
// an error that says so; other errors stay what they are.
func refused(what string, err error) error {
	var se *blink.StatusError
	if errors.As(err, &se) && se.Code >= 400 && se.Code < 500 && se.Message != "" &&
		!errors.Is(err, blink.ErrNotFound) && !errors.Is(err, blink.ErrUnauthorized) && !errors.Is(err, blink.ErrBusy) {
		return &refusedError{what: what, msg: se.Message}
	}
	return err
}

// execute carries out a program, settings or notifications request on
// its queue's worker.
func (s *settingsPart) execute(ctx context.Context, req *request) (any, error) {
	if s.cloud == nil {
		return nil, errSettingsUnavailable
	}
	switch req.op {
	case OpProgram:
		return s.doProgram(ctx, req)
	case OpSettings:
		return s.doSettings(ctx, req)
	case OpNotifications:
		return s.doNotifications(ctx, req)
	}
	return nil, badInput("unknown operation %q", req.op)
}

// doSettings changes settings of one device: each must be one its config
// reports. Blink's answer is confirmed by reading the config again; the
// entities are published again either way, so Home Assistant's optimistic
// value goes back to the real one when Blink refused.
func (s *settingsPart) doSettings(ctx context.Context, req *request) (any, error) {
	k := discovery.KeyOf(req.dev)
	node := s.model.snapshot().nodes.Node(k)
	defer func() {
		for _, c := range req.changes {
			s.writer.republishTopic(ctx, s.topics.NodeEntity(node, c.name))
		}
	}()
	cur := s.state().devices[k].s
	if cur == nil {
		var err error
		if cur, err = s.readDevice(ctx, req.dev); err != nil {
			return nil, err
		}
	}
	changes := make([]blink.SettingChange, 0, len(req.changes))
	for _, c := range req.changes {
		have, ok := cur.Get(c.name)
		if !ok {
			return nil, badInput("device %d does not report the setting %s (it has: %s)", req.device, c.name, reportedNames(cur))
		}
		changes = append(changes, have.Change(c.value))
	}
	what := fmt.Sprintf("%s of %s", changeList(req.changes), deviceLabel(req.dev))
	if _, err := s.cloud.UpdateSettings(ctx, req.dev.Ref(), changes); err != nil {
		return nil, refused(what, s.gate.note(err))
	}
	got, err := s.readDevice(ctx, req.dev)
	if err != nil {
		// Blink reported the change done: hold it until the next read.
		s.log.Warn().Err(err).Int64("device", req.device).Msg("changed the settings, but could not read them back")
		got = applied(cur, changes)
		s.storeDevice(k, got, s.state().devices[k].started)
	}
	out := map[string]blink.SettingValue{}
	for _, c := range req.changes {
		if v, ok := got.Get(c.name); ok {
			out[c.name] = v.Value
		}
	}
	return map[string]any{"device": req.device, "settings": out}, nil
}

// applied is cur with changes made.
func applied(cur *blink.DeviceSettings, changes []blink.SettingChange) *blink.DeviceSettings {
	next := &blink.DeviceSettings{Settings: slices.Clone(cur.Settings), WiFiDBm: cur.WiFiDBm}
	for _, c := range changes {
		for i := range next.Settings {
			if next.Settings[i].Name == c.Name {
				next.Settings[i].Value = c.Value
			}
		}
	}
	return next
}

func reportedNames(ds *blink.DeviceSettings) string {
	if len(ds.Settings) == 0 {
		return "none"
	}
	var names []string
	for _, x := range ds.Settings {
		names = append(names, x.Name)
	}
	return strings.Join(names, ", ")
}

func changeList(cs []settingChange) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.name+" = "+c.value.String())
	}
	return strings.Join(parts, ", ")
}

func deviceLabel(d blink.Device) string {
	if d.Name != "" {
		return fmt.Sprintf("%q (%s %d)", short(d.Name), d.Family, d.ID)
	}
	return fmt.Sprintf("%s %d", d.Family, d.ID)
}

// doProgram turns a schedule on or off and reads the network's schedules
// back to confirm.
func (s *settingsPart) doProgram(ctx context.Context, req *request) (any, error) {
	defer s.writer.republishTopic(ctx, s.topics.NetworkEntity(req.network, discovery.ProgramKey(req.program)))
	list := s.state().programs[req.network].list
	if _, known := s.state().programs[req.network]; !known {
		var err error
		if list, err = s.readPrograms(ctx, req.network); err != nil {
			return nil, err
		}
	}
	i := slices.IndexFunc(list, func(p blink.Program) bool { return p.ID == req.program })
	if i < 0 {
		return nil, badInput("unknown schedule %d on network %d (known: %s)", req.program, req.network, programIDs(list))
	}
	if err := s.cloud.SetProgramEnabled(ctx, req.network, req.program, req.enabled); err != nil {
		return nil, refused(fmt.Sprintf("schedule %d", req.program), s.gate.note(err))
	}
	enabled := req.enabled
	if got, err := s.readPrograms(ctx, req.network); err != nil {
		s.log.Warn().Err(err).Int64("network", req.network).Msg("changed the schedule, but could not read the schedules back")
		next := slices.Clone(list)
		next[i].Enabled = req.enabled
		s.storePrograms(req.network, next, s.state().programs[req.network].started)
	} else if j := slices.IndexFunc(got, func(p blink.Program) bool { return p.ID == req.program }); j >= 0 {
		enabled = got[j].Enabled
	}
	return map[string]any{"network": req.network, "program": req.program, "enabled": enabled}, nil
}

func programIDs(ps []blink.Program) string {
	if len(ps) == 0 {
		return "none"
	}
	var ids []string
	for _, p := range ps {
		ids = append(ids, strconv.FormatInt(p.ID, 10)+" "+strconv.Quote(p.Name))
	}
	return strings.Join(ids, ", ")
}

// doNotifications changes notification flags and reads them back.
func (s *settingsPart) doNotifications(ctx context.Context, req *request) (any, error) {
	defer func() {
		for _, f := range req.flags {
			s.writer.republishTopic(ctx, s.topics.BridgeEntity(discovery.NotificationKey(f.Name)))
		}
	}()
	var cur []blink.NotificationFlag
	if n := s.state().notify; n != nil {
		cur = n.flags
	} else {
		var err error
		if cur, err = s.readNotifications(ctx); err != nil {
			return nil, err
		}
	}
	for _, f := range req.flags {
		if !slices.ContainsFunc(cur, func(c blink.NotificationFlag) bool { return c.Name == f.Name }) {
			var names []string
			for _, c := range cur {
				names = append(names, c.Name)
			}
			return nil, badInput("unknown notification flag %q (the account has: %s)", f.Name, strings.Join(names, ", "))
		}
	}
	if err := s.cloud.SetNotifications(ctx, req.flags); err != nil {
		return nil, refused("the notification flags", s.gate.note(err))
	}
	got, err := s.readNotifications(ctx)
	if err != nil {
		s.log.Warn().Err(err).Msg("changed the notification flags, but could not read them back")
		got = slices.Clone(cur)
		for i := range got {
			for _, f := range req.flags {
				if got[i].Name == f.Name {
					got[i].On = f.On
				}
			}
		}
		s.storeNotifications(got, s.state().notify.started)
	}
	out := map[string]bool{}
	for _, f := range req.flags {
		for _, g := range got {
			if g.Name == f.Name {
				out[f.Name] = g.On
			}
		}
	}
	return map[string]any{"settings": out}, nil
}
