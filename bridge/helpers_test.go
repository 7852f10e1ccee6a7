package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// env is one end-to-end setup: the fake Blink cloud, the real client, an
// in-process broker, a recorder subscribed to everything, and the bridge.
type env struct {
	t        testing.TB
	fake     *blinkfake.Server
	client   *blink.Client
	broker   *mqtttest.Broker
	url      string
	rec      *mqtttest.Recorder
	topics   discovery.Topics
	stateDir string
	opts     Options

	bridge *Bridge
	cancel context.CancelFunc
	done   chan error
	// logs holds every log line of the bridge (not the client).
	logs *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type envConfig struct {
	fake     blinkfake.Config
	url      string // broker URL; "" starts an in-process broker
	broker   *mqtttest.Broker
	stateDir string
	client   func(*blink.Options)
	bridge   func(*Options)
}

type envOpt func(*envConfig)

func withFake(c blinkfake.Config) envOpt       { return func(e *envConfig) { e.fake = c } }
func withBroker(url string) envOpt             { return func(e *envConfig) { e.url = url } }
func withBrokerOf(b *mqtttest.Broker) envOpt   { return func(e *envConfig) { e.broker = b } }
func withStateDir(dir string) envOpt           { return func(e *envConfig) { e.stateDir = dir } }
func withOptions(f func(*Options)) envOpt      { return func(e *envConfig) { e.bridge = f } }
func withClient(f func(*blink.Options)) envOpt { return func(e *envConfig) { e.client = f } }

func testLogger(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).With().Timestamp().Logger()
}

// newEnv builds everything and starts the bridge; it is ready when the
// bridge said online and published the first network's alarm state.
func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	var cfg envConfig
	for _, o := range opts {
		o(&cfg)
	}
	e := &env{t: t, topics: discovery.Topics{Root: "blink2mqtt"}, logs: &syncBuffer{}}
	e.fake = blinkfake.New(t, cfg.fake)
	e.client = newFakeClient(t, e.fake, cfg.client)
	e.url = cfg.url
	if cfg.broker != nil {
		e.broker, e.url = cfg.broker, cfg.broker.URL()
	}
	if e.url == "" {
		e.broker = mqtttest.StartBroker(t)
		e.url = e.broker.URL()
	}
	if e.broker != nil {
		e.rec = mqtttest.NewBrokerRecorder(t, e.broker, "#")
	} else {
		e.rec = mqtttest.NewRecorder(t, e.url, "#")
	}
	e.stateDir = cfg.stateDir
	if e.stateDir == "" {
		e.stateDir = t.TempDir()
	}
	e.opts = Options{
		Cloud:             e.client,
		MQTT:              MQTTOptions{URL: e.url, ClientID: "bridge-test", MaxReconnectInterval: 200 * time.Millisecond, ConnectRetryInterval: 100 * time.Millisecond},
		Topics:            e.topics,
		Discovery:         true,
		PollInterval:      time.Hour, // tests poll with refresh, never by the clock
		MediaPollInterval: time.Hour,
		HoldTime:          time.Hour,
		CommandSpacing:    time.Millisecond,
		StateDir:          e.stateDir,
		refreshFloor:      -1, // tests poll with refresh requests
		settingsSpacing:   time.Millisecond,
		Logger:            zerolog.New(io.MultiWriter(zerolog.NewTestWriter(t), e.logs)).With().Timestamp().Logger(),
		Version:           "test",
	}
	if cfg.bridge != nil {
		cfg.bridge(&e.opts)
	}
	e.start()
	return e
}

func newFakeClient(t testing.TB, fake *blinkfake.Server, tweak func(*blink.Options)) *blink.Client {
	t.Helper()
	store := &blink.MemoryTokenStore{}
	access, refresh, exp := fake.IssueTokens()
	if err := store.Save(blink.Tokens{
		AccessToken: blink.Secret(access), RefreshToken: blink.Secret(refresh), ExpiresAt: exp,
		Tier: fake.Config().Tier, AccountID: fake.AccountID(),
		HardwareID: "0b6a1c2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b",
	}); err != nil {
		t.Fatal(err)
	}
	o := blink.Options{
		OAuthURL:            fake.OAuthURL(),
		RESTURL:             fake.RESTURL(),
		Limiter:             rate.NewLimiter(rate.Inf, 1),
		Store:               store,
		Logger:              testLogger(t).With().Str("component", "blink").Logger(),
		CommandPollInterval: 10 * time.Millisecond,
		BusyRetryFor:        300 * time.Millisecond,
		MaxRetries:          -1,
	}
	if tweak != nil {
		tweak(&o)
	}
	c, err := blink.New(o)
	if err != nil {
		t.Fatalf("blink.New: %v", err)
	}
	return c
}

