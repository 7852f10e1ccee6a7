package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// Request operations (README: Requests and responses).
const (
	OpArm             = "arm"
	OpDisarm          = "disarm"
	OpSnapshot        = "snapshot"
	OpMotionDetection = "motion_detection"
	OpRecord          = "record"
	OpRefresh         = "refresh"
	OpAuthVerify      = "auth/verify"
	OpAuthLogin       = "auth/login"
	OpRediscover      = "rediscover"
)

// opOptional lists the fields an operation may take besides opFields.
var opOptional = map[string][]string{
	OpAuthLogin: {"replace"},
	// A device id alone is ambiguous when two families use it.
	OpSnapshot:        {"network", "family"},
	OpMotionDetection: {"network", "family"},
	OpRecord:          {"network", "family"},
	OpSettings:        {"network", "family"},
}

// opFields lists the fields each operation needs (besides "transaction").
var opFields = map[string][]string{
	OpArm:             {"network"},
	OpDisarm:          {"network"},
	OpSnapshot:        {"device"},
	OpMotionDetection: {"device", "enabled"},
	OpRecord:          {"device"},
	OpRefresh:         nil,
	OpAuthVerify:      {"code"},
	OpAuthLogin:       nil,
	OpRediscover:      nil,
	OpProgram:         {"network", "program", "enabled"},
	OpSettings:        {"device", "settings"},
	OpNotifications:   {"settings"},
}

