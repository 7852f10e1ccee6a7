package bridge

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// maxThumbnailBytes bounds a thumbnail download.
const maxThumbnailBytes = 4 << 20

// enqueue resolves ids against the current state and hands the request to
// its worker: one per network (commands there are serialised and spaced),
// one for bridge operations, one for logins. It never blocks; a full queue
// is answered with "busy".
func (b *Bridge) enqueue(r *request) {
	r.received = time.Now()
	key, err := b.resolve(r)
	if err != nil {
		b.reject(r, r.op, err)
		return
	}
	if r.op == OpRediscover {
		// Answered by the republisher, which coalesces floods. Under
		// workersMu, like worker(): the republisher answers every waiter
		// added before shutdown began.
		b.workersMu.Lock()
		err := errShuttingDown
		if !b.shuttingDown.Load() {
			err = nil
			if !b.republishq.request(r) {
				err = errQueueFull
			}
		}
		b.workersMu.Unlock()
		if err != nil {
			go b.respond(r, nil, err)
		}
		return
	}
	q := b.worker(key)
	if q == nil {
		go b.respond(r, nil, errShuttingDown)
		return
	}
	select {
	case q <- r:
	default:
		b.logCmd.Warn().Str("op", r.op).Str("queue", key).Msg("queue full; request refused")
		go b.respond(r, nil, errQueueFull)
	}
}

var (
	errShuttingDown = errors.New("the bridge is shutting down")
	errQueueFull    = errors.New("busy: too many commands are waiting; try again shortly")
)

// resolve checks the ids of r against the latest homescreen and returns the
// worker key.
func (b *Bridge) resolve(r *request) (string, error) {
	switch r.op {
	case OpRefresh, OpRediscover:
		return "bridge", nil
	case OpAuthVerify, OpAuthLogin, discovery.BridgeAuthCode:
		return "auth", nil
	}
	hs := b.hsSnap.Load() // not b.mu: a handler must never wait for a publish
	if hs == nil {
		return "", badInput("no Blink state yet; try again after the first poll")
	}
	switch r.op {
	case OpArm, OpDisarm:
		if !slices.ContainsFunc(hs.Networks, func(n blink.Network) bool { return n.ID == r.network }) {
			return "", badInput("unknown network %d (known: %s)", r.network, networkIDs(hs))
		}
		return netKey(r.network), nil
	default:
		d, err := findDevice(hs, b.nodes(), r)
		if err != nil {
			return "", err
		}
		if !d.Family.Valid() {
			return "", badInput("device %d is of a kind (%s) the bridge cannot command", r.device, d.Type)
		}
		r.dev = d
		r.network, r.device = d.NetworkID, d.ID
		return netKey(r.network), nil
	}
}