// start runs a new bridge with e.opts and waits until it is ready.
func (e *env) start() {
	e.t.Helper()
	mark := e.rec.Mark()
	b, err := New(e.opts)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.bridge, e.cancel, e.done = b, cancel, make(chan error, 1)
	go func() { e.done <- b.Run(ctx) }()
	e.t.Cleanup(e.stop)
	e.rec.WaitForAfter(e.t, mark, e.topics.BridgeState(), mqtttest.Equals("online"))
	if nets := e.fake.Networks(); len(nets) > 0 {
		e.rec.WaitForAfter(e.t, mark, e.alarmTopic(nets[0].ID), mqtttest.Any)
		// The first settings reads follow the first homescreen; tests
		// start once they are published.
		select {
		case <-b.settings.firstRound:
		case <-time.After(10 * time.Second):
			e.t.Fatal("the first settings reads did not finish within 10s")
		}
	}
	// The answer to a refresh comes after the start-up publishing is done,
	// so tests that count messages start from a quiet bridge.
	e.request(OpRefresh, map[string]any{})
}

// stop ends the bridge and checks Run returned within 5 s.
func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		e.t.Errorf("Run did not return within 5s of cancel")
	}
}

func (e *env) alarmTopic(net int64) string {
	return e.topics.NetworkEntity(net, discovery.EntityAlarm)
}

func (e *env) devTopic(d blinkfake.Device, key string) string {
	return e.topics.DeviceEntity(d.NetworkID, d.ID, key)
}

// request publishes a request and returns its response.
func (e *env) request(op string, body any) map[string]any {
	e.t.Helper()
	var payload []byte
	switch v := body.(type) {
	case string:
		payload = []byte(v)
	case []byte:
		payload = v
	default:
		var err error
		if payload, err = json.Marshal(v); err != nil {
			e.t.Fatal(err)
		}
	}
	mark := e.rec.Mark()
	e.rec.Publish(e.t, e.topics.Request(op), payload, false)
	m := e.rec.WaitForAfter(e.t, mark, e.topics.Response(op), mqtttest.Any)
	var resp map[string]any
	if err := json.Unmarshal(m.Payload, &resp); err != nil {
		e.t.Fatalf("response on %s is not JSON: %q", m.Topic, m.Payload)
	}
	return resp
}

// set publishes an HA command on a …/set topic.
func (e *env) set(stateTopic, payload string) {
	e.t.Helper()
	e.rec.Publish(e.t, discovery.Set(stateTopic), []byte(payload), false)
}

func deviceOf(t testing.TB, fake *blinkfake.Server, f blink.Family) blinkfake.Device {
	t.Helper()
	for _, d := range fake.DevicesOf(f) {
		if n, ok := fake.Network(d.NetworkID); ok && n.SyncModule != nil {
			return d
		}
	}
	ds := fake.DevicesOf(f)
	if len(ds) == 0 {
		t.Fatalf("fake account has no %s", f)
	}
	return ds[0]
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// retained returns the retained messages matching filter: from the broker's
// store for the in-process broker, through a subscription otherwise.
func (e *env) retained(filter string) map[string][]byte {
	e.t.Helper()
	if e.broker != nil {
		return e.broker.RetainedMessages(filter)
	}
	return mqtttest.Retained(e.t, e.url, filter)
}

// waitRepublished waits until every state topic the bridge holds has been
// published again after mark (a reconnect or HA birth republishes all).
func (e *env) waitRepublished(mark int) {
	e.t.Helper()
	b := e.bridge
	var topics []string
	for topic, p := range desiredState(b.topics, discovery.Caps, b.model.view(b.opts.Now())) {
		if p != "" && topic != b.topics.BridgeInfo() { // bridge/info is rebuilt by the writer
			topics = append(topics, topic)
		}
	}
	for k := range b.thumbs.images() { // republished with the state
		topics = append(topics, b.writer.imageTopic(k))
	}
	for _, topic := range topics {
		e.rec.WaitForAfter(e.t, mark, topic, mqtttest.Any)
	}
}
