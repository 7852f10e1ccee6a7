package blink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Programs (Blink's schedules) are per network and answer synchronously.
const (
	programsTmpl       = "/api/v1/networks/{net}/programs"
	programEnableTmpl  = "/api/v1/networks/{net}/programs/{prog}/enable"
	programDisableTmpl = "/api/v1/networks/{net}/programs/{prog}/disable"

	codeProgramOK = 802 // "Successfully enabled program …"
)

// Bounds on what a program list may hold: Blink's app makes a handful.
const (
	maxPrograms        = 64
	maxScheduleEntries = 32
	maxProgramName     = 64
	maxScheduleText    = 40
)

// Program is one Blink schedule of a network.
type Program struct {
	ID        int64           `json:"id"`
	NetworkID int64           `json:"network_id"`
	Name      string          `json:"name"`
	Enabled   bool            `json:"enabled"`
	Schedule  []ScheduleEntry `json:"schedule,omitempty"`
}

// ScheduleEntry is one step of a schedule: on these days, at this time,
// do this (arm, disarm).
type ScheduleEntry struct {
	Days   []string `json:"days"`   // "mon" … "sun"
	Time   string   `json:"time"`   // as Blink sent it, e.g. "2026-03-01 21:00:00 +0000"
	Action string   `json:"action"` // "arm", "disarm", …
}

type rawProgram struct {
	ID        flexInt            `json:"id"`
	NetworkID flexInt            `json:"network_id"`
	Name      flexString         `json:"name"`
	Enabled   *flexBool          `json:"enabled"`
	Status    flexString         `json:"status"`
	Schedule  []rawScheduleEntry `json:"schedule"`
}

type rawScheduleEntry struct {
	// Days stay raw: a list of names is usual, a single name is tolerated.
	Days   json.RawMessage `json:"dow"`
	Time   flexString      `json:"time"`
	Action flexString      `json:"action"`
}

var weekdays = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// decodePrograms reads a program list: a JSON array, or an object holding
// it under "programs". Programs without an id, repeats and entries beyond
// the bounds are dropped; "enabled" wins over "status" when both are sent.
func decodePrograms(op string, body []byte, network int64) ([]Program, error) {
	var list []rawProgram
	t := bytes.TrimSpace(body)
	if len(t) > 0 && t[0] == '{' {
		var wrap struct {
			Programs []rawProgram `json:"programs"`
		}
		if err := decodeJSON(op, body, &wrap); err != nil {
			return nil, err
		}
		list = wrap.Programs
	} else if err := decodeJSON(op, body, &list); err != nil {
		return nil, err
	}
	out := make([]Program, 0, min(len(list), maxPrograms))
	seen := map[int64]bool{}
	for _, r := range list {
		if r.ID.v <= 0 || seen[r.ID.v] {
			continue
		}
		if len(out) == maxPrograms {
			break
		}
		seen[r.ID.v] = true
		p := Program{ID: r.ID.v, NetworkID: r.NetworkID.v, Name: cleanText(r.Name.v, maxProgramName)}
		if p.NetworkID <= 0 {
			p.NetworkID = network
		}
		if r.Enabled != nil {
			p.Enabled = r.Enabled.v
		} else {
			p.Enabled = strings.EqualFold(strings.TrimSpace(r.Status.v), "enabled")
		}
		for _, e := range r.Schedule {
			if len(p.Schedule) == maxScheduleEntries {
				break
			}
			p.Schedule = append(p.Schedule, ScheduleEntry{
				Days:   scheduleDays(e.Days),
				Time:   cleanText(e.Time.v, maxScheduleText),
				Action: strings.ToLower(cleanText(e.Action.v, maxScheduleText)),
			})
		}
		out = append(out, p)
	}
	return out, nil
}

// scheduleDays keeps the weekday names of raw (a list or one name), in
// week order, each once.
func scheduleDays(raw json.RawMessage) []string {
	var names []flexString
	if json.Unmarshal(raw, &names) != nil {
		var one flexString
		if json.Unmarshal(raw, &one) != nil {
			return nil
		}
		names = []flexString{one}
	}
	have := map[string]bool{}
	for _, n := range names {
		d := strings.ToLower(strings.TrimSpace(n.v))
		if len(d) > 3 {
			d = d[:3] // "monday" → "mon"
		}
		have[d] = true
	}
	var out []string
	for _, d := range weekdays {
		if have[d] {
			out = append(out, d)
		}
	}
	return out
}

// Programs reads a network's schedules.
func (c *Client) Programs(ctx context.Context, networkID int64) ([]Program, error) {
	if _, err := c.accountID(); err != nil {
		return nil, err
	}
	cl, resp, err := c.get(ctx, programsTmpl, ids{net: networkID}, nil)
	if err != nil {
		return nil, err
	}
	return decodePrograms(cl.op(), resp.body, networkID)
}

// SetProgramEnabled turns a schedule on or off. Blink answers at once
// (code 802); there is no command to wait for.
func (c *Client) SetProgramEnabled(ctx context.Context, networkID, programID int64, enabled bool) error {
	if networkID <= 0 || programID <= 0 {
		return fmt.Errorf("blink: SetProgramEnabled: invalid network %d or program %d", networkID, programID)
	}
	if _, err := c.accountID(); err != nil {
		return err
	}
	tmpl := programDisableTmpl
	if enabled {
		tmpl = programEnableTmpl
	}
	cl := &call{method: http.MethodPost, tmpl: tmpl, path: fill(tmpl, ids{net: networkID, prog: programID}),
		auth: true, prof: profREST, redirect: redirectSameOrigin}
	resp, err := c.do(ctx, cl)
	if err != nil {
		return err
	}
	return syncAnswerErr(cl.op(), resp, codeProgramOK)
}

// syncAnswerErr reads the answer of a synchronous POST: any 2xx is a
// success unless its body carries one of Blink's error codes ("not found",
// "busy") other than ok.
func syncAnswerErr(op string, resp *response, ok int) error {
	var body struct {
		Code    flexInt    `json:"code"`
		Message flexString `json:"message"`
	}
	if json.Unmarshal(resp.body, &body) != nil || body.Code.v == int64(ok) {
		return nil
	}
	msg := cleanText(body.Message.v, maxMessage)
	if k := codeKind(int(body.Code.v), msg); k != nil {
		return &StatusError{Op: op, Code: resp.status, APICode: int(body.Code.v), Message: msg, kind: k}
	}
	return nil
}
