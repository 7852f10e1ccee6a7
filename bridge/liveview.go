package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// liveCloud is what live views need from the Blink client; *blink.Client
// implements it.
type liveCloud interface {
	StartLiveview(ctx context.Context, d blink.DeviceRef) (*blink.Liveview, error)
	OpenLiveview(ctx context.Context, lv *blink.Liveview, serial string) (io.ReadCloser, error)
	LiveviewAlive(ctx context.Context, networkID, commandID int64) (bool, error)
	ExtendLiveview(ctx context.Context, networkID, commandID int64) error
	EndLiveview(ctx context.Context, networkID, commandID int64) error
}

var _ liveCloud = (*blink.Client)(nil)

// Timing of live sessions.
const (
	// liveStartTimeout bounds a start: queue, Blink's answer, the stream's
	// first key frame.
	liveStartTimeout = 30 * time.Second
	// liveEndTimeout bounds telling Blink a session is over.
	liveEndTimeout = 2 * time.Second
	// liveExtendMargin: extend this long before Blink's continue interval
	// is up.
	liveExtendMargin = 30 * time.Second
	// liveBytesEvery is how often relayed bytes are reported for metrics.
	liveBytesEvery = 5 * time.Second
	// liveRetryAfter: after a failed start, a device's new readers get the
	// same answer at once for this long instead of another Blink call
	// (players retry every few seconds).
	liveRetryAfter = 30 * time.Second
	// liveWarnEvery limits the refusal lines logged per device.
	liveWarnEvery = time.Minute
)

// Why a live session ended (EventLiveEnded's Name).
const (
	LiveEndIdle        = "idle"         // LIVEVIEW_IDLE passed without a reader
	LiveEndBlink       = "blink_ended"  // Blink ended it (done, lapsed, stream closed)
	LiveEndStreamError = "stream_error" // the stream broke (bad frames, silence)
	LiveEndShutdown    = "shutdown"     // the bridge is stopping
)

// Why a live session could not start (EventLiveFailed's Name).
const (
	LiveFailOffline     = "offline"      // the device is offline
	LiveFailBusy        = "busy"         // its network streams another device, or Blink says busy
	LiveFailUnsupported = "unsupported"  // older camera: Blink offers no immis stream
	LiveFailAuth        = "blink_auth"   // Blink refused the saved login
	LiveFailRateLimited = "rate_limited" // Blink's cooldown
	LiveFailTimeout     = "timeout"      // no video within the start timeout
	LiveFailNoVideo     = "no_video"     // the stream ended or carried no H.264 before any video
	LiveFailBlink       = "blink_error"  // any other Blink error
	LiveFailShutdown    = "shutdown"     // the bridge is stopping
)

// LiveEndReasons and LiveFailReasons list the reasons above (for the
// metrics' fixed label sets).
func LiveEndReasons() []string {
	return []string{LiveEndIdle, LiveEndBlink, LiveEndStreamError, LiveEndShutdown}
}

// LiveFailReasons lists the reasons a live session fails to start.
func LiveFailReasons() []string {
	return []string{LiveFailOffline, LiveFailBusy, LiveFailUnsupported, LiveFailAuth, LiveFailRateLimited,
		LiveFailTimeout, LiveFailNoVideo, LiveFailBlink, LiveFailShutdown}
}

// liveError is why a reader gets no stream: the RTSP answer, the metrics
// reason and the log line.
type liveError struct {
	reason string
	status base.StatusCode
	msg    string // one line for the reader and the log
	err    error
}

func (e *liveError) Error() string { return e.msg }
func (e *liveError) Unwrap() error { return e.err }

var (
	errLiveUnknownPath = errors.New("no such stream")
	errIdleCause       = errors.New("no reader for LIVEVIEW_IDLE")
	errShutdownCause   = errors.New("the bridge is stopping")
)

// liveSession is one Blink live view and the RTSP stream it feeds.
type liveSession struct {
	key    devKey
	dev    blink.Device
	path   string
	cancel context.CancelCauseFunc
	// ready is closed once stream or err is set; finished once Blink was
	// told the session is over and the part forgot it.
	ready    chan struct{}
	finished chan struct{}
	stream   *gortsplib.ServerStream
	err      error
	bytes    atomic.Int64

	// guarded by liveviews.mu
	readers int
	ending  bool
	idle    *time.Timer
}

