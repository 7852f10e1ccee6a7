package bridge

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// stateWriter is the only writer of retained state: per-entity topics,
// attributes, availability, the bridge's own topics, thumbnails and the
// discovery configs. One goroutine (run) owns what was published on this
// connection, the ready flag, bridge/info and the discovery ledger; other
// parts ask it through a channel, so no lock is ever held while a message
// goes out and two publishes of one topic can never overtake each other.
//
// Until a connection has published the full snapshot (connected), nothing
// is published: a diff sent before it would only be sent twice, and paho
// drops what is queued before the first connection.
type stateWriter struct {
	topics discovery.Topics
	conn   *connection
	model  *model
	cloud  Cloud
	thumbs *thumbnails
	ledger *discoveryLedger
	opts   *Options
	log    zerolog.Logger
	emit   func(Event)
	// localWatch: USB storage is watched (state of the check sensors).
	localWatch bool
	// settings is read for the settings topics and their discovery.
	settings *settingsPart

	reqs    chan writerReq
	kick    chan struct{} // cap 1: a sync is wanted
	running atomic.Bool
	// ready mirrors run's ready flag for readers in other goroutines.
	ready atomic.Bool

	// Owned by run.
	published  map[string]string
	badPayload map[string]bool
	info       infoState
}

type writerOp int

const (
	writeSync      writerOp = iota // publish what changed
	writeConnected                 // a new connection: publish everything
	writeLost                      // the connection is gone
	writeImage                     // publish one thumbnail
	writeRepublish                 // publish topic again, then sync
)

type writerReq struct {
	op    writerOp
	topic string // writeRepublish
	key   devKey // writeImage
	img   []byte
	qos   byte
	reply chan paho.Token // closed (or sent a token) when done; nil: nobody waits
}

func newStateWriter(topics discovery.Topics, opts *Options, log zerolog.Logger, emit func(Event)) *stateWriter {
	return &stateWriter{
		topics:     topics,
		opts:       opts,
		log:        log,
		emit:       emit,
		reqs:       make(chan writerReq, 16),
		kick:       make(chan struct{}, 1),
		published:  map[string]string{},
		badPayload: map[string]bool{},
		info:       infoState{requestsHour: -1},
	}
}

// start runs the writer under ctx, tracked by wg. From its return on,
// requests are served.
func (w *stateWriter) start(ctx context.Context, wg *sync.WaitGroup) {
	w.running.Store(true)
	wg.Go(func() { w.run(ctx) })
}

// run serves the writer until ctx ends.
func (w *stateWriter) run(ctx context.Context) {
	defer w.running.Store(false)
	for {
		select {
		case <-ctx.Done():
			// The other parts stopped first (Bridge.start): publish what
			// their last steps changed, while the connection is still up.
			w.sync(false)
			w.drain()
			return
		case <-w.kick:
			w.sync(false)
		case r := <-w.reqs:
			w.handle(r)
		}
	}
}

// drain answers the requests still queued when run stops.
func (w *stateWriter) drain() {
	for {
		select {
		case r := <-w.reqs:
			if r.reply != nil {
				close(r.reply)
			}
		default:
			return
		}
	}
}

func (w *stateWriter) handle(r writerReq) {
	var tok paho.Token
	switch r.op {
	case writeSync:
		w.sync(false)
	case writeConnected:
		clear(w.published)
		w.ledger.reset()
		w.setReady(true)
		w.sync(true)
	case writeLost:
		w.setReady(false)
	case writeRepublish:
		delete(w.published, r.topic)
		w.sync(false)
	case writeImage:
		if w.ready.Load() && w.conn.open() {
			tok = w.conn.publish(w.imageTopic(r.key), r.qos, true, r.img)
		}
	}
	if r.reply != nil {
		if tok != nil {
			r.reply <- tok
		}
		close(r.reply)
	}
}

func (w *stateWriter) setReady(ok bool) { w.ready.Store(ok) }

// ask queues r and, when wait, waits until it was carried out. It returns
// at once when the writer is not running (before Run: the connection
// publishes everything anyway).
func (w *stateWriter) ask(ctx context.Context, r writerReq, wait bool) paho.Token {
	if wait {
		r.reply = make(chan paho.Token, 1)
	}
	if !w.running.Load() {
		return nil
	}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		return nil
	}
	if !wait {
		return nil
	}
	select {
	case tok := <-r.reply:
		return tok
	case <-ctx.Done():
		return nil
	}
}

