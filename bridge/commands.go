package bridge

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// execute runs one request on its queue's worker and answers it.
func (r *runner) execute(ctx context.Context, req *request) {
	if req.job != nil {
		req.done <- req.job(ctx)
		return
	}
	start := time.Now()
	var data any
	var err error
	switch req.op {
	case OpArm, OpDisarm:
		data, err = r.doAlarm(ctx, req)
	case OpMotionDetection:
		data, err = r.doMotionDetection(ctx, req)
	case OpSnapshot:
		data, err = r.doSnapshot(ctx, req)
	case OpRecord:
		data, err = r.doRecord(ctx, req)
	case OpRefresh:
		data, err = r.doRefresh(ctx)
	case OpProgram, OpSettings, OpNotifications:
		data, err = r.settings.execute(ctx, req)
	case OpAuthVerify:
		err = r.doAuthVerify(ctx, req)
	case OpAuthLogin:
		err = r.doAuthLogin(ctx, req)
	case discovery.BridgeAuthCode:
		r.model.setPendingCode(req.code)
		r.writer.syncWait(ctx)
		return // the text entity's value: nothing to answer or log
	default:
		err = badInput("unknown operation %q", req.op)
	}
	if ctx.Err() != nil && err != nil {
		err = errShuttingDown
	}
	ev := r.log.Info()
	if err != nil {
		ev = r.log.Warn().Str("error", errorMessage(err))
	}
	ev.Str("op", req.op).Int64("network", req.network).Int64("device", req.device).
		Dur("took", time.Since(start)).Msg("command done")
	r.emit(Event{Kind: EventCommand, Name: req.op, Err: err, Duration: time.Since(start)})
	r.respond(req, data, err)
}

// doAlarm arms or disarms: arming/disarming while Blink works, the
// confirmed state from the command result at once, then a homescreen poll
// to confirm. A failure reverts to the last known state.
func (r *runner) doAlarm(ctx context.Context, req *request) (any, error) {
	arm := req.op == OpArm
	transient, final := discovery.Disarming, discovery.Disarmed
	if arm {
		transient, final = discovery.Arming, discovery.ArmedAway
	}
	r.model.setAlarm(req.network, transient)
	r.writer.syncWait(ctx)

	var res *blink.CommandResult
	var err error
	if arm {
		res, err = r.cloud.Arm(ctx, req.network)
	} else {
		res, err = r.cloud.Disarm(ctx, req.network)
	}
	r.model.setAlarm(req.network, "")
	if err == nil {
		r.model.networkCommandDone(req.network, func(n *blink.Network) { n.Armed = arm })
	}
	r.writer.syncWait(ctx)
	if err != nil {
		return nil, err
	}
	r.poller.pollSoon()
	r.poller.recompute() // the media cadence may have changed
	data := map[string]any{"network": req.network, "state": final}
	if res != nil && res.Warning != "" {
		data["warning"] = res.Warning
	}
	return data, nil
}

func (r *runner) doMotionDetection(ctx context.Context, req *request) (any, error) {
	k := discovery.KeyOf(req.dev)
	_, err := r.cloud.SetMotionDetection(ctx, req.dev.Ref(), req.enabled)
	if err == nil {
		r.model.deviceCommandDone(k, func(d *blink.Device) { d.Enabled = req.enabled })
	}
	// On failure this puts HA's optimistic switch back.
	topic := r.topics.NodeEntity(r.model.snapshot().nodes.Node(k), discovery.EntityMotionDetection)
	r.writer.republishTopic(ctx, topic)
	if err != nil {
		return nil, err
	}
	r.poller.pollSoon()
	r.poller.recompute()
	return map[string]any{"device": req.device, "enabled": req.enabled}, nil
}

func (r *runner) doRecord(ctx context.Context, req *request) (any, error) {
	res, err := r.cloud.RecordClip(ctx, req.dev.Ref())
	if err != nil {
		return nil, err
	}
	data := map[string]any{"device": req.device}
	if res != nil && res.MediaID != 0 {
		data["media_id"] = res.MediaID
	}
	return data, nil
}

// snapshotPolls bounds the homescreen polls a snapshot waits for before it
// takes whatever picture Blink lists.
const snapshotPolls = 3