// relayFunc demuxes a live view's MPEG-TS into an RTSP stream: it calls
// ready once with the stream readers can join, and returns when src ends
// or a write fails. watched reports whether a reader plays.
type relayFunc func(src io.Reader, ready func(*gortsplib.ServerStream), watched func() bool) error

// liveviews owns the live sessions and the RTSP server: one session per
// device being watched, at most one per network. The first reader starts a
// Blink live view (queued with the network's commands), later readers
// share it, it is extended while anyone watches and ended LiveviewIdle
// after the last one leaves. mu guards the maps and the sessions' reader
// counts; it is never held while calling Blink or the RTSP library.
type liveviews struct {
	opts   *Options
	cloud  liveCloud
	note   func(error) error // cloudGate.note
	submit func(ctx context.Context, network int64, what string, job func(context.Context) error) error
	model  *model
	log    zerolog.Logger
	emit   func(Event)
	relay  relayFunc // nil: the RTSP server's MPEG-TS relay
	server *rtspServer

	sessions sync.WaitGroup // runSession goroutines

	mu     sync.Mutex
	ctx    context.Context // the parts' context; nil until run
	closed bool            // run is ending: no new session
	byDev  map[devKey]*liveSession
	byNet  map[int64]*liveSession
	// failed remembers a device's failed start for liveRetryAfter; warned
	// when a refusal for a device was last logged as a warning. Both hold
	// at most one entry per device.
	failed map[devKey]liveFailure
	warned map[devKey]time.Time
}

// liveFailure is a failed start, answered again until until.
type liveFailure struct {
	until time.Time
	err   *liveError
}

func newLiveviews(o *Options, cloud liveCloud, gate *cloudGate, r *runner, m *model, log zerolog.Logger, emit func(Event)) *liveviews {
	l := &liveviews{opts: o, cloud: cloud, note: gate.note, submit: r.submit, model: m, log: log, emit: emit}
	l.server = &rtspServer{live: l, log: log}
	return l
}

// path is a device's stream path: "/<network>/<topic node>".
func livePath(n discovery.Node) string {
	return "/" + strconv.FormatInt(n.Network, 10) + "/" + n.Name
}

// resolvePath finds the device an RTSP path names, through the topic node
// table, so a camera and a Mini sharing an id stay apart.
func (l *liveviews) resolvePath(path string) (devKey, bool) {
	net, name, ok := strings.Cut(strings.Trim(path, "/"), "/")
	id, err := strconv.ParseInt(net, 10, 64)
	if !ok || err != nil || name == "" || strings.Contains(name, "/") {
		return devKey{}, false
	}
	k, ok := l.model.snapshot().nodes.Key(discovery.Node{Network: id, Name: name})
	if !ok || !k.Family.Valid() {
		return devKey{}, false
	}
	return k, true
}

// run serves until ctx ends, then ends every session (telling Blink) and
// stops the RTSP server. Sessions are cancelled first: readers waiting for
// a start hold up the server's close.
func (l *liveviews) run(ctx context.Context) {
	l.mu.Lock()
	l.ctx = ctx
	l.byDev, l.byNet = map[devKey]*liveSession{}, map[int64]*liveSession{}
	l.failed, l.warned = map[devKey]liveFailure{}, map[devKey]time.Time{}
	l.mu.Unlock()
	<-ctx.Done()
	l.mu.Lock()
	l.closed = true
	var all []*liveSession
	for _, s := range l.byNet {
		all = append(all, s)
	}
	l.mu.Unlock()
	for _, s := range all {
		s.cancel(errShutdownCause)
	}
	l.server.close()
	l.sessions.Wait()
}

// acquire returns the running session of key, starting one if there is
// none, once it streams or failed. ctx bounds only the wait: a start goes
// on when its first reader gives up, for the next one (and the idle timer
// ends it if nobody comes).
func (l *liveviews) acquire(ctx context.Context, key devKey) (*liveSession, error) {
	for {
		s, wait, err := l.sessionFor(key)
		if err != nil {
			return nil, err
		}
		if wait != nil { // the network's last session is still ending
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, &liveError{reason: LiveFailTimeout, status: base.StatusGatewayTimeout, msg: "the last live view is still ending"}
			}
		}
		select {
		case <-s.ready:
			return s, s.err
		case <-ctx.Done():
			return nil, &liveError{reason: LiveFailTimeout, status: base.StatusGatewayTimeout, msg: "Blink's live view did not start in time"}
		}
	}
}

