package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// Bridge connects one Blink account to one MQTT broker. It only wires its
// parts (see doc.go); each part owns its state.
type Bridge struct {
	opts   Options
	topics discovery.Topics
	log    zerolog.Logger

	cloud       *cloudGate
	model       *model
	writer      *stateWriter
	conn        *connection
	runner      *runner
	poller      *poller
	media       *mediaWatcher
	thumbs      *thumbnails
	clips       *clipSaver
	events      *eventLog
	local       *localStorage // nil: USB storage is not watched
	republisher *republisher
	settings    *settingsPart
	live        *liveviews // nil unless RTSPListen is set

	running atomic.Bool
	wg      sync.WaitGroup
}

// New checks opts and loads the state directory (media and local storage
// cursors, discovery ledger, thumbnails). It does not connect anywhere; Run does.
func New(opts Options) (*Bridge, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("bridge: create state dir: %w", err)
	}
	b := &Bridge{opts: opts, topics: opts.Topics, log: opts.Logger.With().Str("component", "bridge").Logger()}
	o := &b.opts
	sub := func(c string) zerolog.Logger { return opts.Logger.With().Str("component", c).Logger() }
	logMedia, logDisc, logLocal := sub("media"), sub("discovery"), sub("local_storage")

	auth := AuthStatus{State: AuthOK, Since: opts.Now()}
	if !opts.Cloud.HasSession() {
		auth = AuthStatus{State: AuthReauthRequired, Detail: "no saved Blink login; run `blink2mqtt login`", Since: opts.Now()}
	}
	store, err := loadMedia(opts.StateDir, opts.Now())
	if err != nil {
		logMedia.Warn().Err(err).Msg("media cursor unreadable; starting from now, older clips are not replayed")
	}
	cursor, err := loadLocalCursor(opts.StateDir, opts.Now())
	if err != nil {
		logLocal.Warn().Err(err).Msg("local storage cursor unreadable; starting from now, older USB clips are not replayed")
	}
	for k, t := range cursor.last {
		if t.After(store.last[k]) {
			store.last[k] = t
		}
	}
	_, canLocal := opts.Cloud.(localStorageCloud)
	discOpts := discovery.Options{
		Prefix: opts.DiscoveryPrefix, Topics: opts.Topics, Version: opts.Version,
		HoldTime: opts.HoldTime, BridgeName: opts.BridgeName,
		LocalStorage: canLocal && !opts.LocalStorageOff,
	}
	ledger, err := loadLedger(opts.StateDir, discOpts, opts.Discovery, logDisc)
	if err != nil {
		logDisc.Warn().Err(err).Msg("discovery ledger unreadable; starting a new one")
	}

	b.model = newModel(opts.Now, auth, store.last)
	b.cloud = &cloudGate{Cloud: opts.Cloud, onAuthLost: b.authLost, onCooldown: b.cooldown}
	b.writer = newStateWriter(opts.Topics, o, sub("mqtt"), b.emit)
	b.conn = &connection{topics: opts.Topics, birth: opts.DiscoveryPrefix + "/status", log: sub("mqtt"), emit: b.emit}
	b.thumbs = newThumbnails(opts.StateDir, b.cloud, logMedia)
	b.thumbs.load()
	b.poller = newPoller()
	b.runner = &runner{topics: opts.Topics, opts: o, auth: opts.Auth, log: sub("command"), emit: b.emit, setAuth: b.SetAuthState}
	b.republisher = newRepublisher(b.writer, b.runner.respond, logDisc, b.emit)
	b.events = &eventLog{}
	b.media = &mediaWatcher{store: store, events: b.events, topics: opts.Topics, opts: o, log: logMedia, emit: b.emit}
	b.clips = newClipSaver(o, b.cloud, b.media.publishEvent, logMedia)
	b.local = newLocalStorage(o, b.cloud, cursor, logLocal, b.emit)
	b.settings = newSettingsPart(o, b.cloud, sub("settings"), b.emit)

	// Wiring: who may call whom (data flows poll → model → writer, and
	// command → runner → cloud → model → writer).
	b.writer.conn, b.writer.model, b.writer.cloud, b.writer.thumbs, b.writer.ledger = b.conn, b.model, b.cloud, b.thumbs, ledger
	b.writer.settings = b.settings
	b.settings.model, b.settings.writer = b.model, b.writer
	b.conn.writer, b.conn.runner, b.conn.republisher = b.writer, b.runner, b.republisher
	b.thumbs.writer, b.thumbs.usable = b.writer, func() bool { return b.model.authStatus().usable() }
	b.media.cloud, b.media.model, b.media.writer, b.media.conn, b.media.clips = b.cloud, b.model, b.writer, b.conn, b.clips
	b.media.motionStarted = b.poller.recompute
	p := b.poller
	p.cloud, p.model, p.media, p.writer, p.thumbs, p.opts, p.log, p.emit = b.cloud, b.model, b.media, b.writer, b.thumbs, o, sub("poll"), b.emit
	// The settings part hears of each homescreen: devices come and go.
	p.observers = append(p.observers, b.settings.noteHomescreen)
	p.resumed = func() {
		b.log.Info().Msg("found a new Blink login; resuming polling")
		b.SetAuthState(AuthOK, "")
	}
	r := b.runner
	r.cloud, r.model, r.writer, r.poller, r.thumbs, r.conn, r.republisher = b.cloud, b.model, b.writer, b.poller, b.thumbs, b.conn, b.republisher
	if l := b.local; l != nil {
		l.runner, l.model, l.writer, l.media, l.clips = b.runner, b.model, b.writer, b.media, b.clips
		b.media.cloudMotion = l.cloudClip
		p.observers = append(p.observers, l.observe)
		p.usbOnly = l.recordsToUSB
		b.writer.localWatch = true
	}
	r.settings = b.settings
	if lc, ok := opts.Cloud.(liveCloud); ok && opts.RTSPListen != "" {
		b.live = newLiveviews(o, lc, b.cloud, b.runner, b.model, sub("live"), b.emit)
	}
	return b, nil
}

