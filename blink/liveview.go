package blink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink/immis"
)

// Live-view command endpoints (the start is per family, in familyRoutes).
const (
	commandUpdateTmpl = "/network/{net}/command/{cmd}/update/"
	commandDoneTmpl   = "/network/{net}/command/{cmd}/done/"
)

// Bounds on the timings a live-view answer gives, so a surprising number
// neither hammers Blink nor lets a session lapse unnoticed.
const (
	defaultLiveviewDuration = 300 * time.Second
	defaultLiveviewPoll     = 15 * time.Second
	minLiveviewPoll         = 5 * time.Second
	maxLiveviewPoll         = time.Minute
	minLiveviewDuration     = 30 * time.Second
	maxLiveviewDuration     = 2 * time.Hour
)

// ErrLiveviewUnsupported: Blink offered the device's live view only in a
// form this client cannot play — older cameras answer with an rtsps:// URL
// that standard players fail on too.
var ErrLiveviewUnsupported = errors.New("blink: live view unsupported for this device (older camera: Blink offers only rtsps://)")

// Liveview is a live view Blink started for one device. It streams from
// Target until it is ended, Blink ends it, or Duration passes without an
// extension. It holds no secret that String would print: Target shows only
// host and port.
type Liveview struct {
	CommandID int64
	NetworkID int64
	Device    DeviceRef
	Target    immis.Target
	// Duration is how long the session lives without ExtendLiveview;
	// ContinueInterval is how often Blink expects an extension;
	// PollingInterval is how often Blink expects its status polled.
	Duration         time.Duration
	ContinueInterval time.Duration
	PollingInterval  time.Duration
	Type             string // "lv"; "elv" for Blink's extended live view
}

type rawLiveview struct {
	CommandID        flexInt    `json:"command_id"`
	ID               flexInt    `json:"id"`
	NetworkID        flexInt    `json:"network_id"`
	Server           flexString `json:"server"`
	Duration         flexInt    `json:"duration"`
	ContinueInterval flexInt    `json:"continue_interval"`
	PollingInterval  flexInt    `json:"polling_interval"`
	Type             flexString `json:"type"`
	Code             flexInt    `json:"code"`
	Message          flexString `json:"message"`
}

// decodeLiveview reads a live-view start answer. A command that was
// started but cannot be played comes back with its id and the error, so the
// caller can end it.
func decodeLiveview(op string, body []byte, d DeviceRef) (*Liveview, error) {
	var raw rawLiveview
	if err := decodeJSON(op, body, &raw); err != nil {
		return nil, err
	}
	id := raw.CommandID.v
	if id == 0 {
		id = raw.ID.v
	}
	if id <= 0 {
		msg := cleanText(raw.Message.v, maxMessage)
		if k := codeKind(int(raw.Code.v), msg); k != nil {
			return nil, &StatusError{Op: op, Code: http.StatusOK, APICode: int(raw.Code.v), Message: msg, kind: k}
		}
		if msg == "" {
			msg = "no command id in the answer"
		}
		return nil, &CommandError{NetworkID: d.NetworkID, Code: int(raw.Code.v), Message: msg}
	}
	lv := &Liveview{
		CommandID: id, NetworkID: d.NetworkID, Device: d, Type: cleanText(raw.Type.v, 16),
		Duration:         seconds(raw.Duration, defaultLiveviewDuration, minLiveviewDuration, maxLiveviewDuration),
		PollingInterval:  seconds(raw.PollingInterval, defaultLiveviewPoll, minLiveviewPoll, maxLiveviewPoll),
		ContinueInterval: 0,
	}
	if n := raw.NetworkID.v; n > 0 {
		lv.NetworkID = n
	}
	lv.ContinueInterval = seconds(raw.ContinueInterval, lv.Duration, minLiveviewDuration, lv.Duration)
	server := strings.TrimSpace(raw.Server.v)
	scheme, _, _ := strings.Cut(server, "://")
	switch strings.ToLower(scheme) {
	case "immis":
		t, err := immis.ParseTarget(server)
		if err != nil {
			return lv, &DecodeError{Op: op, Err: err}
		}
		lv.Target = t
		return lv, nil
	case "rtsps", "rtsp":
		return lv, fmt.Errorf("%s: %w", op, ErrLiveviewUnsupported)
	case "":
		return lv, &DecodeError{Op: op, Err: errors.New("no server URL in the answer")}
	}
	return lv, &DecodeError{Op: op, Err: errors.New("server URL of an unknown kind")}
}

// seconds turns a duration in seconds from Blink into a time.Duration:
// def when absent or not positive, else clamped to [lo, hi].
func seconds(f flexInt, def, lo, hi time.Duration) time.Duration {
	switch {
	case f.v <= 0:
		return min(max(def, lo), hi)
	case f.v > int64(hi/time.Second):
		return hi
	}
	return max(time.Duration(f.v)*time.Second, lo)
}

