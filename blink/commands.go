package blink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Command endpoints that do not depend on a device family (the others are
// in familyRoutes).
const (
	armTmpl           = "/api/v1/accounts/{acct}/networks/{net}/state/arm"
	disarmTmpl        = "/api/v1/accounts/{acct}/networks/{net}/state/disarm"
	commandStatusTmpl = "/network/{net}/command/{cmd}"

	statusOK        = 908 // command status_code for success
	codeNoMotion    = 304 // "No Cameras Enabled for Motion": arm/disarm succeeded with a caveat
	codeBusy        = 307 // busy, as one client reads it from a body
	codeCommandDone = 902
	maxBusyBackof   = 10 * time.Second
)

// Arm arms a network (system) and waits until Blink confirms it.
func (c *Client) Arm(ctx context.Context, networkID int64) (*CommandResult, error) {
	return c.command(ctx, armTmpl, ids{net: networkID}, nil)
}

// Disarm disarms a network and waits until Blink confirms it.
func (c *Client) Disarm(ctx context.Context, networkID int64) (*CommandResult, error) {
	return c.command(ctx, disarmTmpl, ids{net: networkID}, nil)
}

// SetMotionDetection turns a device's motion detection on or off.
func (c *Client) SetMotionDetection(ctx context.Context, d DeviceRef, enabled bool) (*CommandResult, error) {
	e := epMotionOff
	if enabled {
		e = epMotionOn
	}
	return c.deviceCommand(ctx, d, e)
}

// RequestThumbnail asks a device for a new still; download it with
// ThumbnailPath once homescreen shows the new one.
func (c *Client) RequestThumbnail(ctx context.Context, d DeviceRef) (*CommandResult, error) {
	return c.deviceCommand(ctx, d, epThumbnail)
}

// RecordClip asks a device to record a clip; it shows up in MediaChanged.
func (c *Client) RecordClip(ctx context.Context, d DeviceRef) (*CommandResult, error) {
	return c.deviceCommand(ctx, d, epClip)
}

// deviceCommand submits the family's POST for e (see familyRoutes) and waits.
func (c *Client) deviceCommand(ctx context.Context, d DeviceRef, e endpoint) (*CommandResult, error) {
	r, err := routeFor(d.Family, e)
	if err != nil {
		return nil, err
	}
	return c.command(ctx, r.tmpl, ids{net: d.NetworkID, cam: d.ID}, r.body)
}

// errCommandDeadline is the context cause when CommandTimeout runs out.
var errCommandDeadline = errors.New("command timeout")

// command submits an async POST (retrying 409 busy) and waits for it, all
// within CommandTimeout.
func (c *Client) command(ctx context.Context, tmpl string, v ids, body []byte) (*CommandResult, error) {
	acct, err := c.accountID()
	if err != nil {
		return nil, err
	}
	v.acct = acct
	cctx, cancel := context.WithTimeoutCause(ctx, c.cmdTimeout, errCommandDeadline)
	defer cancel()

	ans, err := c.submit(cctx, tmpl, v, body)
	if err != nil {
		return nil, c.commandCtxErr(cctx, err, v.net, 0)
	}
	res := &CommandResult{Command: ans.cmd}
	if ans.cmd.ID == 0 {
		// No command to wait for: 304 "No Cameras Enabled for Motion" (the
		// arm state still changes), a synchronous success, or an error
		// dressed as 200 ({"message":"Camera not found","code":500}).
		switch ans.code {
		case codeNoMotion:
			res.Warning = ans.message
			return res, nil
		case 0, codeCommandDone, statusOK:
			return res, nil
		}
		if k := codeKind(ans.code, ans.message); k != nil {
			return nil, &StatusError{Op: "POST " + tmpl, Code: http.StatusOK, APICode: ans.code, Message: ans.message, kind: k}
		}
		return nil, &CommandError{NetworkID: v.net, Code: ans.code, Message: ans.message}
	}
	net := ans.cmd.NetworkID
	if net == 0 {
		net = v.net
		res.Command.NetworkID = net
	}
	st, err := c.waitCommand(cctx, net, ans.cmd.ID)
	if err != nil {
		return nil, c.commandCtxErr(cctx, err, net, ans.cmd.ID)
	}
	res.MediaID = st.MediaID
	return res, nil
}

// submit POSTs a command; 409 busy is retried with backoff for BusyRetryFor.
func (c *Client) submit(ctx context.Context, tmpl string, v ids, body []byte) (submitAnswer, error) {
	cl := &call{method: http.MethodPost, tmpl: tmpl, path: fill(tmpl, v), body: body, auth: true, prof: profREST, redirect: redirectSameOrigin}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		resp, err := c.do(ctx, cl)
		if err == nil {
			ans, derr := decodeCommand(cl.op(), resp.body)
			if derr != nil {
				return ans, derr
			}
			if ans.cmd.ID != 0 || ans.code != codeBusy && !strings.Contains(strings.ToLower(ans.message), "busy") {
				if ans.cmd.ID != 0 {
					c.log.Debug().Str("endpoint", cl.op()).Int64("command_id", ans.cmd.ID).Msg("command submitted")
				}
				return ans, nil
			}
			err = &StatusError{Op: cl.op(), Code: resp.status, APICode: ans.code, Message: ans.message, kind: ErrBusy}
		}
		if !errors.Is(err, ErrBusy) {
			return submitAnswer{}, err
		}
		wait := backoffDelay(c.busyBase, attempt, maxBusyBackof)
		if time.Since(start)+wait > c.busyFor {
			return submitAnswer{}, fmt.Errorf("still busy after %s: %w", time.Since(start).Round(time.Second), err)
		}
		c.log.Debug().Str("endpoint", cl.op()).Dur("wait", wait).Msg("sync module busy, retrying")
		if err := sleepCtx(ctx, wait); err != nil {
			return submitAnswer{}, fmt.Errorf("%s: %w", cl.op(), err)
		}
	}
}