// ListenRTSP binds RTSPListen now, for a caller that needs the address a
// port-0 listener got before Run (which binds it otherwise). Without
// RTSPListen it returns nil. Call Run after it: Run's end closes the server.
func (b *Bridge) ListenRTSP() (net.Addr, error) {
	if b.live == nil {
		return nil, nil
	}
	if a := b.live.server.addr(); a != nil {
		return a, nil
	}
	if err := b.live.server.listen(b.opts.RTSPListen, b.opts.RTSPUsername, b.opts.RTSPPassword); err != nil {
		return nil, err
	}
	return b.live.server.addr(), nil
}

// Run connects to the broker and runs until ctx is done. On the way out it
// answers queued requests, publishes bridge/state "offline" and
// disconnects, all within 5 s of ctx ending. It returns an error only when
// it could not start.
func (b *Bridge) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("bridge: Run called twice")
	}
	if _, err := b.ListenRTSP(); err != nil {
		return err
	}
	popts, err := clientOptions(b.opts.MQTT, b.topics.BridgeState(), b.conn)
	if err != nil {
		if b.live != nil {
			b.live.server.close() // run, which closes it otherwise, never starts
		}
		return err
	}
	client := paho.NewClient(popts)
	work, cancelWork := context.WithCancel(ctx)
	defer cancelWork()
	b.conn.ctx.Store(&work)
	b.conn.setPublisher(pahoPublisher{client})
	stop := b.start(work)

	b.conn.log.Info().Str("broker", redactURL(b.opts.MQTT.URL)).Str("client_id", b.opts.MQTT.ClientID).Msg("connecting")
	// With ConnectRetry the token completes only once a connection is up;
	// OnConnect does the work, so nothing waits on it here.
	client.Connect()

	<-ctx.Done()
	if !stop(3 * time.Second) {
		b.log.Warn().Msg("some work did not stop within 3s; leaving it")
	}
	if !b.conn.close(time.Second) {
		b.log.Warn().Msg("the connect handler did not stop within 1s; leaving it")
	}
	if client.IsConnectionOpen() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 1500*time.Millisecond)
		if err := await(sctx, client.Publish(b.topics.BridgeState(), 1, true, offline)); err != nil {
			b.conn.log.Warn().Err(err).Msg("could not publish offline before disconnecting")
		}
		cancel()
	}
	client.Disconnect(250)
	b.conn.log.Info().Msg("disconnected")
	return nil
}