// sessionFor returns key's session (started now if needed), or a channel
// to wait on while the network's previous session ends.
func (l *liveviews) sessionFor(key devKey) (*liveSession, <-chan struct{}, error) {
	snap := l.model.snapshot()
	d, ok := snap.device(key)
	if !ok {
		return nil, nil, &liveError{status: base.StatusNotFound, msg: "no such device", err: errLiveUnknownPath}
	}
	name := fmt.Sprintf("%s (%s %d on network %d)", d.Name, d.Family, d.ID, d.NetworkID)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ctx == nil || l.closed {
		return nil, nil, &liveError{reason: LiveFailShutdown, status: base.StatusServiceUnavailable, msg: "the bridge is stopping"}
	}
	if s := l.byDev[key]; s != nil && !s.ending {
		return s, nil, nil
	}
	if f, ok := l.failed[key]; ok {
		if time.Now().Before(f.until) {
			return nil, nil, l.failNow(d, f.err)
		}
		delete(l.failed, key)
	}
	if other := l.byNet[key.Network]; other != nil {
		if other.key == key || other.ending {
			return nil, other.finished, nil
		}
		return nil, nil, l.failNow(d, &liveError{reason: LiveFailBusy, status: base.StatusServiceUnavailable,
			msg: fmt.Sprintf("%s: its network is streaming %s; Blink runs one live view per network", name, other.dev.Name)})
	}
	switch {
	case !l.model.authStatus().usable():
		return nil, nil, l.failNow(d, &liveError{reason: LiveFailAuth, status: base.StatusServiceUnavailable,
			msg: name + ": Blink refused the saved login; log in again"})
	case !d.Online():
		return nil, nil, l.failNow(d, &liveError{reason: LiveFailOffline, status: base.StatusServiceUnavailable,
			msg: name + ": the device is offline"})
	}
	ctx, cancel := context.WithCancelCause(l.ctx)
	s := &liveSession{key: key, dev: d, path: livePath(snap.nodes.Node(key)), cancel: cancel,
		ready: make(chan struct{}), finished: make(chan struct{})}
	l.byDev[key], l.byNet[key.Network] = s, s
	l.sessions.Go(func() { l.runSession(ctx, s) })
	return s, nil, nil
}

// failNow reports a refusal that needed no Blink call: a warning at most
// once a minute per device (players retry), debug lines in between. Caller
// holds mu (it only logs and emits).
func (l *liveviews) failNow(d blink.Device, e *liveError) error {
	ev := l.log.Debug()
	k := discovery.KeyOf(d)
	if now := time.Now(); now.Sub(l.warned[k]) >= liveWarnEvery {
		ev, l.warned[k] = l.log.Warn(), now
	}
	ev.Str("device", d.Name).Int64("network", d.NetworkID).Int64("device_id", d.ID).
		Str("reason", e.reason).Msg("live view refused: " + e.msg)
	l.emit(Event{Kind: EventLiveFailed, Name: e.reason, Err: e})
	return e
}

// addReader counts a reader that set up s; false when s is ending (the
// reader must start over).
func (l *liveviews) addReader(s *liveSession) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.ending {
		return false
	}
	s.readers++
	if s.idle != nil {
		s.idle.Stop()
		s.idle = nil
	}
	return true
}

// ended reports whether s ended (or is ending).
func (l *liveviews) ended(s *liveSession) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return s.ending
}

// removeReader counts a reader that left; the last one starts the idle
// timer.
func (l *liveviews) removeReader(s *liveSession) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s.readers--
	l.idleIfUnwatchedLocked(s)
}

// idleIfUnwatchedLocked ends s LiveviewIdle from now unless a reader comes.
// Caller holds mu.
func (l *liveviews) idleIfUnwatchedLocked(s *liveSession) {
	if s.readers > 0 || s.ending || s.idle != nil {
		return
	}
	s.idle = time.AfterFunc(l.opts.LiveviewIdle, func() {
		l.mu.Lock()
		end := s.readers == 0 && !s.ending && s.idle != nil
		if end {
			s.ending = true
		}
		l.mu.Unlock()
		if end {
			s.cancel(errIdleCause)
		}
	})
}

// watched reports whether anyone is playing s.
func (l *liveviews) watched(s *liveSession) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return s.readers > 0
}

