package bridge

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// publisher is the bridge's narrow view of the MQTT connection, so state
// and scheduling logic can be tested without a broker.
type publisher interface {
	// publish sends a message without waiting; the token completes when
	// the broker acknowledged it (QoS 1) or it was written (QoS 0).
	publish(topic string, qos byte, retained bool, payload []byte) paho.Token
	// open reports whether the connection is up right now.
	open() bool
}

type pahoPublisher struct{ c paho.Client }

func (p pahoPublisher) publish(topic string, qos byte, retained bool, payload []byte) paho.Token {
	return p.c.Publish(topic, qos, retained, payload)
}

func (p pahoPublisher) open() bool { return p.c.IsConnectionOpen() }

// connection is the MQTT side: the paho client, what happens on connect
// and on a lost connection, and where each inbound message goes (commands
// to the runner, Home Assistant's birth to the republisher). Its handlers
// never block: they parse, hand over and return.
type connection struct {
	topics discovery.Topics
	birth  string // Home Assistant's birth topic
	log    zerolog.Logger
	emit   func(Event)

	writer      *stateWriter
	runner      *runner
	republisher *republisher

	pub             atomic.Pointer[publisherBox]
	ctx             atomic.Pointer[context.Context] // cancelled when Run shuts down
	closing         atomic.Bool
	connectFailures atomic.Int64
	connections     atomic.Int64
	// handlers counts OnConnect handlers still running, so Run returns only
	// after the last one (it may still write the discovery ledger).
	// handlersMu orders Add against the Wait at shutdown.
	handlersMu sync.Mutex
	handlers   sync.WaitGroup
}

type publisherBox struct{ p publisher }

// setPublisher installs the connection (Run) or a fake (tests).
func (c *connection) setPublisher(p publisher) { c.pub.Store(&publisherBox{p}) }

// publish sends a message; it returns nil when there is no connection yet.
func (c *connection) publish(topic string, qos byte, retained bool, payload []byte) paho.Token {
	if b := c.pub.Load(); b != nil {
		return b.p.publish(topic, qos, retained, payload)
	}
	return nil
}

// open reports whether a publish now reaches the broker.
func (c *connection) open() bool {
	b := c.pub.Load()
	return b != nil && b.p.open()
}

func (c *connection) runCtx() context.Context {
	if p := c.ctx.Load(); p != nil {
		return *p
	}
	return context.Background()
}

// onConnect restores everything after every (re)connect: subscriptions,
// online, discovery and the full state snapshot. paho runs it in its own
// goroutine; every wait is bounded.
func (c *connection) onConnect(client paho.Client) {
	c.handlersMu.Lock()
	if c.closing.Load() {
		c.handlersMu.Unlock()
		return
	}
	c.handlers.Add(1)
	c.handlersMu.Unlock()
	defer c.handlers.Done()
	ctx, cancel := context.WithTimeout(c.runCtx(), 20*time.Second)
	defer cancel()
	subs := map[string]byte{
		c.topics.RequestPrefix() + "#": 1,
		c.birth:                        1,
		c.topics.BridgeState():         1,
	}
	for _, s := range c.topics.SetSubscriptions() {
		subs[s] = 1
	}
	if err := await(ctx, client.SubscribeMultiple(subs, c.onMessage)); err != nil {
		c.log.Error().Err(err).Msg("subscribe failed; commands will not arrive until the next reconnect")
	}
	// QoS 0, awaited: every connection says online itself, so a copy lost
	// with a dying connection is repeated by the next OnConnect, while a
	// QoS 1 copy still queued at a disconnect is re-sent late by paho
	// v1.5.1's resume — racing its own writer (go test -race sees it).
	if err := await(ctx, client.Publish(c.topics.BridgeState(), 0, true, online)); err != nil {
		c.log.Error().Err(err).Msg("publish online failed")
	}
	n := c.connections.Add(1)
	c.log.Info().Int64("connection", n).Msg("connected")
	c.emit(Event{Kind: EventMQTT, Name: "connected", Count: int(n)})
	c.writer.connected(ctx)
}

// close stops new OnConnect work and waits (at most d) for the running one.
func (c *connection) close(d time.Duration) bool {
	c.handlersMu.Lock()
	c.closing.Store(true)
	c.handlersMu.Unlock()
	done := make(chan struct{})
	go func() { c.handlers.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func (c *connection) onConnectionLost(_ paho.Client, err error) {
	c.writer.lost()
	c.log.Warn().Err(err).Msg("connection lost; reconnecting")
	c.emit(Event{Kind: EventMQTT, Name: "lost", Err: err})
}

// onConnectionNotification logs failed connection attempts: the first, then
// every tenth, so a wrong password or a broker that is down shows up in the
// log without flooding it.
func (c *connection) onConnectionNotification(brokerURL string) func(paho.Client, paho.ConnectionNotification) {
	return func(_ paho.Client, n paho.ConnectionNotification) {
		var reason error
		switch n := n.(type) {
		case paho.ConnectionNotificationBrokerFailed:
			reason = n.Reason
		case paho.ConnectionNotificationFailed:
			reason = n.Reason
		case paho.ConnectionNotificationConnected:
			c.connectFailures.Store(0)
			return
		default:
			return
		}
		c.emit(Event{Kind: EventMQTTConnectFailed, Err: reason})
		if k := c.connectFailures.Add(1); k == 1 || k%10 == 0 {
			c.log.Warn().Err(reason).Int64("attempts", k).Str("broker", redactURL(brokerURL)).
				Msg("cannot connect to the MQTT broker; retrying")
		}
	}
}

// onMessage routes every inbound message. It never blocks: with paho's
// OrderMatters(false) each call has its own goroutine, and a handler that
// waits would still hold up acknowledgements.
func (c *connection) onMessage(client paho.Client, m paho.Message) {
	topic := m.Topic()
	switch {
	case topic == c.topics.BridgeState():
		// The will of our previous connection can arrive after this
		// connection said online (a broker's session takeover race): say
		// online again.
		if !m.Retained() && string(m.Payload()) == offline && !c.closing.Load() && client.IsConnectionOpen() {
			c.log.Info().Msg("saw our own will after reconnecting; publishing online again")
			// QoS 0: a QoS 1 publish still queued when the connection drops
			// hits a data race in paho v1.5.1's resume; OnConnect says
			// online again after any reconnect anyway.
			go client.Publish(c.topics.BridgeState(), 0, true, online) // Publish may wait for a busy socket
		}
	case topic == c.birth:
		// A retained birth arrives on every (re)subscribe, right after
		// OnConnect republished everything; only a live one means HA restarted.
		if !m.Retained() && strings.EqualFold(strings.TrimSpace(string(m.Payload())), "online") {
			c.republisher.request(nil)
		}
	case strings.HasPrefix(topic, c.topics.Response("")):
		// Our own answer to an op whose name ends in "/set".
	default:
		c.runner.handleMessage(topic, m.Payload(), m.Retained())
	}
}

// await waits for a paho token or ctx, whichever comes first. A token still
// pending when ctx ends may complete later; callers must not rely on it.
func await(ctx context.Context, t paho.Token) error {
	if t == nil {
		return nil
	}
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// awaitFor is await with a timeout of its own.
func awaitFor(ctx context.Context, d time.Duration, t paho.Token) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return await(ctx, t)
}
