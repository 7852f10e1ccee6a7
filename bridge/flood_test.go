package bridge

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// testMessage is an inbound MQTT message for calling onMessage directly.
type testMessage struct {
	topic    string
	payload  []byte
	retained bool
}

func (m testMessage) Duplicate() bool   { return false }
func (m testMessage) Qos() byte         { return 0 }
func (m testMessage) Retained() bool    { return m.retained }
func (m testMessage) Topic() string     { return m.topic }
func (m testMessage) MessageID() uint16 { return 0 }
func (m testMessage) Payload() []byte   { return m.payload }
func (m testMessage) Ack()              {}

// discoveryPublishes counts publishes under the discovery prefix.
func discoveryPublishes(p *fakePub) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, m := range p.msgs {
		if strings.HasPrefix(m.topic, discovery.DefaultPrefix+"/") {
			n++
		}
	}
	return n
}

// TestBirthFloodCoalesces sends 492 Home Assistant births in 10 s (what
// once made 105,288 publishes): they cost two republishes, the first a
// second after the burst began.
func TestBirthFloodCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeCloud{hs: testHomescreen(), session: true}
		b, p := newUnitBridge(t, c, nil)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		if err := b.pollHomescreen(ctx); err != nil {
			t.Fatal(err)
		}
		perRepublish := len(discovery.Build(b.writer.ledger.opts, testHomescreen()))
		before := discoveryPublishes(p)
		var wg sync.WaitGroup
		wg.Go(func() { b.runRepublisher(ctx) })
		birth := testMessage{topic: b.conn.birth, payload: []byte("online")}
		for range 492 {
			b.onMessage(nil, birth)
			time.Sleep(10 * time.Second / 492)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		got := discoveryPublishes(p) - before
		if got != 2*perRepublish {
			t.Errorf("492 births published %d discovery messages, want %d (two republishes of %d)", got, 2*perRepublish, perRepublish)
		}
		cancel()
		wg.Wait()
	})
}

// TestRediscoverFloodCoalesces: 100 rediscover requests at once are all
// answered, by at most two republishes.
func TestRediscoverFloodCoalesces(t *testing.T) {
	e := newEnv(t)
	perRepublish := len(e.retained(discovery.DefaultPrefix + "/#"))
	mark := e.rec.Mark()
	for i := range 100 {
		e.rec.Publish(t, e.topics.Request(OpRediscover), []byte(`{"transaction":`+id(int64(i))+`}`), false)
	}
	answered := map[string]bool{}
	for len(answered) < 100 {
		m := e.rec.WaitMatch(t, mark, "another rediscover answer", func(m mqtttest.Message) bool {
			return m.Topic == e.topics.Response(OpRediscover) && !answered[string(m.Payload)]
		})
		answered[string(m.Payload)] = true
	}
	configs := 0
	for _, m := range e.rec.Since(mark) {
		if strings.HasPrefix(m.Topic, discovery.DefaultPrefix+"/") {
			configs++
		}
	}
	if configs > 2*perRepublish {
		t.Errorf("100 rediscover requests published %d discovery messages, want at most %d (two republishes)", configs, 2*perRepublish)
	}
}

// TestRefreshFloodCoalesces sends refresh at 20/s for 30 s: every request
// is answered, and Blink sees at most one homescreen and one media poll per
// refresh floor (once 30 requests in 30 s).
func TestRefreshFloodCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeCloud{hs: testHomescreen(), session: true}
		b, p := newUnitBridge(t, c, func(o *Options) { o.refreshFloor = 0 })
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { b.runScheduler(ctx) })
		var answers int
		for i := range 600 {
			b.onMessage(nil, testMessage{topic: b.topics.Request(OpRefresh), payload: []byte(`{"transaction":` + id(int64(i)) + `}`)})
			time.Sleep(50 * time.Millisecond)
		}
		synctest.Wait()
		answers = len(p.history(b.topics.Response(OpRefresh)))
		hs, media := c.calls()
		cancel()
		wg.Wait()
		stopUnit(b)
		if answers != 600 {
			t.Errorf("%d of 600 refresh requests answered", answers)
		}
		// 30 s at a 15 s floor: polls at 0 s, 15 s (and one more at most
		// if a poll lands on the boundary).
		if hs > 3 || media > 3 {
			t.Errorf("600 refreshes in 30 s made %d homescreen and %d media calls, want at most 3 each", hs, media)
		}
		if hs < 2 {
			t.Errorf("%d homescreen polls: refreshes 15 s apart should still poll", hs)
		}
	})
}

// TestEmptyCommandPayloadIgnored: an empty payload on a request or …/set
// topic (how a retained message is cleared) runs nothing and is not
// answered.
func TestEmptyCommandPayloadIgnored(t *testing.T) {
	c := &fakeCloud{hs: testHomescreen(), session: true}
	b, p := newUnitBridge(t, c, nil)
	if err := b.pollHomescreen(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := p.count()
	for _, topic := range []string{
		b.topics.Request(OpArm),
		b.topics.Request(OpRefresh),
		b.topics.Request(OpAuthLogin),
		discovery.Set(b.topics.NetworkEntity(4321, discovery.EntityAlarm)),
		discovery.Set(b.topics.DeviceEntity(4321, 555, discovery.EntitySnapshot)),
	} {
		b.onMessage(nil, testMessage{topic: topic})
		b.onMessage(nil, testMessage{topic: topic, retained: true})
	}
	b.runner.mu.Lock()
	workers := len(b.runner.queues)
	b.runner.mu.Unlock()
	if workers != 0 || p.count() != before {
		t.Errorf("empty payloads started %d workers and published %d messages, want none", workers, p.count()-before)
	}
	if hs, _ := c.calls(); hs != 1 {
		t.Errorf("homescreen calls = %d, want 1 (the test's own)", hs)
	}
}