func knownOps() string {
	ops := make([]string, 0, len(opFields))
	for op := range opFields {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return strings.Join(ops, ", ")
}

// request is one parsed command, from a request topic or a …/set topic.
type request struct {
	op string
	// respond is true for bridge/request/<op>: exactly one response goes to
	// bridge/response/<op>. Commands from …/set topics get none.
	respond bool
	txn     json.RawMessage

	network int64
	device  int64
	// node is the device's topic node (…/set topics); family narrows a
	// device id that several families use.
	node    string
	family  blink.Family
	enabled bool
	replace bool // auth/login: start over while a code is pending
	code    blink.Secret
	// program, changes and flags are the program, settings and
	// notifications ops' (settings_requests.go).
	program int64
	changes []settingChange
	flags   []blink.NotificationFlag

	// Resolved by resolve: the device (for device ops).
	dev blink.Device

	// job is internal work queued with a network's commands (runner.submit);
	// its result goes to done.
	job  func(context.Context) error
	done chan error

	received time.Time
}

// inputError is bad input: answered with its message, logged once.
type inputError struct{ msg string }

func (e *inputError) Error() string { return e.msg }

func badInput(format string, a ...any) error { return &inputError{fmt.Sprintf(format, a...)} }

// parseRequest decodes a request body for op. It returns the transaction
// even when the rest is bad, so the error response can carry it. Error
// messages never quote the payload: an auth/verify body holds a code.
func parseRequest(op string, payload []byte) (*request, error) {
	r := &request{op: op, respond: true}
	if len(payload) > MaxRequestBytes {
		return r, badInput("request too large (%d bytes; the limit is 64 KiB)", len(payload))
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("{}")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(payload, &fields); err != nil {
		if json.Valid(payload) {
			return r, badInput(`request must be a JSON object, for example {"network": 123}`)
		}
		return r, badInput("request is not valid JSON")
	}
	if t, ok := fields["transaction"]; ok {
		r.txn = t
		delete(fields, "transaction")
	}
	want, known := opFields[op]
	if !known {
		return r, badInput("unknown operation %q; known operations: %s", short(op), knownOps())
	}
	optional := opOptional[op]
	for k := range fields {
		if !contains(want, k) && !contains(optional, k) {
			takes := append(slices.Clone(want), optional...)
			if len(takes) == 0 {
				return r, badInput("%s takes no fields, but got %q", op, short(k))
			}
			return r, badInput("unknown field %q for %s (it takes: %s)", short(k), op, strings.Join(takes, ", "))
		}
	}
	if raw, ok := fields["replace"]; ok && contains(optional, "replace") {
		if e := json.Unmarshal(raw, &r.replace); e != nil || isNull(raw) {
			return r, badInput(`"replace" must be true or false, got %s`, describeJSON(raw))
		}
	}
	if raw, ok := fields["network"]; ok && contains(optional, "network") {
		var err error
		if r.network, err = parseID("network", raw); err != nil {
			return r, err
		}
	}
	if raw, ok := fields["family"]; ok && contains(optional, "family") {
		var f string
		if json.Unmarshal(raw, &f) != nil || !blink.Family(f).Valid() {
			return r, badInput(`"family" must be "camera", "owl" or "doorbell", got %s`, describeJSON(raw))
		}
		r.family = blink.Family(f)
	}
	var err error
	for _, k := range want {
		raw, ok := fields[k]
		if !ok {
			return r, badInput("%s needs the field %q", op, k)
		}
		switch k {
		case "network":
			r.network, err = parseID(k, raw)
		case "device":
			r.device, err = parseID(k, raw)
		case "enabled":
			if e := json.Unmarshal(raw, &r.enabled); e != nil || isNull(raw) {
				err = badInput(`"enabled" must be true or false, got %s`, describeJSON(raw))
			}
		case "code":
			r.code, err = parseCode(raw)
		case "program":
			r.program, err = parseID(k, raw)
		case "settings":
			if op == OpNotifications {
				r.flags, err = parseNotificationFlags(raw)
			} else {
				r.changes, err = parseSettingChanges(raw)
			}
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

// parseID accepts a positive whole number, or one written as a string
// (Node-RED and shell scripts send both).
func parseID(name string, raw json.RawMessage) (int64, error) {
	s := string(bytes.TrimSpace(raw))
	if strings.HasPrefix(s, `"`) {
		var str string
		if json.Unmarshal(raw, &str) == nil {
			s = strings.TrimSpace(str)
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, badInput("%q must be a Blink %s id (a whole number), got %s", name, name, describeJSON(raw))
	}
	return id, nil
}

func parseCode(raw json.RawMessage) (blink.Secret, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil || isNull(raw) {
			return "", badInput(`"code" must be the 2FA code as a string of digits, got %s`, describeJSON(raw))
		}
		s = n.String()
	}
	s = strings.TrimSpace(s)
	if s == "" || len(s) > discovery.AuthCodeMax || strings.Trim(s, "0123456789") != "" {
		return "", badInput(`"code" must be the 2FA code: digits only, at most %d`, discovery.AuthCodeMax)
	}
	return blink.Secret(s), nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// describeJSON names the type of a JSON value without quoting long values.
func describeJSON(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	switch {
	case s == "null":
		return "null"
	case s == "true" || s == "false":
		return s
	case strings.HasPrefix(s, `"`):
		return "a string"
	case strings.HasPrefix(s, "{"):
		return "an object"
	case strings.HasPrefix(s, "["):
		return "a list"
	case len(s) <= 24:
		return s
	default:
		return "a number"
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// maxQuoted bounds how much of a topic or value an error message or log
// line repeats: anyone on the broker chooses them, up to 64 KiB.
const maxQuoted = 96

// short returns s cut to maxQuoted bytes (at a rune boundary), marked "…".
func short(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// parseSet turns a …/set message into a request. Topics: <root>/bridge/<key>/set,
// <root>/<net>/alarm/set, <root>/<net>/<dev>/<entity>/set.
func parseSet(t discovery.Topics, topic string, payload []byte) (*request, error) {
	rest, ok := strings.CutPrefix(topic, t.Root+"/")
	if !ok {
		return nil, badInput("command topic %q is outside %s/", short(topic), t.Root)
	}
	rest, ok = strings.CutSuffix(rest, "/set")
	if !ok {
		return nil, badInput("command topic %q does not end in /set", short(topic))
	}
	if len(payload) > MaxRequestBytes {
		return nil, badInput("command too large (%d bytes)", len(payload))
	}
	p := strings.TrimSpace(string(payload))
	parts := strings.Split(rest, "/")
	r := &request{}
	press := func(op string) (*request, error) {
		if !strings.EqualFold(p, discovery.Press) {
			return nil, badInput("%s expects %s", short(topic), discovery.Press)
		}
		r.op = op
		return r, nil
	}
	switch {
	case len(parts) == 2 && parts[0] == "bridge":
		switch parts[1] {
		case discovery.BridgeAuthCode:
			// The text entity stores the code; auth_submit sends it.
			r.op = discovery.BridgeAuthCode
			if p != "" && strings.Trim(p, "*") != "" {
				c, err := parseCode(json.RawMessage(strconv.Quote(p)))
				if err != nil {
					return nil, err
				}
				r.code = c
			}
			return r, nil
		case discovery.BridgeAuthSubmit:
			return press(OpAuthVerify)
		case discovery.BridgeAuthLogin:
			return press(OpAuthLogin)
		case discovery.BridgeRediscover:
			return press(OpRediscover)
		case discovery.BridgeRefresh:
			return press(OpRefresh)
		}
		if flag, ok := discovery.ParseNotificationKey(parts[1]); ok {
			on, err := onOffPayload(p, "notification flag command")
			if err != nil {
				return nil, err
			}
			r.op, r.flags = OpNotifications, []blink.NotificationFlag{{Name: flag, On: on}}
			return r, nil
		}
		return nil, badInput("unknown bridge command %q", short(parts[1]))
	case len(parts) == 2 && strings.HasPrefix(parts[1], "program_"):
		net, err1 := parseID("network", json.RawMessage(parts[0]))
		prog, ok := discovery.ParseProgramKey(parts[1])
		if err1 != nil || !ok {
			return nil, badInput("command topic %q has no network and schedule", short(topic))
		}
		on, err := onOffPayload(p, "schedule command")
		if err != nil {
			return nil, err
		}
		r.op, r.network, r.program, r.enabled = OpProgram, net, prog, on
		return r, nil
	case len(parts) == 2 && parts[1] == discovery.EntityAlarm:
		net, err := parseID("network", json.RawMessage(parts[0]))
		if err != nil {
			return nil, badInput("command topic %q has no network id", short(topic))
		}
		r.network = net
		switch strings.ToUpper(p) {
		case discovery.ArmAway:
			r.op = OpArm
		case discovery.Disarm:
			r.op = OpDisarm
		default:
			return nil, badInput("alarm command must be %s or %s (Blink has no home or night mode)", discovery.ArmAway, discovery.Disarm)
		}
		return r, nil
	case len(parts) == 3:
		net, err1 := parseID("network", json.RawMessage(parts[0]))
		if err1 != nil || !validNode(parts[1]) {
			return nil, badInput("command topic %q has no network and device", short(topic))
		}
		r.network, r.node = net, parts[1]
		r.device, _ = strconv.ParseInt(parts[1], 10, 64)
		switch parts[2] {
		case discovery.EntityMotionDetection:
			switch strings.ToUpper(p) {
			case discovery.On:
				r.enabled = true
			case discovery.Off:
			default:
				return nil, badInput("motion detection command must be ON or OFF")
			}
			r.op = OpMotionDetection
			return r, nil
		case discovery.EntitySnapshot:
			return press(OpSnapshot)
		case discovery.EntityRecord:
			return press(OpRecord)
		}
		if spec, ok := blink.SettingByName(parts[2]); ok {
			v, err := settingFromPayload(spec, p)
			if err != nil {
				return nil, err
			}
			r.op, r.changes = OpSettings, []settingChange{{name: spec.Name, value: v}}
			return r, nil
		}
		return nil, badInput("entity %q takes no commands", short(parts[2]))
	}
	return nil, badInput("unknown command topic %q", short(topic))
}

// onOffPayload reads a switch command: ON or OFF.
func onOffPayload(p, what string) (bool, error) {
	switch strings.ToUpper(p) {
	case discovery.On:
		return true, nil
	case discovery.Off:
		return false, nil
	}
	return false, badInput("%s must be ON or OFF", what)
}

// validNode accepts a device's topic node: its id, or "<family>-<id>".
func validNode(s string) bool {
	prefix, num, ok := strings.Cut(s, "-")
	if !ok {
		num, prefix = s, ""
	}
	if strings.Trim(prefix, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return false
	}
	id, err := strconv.ParseInt(num, 10, 64)
	return err == nil && id > 0 && strconv.FormatInt(id, 10) == num
}