// doSnapshot asks for a new thumbnail, polls homescreen (through the
// poller, like every poll) until it lists the new picture, downloads it and
// publishes it (retained, acknowledged) before answering.
func (r *runner) doSnapshot(ctx context.Context, req *request) (any, error) {
	k := discovery.KeyOf(req.dev)
	before := req.dev.Thumbnail
	defer r.thumbs.beginSnapshot(k)()
	if _, err := r.cloud.RequestThumbnail(ctx, req.dev.Ref()); err != nil {
		return nil, err
	}
	var dev blink.Device
	for attempt := 1; ; attempt++ {
		if _, err := r.poller.request(ctx, pollRequest{homescreen: true}); err != nil {
			return nil, fmt.Errorf("read the new thumbnail: %w", err)
		}
		d, ok := r.model.snapshot().device(k)
		if !ok {
			return nil, badInput("device %d left the account", req.device)
		}
		dev = d
		if d.Thumbnail != before || attempt >= snapshotPolls {
			break
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	img, _, err := r.cloud.Download(ctx, blink.ThumbnailPath(r.model.snapshot().hs.AccountID, dev), maxThumbnailBytes)
	if err != nil {
		return nil, fmt.Errorf("download the thumbnail: %w", err)
	}
	if err := checkJPEG(img); err != nil {
		r.log.Warn().Err(err).Int64("device", req.device).Int("bytes", len(img)).Msg("thumbnail download is not a JPEG; keeping the previous image")
		return nil, errors.New("the picture Blink sent is not a JPEG image; the previous thumbnail stays")
	}
	r.thumbs.store(k, dev.Thumbnail, img)
	topic := r.writer.imageTopic(k)
	if tok := r.writer.publishImage(ctx, k, img, true); tok != nil {
		if err := awaitFor(ctx, 10*time.Second, tok); err != nil {
			return nil, fmt.Errorf("publish the thumbnail: %w", err)
		}
	}
	return map[string]any{"device": req.device, "bytes": len(img), "topic": topic}, nil
}

// doRefresh polls homescreen and media now, except what was polled within
// the refresh floor: a flood of refresh requests is answered from those
// polls.
func (r *runner) doRefresh(ctx context.Context) (any, error) {
	res, err := r.poller.request(ctx, pollRequest{homescreen: true, media: true, floor: r.opts.refreshFloor})
	if err != nil {
		return nil, err
	}
	if res.polledHS {
		r.thumbs.awaitIdle(ctx)
		r.writer.syncWait(ctx) // the writer publishes in order: the pictures are out
	}
	data := map[string]any{"new_media": res.newMedia, "polled": res.polledHS || res.polledMedia}
	if hs := r.model.snapshot().hs; hs != nil {
		data["networks"], data["devices"] = len(hs.Networks), len(hs.Devices)
	}
	return data, nil
}

func (r *runner) doAuthVerify(ctx context.Context, req *request) error {
	code := req.code
	if code.IsZero() {
		code = r.model.pendingCodeValue()
		if code.IsZero() {
			return badInput("no 2FA code entered; type the code first")
		}
	}
	if r.auth == nil {
		return ErrNoLoginPending
	}
	err := r.auth.SubmitCode(ctx, code)
	r.model.setPendingCode("")
	r.writer.syncWait(ctx)
	return err
}

func (r *runner) doAuthLogin(ctx context.Context, req *request) error {
	if r.auth == nil {
		return errors.New("login over MQTT is not available; run `blink2mqtt login`")
	}
	return r.auth.StartLogin(ctx, LoginRequest{Replace: req.replace})
}

// errorMessage turns an error into a sentence for a person reading a
// response. Blink's own message is kept where it has one.
func errorMessage(err error) string {
	var ie *inputError
	var ce *blink.CommandError
	var rl *blink.RateLimitError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &ie):
		return ie.msg
	case errors.As(err, &ce):
		return fmt.Sprintf("Blink reported the command failed: %s (code %d)", ce.Message, ce.Code)
	case errors.As(err, &rl):
		if !rl.Until.IsZero() {
			return "Blink is rate limiting requests; try again after " + rl.Until.UTC().Format(time.RFC3339)
		}
		return "Blink is rate limiting requests; try again later"
	case errors.Is(err, blink.ErrBusy):
		return "the sync module is busy with another command; try again in a minute"
	case errors.Is(err, blink.ErrReauthRequired):
		return "Blink needs a new login (see bridge/auth)"
	case errors.Is(err, blink.ErrCommandTimeout):
		return "Blink did not finish the command in time"
	case errors.Is(err, blink.ErrUnreachable):
		return "Blink cannot be reached right now"
	case errors.Is(err, blink.ErrNotFound):
		return "Blink does not know that device or network"
	case errors.Is(err, blink.ErrInvalidCode):
		return "the 2FA code is wrong or has expired; check it and send it again"
	case errors.Is(err, ErrNoLoginPending):
		return "no login pending: there is no login waiting for a 2FA code"
	case errors.Is(err, errShuttingDown), errors.Is(err, errQueueFull):
		return err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out waiting for Blink"
	}
	return err.Error()
}