// requestSync asks for a sync without waiting; bursts coalesce.
func (w *stateWriter) requestSync() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// syncWait publishes what changed and returns when that is done (or ctx
// ends, or within 10 s).
func (w *stateWriter) syncWait(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w.ask(ctx, writerReq{op: writeSync}, true)
}

// connected publishes discovery, the whole state and every thumbnail on a
// new connection (or when Home Assistant asks for it again).
func (w *stateWriter) connected(ctx context.Context) {
	w.ask(ctx, writerReq{op: writeConnected}, true)
}

// lost stops publishing until the next connected.
func (w *stateWriter) lost() {
	w.setReady(false) // at once: a poll must not count on this connection
	w.ask(context.Background(), writerReq{op: writeLost}, false)
}

// publishImage publishes device k's picture (retained). With wait it
// returns the publish's token (nil when not connected) for the caller to
// await outside the writer.
func (w *stateWriter) publishImage(ctx context.Context, k devKey, img []byte, wait bool) paho.Token {
	qos := byte(0)
	if wait {
		qos = 1 // a snapshot answers only after the broker has the picture
	}
	return w.ask(ctx, writerReq{op: writeImage, key: k, img: img, qos: qos}, wait)
}

// isReady reports whether a publish now reaches the broker on a connection
// that has its full snapshot.
func (w *stateWriter) isReady() bool { return w.ready.Load() && w.conn.open() }

func (w *stateWriter) imageTopic(k devKey) string {
	return w.topics.NodeEntity(w.model.snapshot().nodes.Node(k), discovery.EntityThumbnail)
}

// sync publishes discovery configs that changed (all of them with all),
// then the state topics that changed, then removes configs of entities that
// are gone — in that order, so Home Assistant knows an entity before its
// state and sees a vanished device unavailable before its entities go.
func (w *stateWriter) sync(all bool) {
	if !w.ready.Load() || !w.conn.open() {
		return
	}
	st := w.settings.state()
	plan := w.ledger.plan(w.model.snapshot(), extrasView{st.extras, st.shapeSeq}, all)
	for _, m := range plan.publish {
		// QoS 0 like state: each connection republishes every config, and
		// QoS 1 copies queued over a reconnect are re-sent late by paho.
		w.conn.publish(m.Topic, 0, true, m.Payload)
	}
	w.syncState()
	if all {
		for k, img := range w.thumbs.images() {
			w.conn.publish(w.imageTopic(k), 0, true, img)
		}
	}
	for _, m := range plan.remove {
		w.conn.publish(m.Topic, 0, true, nil)
	}
	w.ledger.commit(plan)
}

// syncState publishes every state topic whose payload differs from what
// this connection last published.
func (w *stateWriter) syncState() {
	now := w.opts.Now()
	v := w.model.view(now)
	v.onError = w.logPayloadError
	v.localWatch = w.localWatch
	v.settings = w.settings.state()
	v.rtsp = w.opts.RTSPListen != ""
	w.refreshInfo(v, now)
	v.bridge.requestsHour, v.bridge.cooldown, v.bridge.info = w.info.requestsHour, w.info.cooldown, w.info.payload
	want := desiredState(w.topics, discovery.Caps, v)
	var changed []string
	for topic := range w.published {
		if _, ok := want[topic]; ok {
			continue
		}
		if isAvailabilityTopic(w.topics, topic) {
			// A device that left the account stays visibly offline.
			want[topic] = offline
			continue
		}
		changed = append(changed, topic)
	}
	for topic, p := range want {
		if old, ok := w.published[topic]; !ok || old != p {
			changed = append(changed, topic)
		}
	}
	if len(changed) == 0 {
		return
	}
	slices.Sort(changed)
	for _, topic := range changed {
		p, ok := want[topic]
		if !ok {
			w.conn.publish(topic, 0, true, nil) // clear a stale retained value
			delete(w.published, topic)
			continue
		}
		w.conn.publish(topic, 0, true, []byte(p))
		w.published[topic] = p
	}
	w.emit(Event{Kind: EventPublish, Count: len(changed)})
}

// republishTopic publishes topic's state again even if unchanged, then
// what else changed, and waits: a failed command puts Home Assistant's
// optimistic switch back this way.
func (w *stateWriter) republishTopic(ctx context.Context, topic string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w.ask(ctx, writerReq{op: writeRepublish, topic: topic}, true)
}

// logPayloadError logs a payload that could not be encoded, once per topic.
func (w *stateWriter) logPayloadError(topic string, err error) {
	if w.badPayload[topic] {
		return
	}
	w.badPayload[topic] = true
	w.log.Error().Err(err).Str("topic", topic).Msg("cannot encode this state; it keeps its last value")
}