// start runs every part's goroutine until ctx ends or stop is called.
// stop ends them in order — first everything that changes state, then the
// writer after one last sync — and reports whether that took less than d.
func (b *Bridge) start(ctx context.Context) (stop func(d time.Duration) bool) {
	parts, cancelParts := context.WithCancel(ctx)
	out, cancelOut := context.WithCancel(context.WithoutCancel(ctx))
	var writer sync.WaitGroup
	b.writer.start(out, &writer)
	b.runner.start(parts, &b.wg)
	b.wg.Go(func() { b.poller.run(parts) })
	b.wg.Go(func() { b.republisher.run(parts) })
	b.thumbs.start(parts, &b.wg)
	b.wg.Go(func() { b.clips.run(parts) })
	if b.local != nil {
		b.wg.Go(func() { b.local.run(parts) })
	}
	b.wg.Go(func() { b.settings.run(parts) })
	if b.live != nil {
		b.wg.Go(func() { b.live.run(parts) })
	}
	return func(d time.Duration) bool {
		b.runner.close() // no worker starts after this
		cancelParts()
		deadline := time.After(d)
		ok := waitOrDeadline(&b.wg, deadline)
		cancelOut()
		return waitOrDeadline(&writer, deadline) && ok
	}
}

// waitOrDeadline waits for wg until deadline fires; false when it fired.
func waitOrDeadline(wg *sync.WaitGroup, deadline <-chan time.Time) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-deadline:
		return false
	}
}

// SetAuthState records a new auth state (used by the Authenticator and
// internally) and publishes it. Returning to AuthOK resumes polling at once.
func (b *Bridge) SetAuthState(state AuthState, detail string) {
	prev, changed := b.model.setAuth(state, detail)
	if !changed {
		return
	}
	b.writer.syncWait(context.Background())
	b.log.Info().Str("auth_state", string(state)).Str("was", string(prev)).Msg("auth state changed")
	b.emit(Event{Kind: EventAuthState, Name: string(state)})
	if state == AuthOK && prev != AuthOK {
		b.poller.pollSoon()
	}
	b.poller.recompute()
}

// Auth returns the current auth state.
func (b *Bridge) Auth() AuthStatus { return b.model.authStatus() }

// reauthDetail is bridge/auth's detail when the saved login stopped working.
const reauthDetail = "Blink refused the saved login: run `blink2mqtt login`, or press Log in again (auth/login) and enter the code Blink sends"

// authLost pauses polling when Blink refused the saved login.
func (b *Bridge) authLost() {
	if b.model.authStatus().State != AuthOK {
		return
	}
	b.log.Error().Msg("Blink refused the saved login; polling paused. Log in again with `blink2mqtt login` (or the auth/login request)")
	b.SetAuthState(AuthReauthRequired, reauthDetail)
}

// cooldown records Blink's rate-limit cooldown and publishes it.
func (b *Bridge) cooldown(until time.Time) {
	b.model.noteCooldown(until)
	b.writer.requestSync()
}

func (b *Bridge) emit(e Event) {
	if b.opts.OnEvent != nil {
		b.opts.OnEvent(e)
	}
}