// StartLiveview asks Blink to start a live view of d and returns where it
// streams from. A busy network (another command or live view) answers at
// once with ErrBusy, never after retries: a viewer is waiting. An answer
// that cannot be played (ErrLiveviewUnsupported, a bad URL) ends the
// session it started before returning the error.
func (c *Client) StartLiveview(ctx context.Context, d DeviceRef) (*Liveview, error) {
	r, err := routeFor(d.Family, epLiveview)
	if err != nil {
		return nil, err
	}
	acct, err := c.accountID()
	if err != nil {
		return nil, err
	}
	cl := &call{method: http.MethodPost, tmpl: r.tmpl, path: fill(r.tmpl, ids{acct: acct, net: d.NetworkID, cam: d.ID}),
		body: r.body, auth: true, prof: profREST, redirect: redirectSameOrigin}
	resp, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	lv, err := decodeLiveview(cl.op(), resp.body, d)
	if err != nil {
		if lv != nil {
			if derr := c.EndLiveview(context.WithoutCancel(ctx), lv.NetworkID, lv.CommandID); derr != nil {
				c.log.Warn().Err(derr).Int64("command_id", lv.CommandID).Msg("could not end a live view that cannot be played")
			}
		}
		return nil, err
	}
	c.log.Debug().Int64("command_id", lv.CommandID).Stringer("server", lv.Target).Dur("duration", lv.Duration).Msg("live view started")
	return lv, nil
}

// ExtendLiveview keeps a live view going for another Duration.
func (c *Client) ExtendLiveview(ctx context.Context, networkID, commandID int64) error {
	return c.commandPost(ctx, commandUpdateTmpl, networkID, commandID)
}

// EndLiveview ends a live view (Blink's command "done"). Ending one that
// already ended is harmless.
func (c *Client) EndLiveview(ctx context.Context, networkID, commandID int64) error {
	return c.commandPost(ctx, commandDoneTmpl, networkID, commandID)
}

func (c *Client) commandPost(ctx context.Context, tmpl string, networkID, commandID int64) error {
	if networkID <= 0 || commandID <= 0 {
		return fmt.Errorf("blink: POST %s: invalid network %d or command %d", tmpl, networkID, commandID)
	}
	acct, err := c.accountID()
	if err != nil {
		return err
	}
	cl := &call{method: http.MethodPost, tmpl: tmpl, path: fill(tmpl, ids{acct: acct, net: networkID, cmd: commandID}),
		auth: true, prof: profREST, redirect: redirectSameOrigin}
	_, err = c.do(ctx, cl)
	return err
}

type rawLiveviewStatus struct {
	StatusCode flexInt `json:"status_code"`
	Commands   []struct {
		ID             flexInt    `json:"id"`
		StateCondition flexString `json:"state_condition"`
	} `json:"commands"`
}

// LiveviewAlive polls a live view's command: false once Blink reports it
// failed or its state left "new"/"running", or forgot it (404). complete
// says nothing here: it turns true as soon as the stream is up.
func (c *Client) LiveviewAlive(ctx context.Context, networkID, commandID int64) (bool, error) {
	if networkID <= 0 || commandID <= 0 {
		return false, fmt.Errorf("blink: LiveviewAlive: invalid network %d or command %d", networkID, commandID)
	}
	if _, err := c.accountID(); err != nil {
		return false, err
	}
	cl, resp, err := c.get(ctx, commandStatusTmpl, ids{net: networkID, cmd: commandID}, nil)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return decodeLiveviewAlive(cl.op(), resp.body, commandID)
}

func decodeLiveviewAlive(op string, body []byte, commandID int64) (bool, error) {
	if t := strings.TrimSpace(string(body)); t == "" || t == "null" {
		return true, nil // Blink answers so while a command runs
	}
	var raw rawLiveviewStatus
	if err := decodeJSON(op, body, &raw); err != nil {
		return false, err
	}
	if raw.StatusCode.set && raw.StatusCode.v != statusOK {
		return false, nil
	}
	for _, cmd := range raw.Commands {
		if cmd.ID.v == commandID {
			s := strings.ToLower(cmd.StateCondition.v)
			return s == "new" || s == "running", nil
		}
	}
	return true, nil
}

// OpenLiveview connects to a live view's stream for the device with serial
// and returns its MPEG-TS. The connection is not a REST call: it skips the
// limiter and carries no token (see package immis).
func (c *Client) OpenLiveview(ctx context.Context, lv *Liveview, serial string) (io.ReadCloser, error) {
	if lv == nil || lv.Target.IsZero() {
		return nil, errors.New("blink: OpenLiveview: no live view")
	}
	return immis.Dial(ctx, lv.Target, serial, c.immis)
}
