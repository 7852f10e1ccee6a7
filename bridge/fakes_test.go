package bridge

import (
	"context"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// fakeCloud is a hand-written Cloud for unit and synctest tests: it answers
// from fields and records when each method was called.
type fakeCloud struct {
	mu         sync.Mutex
	hs         *blink.Homescreen
	hsErr      func(n int) error // error for the n-th homescreen call (1-based), nil → ok
	media      []blink.Media
	mediaErr   error
	cmdErr     error
	session    bool
	reload     bool // ReloadTokens reports a new login
	hsCalls    []time.Time
	mediaCalls []time.Time
	cmds       []string
	cmdLog     []cmdCall
	refs       []blink.DeviceRef // device commands, in order
	cmdDelay   time.Duration     // each command takes this long (fake time in a bubble)
	stats      blink.Stats
}

type cmdCall struct {
	name       string
	net        int64
	start, end time.Time
}

func (f *fakeCloud) Homescreen(context.Context) (*blink.Homescreen, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hsCalls = append(f.hsCalls, time.Now())
	if f.hsErr != nil {
		if err := f.hsErr(len(f.hsCalls)); err != nil {
			return nil, err
		}
	}
	c := cloneHS(f.hs)
	return c, nil
}

func (f *fakeCloud) MediaChanged(context.Context, time.Time) ([]blink.Media, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mediaCalls = append(f.mediaCalls, time.Now())
	if f.mediaErr != nil {
		return nil, f.mediaErr
	}
	return append([]blink.Media(nil), f.media...), nil
}

func (f *fakeCloud) command(ctx context.Context, name string, net int64) (*blink.CommandResult, error) {
	start := time.Now()
	f.mu.Lock()
	delay, err := f.cmdDelay, f.cmdErr
	f.cmds = append(f.cmds, name)
	f.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	f.mu.Lock()
	f.cmdLog = append(f.cmdLog, cmdCall{name, net, start, time.Now()})
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &blink.CommandResult{}, nil
}

func (f *fakeCloud) Arm(ctx context.Context, n int64) (*blink.CommandResult, error) {
	return f.command(ctx, "arm", n)
}

func (f *fakeCloud) Disarm(ctx context.Context, n int64) (*blink.CommandResult, error) {
	return f.command(ctx, "disarm", n)
}

func (f *fakeCloud) SetMotionDetection(ctx context.Context, d blink.DeviceRef, on bool) (*blink.CommandResult, error) {
	f.noteRef(d)
	return f.command(ctx, "motion", d.NetworkID)
}

func (f *fakeCloud) RequestThumbnail(ctx context.Context, d blink.DeviceRef) (*blink.CommandResult, error) {
	f.noteRef(d)
	return f.command(ctx, "thumbnail", d.NetworkID)
}

func (f *fakeCloud) RecordClip(ctx context.Context, d blink.DeviceRef) (*blink.CommandResult, error) {
	f.noteRef(d)
	return f.command(ctx, "clip", d.NetworkID)
}

func (f *fakeCloud) noteRef(d blink.DeviceRef) {
	f.mu.Lock()
	f.refs = append(f.refs, d)
	f.mu.Unlock()
}

func (f *fakeCloud) deviceRefs() []blink.DeviceRef {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]blink.DeviceRef(nil), f.refs...)
}

func (f *fakeCloud) Download(context.Context, string, int64) ([]byte, string, error) {
	return []byte{0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3}, "image/jpeg", nil
}

func (f *fakeCloud) HasSession() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.session
}

func (f *fakeCloud) Session() blink.SessionInfo {
	return blink.SessionInfo{LoggedIn: true, AccountID: 1001, Tier: "e001"}
}

func (f *fakeCloud) Stats() blink.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

func (f *fakeCloud) ReloadTokens() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.reload
	f.reload = false
	return r, nil
}

func (f *fakeCloud) calls() (hs, media int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.hsCalls), len(f.mediaCalls)
}

func cloneHS(hs *blink.Homescreen) *blink.Homescreen {
	if hs == nil {
		return nil
	}
	c := *hs
	c.Networks = append([]blink.Network(nil), hs.Networks...)
	c.SyncModules = append([]blink.SyncModule(nil), hs.SyncModules...)
	c.Devices = append([]blink.Device(nil), hs.Devices...)
	return &c
}

// fakePub records publishes; its tokens are already complete.
type fakePub struct {
	mu   sync.Mutex
	msgs []pubMsg
	down bool
	// published is closed and replaced on every publish (waitUntil).
	published chan struct{}
}

type pubMsg struct {
	topic    string
	payload  string
	retained bool
	at       time.Time
}

func (p *fakePub) publish(topic string, qos byte, retained bool, payload []byte) paho.Token {
	p.mu.Lock()
	p.msgs = append(p.msgs, pubMsg{topic, string(payload), retained, time.Now()})
	if p.published != nil {
		close(p.published)
	}
	p.published = make(chan struct{})
	p.mu.Unlock()
	return doneToken{}
}

