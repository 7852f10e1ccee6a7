package mqtttest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// DefaultTimeout bounds every wait of a Recorder unless Recorder.Timeout is set.
const DefaultTimeout = 10 * time.Second

// Message is one publish a Recorder received.
type Message struct {
	Topic    string
	Payload  []byte
	Retained bool
	// Seq is the message's position in the recording, starting at 0.
	Seq int
	// Time is when the recorder received it.
	Time time.Time
}

// Recorder is an MQTT client that records every message on its
// subscriptions. Waits return as soon as a matching message arrives.
type Recorder struct {
	// Timeout bounds each wait; DefaultTimeout when zero.
	Timeout time.Duration

	// pub sends a message (paho client or the broker's inline client).
	pub func(topic string, payload []byte, retained bool) error

	mu      sync.Mutex
	msgs    []Message
	changed chan struct{} // closed and replaced on every new message
}

var recorderSeq atomic.Int64

// NewRecorder connects to the broker at url (mqtt://host:port), subscribes
// to filters (default "#") with QoS 1, and disconnects when the test ends.
func NewRecorder(t testing.TB, url string, filters ...string) *Recorder {
	t.Helper()
	if len(filters) == 0 {
		filters = []string{"#"}
	}
	r := &Recorder{changed: make(chan struct{})}
	opts := paho.NewClientOptions().
		AddBroker(toPahoURL(url)).
		SetClientID(fmt.Sprintf("mqtttest-rec-%d", recorderSeq.Add(1))).
		SetCleanSession(true).
		SetOrderMatters(true). // record in arrival order; the handler never blocks
		SetAutoReconnect(true).
		SetMaxReconnectInterval(200 * time.Millisecond).
		SetConnectTimeout(5 * time.Second).
		SetWriteTimeout(5 * time.Second).
		SetDefaultPublishHandler(r.record)
	subs := make(map[string]byte, len(filters))
	for _, f := range filters {
		subs[f] = 1
	}
	opts.SetOnConnectHandler(func(c paho.Client) {
		c.SubscribeMultiple(subs, r.record)
	})
	c := paho.NewClient(opts)
	// Registered before connecting: a client whose connect timed out here
	// would otherwise go on reconnecting after the test.
	t.Cleanup(func() { c.Disconnect(50) })
	if err := wait(c.Connect(), 5*time.Second); err != nil {
		t.Fatalf("mqtttest: recorder connect %s: %v", url, err)
	}
	// Subscribe once more synchronously so the subscription exists on return.
	if err := wait(c.SubscribeMultiple(subs, r.record), 5*time.Second); err != nil {
		t.Fatalf("mqtttest: recorder subscribe: %v", err)
	}
	r.pub = func(topic string, payload []byte, retained bool) error {
		// QoS 0 once the connection is open: paho v1.5.1 races (a data race
		// under -race) when a QoS 1 publish meets the store replay of a
		// reconnect, and QoS 0 packets never enter that store.
		deadline := time.Now().Add(r.timeout())
		for !c.IsConnectionOpen() {
			if time.Now().After(deadline) {
				return fmt.Errorf("not connected after %s", r.timeout())
			}
			time.Sleep(10 * time.Millisecond) // bounded wait for paho's reconnect
		}
		return wait(c.Publish(topic, 0, retained, payload), r.timeout())
	}
	return r
}

// NewBrokerRecorder records through the in-process broker's inline client:
// no connection to lose, the subscription survives Restart, and publishes
// are injected directly. Prefer it with StartBroker: a network subscriber
// re-subscribing with a wildcard while others publish retained messages
// trips a data race inside mochi v2.7.9 under -race. The inline subscription
// scans the retained messages too, so create it before the code under test
// starts publishing.
func NewBrokerRecorder(t testing.TB, b *Broker, filters ...string) *Recorder {
	t.Helper()
	if len(filters) == 0 {
		filters = []string{"#"}
	}
	r := &Recorder{changed: make(chan struct{})}
	for _, f := range filters {
		if err := b.inlineSubscribe(f, func(topic string, payload []byte, retained bool) {
			r.add(topic, payload, retained)
		}); err != nil {
			t.Fatalf("mqtttest: inline subscribe %s: %v", f, err)
		}
	}
	r.pub = func(topic string, payload []byte, retained bool) error {
		srv := b.Server()
		if srv == nil {
			return fmt.Errorf("broker not running")
		}
		return srv.Publish(topic, payload, retained, 1)
	}
	return r
}

func (r *Recorder) record(_ paho.Client, m paho.Message) {
	r.add(m.Topic(), m.Payload(), m.Retained())
}

func (r *Recorder) add(topic string, payload []byte, retained bool) {
	r.mu.Lock()
	r.msgs = append(r.msgs, Message{
		Topic:    topic,
		Payload:  append([]byte(nil), payload...),
		Retained: retained,
		Seq:      len(r.msgs),
		Time:     time.Now(),
	})
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

func (r *Recorder) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

// Mark returns the position of the next message, for WaitForAfter and Since.
func (r *Recorder) Mark() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// Messages returns a copy of everything recorded so far.
func (r *Recorder) Messages() []Message {
	return r.Since(0)
}

// Since returns the messages recorded at or after mark.
func (r *Recorder) Since(mark int) []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	if mark > len(r.msgs) {
		return nil
	}
	return append([]Message(nil), r.msgs[mark:]...)
}

