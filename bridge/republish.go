package bridge

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Republishing everything (discovery and state) costs one message per
// entity, hundreds on a big account. Home Assistant's birth messages and
// rediscover requests ask for it, and anyone on the broker can send them in
// a flood, so requests are coalesced: a burst becomes one republish after
// republishSettle, and two republishes are at least republishGap apart.
// Requests that arrive while one runs are served by the next.
const (
	republishSettle = time.Second
	republishGap    = 10 * time.Second
	// maxRepublishWaiters bounds the rediscover requests waiting for one
	// republish; more are answered busy at once.
	maxRepublishWaiters = 256
)

// republisher coalesces requests to republish everything; mu guards its
// queue, and run does the work.
type republisher struct {
	writer  *stateWriter
	respond func(r *request, data any, err error)
	log     zerolog.Logger
	emit    func(Event)

	mu       sync.Mutex
	requests int        // since the last republish started
	waiters  []*request // rediscover requests to answer after it
	closed   bool
	kick     chan struct{} // cap 1
}

func newRepublisher(w *stateWriter, respond func(*request, any, error), log zerolog.Logger, emit func(Event)) *republisher {
	return &republisher{writer: w, respond: respond, log: log, emit: emit, kick: make(chan struct{}, 1)}
}

// request asks for a republish. r, when set, is a rediscover request that
// the republisher answers once a republish that started after this call
// has finished; the error says why it cannot (shutting down, too many
// waiting). HA births pass nil: nobody waits for them.
func (q *republisher) request(r *request) error {
	q.mu.Lock()
	switch {
	case q.closed:
		q.mu.Unlock()
		return errShuttingDown
	case r != nil && len(q.waiters) >= maxRepublishWaiters:
		q.mu.Unlock()
		return errQueueFull
	case r != nil:
		q.waiters = append(q.waiters, r)
	}
	q.requests++
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
	return nil
}

// take returns the requests (and the waiters) the republish about to
// start serves; with closing, no more are accepted.
func (q *republisher) take(closing bool) (int, []*request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n, w := q.requests, q.waiters
	q.requests, q.waiters = 0, nil
	q.closed = q.closed || closing
	return n, w
}

// run carries out coalesced republish requests until ctx ends; then it
// answers whoever still waits.
func (q *republisher) run(ctx context.Context) {
	var last time.Time
	defer func() {
		_, waiters := q.take(true)
		for _, r := range waiters {
			q.respond(r, nil, errShuttingDown)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-q.kick:
		}
		wait := republishSettle
		if !last.IsZero() {
			wait = max(wait, time.Until(last.Add(republishGap)))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		n, waiters := q.take(false)
		if n == 0 {
			continue
		}
		q.log.Info().Int("requests", n).Msg("republishing discovery and state (Home Assistant came online, or rediscover)")
		start := time.Now()
		q.writer.connected(ctx)
		last = time.Now()
		if ctx.Err() != nil {
			for _, r := range waiters {
				q.respond(r, nil, errShuttingDown)
			}
			return
		}
		for _, r := range waiters {
			q.emit(Event{Kind: EventCommand, Name: OpRediscover, Duration: time.Since(r.received)})
			q.respond(r, map[string]any{"republished": true}, nil)
		}
		q.log.Debug().Int("answered", len(waiters)).Dur("took", last.Sub(start)).Msg("rediscover done")
	}
}