// waitUntil waits (at most 5 s) until cond holds, checking after every
// publish.
func (p *fakePub) waitUntil(t testing.TB, cond func() bool) {
	t.Helper()
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for {
		p.mu.Lock()
		if p.published == nil {
			p.published = make(chan struct{})
		}
		ch := p.published
		p.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-timeout.C:
			t.Fatal("condition not met within 5s of publishes")
		}
	}
}

func (p *fakePub) open() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.down
}

func (p *fakePub) last(topic string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.msgs) - 1; i >= 0; i-- {
		if p.msgs[i].topic == topic {
			return p.msgs[i].payload, true
		}
	}
	return "", false
}

func (p *fakePub) history(topic string) []pubMsg {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []pubMsg
	for _, m := range p.msgs {
		if m.topic == topic {
			out = append(out, m)
		}
	}
	return out
}

func (p *fakePub) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.msgs)
}

type doneToken struct{}

func (doneToken) Wait() bool                     { return true }
func (doneToken) WaitTimeout(time.Duration) bool { return true }
func (doneToken) Done() <-chan struct{}          { return closedCh }
func (doneToken) Error() error                   { return nil }

var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// testHomescreen is a small account: one armed network with a sync module,
// a camera with signals, a doorbell, and a standalone Mini.
func testHomescreen() *blink.Homescreen {
	temp, wifi, lfr, bat := 68, 4, 5, 3
	at := time.Date(2026, 3, 1, 17, 5, 12, 0, time.UTC)
	return &blink.Homescreen{
		AccountID: 1001,
		Networks: []blink.Network{
			{ID: 4321, Name: "Home", Armed: true, TimeZone: "Europe/Berlin", UpdatedAt: at},
			{ID: 4400, Name: "Mini", Armed: false, UpdatedAt: at},
		},
		SyncModules: []blink.SyncModule{
			{ID: 777, NetworkID: 4321, Name: "Sync", Serial: "S1", FirmwareVersion: "16.0", Type: "sm2", Status: "online", WiFiBars: 5, LocalStorageStatus: "active", LastHeartbeat: at},
		},
		Devices: []blink.Device{
			{ID: 555, NetworkID: 4321, Family: blink.FamilyCamera, Type: "catalina", Name: "Front Yard", Enabled: true, Status: "done", Battery: "ok",
				Thumbnail: "/api/v3/media/accounts/1001/networks/4321/catalina/555/thumbnail/thumbnail.jpg?ts=1772384712&ext=", UpdatedAt: at,
				Signals: &blink.Signals{TemperatureF: &temp, WiFiBars: &wifi, LFRBars: &lfr, BatteryBars: &bat, BatteryState: "ok", UpdatedAt: at}},
			{ID: 999, NetworkID: 4321, Family: blink.FamilyDoorbell, Type: "lotus", Name: "Front Door", Enabled: true, Status: "done", Battery: "low", UpdatedAt: at},
			{ID: 888, NetworkID: 4400, Family: blink.FamilyOwl, Type: "owl", Name: "Hallway", Enabled: false, Status: "online", UpdatedAt: at},
		},
	}
}

// newUnitBridge builds a bridge on fakes, ready to publish (as after
// OnConnect), without connecting anywhere.
func newUnitBridge(t testing.TB, c *fakeCloud, tweak func(*Options)) (*Bridge, *fakePub) {
	t.Helper()
	return newPubBridge(t, c, tweak)
}

// newPubBridge is newUnitBridge for any Cloud.
func newPubBridge(t testing.TB, c Cloud, tweak func(*Options)) (*Bridge, *fakePub) {
	t.Helper()
	o := Options{
		Cloud:             c,
		MQTT:              MQTTOptions{URL: "mqtt://127.0.0.1:1", ClientID: "unit"},
		Topics:            discovery.Topics{Root: "b2m"},
		Discovery:         true,
		PollInterval:      30 * time.Second,
		MediaPollInterval: 15 * time.Second,
		HoldTime:          30 * time.Second,
		StateDir:          t.TempDir(),
		Logger:            zerolog.Nop(),
	}
	if tweak != nil {
		tweak(&o)
	}
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakePub{}
	b.conn.setPublisher(p)
	ctx, cancel := context.WithCancel(context.Background())
	out, cancelOut := context.WithCancel(context.Background())
	var writer sync.WaitGroup
	b.writer.start(out, &writer)
	b.runner.start(ctx, &b.wg)
	var once sync.Once
	stop := func() { // as Bridge.start's stop
		once.Do(func() {
			b.runner.close()
			cancel()
			b.wg.Wait()
			cancelOut()
			writer.Wait()
		})
	}
	unitStops.Store(b, stop)
	t.Cleanup(stop)
	// As after OnConnect: the connection has its snapshot; the tests then
	// count from an empty record.
	b.writer.connected(out)
	p.mu.Lock()
	p.msgs = nil
	p.mu.Unlock()
	return b, p
}

// unitStops holds each unit bridge's stop function (stopUnit).
var unitStops sync.Map

// stopUnit ends the goroutines newUnitBridge started (a synctest bubble
// must end them before it returns).
func stopUnit(b *Bridge) {
	if f, ok := unitStops.Load(b); ok {
		f.(func())()
	}
}

func topicsRoot(root string) discovery.Topics { return discovery.Topics{Root: root} }
