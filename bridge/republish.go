package bridge

import (
	"context"
	"sync"
	"time"
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

// republishQueue is the coalescing state; mu guards it.
type republishQueue struct {
	mu       sync.Mutex
	requests int           // since the last republish started
	waiters  []*request    // rediscover requests to answer after it
	kick     chan struct{} // cap 1
}

func newRepublishQueue() *republishQueue {
	return &republishQueue{kick: make(chan struct{}, 1)}
}

// request asks for a republish. r, when set, is a rediscover request that
// the republisher answers once a republish that started after this call
// has finished; false means too many wait already (answer it busy). HA
// births pass nil: nobody waits for them.
func (q *republishQueue) request(r *request) bool {
	q.mu.Lock()
	if r != nil {
		if len(q.waiters) >= maxRepublishWaiters {
			q.mu.Unlock()
			return false
		}
		q.waiters = append(q.waiters, r)
	}
	q.requests++
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
	return true
}

// take returns the requests (and the waiters) the republish about to
// start serves.
func (q *republishQueue) take() (int, []*request) {
	q.mu.Lock()
	defer q.mu.Unlock()
	n, w := q.requests, q.waiters
	q.requests, q.waiters = 0, nil
	return n, w
}

// runRepublisher carries out coalesced republish requests.
func (b *Bridge) runRepublisher(ctx context.Context) {
	q := b.republishq
	var last time.Time
	defer func() {
		_, waiters := q.take()
		for _, r := range waiters {
			b.respond(r, nil, errShuttingDown)
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
		n, waiters := q.take()
		if n == 0 {
			continue
		}
		b.logDisc.Info().Int("requests", n).Msg("republishing discovery and state (Home Assistant came online, or rediscover)")
		start := time.Now()
		b.republishAll(ctx)
		last = time.Now()
		if ctx.Err() != nil {
			for _, r := range waiters {
				b.respond(r, nil, errShuttingDown)
			}
			return
		}
		for _, r := range waiters {
			b.emit(Event{Kind: EventCommand, Name: OpRediscover, Duration: time.Since(r.received)})
			b.respond(r, map[string]any{"republished": true}, nil)
		}
		b.logCmd.Debug().Int("answered", len(waiters)).Dur("took", last.Sub(start)).Msg("rediscover done")
	}
}