// Count is how many messages arrived on topic since mark.
func (r *Recorder) Count(mark int, topic string) int {
	n := 0
	for _, m := range r.Since(mark) {
		if m.Topic == topic {
			n++
		}
	}
	return n
}

// Last returns the latest message on topic.
func (r *Recorder) Last(topic string) (Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.msgs) - 1; i >= 0; i-- {
		if r.msgs[i].Topic == topic {
			return r.msgs[i], true
		}
	}
	return Message{}, false
}

// Equals is a predicate for WaitFor matching an exact payload.
func Equals(want string) func([]byte) bool {
	return func(p []byte) bool { return string(p) == want }
}

// Contains is a predicate for WaitFor matching a payload substring.
func Contains(sub string) func([]byte) bool {
	return func(p []byte) bool { return bytes.Contains(p, []byte(sub)) }
}

// Any matches every payload.
func Any([]byte) bool { return true }

// WaitFor returns the first message recorded on topic whose payload
// satisfies pred, waiting for one to arrive. It fails the test on timeout.
func (r *Recorder) WaitFor(t testing.TB, topic string, pred func([]byte) bool) Message {
	t.Helper()
	return r.WaitForAfter(t, 0, topic, pred)
}

// WaitForAfter is WaitFor restricted to messages at or after mark.
func (r *Recorder) WaitForAfter(t testing.TB, mark int, topic string, pred func([]byte) bool) Message {
	t.Helper()
	m, err := r.waitMatch(mark, func(m Message) bool { return m.Topic == topic && pred(m.Payload) })
	if err != nil {
		t.Fatalf("mqtttest: waiting for a message on %s: %v; last on topic: %s", topic, err, r.describeLast(topic))
	}
	return m
}

// WaitMatch returns the first message at or after mark that satisfies match.
func (r *Recorder) WaitMatch(t testing.TB, mark int, what string, match func(Message) bool) Message {
	t.Helper()
	m, err := r.waitMatch(mark, match)
	if err != nil {
		t.Fatalf("mqtttest: waiting for %s: %v", what, err)
	}
	return m
}

func (r *Recorder) waitMatch(mark int, match func(Message) bool) (Message, error) {
	timer := time.NewTimer(r.timeout())
	defer timer.Stop()
	next := mark
	for {
		r.mu.Lock()
		for ; next < len(r.msgs); next++ {
			if match(r.msgs[next]) {
				m := r.msgs[next]
				r.mu.Unlock()
				return m, nil
			}
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			return Message{}, fmt.Errorf("timed out after %s", r.timeout())
		}
	}
}

func (r *Recorder) describeLast(topic string) string {
	m, ok := r.Last(topic)
	if !ok {
		return "none"
	}
	p := string(m.Payload)
	if len(p) > 200 {
		p = p[:200] + "…"
	}
	return fmt.Sprintf("%q (retained=%v)", p, m.Retained)
}

// Publish sends a message from the recorder and waits until it is written
// (network recorders: QoS 0 on an open connection) or injected (broker
// recorders).
func (r *Recorder) Publish(t testing.TB, topic string, payload []byte, retained bool) {
	t.Helper()
	if err := r.pub(topic, payload, retained); err != nil {
		t.Fatalf("mqtttest: publish %s: %v", topic, err)
	}
}

// Retained connects a fresh client, subscribes to filter and returns the
// retained messages the broker holds for it (topic → payload).
func Retained(t testing.TB, url, filter string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	var mu sync.Mutex
	sentinel := fmt.Sprintf("mqtttest/sentinel/%d", recorderSeq.Add(1))
	done := make(chan struct{})
	var doneOnce sync.Once
	opts := paho.NewClientOptions().
		AddBroker(toPahoURL(url)).
		SetClientID(fmt.Sprintf("mqtttest-ret-%d", recorderSeq.Add(1))).
		SetCleanSession(true).
		SetOrderMatters(true).
		SetAutoReconnect(false).
		SetConnectTimeout(5 * time.Second).
		SetWriteTimeout(5 * time.Second).
		SetDefaultPublishHandler(func(paho.Client, paho.Message) {})
	c := paho.NewClient(opts)
	defer c.Disconnect(50)
	if err := wait(c.Connect(), 5*time.Second); err != nil {
		t.Fatalf("mqtttest: retained connect: %v", err)
	}
	if err := wait(c.Subscribe(sentinel, 1, func(paho.Client, paho.Message) {
		doneOnce.Do(func() { close(done) })
	}), 5*time.Second); err != nil {
		t.Fatalf("mqtttest: retained subscribe: %v", err)
	}
	if err := wait(c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		if !m.Retained() {
			return
		}
		mu.Lock()
		out[m.Topic()] = append([]byte(nil), m.Payload()...)
		mu.Unlock()
	}), 5*time.Second); err != nil {
		t.Fatalf("mqtttest: retained subscribe: %v", err)
	}
	// The broker sends retained messages right after SUBACK, before it
	// handles our next packet, so the sentinel arrives after all of them.
	if err := wait(c.Publish(sentinel, 1, false, []byte("x")), 5*time.Second); err != nil {
		t.Fatalf("mqtttest: retained sentinel: %v", err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("mqtttest: retained: sentinel never came back")
	}
	mu.Lock()
	defer mu.Unlock()
	return out
}

func wait(tok paho.Token, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return fmt.Errorf("no answer within %s", d)
	}
}

func toPahoURL(u string) string {
	if rest, ok := strings.CutPrefix(u, "mqtt://"); ok {
		return "tcp://" + rest
	}
	return u
}
