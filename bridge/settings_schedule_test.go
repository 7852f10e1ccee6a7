package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/hatest"
)

// settingsFake is a fakeCloud that also reads and changes settings,
// recording each call and when.
type settingsFake struct {
	*fakeCloud
	mu    sync.Mutex
	calls []settingsCall
	fail  map[string]error // by call name ("device 555", "programs 4321", "notifications")
}

type settingsCall struct {
	what string
	at   time.Time
}

func newSettingsFake() *settingsFake {
	return &settingsFake{fakeCloud: &fakeCloud{hs: testHomescreen(), session: true}, fail: map[string]error{}}
}

func (f *settingsFake) note(what string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, settingsCall{what, time.Now()})
	return f.fail[what]
}

// count is how many calls of what were made since t.
func (f *settingsFake) count(what string, since time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if (what == "" || c.what == what) && !c.at.Before(since) {
			n++
		}
	}
	return n
}

func (f *settingsFake) DeviceSettings(_ context.Context, d blink.DeviceRef) (*blink.DeviceSettings, error) {
	if err := f.note(fmt.Sprintf("device %d", d.ID)); err != nil {
		return nil, err
	}
	return &blink.DeviceSettings{Settings: []blink.Setting{{Name: blink.SettingMotionSensitivity, Value: blink.NumberValue(5), Field: "motion_sensitivity"}}}, nil
}

func (f *settingsFake) UpdateSettings(_ context.Context, d blink.DeviceRef, _ []blink.SettingChange) (*blink.CommandResult, error) {
	return &blink.CommandResult{}, f.note(fmt.Sprintf("update %d", d.ID))
}

func (f *settingsFake) Programs(_ context.Context, net int64) ([]blink.Program, error) {
	if err := f.note(fmt.Sprintf("programs %d", net)); err != nil {
		return nil, err
	}
	return []blink.Program{{ID: 1, NetworkID: net, Name: "Nights"}}, nil
}

func (f *settingsFake) SetProgramEnabled(_ context.Context, net, _ int64, _ bool) error {
	return f.note(fmt.Sprintf("set program %d", net))
}

func (f *settingsFake) Notifications(context.Context) ([]blink.NotificationFlag, error) {
	if err := f.note("notifications"); err != nil {
		return nil, err
	}
	return []blink.NotificationFlag{{Name: "motion", On: true}}, nil
}

func (f *settingsFake) SetNotifications(context.Context, []blink.NotificationFlag) error {
	return f.note("set notifications")
}

// startSettings builds a unit bridge on f, runs the settings part and
// hands it the first homescreen; it returns when the first round is done.
func startSettings(t *testing.T, f *settingsFake, tweak func(*Options)) *Bridge {
	t.Helper()
	b, _ := newPubBridge(t, f, tweak)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.settings.run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	b.applyHomescreen(ctx, f.hs, time.Now())
	b.settings.noteHomescreen()
	<-b.settings.firstRound
	return b
}

// The unit account: 3 devices, 2 networks, the flags → 6 sources, so a
// cycle is stretched to 2 h to stay at one request per device per hour.
const unitSources, unitPeriod = 6, 2 * time.Hour

// TestSettingsFirstReadsSpread: after the first homescreen every source is
// read once, spacing apart; then nothing until the period is over, and
// then each source once more.
func TestSettingsFirstReadsSpread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newSettingsFake()
		start := time.Now()
		startSettings(t, f, nil)
		if n := f.count("", start); n != unitSources {
			t.Fatalf("%d reads in the first round, want %d", n, unitSources)
		}
		f.mu.Lock()
		calls := append([]settingsCall(nil), f.calls...)
		f.mu.Unlock()
		for i := 1; i < len(calls); i++ {
			if gap := calls[i].at.Sub(calls[i-1].at); gap < defaultSettingsSpacing {
				t.Errorf("reads %d and %d %s apart, want at least %s", i-1, i, gap, defaultSettingsSpacing)
			}
		}
		time.Sleep(unitPeriod - time.Minute)
		synctest.Wait()
		if n := f.count("", start); n != unitSources {
			t.Errorf("%d reads before the period is over, want still %d", n, unitSources)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if n := f.count("", start); n != 2*unitSources {
			t.Errorf("%d reads after one period, want %d", n, 2*unitSources)
		}
		for _, c := range calls {
			if n := f.count(c.what, start); n != 2 {
				t.Errorf("%s read %d times in one period, want 2", c.what, n)
			}
		}
	})
}

