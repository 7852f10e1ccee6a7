package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// queueKind says which queue a request waits in.
type queueKind int

const (
	queueNetwork queueKind = iota // one per network: commands there run one at a time, spaced
	queueBridge                   // refresh
	queueAuth                     // logins and 2FA codes
	queueAccount                  // account settings (notification flags): spaced like commands
)

// queueKey names one request queue.
type queueKey struct {
	kind    queueKind
	network int64 // queueNetwork only
}

func (k queueKey) String() string {
	switch k.kind {
	case queueNetwork:
		return "network " + strconv.FormatInt(k.network, 10)
	case queueAuth:
		return "auth"
	case queueAccount:
		return "account"
	}
	return "bridge"
}

// runner carries out commands: it parses requests and …/set messages,
// resolves their ids against the latest homescreen, queues them (one
// worker per queue, started on first use), executes them against Blink and
// answers each request exactly once. mu guards the queues only.
type runner struct {
	topics      discovery.Topics
	opts        *Options
	cloud       *cloudGate
	model       *model
	writer      *stateWriter
	poller      *poller
	thumbs      *thumbnails
	conn        *connection
	republisher *republisher
	settings    *settingsPart
	auth        Authenticator
	log         zerolog.Logger
	emit        func(Event)
	// setAuth reports a login state change (Bridge.SetAuthState).
	setAuth func(AuthState, string)

	mu      sync.Mutex
	ctx     context.Context // the workers' context; nil until start
	closing bool
	queues  map[queueKey]chan *request
	wg      *sync.WaitGroup
}

var (
	errShuttingDown = errors.New("the bridge is shutting down")
	errQueueFull    = errors.New("busy: too many commands are waiting; try again shortly")
)

// start lets workers run under ctx (tracked by wg).
func (r *runner) start(ctx context.Context, wg *sync.WaitGroup) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ctx, r.wg = ctx, wg
}

// close refuses new work; queued requests are answered by their workers.
func (r *runner) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closing = true
}

// submit runs job on network's command queue — one at a time with the
// network's other commands, CommandSpacing apart — and returns its error.
// Parts whose Blink calls occupy the sync module (local storage, settings,
// live view) go through here, so they never collide with a command. job's
// context ends with ctx or the bridge; submit returns only once job has
// finished or will never start, so job may use the caller's variables and
// files.
func (r *runner) submit(ctx context.Context, network int64, what string, job func(context.Context) error) error {
	start := make(chan struct{}, 1) // the token to run: taken by the worker or by a caller who gave up
	start <- struct{}{}
	finished := make(chan struct{})
	req := &request{op: what, network: network, done: make(chan error, 1), received: time.Now()}
	req.job = func(wctx context.Context) error {
		select {
		case <-start:
		default:
			return ctx.Err() // the caller gave up before it started
		}
		defer close(finished)
		jctx, cancel := context.WithCancel(ctx)
		defer cancel()
		defer context.AfterFunc(wctx, cancel)()
		return job(jctx)
	}
	q := r.queue(queueKey{queueNetwork, network})
	if q == nil {
		return errShuttingDown
	}
	select {
	case q <- req:
	default:
		return errQueueFull
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		select {
		case <-start: // never started, and now never will
		case <-finished:
		}
		return ctx.Err()
	}
}

// handleMessage takes a message on a request or …/set topic. It never
// blocks: it parses, queues and returns.
func (r *runner) handleMessage(topic string, payload []byte, retained bool) {
	isRequest := strings.HasPrefix(topic, r.topics.RequestPrefix())
	if !isRequest && !strings.HasSuffix(topic, "/set") {
		return
	}
	switch {
	case len(payload) == 0:
		// How a retained message is cleared: not a command.
		r.log.Debug().Str("topic", short(topic)).Msg("ignored an empty command payload")
	case retained:
		// A retained command would run again on every reconnect, hours
		// later; commands are never retained (HA does not retain them).
		r.log.Warn().Str("topic", short(topic)).Msg("ignored a retained command; publish commands without the retain flag")
		r.emit(Event{Kind: EventBadInput, Name: "retained"})
	case isRequest:
		op := strings.TrimPrefix(topic, r.topics.RequestPrefix())
		req, err := parseRequest(op, payload)
		if err != nil {
			r.reject(req, op, err)
			return
		}
		r.enqueue(req)
	default:
		req, err := parseSet(r.topics, topic, payload)
		if err != nil {
			r.log.Warn().Str("topic", short(topic)).Str("reason", err.Error()).Msg("ignored bad command")
			r.emit(Event{Kind: EventBadInput, Name: "set"})
			return
		}
		r.enqueue(req)
	}
}

// reject answers bad input: one response (for requests) and one log line.
func (r *runner) reject(req *request, op string, err error) {
	r.log.Warn().Str("op", short(op)).Str("reason", err.Error()).Msg("rejected request")
	r.emit(Event{Kind: EventBadInput, Name: op})
	if req != nil && req.respond {
		go r.respond(req, nil, err) // Publish may wait for a busy socket; a handler must not
	}
}

