// Package bridge is the blink2mqtt daemon: it polls Blink through a Cloud,
// keeps the retained MQTT state equal to what Blink reports (publishing only
// changes), turns MQTT commands into Blink commands that really completed,
// publishes Home Assistant discovery with a ledger, and keeps all of it
// right across broker restarts and its own. It does no HTTP itself and never
// reads the environment.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// Bridge connects one Blink account to one MQTT broker.
type Bridge struct {
	opts     Options
	topics   discovery.Topics
	cloud    Cloud
	discOpts discovery.Options
	birth    string // HA's birth topic

	log, logMQTT, logPoll, logCmd, logMedia, logDisc zerolog.Logger

	// pub is set once by Run (or a test) before any goroutine uses it.
	pub publisher
	// runCtx is cancelled when Run begins to shut down.
	runCtx context.Context

	running         atomic.Bool
	shuttingDown    atomic.Bool
	connectFailures atomic.Int64
	connections     atomic.Int64

	mu sync.Mutex // guards the fields below
	// hs is the latest homescreen. It is never modified in place: commands
	// store an updated copy, so readers may use it outside mu.
	hs        *blink.Homescreen
	hsStarted time.Time // when the request behind hs was sent
	// hsSnap mirrors hs for readers that must not wait for mu (handlers).
	hsSnap atomic.Pointer[blink.Homescreen]
	// nodesSnap is hs's topic node table.
	nodesSnap atomic.Pointer[discovery.Nodes]
	lastPoll  time.Time
	// netCmdAt / devCmdAt: when the last command on a network / device
	// completed; a homescreen requested before then is older than the
	// command's result and must not undo it.
	netCmdAt    map[int64]time.Time
	devCmdAt    map[devKey]time.Time
	alarm       map[int64]string
	motionUntil map[devKey]time.Time
	lastEvent   map[devKey]time.Time
	thumbs      map[devKey][]byte
	auth        AuthStatus
	pendingCode blink.Secret
	info        infoState
	// published is what this connection has published: topic → payload.
	published map[string]string
	// badPayload: topics whose payload failed to encode (logged once).
	badPayload map[string]bool
	// stateReady: OnConnect has published the full snapshot on the current
	// connection, so diffs may follow. Until then nothing is published:
	// a diff sent before the snapshot would only be sent twice.
	stateReady bool

	discMu        sync.Mutex // serialises discovery publishing; guards below
	discPublished map[string]string
	discFP        uint64
	discReady     bool // like stateReady, for discovery
	ledger        ledgerFile

	mediaMu sync.Mutex // serialises media polls; guards media
	media   mediaStore
	thumbq  thumbQueue // thumbnail downloads (thumbnails.go)
	clipq   clipQueue  // clip downloads (clips.go)

	wake chan struct{} // scheduler: recompute timers (cap 1)
	// pollNow asks the scheduler to poll homescreen at once (cap 1).
	pollNow    chan struct{}
	republishq *republishQueue // HA births and rediscover (republish.go)
	polls      pollTimes       // last successful polls, for refresh

	workersMu sync.Mutex
	workers   map[string]chan *request
	wg        sync.WaitGroup
}

// New checks opts and loads the state directory (media watermark, discovery
// ledger). It does not connect anywhere; Run does.
func New(opts Options) (*Bridge, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("bridge: create state dir: %w", err)
	}
	log := opts.Logger.With().Str("component", "bridge").Logger()
	sub := func(c string) zerolog.Logger { return opts.Logger.With().Str("component", c).Logger() }
	b := &Bridge{
		opts:   opts,
		topics: opts.Topics,
		cloud:  opts.Cloud,
		discOpts: discovery.Options{
			Prefix: opts.DiscoveryPrefix, Topics: opts.Topics, Version: opts.Version,
			HoldTime: opts.HoldTime, BridgeName: opts.BridgeName,
		},
		birth:         opts.DiscoveryPrefix + "/status",
		log:           log,
		logMQTT:       sub("mqtt"),
		logPoll:       sub("poll"),
		logCmd:        sub("command"),
		logMedia:      sub("media"),
		logDisc:       sub("discovery"),
		runCtx:        context.Background(),
		netCmdAt:      map[int64]time.Time{},
		devCmdAt:      map[devKey]time.Time{},
		alarm:         map[int64]string{},
		motionUntil:   map[devKey]time.Time{},
		lastEvent:     map[devKey]time.Time{},
		thumbs:        map[devKey][]byte{},
		published:     map[string]string{},
		badPayload:    map[string]bool{},
		discPublished: map[string]string{},
		wake:          make(chan struct{}, 1),
		pollNow:       make(chan struct{}, 1),
		republishq:    newRepublishQueue(),
		workers:       map[string]chan *request{},
	}
	b.auth = AuthStatus{State: AuthOK, Since: opts.Now()}
	if !opts.Cloud.HasSession() {
		b.auth = AuthStatus{
			State:  AuthReauthRequired,
			Detail: "no saved Blink login; run `blink2mqtt login`",
			Since:  opts.Now(),
		}
	}
	b.info.requestsHour = -1
	var err error
	if b.ledger, err = loadLedger(opts.StateDir); err != nil {
		b.logDisc.Warn().Err(err).Msg("discovery ledger unreadable; starting a new one")
	}
	if b.media, err = loadMedia(opts.StateDir, opts.Now()); err != nil {
		b.logMedia.Warn().Err(err).Msg("media watermark unreadable; starting from now, older clips are not replayed")
	}
	for k, t := range b.media.lastEvent() {
		b.lastEvent[k] = t
	}
	b.loadThumbnails()
	b.clipq.init(opts.MediaDir != "")
	return b, nil
}