// findDevice picks the camera, Mini or doorbell a request means: by its
// topic node (…/set topics), or by id, narrowed by network and family when
// several families use that id.
func findDevice(hs *blink.Homescreen, nodes *discovery.Nodes, r *request) (blink.Device, error) {
	if r.node != "" {
		k, ok := nodes.Key(discovery.Node{Network: r.network, Name: r.node})
		if ok {
			for _, d := range hs.Devices {
				if discovery.KeyOf(d) == k {
					return d, nil
				}
			}
		}
		if ok && k.Family == discovery.FamilySyncModule {
			return blink.Device{}, badInput("%s/%s is a sync module; it takes no camera commands", id2s(r.network), r.node)
		}
		return blink.Device{}, badInput("unknown device %s on network %d", r.node, r.network)
	}
	var found []blink.Device
	for _, d := range hs.Devices {
		if d.ID == r.device && (r.network == 0 || d.NetworkID == r.network) && (r.family == "" || d.Family == r.family) {
			found = append(found, d)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		if r.family == "" && slices.ContainsFunc(hs.SyncModules, func(s blink.SyncModule) bool { return s.ID == r.device }) {
			return blink.Device{}, badInput("device %d is a sync module; it takes no camera commands", r.device)
		}
		return blink.Device{}, badInput("unknown device %d", r.device)
	}
	var which []string
	for _, d := range found {
		which = append(which, fmt.Sprintf("a %s on network %d", d.Family, d.NetworkID))
	}
	return blink.Device{}, badInput(`device id %d is used by %s; add "family" (%s) or "network" to say which`,
		r.device, strings.Join(which, " and "), familiesOf(found))
}

func familiesOf(ds []blink.Device) string {
	var fs []string
	for _, d := range ds {
		if s := string(d.Family); !slices.Contains(fs, s) {
			fs = append(fs, s)
		}
	}
	return strings.Join(fs, ", ")
}

func id2s(n int64) string { return strconv.FormatInt(n, 10) }

func netKey(id int64) string { return "net:" + strconv.FormatInt(id, 10) }

func networkIDs(hs *blink.Homescreen) string {
	s := ""
	for i, n := range hs.Networks {
		if i == 8 {
			return s + ", …"
		}
		if i > 0 {
			s += ", "
		}
		s += strconv.FormatInt(n.ID, 10)
	}
	if s == "" {
		return "none"
	}
	return s
}

// worker returns the queue for key, starting its goroutine on first use.
// It returns nil once the bridge is shutting down.
func (b *Bridge) worker(key string) chan *request {
	b.workersMu.Lock()
	defer b.workersMu.Unlock()
	if b.shuttingDown.Load() || b.runCtx.Err() != nil {
		return nil
	}
	if q, ok := b.workers[key]; ok {
		return q
	}
	q := make(chan *request, b.opts.QueueSize)
	b.workers[key] = q
	spacing := time.Duration(0)
	if len(key) > 4 && key[:4] == "net:" {
		spacing = b.opts.CommandSpacing
	}
	ctx := b.runCtx
	b.wg.Go(func() { b.runWorker(ctx, q, spacing) })
	return q
}

// runWorker executes one queue's requests in order, at least spacing apart.
// When ctx ends it answers what is still queued.
func (b *Bridge) runWorker(ctx context.Context, q chan *request, spacing time.Duration) {
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			b.drain(q)
			return
		case r := <-q:
			if !last.IsZero() && spacing > 0 {
				if wait := time.Until(last.Add(spacing)); wait > 0 {
					t := time.NewTimer(wait)
					select {
					case <-ctx.Done():
						t.Stop()
						b.respond(r, nil, errShuttingDown)
						b.drain(q)
						return
					case <-t.C:
					}
				}
			}
			last = time.Now()
			b.execute(ctx, r)
		}
	}
}

func (b *Bridge) drain(q chan *request) {
	for {
		select {
		case r := <-q:
			b.respond(r, nil, errShuttingDown)
		default:
			return
		}
	}
}

func (b *Bridge) execute(ctx context.Context, r *request) {
	start := time.Now()
	var data any
	var err error
	switch r.op {
	case OpArm, OpDisarm:
		data, err = b.doAlarm(ctx, r)
	case OpMotionDetection:
		data, err = b.doMotionDetection(ctx, r)
	case OpSnapshot:
		data, err = b.doSnapshot(ctx, r)
	case OpRecord:
		data, err = b.doRecord(ctx, r)
	case OpRefresh:
		data, err = b.doRefresh(ctx)
	case OpAuthVerify:
		err = b.doAuthVerify(ctx, r)
	case OpAuthLogin:
		err = b.doAuthLogin(ctx, r)
	case discovery.BridgeAuthCode:
		b.mu.Lock()
		b.pendingCode = r.code
		b.syncLocked()
		b.mu.Unlock()
		return // the text entity's value: nothing to answer or log
	default:
		err = badInput("unknown operation %q", r.op)
	}
	if ctx.Err() != nil && err != nil {
		err = errShuttingDown
	}
	ev := b.logCmd.Info()
	if err != nil {
		ev = b.logCmd.Warn().Str("error", errorMessage(err))
	}
	ev.Str("op", r.op).Int64("network", r.network).Int64("device", r.device).
		Dur("took", time.Since(start)).Msg("command done")
	b.emit(Event{Kind: EventCommand, Name: r.op, Err: err, Duration: time.Since(start)})
	b.noteAuthError(err)
	b.respond(r, data, err)
}