// runSession is one session's life: start, stream, keep, end.
func (l *liveviews) runSession(ctx context.Context, s *liveSession) {
	start := time.Now()
	lv, src, relayDone, err := l.startSession(ctx, s)
	if err != nil {
		le := l.classify(err)
		s.err = le
		l.mu.Lock()
		s.ending = true // readers arriving now wait for the end, then get the failure
		if le.reason != LiveFailShutdown {
			l.failed[s.key] = liveFailure{until: time.Now().Add(liveRetryAfter), err: le}
			l.warned[s.key] = time.Now()
		}
		l.mu.Unlock()
		// Logged and counted before the readers hear of it.
		l.log.Warn().Str("device", s.dev.Name).Int64("network", s.dev.NetworkID).Int64("device_id", s.dev.ID).
			Str("reason", le.reason).Err(le.err).Msg("live view failed: " + le.msg)
		l.emit(Event{Kind: EventLiveFailed, Name: le.reason, Err: le, Duration: time.Since(start)})
		close(s.ready)
		l.forget(s, lv)
		return
	}
	l.log.Info().Str("device", s.dev.Name).Int64("network", s.dev.NetworkID).Int64("device_id", s.dev.ID).
		Str("path", s.path).Dur("took", time.Since(start)).Msg("live view started")
	l.emit(Event{Kind: EventLiveStarted, Name: string(s.dev.Family), Duration: time.Since(start)})
	close(s.ready)
	l.mu.Lock()
	l.idleIfUnwatchedLocked(s)
	l.mu.Unlock()
	streaming := time.Now()

	reason := l.keep(ctx, s, lv, relayDone)
	l.mu.Lock()
	s.ending = true
	if s.idle != nil {
		s.idle.Stop()
	}
	l.mu.Unlock()
	src.Close()
	<-relayDone
	if s.stream != nil {
		s.stream.Close() // readers are disconnected
	}
	l.reportBytes(s)
	l.log.Info().Str("device", s.dev.Name).Int64("network", s.dev.NetworkID).Int64("device_id", s.dev.ID).
		Str("reason", reason).Dur("streamed", time.Since(streaming).Round(time.Second)).Msg("live view ended")
	l.emit(Event{Kind: EventLiveEnded, Name: reason, Duration: time.Since(streaming)})
	l.forget(s, lv)
}

// startSession starts Blink's live view through the network's command
// queue, connects to its stream and waits until the relay serves it.
func (l *liveviews) startSession(ctx context.Context, s *liveSession) (*blink.Liveview, io.Closer, chan error, error) {
	sctx, cancel := context.WithTimeout(ctx, liveStartTimeout)
	defer cancel()
	var lv *blink.Liveview
	err := l.submit(sctx, s.dev.NetworkID, "liveview", func(jctx context.Context) error {
		var err error
		lv, err = l.cloud.StartLiveview(jctx, s.dev.Ref())
		return l.note(err)
	})
	if err != nil {
		return lv, nil, nil, err
	}
	src, err := l.cloud.OpenLiveview(sctx, lv, s.dev.Serial)
	if err != nil {
		return lv, nil, nil, fmt.Errorf("connect to the stream: %w", err)
	}
	relay := l.relay
	if relay == nil {
		relay = l.server.relay
	}
	readyc := make(chan *gortsplib.ServerStream, 1)
	relayDone := make(chan error, 1)
	guard := &tsGuard{r: src, count: func(n int) { s.bytes.Add(int64(n)) }}
	go func() {
		relayDone <- relay(guard, func(st *gortsplib.ServerStream) { readyc <- st }, func() bool { return l.watched(s) })
	}()
	select {
	case st := <-readyc:
		s.stream = st
		return lv, src, relayDone, nil
	case err := <-relayDone:
		src.Close()
		if err == nil || errors.Is(err, io.EOF) {
			err = io.EOF
		}
		return lv, nil, nil, fmt.Errorf("the stream ended before any video: %w", err)
	case <-sctx.Done():
		src.Close()
		<-relayDone
		return lv, nil, nil, fmt.Errorf("no video within %s: %w", liveStartTimeout, sctx.Err())
	}
}