// WaitCommand polls a command until Blink reports it complete (status_code
// 908), failed (*CommandError), or CommandTimeout passes (ErrCommandTimeout).
func (c *Client) WaitCommand(ctx context.Context, networkID, commandID int64) (*CommandStatus, error) {
	if networkID <= 0 || commandID <= 0 {
		return nil, fmt.Errorf("blink: WaitCommand: invalid network %d or command %d", networkID, commandID)
	}
	cctx, cancel := context.WithTimeoutCause(ctx, c.cmdTimeout, errCommandDeadline)
	defer cancel()
	st, err := c.waitCommand(cctx, networkID, commandID)
	if err != nil {
		return nil, c.commandCtxErr(cctx, err, networkID, commandID)
	}
	return st, nil
}

// waitCommand applies Blink's command rules exactly: success ⇔ complete &&
// status_code 908; any other status_code is a failure at once, complete or
// not; a body without status_code is a failure; an empty body keeps polling;
// status_msg is never read for the decision.
func (c *Client) waitCommand(ctx context.Context, networkID, commandID int64) (*CommandStatus, error) {
	if _, err := c.accountID(); err != nil {
		return nil, err
	}
	v := ids{net: networkID, cmd: commandID}
	for {
		cl, resp, err := c.get(ctx, commandStatusTmpl, v, nil)
		if err != nil {
			return nil, err
		}
		st, err := decodeCommandStatus(cl.op(), resp.body)
		if err != nil {
			return nil, err
		}
		if st != nil {
			switch {
			case !st.HasStatusCode:
				return nil, &CommandError{NetworkID: networkID, CommandID: commandID, Message: "status without status_code"}
			case st.StatusCode != statusOK:
				return nil, &CommandError{NetworkID: networkID, CommandID: commandID, Code: st.StatusCode, Message: st.StatusMsg}
			case st.Complete:
				return st, nil
			}
		}
		if err := sleepCtx(ctx, c.pollEvery); err != nil {
			return nil, fmt.Errorf("%s: %w", cl.op(), err)
		}
	}
}

// commandCtxErr turns the command deadline into ErrCommandTimeout; a
// cancellation by the caller stays what it is.
func (c *Client) commandCtxErr(cctx context.Context, err error, net, cmd int64) error {
	if cctx.Err() != nil && errors.Is(context.Cause(cctx), errCommandDeadline) {
		return fmt.Errorf("blink: command %d on network %d: %w after %s (%w)", cmd, net, ErrCommandTimeout, c.cmdTimeout, err)
	}
	return err
}