// TestSettingsRediscoverFloor: a rediscover re-reads every source, a flood
// of them at most once per floor.
func TestSettingsRediscoverFloor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newSettingsFake()
		b := startSettings(t, f, nil)
		time.Sleep(time.Second) // the last first read happened at this instant
		mark := time.Now()
		b.settings.rediscover() // right after the first reads: within the floor
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := f.count("", mark); n != 0 {
			t.Fatalf("%d reads for a rediscover within the floor, want 0", n)
		}
		time.Sleep(defaultSettingsFloor)
		mark = time.Now()
		for range 50 {
			b.settings.rediscover()
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if n := f.count("", mark); n != unitSources {
			t.Errorf("a flood of 50 rediscovers made %d reads, want one per source (%d)", n, unitSources)
		}
	})
}

// TestSettingsReadFailureBacksOff: a failing read is retried after 5, 10,
// 20… minutes, never more often, and the others go on.
func TestSettingsReadFailureBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newSettingsFake()
		f.fail["device 555"] = &blink.StatusError{Op: "GET /network/{net}/camera/{cam}/config", Code: 503}
		start := time.Now()
		startSettings(t, f, nil)
		time.Sleep(36 * time.Minute)
		synctest.Wait()
		// 0, 5, 15 (5+10), 35 (15+20) minutes.
		if n := f.count("device 555", start); n != 4 {
			t.Errorf("%d tries of the failing read in 36 min, want 4", n)
		}
		if n := f.count("device 999", start); n != 1 {
			t.Errorf("another device read %d times, want once", n)
		}
	})
}

// TestSettingsWaitForLogin: while Blink needs a new login nothing is read.
func TestSettingsWaitForLogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newSettingsFake()
		b, _ := newPubBridge(t, f, nil)
		b.model.setAuth(AuthReauthRequired, "log in")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { b.settings.run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		b.applyHomescreen(ctx, f.hs, time.Now())
		b.settings.noteHomescreen()
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := f.count("", time.Time{}); n != 0 {
			t.Fatalf("%d reads without a usable login", n)
		}
		b.model.setAuth(AuthOK, "")
		<-b.settings.firstRound
		if n := f.count("", time.Time{}); n != unitSources {
			t.Errorf("%d reads after the login came back, want %d", n, unitSources)
		}
	})
}

// TestSettingsChangeReadCountsAsRead: a change reads its device back; the
// scheduled read of that device then waits a full period from there.
func TestSettingsChangeReadCountsAsRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newSettingsFake()
		start := time.Now()
		b := startSettings(t, f, nil)
		time.Sleep(time.Hour)
		dev := f.hs.Devices[0]
		req := &request{op: OpSettings, device: dev.ID, network: dev.NetworkID, dev: dev,
			changes: []settingChange{{name: blink.SettingMotionSensitivity, value: blink.NumberValue(7)}}}
		if _, err := b.settings.execute(t.Context(), req); err != nil {
			t.Fatal(err)
		}
		changed := time.Now()
		if n := f.count("device 555", changed); n != 1 {
			t.Fatalf("%d reads after the change, want 1", n)
		}
		time.Sleep(unitPeriod - 30*time.Minute) // past the first read's period, not the change's
		synctest.Wait()
		if n := f.count("device 555", start); n != 2 {
			t.Errorf("device read %d times, want 2 (first round and the change's)", n)
		}
		if n := f.count("device 999", start); n != 2 {
			t.Errorf("other device read %d times, want 2", n)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if n := f.count("device 555", start); n != 3 {
			t.Errorf("device read %d times a period after the change, want 3", n)
		}
	})
}