// enqueue resolves ids against the current state and hands the request to
// its queue. It never blocks; a full queue is answered with "busy".
func (r *runner) enqueue(req *request) {
	req.received = time.Now()
	key, err := r.resolve(req)
	if err != nil {
		r.reject(req, req.op, err)
		return
	}
	if req.op == OpRediscover {
		r.settings.rediscover()
		// Answered by the republisher, which coalesces floods.
		if err := r.republisher.request(req); err != nil {
			go r.respond(req, nil, err)
		}
		return
	}
	q := r.queue(key)
	if q == nil {
		go r.respond(req, nil, errShuttingDown)
		return
	}
	select {
	case q <- req:
	default:
		r.log.Warn().Str("op", req.op).Stringer("queue", key).Msg("queue full; request refused")
		go r.respond(req, nil, errQueueFull)
	}
}

// resolve checks the ids of req against the latest homescreen and returns
// its queue.
func (r *runner) resolve(req *request) (queueKey, error) {
	switch req.op {
	case OpRefresh, OpRediscover:
		return queueKey{kind: queueBridge}, nil
	case OpAuthVerify, OpAuthLogin, discovery.BridgeAuthCode:
		return queueKey{kind: queueAuth}, nil
	case OpNotifications:
		return queueKey{kind: queueAccount}, nil
	}
	snap := r.model.snapshot()
	hs := snap.hs
	if hs == nil {
		return queueKey{}, badInput("no Blink state yet; try again after the first poll")
	}
	switch req.op {
	case OpArm, OpDisarm, OpProgram:
		if !slices.ContainsFunc(hs.Networks, func(n blink.Network) bool { return n.ID == req.network }) {
			return queueKey{}, badInput("unknown network %d (known: %s)", req.network, networkIDs(hs))
		}
		return queueKey{queueNetwork, req.network}, nil
	default:
		d, err := findDevice(hs, snap.nodes, req)
		if err != nil {
			return queueKey{}, err
		}
		if !d.Family.Valid() {
			return queueKey{}, badInput("device %d is of a kind (%s) the bridge cannot command", req.device, d.Type)
		}
		req.dev = d
		req.network, req.device = d.NetworkID, d.ID
		return queueKey{queueNetwork, req.network}, nil
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
			return blink.Device{}, badInput("%d/%s is a sync module; it takes no camera commands", r.network, r.node)
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
	var which, families []string
	for _, d := range found {
		which = append(which, fmt.Sprintf("a %s on network %d", d.Family, d.NetworkID))
		if !slices.Contains(families, string(d.Family)) {
			families = append(families, string(d.Family))
		}
	}
	return blink.Device{}, badInput(`device id %d is used by %s; add "family" (%s) or "network" to say which`,
		r.device, strings.Join(which, " and "), strings.Join(families, ", "))
}

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

// queue returns the queue for key, starting its worker on first use. It
// returns nil before start and once the bridge is shutting down.
func (r *runner) queue(key queueKey) chan *request {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing || r.ctx == nil || r.ctx.Err() != nil {
		return nil
	}
	if q, ok := r.queues[key]; ok {
		return q
	}
	if r.queues == nil {
		r.queues = map[queueKey]chan *request{}
	}
	q := make(chan *request, r.opts.QueueSize)
	r.queues[key] = q
	spacing := time.Duration(0)
	if key.kind == queueNetwork || key.kind == queueAccount {
		spacing = r.opts.CommandSpacing
	}
	ctx := r.ctx
	r.wg.Go(func() { r.work(ctx, q, spacing) })
	return q
}

// work executes one queue's requests in order, at least spacing apart.
// When ctx ends it answers what is still queued.
func (r *runner) work(ctx context.Context, q chan *request, spacing time.Duration) {
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			r.drain(q)
			return
		case req := <-q:
			if !last.IsZero() && spacing > 0 {
				if wait := time.Until(last.Add(spacing)); wait > 0 {
					t := time.NewTimer(wait)
					select {
					case <-ctx.Done():
						t.Stop()
						r.finish(req, nil, errShuttingDown)
						r.drain(q)
						return
					case <-t.C:
					}
				}
			}
			last = time.Now()
			r.execute(ctx, req)
		}
	}
}

func (r *runner) drain(q chan *request) {
	for {
		select {
		case req := <-q:
			r.finish(req, nil, errShuttingDown)
		default:
			return
		}
	}
}

// response is the body on bridge/response/<op>.
type response struct {
	Status      string          `json:"status"`
	Data        any             `json:"data,omitempty"`
	Error       string          `json:"error,omitempty"`
	Transaction json.RawMessage `json:"transaction,omitempty"`
}

// finish answers a request, or hands an internal job its result.
func (r *runner) finish(req *request, data any, err error) {
	if req.done != nil {
		req.done <- err
		return
	}
	r.respond(req, data, err)
}

// respond publishes the one answer to a request (…/set commands get none).
func (r *runner) respond(req *request, data any, err error) {
	if !req.respond {
		return
	}
	resp := response{Status: "ok", Data: data, Transaction: req.txn}
	if err != nil {
		resp = response{Status: "error", Error: errorMessage(err), Transaction: req.txn}
	}
	body, merr := json.Marshal(resp)
	if merr != nil {
		// Only a transaction can fail to marshal, and it came from valid JSON.
		resp.Transaction = nil
		body, _ = json.Marshal(resp)
	}
	r.conn.publish(r.topics.Response(req.op), 1, false, body)
}