// keep runs a streaming session: it polls Blink at the live view's polling
// interval, extends it before each continue interval while anyone watches,
// and reports relayed bytes, until the relay ends or ctx is cancelled. It
// returns why the session ended.
func (l *liveviews) keep(ctx context.Context, s *liveSession, lv *blink.Liveview, relayDone chan error) string {
	poll := time.NewTicker(lv.PollingInterval)
	defer poll.Stop()
	every := max(lv.ContinueInterval-liveExtendMargin, lv.ContinueInterval/2)
	extend := time.NewTicker(every)
	defer extend.Stop()
	bytes := time.NewTicker(liveBytesEvery)
	defer bytes.Stop()
	for {
		select {
		case err := <-relayDone:
			relayDone <- err // runSession waits for it too
			if err == nil || errors.Is(err, io.EOF) {
				return LiveEndBlink
			}
			l.log.Warn().Str("device", s.dev.Name).Err(err).Msg("live stream broke")
			return LiveEndStreamError
		case <-ctx.Done():
			if context.Cause(ctx) == errIdleCause {
				return LiveEndIdle
			}
			return LiveEndShutdown
		case <-poll.C:
			alive, err := l.cloud.LiveviewAlive(ctx, lv.NetworkID, lv.CommandID)
			if err = l.note(err); err != nil {
				l.log.Debug().Err(err).Str("device", s.dev.Name).Msg("live view status poll failed")
				continue
			}
			if !alive {
				return LiveEndBlink
			}
		case <-extend.C:
			if !l.watched(s) {
				continue
			}
			if err := l.note(l.cloud.ExtendLiveview(ctx, lv.NetworkID, lv.CommandID)); err != nil && ctx.Err() == nil {
				l.log.Warn().Err(err).Str("device", s.dev.Name).Msg("could not extend the live view")
			}
		case <-bytes.C:
			l.reportBytes(s)
		}
	}
}

// reportBytes emits the bytes relayed since the last report.
func (l *liveviews) reportBytes(s *liveSession) {
	if n := s.bytes.Swap(0); n > 0 {
		l.emit(Event{Kind: EventLiveBytes, Count: int(n)})
	}
}

// forget ends Blink's live view (always: a forgotten one drains a battery
// and keeps the network busy), then drops the session.
func (l *liveviews) forget(s *liveSession, lv *blink.Liveview) {
	if lv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), liveEndTimeout)
		if err := l.note(l.cloud.EndLiveview(ctx, lv.NetworkID, lv.CommandID)); err != nil {
			l.log.Warn().Err(err).Str("device", s.dev.Name).Msg("could not end Blink's live view; it ends by itself within minutes")
		}
		cancel()
	}
	l.mu.Lock()
	s.ending = true
	if l.byDev[s.key] == s {
		delete(l.byDev, s.key)
	}
	if l.byNet[s.key.Network] == s {
		delete(l.byNet, s.key.Network)
	}
	l.mu.Unlock()
	s.cancel(nil)
	close(s.finished)
}

// classify turns a start failure into what the reader and the log see.
func (l *liveviews) classify(err error) *liveError {
	var le *liveError
	if errors.As(err, &le) {
		return le
	}
	e := &liveError{reason: LiveFailBlink, status: base.StatusBadGateway, err: err}
	switch {
	case errors.Is(err, errShuttingDown) || errors.Is(err, context.Canceled):
		e.reason, e.status, e.msg = LiveFailShutdown, base.StatusServiceUnavailable, "the bridge is stopping"
	case errors.Is(err, blink.ErrBusy) || errors.Is(err, errQueueFull):
		e.reason, e.status, e.msg = LiveFailBusy, base.StatusServiceUnavailable, "Blink says the network is busy (another command or live view)"
	case errors.Is(err, blink.ErrLiveviewUnsupported):
		e.reason, e.status, e.msg = LiveFailUnsupported, base.StatusNotImplemented, "Blink offers no playable live view for this device (older camera)"
	case errors.Is(err, blink.ErrReauthRequired) || errors.Is(err, blink.ErrUnauthorized):
		e.reason, e.status, e.msg = LiveFailAuth, base.StatusServiceUnavailable, "Blink refused the saved login; log in again"
	case errors.Is(err, blink.ErrRateLimited):
		e.reason, e.status, e.msg = LiveFailRateLimited, base.StatusServiceUnavailable, "Blink is rate limiting; try again later"
	case errors.Is(err, context.DeadlineExceeded):
		e.reason, e.status, e.msg = LiveFailTimeout, base.StatusGatewayTimeout, "no video from Blink in time"
	case errors.Is(err, io.EOF) || errors.Is(err, errNoH264):
		e.reason, e.status, e.msg = LiveFailNoVideo, base.StatusBadGateway, "Blink's stream ended before any video (is the device offline?)"
	default:
		e.msg = "Blink could not start the live view"
	}
	return e
}