// TestSettingsForgetsDevicesThatLeft: a device gone from homescreen loses
// its settings (and so its entities); it is not read any more.
func TestSettingsForgetsDevicesThatLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newSettingsFake()
		b := startSettings(t, f, nil)
		k := discovery.KeyOf(f.hs.Devices[1])
		if _, ok := b.settings.state().devices[k]; !ok {
			t.Fatal("no settings of the doorbell after the first round")
		}
		seq := b.settings.state().shapeSeq
		hs := cloneHS(f.hs)
		hs.Devices = append(hs.Devices[:1], hs.Devices[2:]...)
		b.applyHomescreen(t.Context(), hs, time.Now())
		b.settings.noteHomescreen()
		synctest.Wait()
		st := b.settings.state()
		if _, ok := st.devices[k]; ok || st.shapeSeq == seq || len(st.extras.Settings[k]) != 0 {
			t.Errorf("the doorbell that left is still known (shape %d → %d)", seq, st.shapeSeq)
		}
		mark := time.Now()
		time.Sleep(3 * unitPeriod)
		synctest.Wait()
		if n := f.count("device 999", mark); n != 0 {
			t.Errorf("the doorbell that left was read %d times", n)
		}
	})
}

// TestSettingsIdleWithoutClient: a Cloud that cannot read settings leaves
// the part idle and answers the ops plainly.
func TestSettingsIdleWithoutClient(t *testing.T) {
	b, _ := newUnitBridge(t, &fakeCloud{hs: testHomescreen(), session: true}, nil)
	_, err := b.settings.execute(t.Context(), &request{op: OpNotifications})
	if !errors.Is(err, errSettingsUnavailable) {
		t.Errorf("err = %v", err)
	}
}

// FuzzSettingsFile: whatever STATE_DIR/settings.json holds, every settings
// state the bridge would publish is one Home Assistant accepts on the
// entity discovery declares for it, and what it writes back keeps the shape.
func FuzzSettingsFile(f *testing.F) {
	good := fileOf(&settingsState{
		devices: map[devKey]deviceRead{{Network: 4321, Family: blink.FamilyCamera, ID: 555}: {s: &blink.DeviceSettings{
			Settings: []blink.Setting{{Name: blink.SettingMotionSensitivity, Value: blink.NumberValue(7)}, {Name: blink.SettingNightVision, Value: blink.ChoiceValue("auto")}}}}},
		programs: map[int64]programsRead{4321: {list: []blink.Program{{ID: 5, Name: "Nights", Enabled: true}}}},
		notify:   &notifyRead{flags: []blink.NotificationFlag{{Name: "motion", On: true}}},
	})
	data, _ := json.Marshal(good)
	f.Add(data)
	f.Add([]byte(`{"version":1,"devices":{"4321/camera/555":{"settings":[{"name":"motion_sensitivity","value":99},{"name":"video_quality","value":"ultra"}]},"x":{},"4321/sync_module/777":{"settings":[]}}}`))
	f.Add([]byte(`{"version":1,"programs":{"4321":[{"ID":-1},{"ID":7,"Name":"\n"}],"0":[]},"has_notifications":true,"notifications":[{"Name":"Bad Name"}]}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[`))
	topics := discovery.Topics{Root: "b2m"}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), settingsFileName)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		file, err := loadSettingsFile(path)
		if err != nil || file == nil {
			return // the bridge logs it and starts without
		}
		st := file.state()
		st.reshape(nil)
		hs := testHomescreen()
		configs := discovery.BuildWith(discovery.Options{Topics: topics}, hs, st.extras)
		v := testView(hs)
		v.settings = st
		contract := hatest.StateContract(configs)
		for topic, payload := range desiredState(topics, discovery.Caps, v) {
			if check, ok := contract[topic]; ok {
				if err := check([]byte(payload)); err != nil {
					t.Errorf("%s = %q: %v", topic, payload, err)
				}
			}
		}
		// What the bridge writes back reads as the same shape.
		again, _ := json.Marshal(fileOf(st))
		if err := os.WriteFile(path, again, 0o600); err != nil {
			t.Fatal(err)
		}
		back, err := loadSettingsFile(path)
		if err != nil {
			t.Fatalf("the bridge's own file does not load: %v", err)
		}
		st2 := back.state()
		st2.reshape(nil)
		if st2.shapeKey != st.shapeKey {
			t.Fatalf("shape changed through the file:\n%s\n%s", st.shapeKey, st2.shapeKey)
		}
	})
}