// doAlarm arms or disarms: arming/disarming while Blink works, the
// confirmed state from the command result at once, then a homescreen poll
// to confirm. A failure reverts to the last known state.
func (b *Bridge) doAlarm(ctx context.Context, r *request) (any, error) {
	arm := r.op == OpArm
	transient, final := discovery.Disarming, discovery.Disarmed
	if arm {
		transient, final = discovery.Arming, discovery.ArmedAway
	}
	b.mu.Lock()
	b.alarm[r.network] = transient
	b.syncLocked()
	b.mu.Unlock()

	var res *blink.CommandResult
	var err error
	if arm {
		res, err = b.cloud.Arm(ctx, r.network)
	} else {
		res, err = b.cloud.Disarm(ctx, r.network)
	}
	b.mu.Lock()
	delete(b.alarm, r.network)
	if err == nil {
		b.netCmdAt[r.network] = time.Now()
		b.setHSLocked(withNetwork(b.hs, r.network, func(n *blink.Network) { n.Armed = arm }))
	}
	b.syncLocked()
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	b.signal(b.pollNow)
	data := map[string]any{"network": r.network, "state": final}
	if res != nil && res.Warning != "" {
		data["warning"] = res.Warning
	}
	return data, nil
}

func (b *Bridge) doMotionDetection(ctx context.Context, r *request) (any, error) {
	_, err := b.cloud.SetMotionDetection(ctx, r.dev.Ref(), r.enabled)
	b.mu.Lock()
	if err == nil {
		b.devCmdAt[discovery.KeyOf(r.dev)] = time.Now()
		b.setHSLocked(withDevice(b.hs, r.dev, func(d *blink.Device) { d.Enabled = r.enabled }))
	}
	// On failure this puts HA's optimistic switch back.
	delete(b.published, b.topics.NodeEntity(b.nodes().Node(discovery.KeyOf(r.dev)), discovery.EntityMotionDetection))
	b.syncLocked()
	b.mu.Unlock()
	if err != nil {
		return nil, err
	}
	b.signal(b.pollNow)
	return map[string]any{"device": r.device, "enabled": r.enabled}, nil
}

func (b *Bridge) doRecord(ctx context.Context, r *request) (any, error) {
	res, err := b.cloud.RecordClip(ctx, r.dev.Ref())
	if err != nil {
		return nil, err
	}
	data := map[string]any{"device": r.device}
	if res != nil && res.MediaID != 0 {
		data["media_id"] = res.MediaID
	}
	return data, nil
}