// Run connects to the broker and runs until ctx is done. On the way out it
// answers queued requests, publishes bridge/state "offline" and
// disconnects, all within 5 s of ctx ending. It returns an error only when
// it could not start.
func (b *Bridge) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("bridge: Run called twice")
	}
	popts, err := b.clientOptions()
	if err != nil {
		return err
	}
	client := paho.NewClient(popts)
	work, cancelWork := context.WithCancel(ctx)
	defer cancelWork()
	b.runCtx = work
	b.mu.Lock()
	b.pub = pahoPublisher{client}
	b.mu.Unlock()

	b.logMQTT.Info().Str("broker", redactURL(b.opts.MQTT.URL)).Str("client_id", b.opts.MQTT.ClientID).Msg("connecting")
	// With ConnectRetry the token completes only once a connection is up;
	// OnConnect does the work, so nothing waits on it here.
	client.Connect()

	b.wg.Go(func() { b.runScheduler(work) })
	b.wg.Go(func() { b.runRepublisher(work) })
	b.wg.Go(func() { b.runThumbnails(work) })
	b.wg.Go(func() { b.runClips(work) })

	<-ctx.Done()
	b.workersMu.Lock() // no worker starts after this (WaitGroup.Add before Wait)
	b.shuttingDown.Store(true)
	b.workersMu.Unlock()
	cancelWork()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		b.log.Warn().Msg("some work did not stop within 3s; leaving it")
	}
	if client.IsConnectionOpen() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 1500*time.Millisecond)
		if err := await(sctx, client.Publish(b.topics.BridgeState(), 1, true, offline)); err != nil {
			b.logMQTT.Warn().Err(err).Msg("could not publish offline before disconnecting")
		}
		cancel()
	}
	client.Disconnect(250)
	b.logMQTT.Info().Msg("disconnected")
	return nil
}

// onConnect restores everything after every (re)connect: subscriptions,
// online, discovery and the full state snapshot. paho runs it in its own
// goroutine; every wait is bounded.
func (b *Bridge) onConnect(c paho.Client) {
	ctx, cancel := context.WithTimeout(b.runCtx, 20*time.Second)
	defer cancel()
	subs := map[string]byte{
		b.topics.RequestPrefix() + "#": 1,
		b.birth:                        1,
		b.topics.BridgeState():         1,
	}
	for _, s := range b.topics.SetSubscriptions() {
		subs[s] = 1
	}
	if err := await(ctx, c.SubscribeMultiple(subs, b.onMessage)); err != nil {
		b.logMQTT.Error().Err(err).Msg("subscribe failed; commands will not arrive until the next reconnect")
	}
	// QoS 0, awaited: every connection says online itself, so a copy lost
	// with a dying connection is repeated by the next OnConnect, while a
	// QoS 1 copy still queued at a disconnect is re-sent late by paho
	// v1.5.1's resume — racing its own writer (go test -race sees it).
	if err := await(ctx, c.Publish(b.topics.BridgeState(), 0, true, online)); err != nil {
		b.logMQTT.Error().Err(err).Msg("publish online failed")
	}
	n := b.connections.Add(1)
	b.logMQTT.Info().Int64("connection", n).Msg("connected")
	b.emit(Event{Kind: EventMQTT, Name: "connected", Count: int(n)})
	b.republishAll(ctx)
}

func (b *Bridge) onConnectionLost(_ paho.Client, err error) {
	b.discMu.Lock()
	b.discReady = false
	b.discMu.Unlock()
	b.mu.Lock()
	b.stateReady = false
	b.mu.Unlock()
	b.logMQTT.Warn().Err(err).Msg("connection lost; reconnecting")
	b.emit(Event{Kind: EventMQTT, Name: "lost", Err: err})
}

// republishAll publishes discovery and the whole state again, as after a
// reconnect or Home Assistant's birth message.
func (b *Bridge) republishAll(ctx context.Context) {
	rem := b.syncDiscovery(ctx, true)
	b.mu.Lock()
	clear(b.published)
	b.stateReady = true
	b.syncLocked()
	b.publishThumbsLocked()
	b.mu.Unlock()
	b.finishDiscovery(rem)
}