// doSnapshot asks for a new thumbnail, waits for homescreen to show it,
// downloads it and publishes it (retained, acknowledged) before answering.
func (b *Bridge) doSnapshot(ctx context.Context, r *request) (any, error) {
	before := r.dev.Thumbnail
	k := discovery.KeyOf(r.dev)
	defer b.beginSnapshot(k)()
	if _, err := b.cloud.RequestThumbnail(ctx, r.dev.Ref()); err != nil {
		return nil, err
	}
	var dev blink.Device
	for attempt := 0; ; attempt++ {
		if err := b.pollHomescreen(ctx); err != nil {
			return nil, fmt.Errorf("read the new thumbnail: %w", err)
		}
		d, ok := b.device(k)
		if !ok {
			return nil, badInput("device %d left the account", r.device)
		}
		dev = d
		if d.Thumbnail != before || attempt >= 2 {
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
	b.mu.Lock()
	acct := b.hs.AccountID
	b.mu.Unlock()
	img, _, err := b.cloud.Download(ctx, blink.ThumbnailPath(acct, dev), maxThumbnailBytes)
	if err != nil {
		return nil, fmt.Errorf("download the thumbnail: %w", err)
	}
	if err := checkJPEG(img); err != nil {
		b.logCmd.Warn().Err(err).Int64("device", r.device).Int("bytes", len(img)).Msg("thumbnail download is not a JPEG; keeping the previous image")
		return nil, errors.New("Blink sent something that is not a JPEG image; the previous thumbnail stays")
	}
	topic := b.thumbnailTopic(k)
	b.mu.Lock()
	b.thumbs[k] = img
	var tok paho.Token
	if b.pub != nil && b.pub.open() {
		tok = b.pub.publish(topic, 1, true, img)
	}
	b.mu.Unlock()
	b.rememberThumbnail(k, dev.Thumbnail, img)
	if tok != nil {
		if err := awaitFor(ctx, 10*time.Second, tok); err != nil {
			return nil, fmt.Errorf("publish the thumbnail: %w", err)
		}
	}
	return map[string]any{"device": r.device, "bytes": len(img), "topic": topic}, nil
}

// doRefresh polls homescreen and media now, except what was polled (by
// anyone) within refreshFloor: a flood of refresh requests is answered
// from those polls and costs Blink at most one poll per floor.
func (b *Bridge) doRefresh(ctx context.Context) (any, error) {
	if !b.Auth().usable() {
		return nil, blink.ErrReauthRequired
	}
	hsFresh, mediaFresh := b.polls.fresh(time.Now(), b.opts.refreshFloor)
	if !hsFresh {
		if err := b.pollHomescreen(ctx); err != nil {
			return nil, err
		}
	}
	n := 0
	if !mediaFresh {
		var err error
		if n, err = b.pollMedia(ctx); err != nil {
			return nil, err
		}
	}
	if !hsFresh {
		b.awaitThumbnails(ctx)
	}
	hs := b.hsSnap.Load()
	data := map[string]any{"new_media": n, "polled": !hsFresh || !mediaFresh}
	if hs != nil {
		data["networks"], data["devices"] = len(hs.Networks), len(hs.Devices)
	}
	return data, nil
}

func (b *Bridge) doAuthVerify(ctx context.Context, r *request) error {
	code := r.code
	if code.IsZero() {
		b.mu.Lock()
		code = b.pendingCode
		b.mu.Unlock()
		if code.IsZero() {
			return badInput("no 2FA code entered; type the code first")
		}
	}
	if b.opts.Auth == nil {
		return ErrNoLoginPending
	}
	err := b.opts.Auth.SubmitCode(ctx, code)
	b.mu.Lock()
	b.pendingCode = ""
	b.syncLocked()
	b.mu.Unlock()
	return err
}

func (b *Bridge) doAuthLogin(ctx context.Context, r *request) error {
	if b.opts.Auth == nil {
		return errors.New("login over MQTT is not available; run `blink2mqtt login`")
	}
	return b.opts.Auth.StartLogin(ctx, LoginRequest{Replace: r.replace})
}

func (b *Bridge) device(k devKey) (blink.Device, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.hs == nil {
		return blink.Device{}, false
	}
	for _, d := range b.hs.Devices {
		if discovery.KeyOf(d) == k {
			return d, true
		}
	}
	return blink.Device{}, false
}

// withNetwork returns a copy of hs with network id changed by f.
func withNetwork(hs *blink.Homescreen, id int64, f func(*blink.Network)) *blink.Homescreen {
	if hs == nil {
		return nil
	}
	c := *hs
	c.Networks = slices.Clone(hs.Networks)
	for i := range c.Networks {
		if c.Networks[i].ID == id {
			f(&c.Networks[i])
		}
	}
	return &c
}

// withDevice returns a copy of hs with device d changed by f.
func withDevice(hs *blink.Homescreen, d blink.Device, f func(*blink.Device)) *blink.Homescreen {
	if hs == nil {
		return nil
	}
	c := *hs
	c.Devices = slices.Clone(hs.Devices)
	for i := range c.Devices {
		if c.Devices[i].ID == d.ID && c.Devices[i].NetworkID == d.NetworkID && c.Devices[i].Family == d.Family {
			f(&c.Devices[i])
		}
	}
	return &c
}

// isJPEG checks the JPEG start-of-image marker.
func isJPEG(b []byte) bool {
	return len(b) > 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF
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