// sync publishes the state topics that changed.
func (b *Bridge) sync() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.syncLocked()
}

// syncLocked publishes every state topic whose payload differs from what
// this connection last published. While the connection is down it does
// nothing: OnConnect publishes the whole snapshot anyway.
func (b *Bridge) syncLocked() int {
	if !b.stateReady || b.pub == nil || !b.pub.open() {
		return 0
	}
	b.refreshInfoLocked(false)
	want := desiredState(b.topics, discovery.Caps, b.viewLocked())
	var changed []string
	for topic := range b.published {
		if _, ok := want[topic]; ok {
			continue
		}
		if isAvailabilityTopic(b.topics, topic) {
			// A device that left the account stays visibly offline.
			want[topic] = offline
			continue
		}
		changed = append(changed, topic)
	}
	for topic, p := range want {
		if old, ok := b.published[topic]; !ok || old != p {
			changed = append(changed, topic)
		}
	}
	if len(changed) == 0 {
		return 0
	}
	slices.Sort(changed)
	for _, topic := range changed {
		p, ok := want[topic]
		if !ok {
			b.pub.publish(topic, 0, true, nil) // clear a stale retained value
			delete(b.published, topic)
			continue
		}
		b.pub.publish(topic, 0, true, []byte(p))
		b.published[topic] = p
	}
	b.emit(Event{Kind: EventPublish, Count: len(changed)})
	return len(changed)
}

func (b *Bridge) publishThumbsLocked() {
	if !b.stateReady || b.pub == nil || !b.pub.open() {
		return
	}
	for k, img := range b.thumbs {
		b.pub.publish(b.thumbnailTopic(k), 0, true, img)
	}
}

// thumbnailTopic is where k's picture is published.
func (b *Bridge) thumbnailTopic(k devKey) string {
	return b.topics.NodeEntity(b.nodes().Node(k), discovery.EntityThumbnail)
}

// nodes is the topic node table of the latest homescreen; it never waits
// for b.mu.
func (b *Bridge) nodes() *discovery.Nodes {
	if n := b.nodesSnap.Load(); n != nil {
		return n
	}
	return discovery.NodesOf(nil)
}

func (b *Bridge) viewLocked() *stateView {
	return &stateView{
		now:         b.opts.Now(),
		hs:          b.hs,
		nodes:       b.nodesSnap.Load(),
		blinkOK:     b.auth.usable(),
		alarm:       b.alarm,
		motionUntil: b.motionUntil,
		lastEvent:   b.lastEvent,
		onError:     b.logPayloadErrorLocked,
		bridge: bridgeView{
			auth:         b.auth,
			codePending:  !b.pendingCode.IsZero(),
			requestsHour: b.info.requestsHour,
			cooldown:     b.info.cooldown,
			info:         b.info.payload,
		},
	}
}

// logPayloadErrorLocked logs a payload that could not be encoded, once per
// topic.
func (b *Bridge) logPayloadErrorLocked(topic string, err error) {
	if b.badPayload[topic] {
		return
	}
	b.badPayload[topic] = true
	b.log.Error().Err(err).Str("topic", topic).Msg("cannot encode this state; it keeps its last value")
}

// mqttReady reports whether this connection has published its snapshot and
// is open, i.e. whether a publish now reaches the broker.
func (b *Bridge) mqttReady() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stateReady && b.pub != nil && b.pub.open()
}

// setHSLocked stores a new homescreen.
func (b *Bridge) setHSLocked(hs *blink.Homescreen) {
	b.hs = hs
	b.hsSnap.Store(hs)
	b.nodesSnap.Store(discovery.NodesOf(hs))
}

// SetAuthState records a new auth state (used by the Authenticator and
// internally) and publishes it. Returning to AuthOK resumes polling at once.
func (b *Bridge) SetAuthState(state AuthState, detail string) {
	b.mu.Lock()
	prev := b.auth.State
	if prev == state && b.auth.Detail == detail {
		b.mu.Unlock()
		return
	}
	b.auth = AuthStatus{State: state, Detail: detail, Since: b.opts.Now()}
	b.syncLocked()
	b.mu.Unlock()
	b.log.Info().Str("auth_state", string(state)).Str("was", string(prev)).Msg("auth state changed")
	b.emit(Event{Kind: EventAuthState, Name: string(state)})
	if state == AuthOK && prev != AuthOK {
		b.signal(b.pollNow)
	}
	b.signal(b.wake)
}

// Auth returns the current auth state.
func (b *Bridge) Auth() AuthStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.auth
}

func (b *Bridge) signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (b *Bridge) emit(e Event) {
	if b.opts.OnEvent != nil {
		b.opts.OnEvent(e)
	}
}
