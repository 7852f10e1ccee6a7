package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// The USB account: "Home" (armed) and "Cabin" (disarmed) have a Sync
// Module 2 with a USB stick; "Shop" (armed) has none; "Paid" (armed) has a
// stick and a subscription, so its clips go to the cloud.
const (
	usbHome, usbCabin, usbShop, usbPaid = 5001, 5002, 5003, 5004
	usbHomeSM, usbCabinSM, usbPaidSM    = 7001, 7002, 7004
	camBackDoor, camPorch, camGate      = 6001, 6002, 6004
)

func usbAccount() *blinkfake.Account {
	usb := func(id int64) *blinkfake.SyncModule {
		return &blinkfake.SyncModule{ID: id, LocalStorageStatus: "active"}
	}
	return &blinkfake.Account{
		Networks: []blinkfake.Network{
			{ID: usbHome, Name: "Home", Armed: true, SyncModule: usb(usbHomeSM)},
			{ID: usbCabin, Name: "Cabin", SyncModule: usb(usbCabinSM)},
			{ID: usbShop, Name: "Shop", Armed: true, SyncModule: &blinkfake.SyncModule{ID: 7003}},
			{ID: usbPaid, Name: "Paid", Armed: true, Subscription: true, SyncModule: usb(usbPaidSM)},
		},
		Devices: []blinkfake.Device{
			{ID: camBackDoor, NetworkID: usbHome, Name: "Back Door", Enabled: true},
			{ID: 6011, NetworkID: usbHome, Name: "Side Gate", Enabled: true},
			{ID: 6012, NetworkID: usbHome, Name: "Side-Gate", Type: "owl", Family: "owl", Enabled: true},
			{ID: camPorch, NetworkID: usbCabin, Name: "Porch", Enabled: true},
			{ID: 6003, NetworkID: usbShop, Name: "Shed", Enabled: true},
			{ID: camGate, NetworkID: usbPaid, Name: "Gate", Enabled: true},
		},
	}
}

// newUSBEnv is newEnv on the USB account, checking USB storage every
// 100 ms with short retries; tweak adjusts the options further.
func newUSBEnv(t *testing.T, cfg blinkfake.Config, tweak func(*Options), opts ...envOpt) *env {
	t.Helper()
	cfg.Account = usbAccount()
	cfg.MotionRequiresArmed = true
	return newEnv(t, append([]envOpt{withFake(cfg), withOptions(func(o *Options) {
		o.LocalStorageInterval = 100 * time.Millisecond
		o.localRetryBase = 10 * time.Millisecond
		if tweak != nil {
			tweak(o)
		}
	})}, opts...)...)
}

// waitManifestReads waits until the fake answered n more reads of network's
// manifest than it had when called: a check of that network that started
// after the call has read its manifest and, by the next read, published
// what it found. (Reads of other networks do not count: one network's
// checks can stall while another's go on.)
func (e *env) waitManifestReads(network int64, n int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	since := e.fake.Config().Now()
	err := e.fake.WaitFor(ctx, func() bool {
		return requestsOn(e.fake, network, func(r blinkfake.Request) bool {
			return r.Endpoint == blinkfake.EpLocalManifest && r.Time.After(since)
		}) >= n
	})
	if err != nil {
		e.t.Fatalf("waiting for %d more reads of network %d's manifest: %v", n, network, err)
	}
}

// leaveManifestRequest asks for network's manifest as a bridge stopped
// mid-check had: the command is submitted and never polled.
func (e *env) leaveManifestRequest(network, sm int64) {
	e.t.Helper()
	access, _, _ := e.fake.IssueTokens()
	url := fmt.Sprintf("%s/api/v1/accounts/%d/networks/%d/sync_modules/%d/local_storage/manifest/request",
		e.fake.RESTBase(e.fake.Config().Tier), e.fake.AccountID(), network, sm)
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("manifest request: %d %s", resp.StatusCode, body)
	}
}

// localEvents returns the local-storage events published after mark.
func (e *env) localEvents(mark int) []eventPayload {
	e.t.Helper()
	var out []eventPayload
	for _, m := range e.rec.Since(mark) {
		if m.Topic != e.topics.Events() {
			continue
		}
		var ev eventPayload
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			e.t.Fatalf("event %s: %v", m.Payload, err)
		}
		if ev.Storage == storageLocal {
			out = append(out, ev)
		}
	}
	return out
}

// localRequests counts the fake's local-storage requests for network since
// a time.
func localRequests(fake *blinkfake.Server, network int64, since time.Time) int {
	return requestsOn(fake, network, func(r blinkfake.Request) bool {
		return strings.HasPrefix(r.Endpoint, "local_") && !r.Time.Before(since)
	})
}

// requestsOn counts the fake's requests about network that keep accepts.
func requestsOn(fake *blinkfake.Server, network int64, keep func(blinkfake.Request) bool) int {
	path := "/networks/" + strconv.FormatInt(network, 10) + "/"
	n := 0
	for _, r := range fake.Requests() {
		if strings.Contains(r.Path, path) && keep(r) {
			n++
		}
	}
	return n
}

func TestE2ELocalStorageMotion(t *testing.T) {
	e := newUSBEnv(t, blinkfake.Config{}, nil)
	d, _ := e.fake.Device(camBackDoor)
	motion := e.devTopic(d, discovery.EntityMotion)
	e.rec.WaitFor(t, motion, mqtttest.Equals(discovery.Off))
	e.waitManifestReads(usbHome, 1)

	mark := e.rec.Mark()
	if m := e.fake.TriggerMotion(camBackDoor, "pir"); m.ID != 0 {
		t.Fatalf("the fake put the clip in the cloud feed (%+v)", m)
	}
	clip := e.fake.LocalClips(usbHome)[0]
	msg := e.rec.WaitForAfter(t, mark, e.topics.Events(), mqtttest.Contains(`"storage":"local"`))
	var got eventPayload
	if err := json.Unmarshal(msg.Payload, &got); err != nil {
		t.Fatal(err)
	}
	if got.LocalID != strconv.FormatInt(clip.ID, 10) || got.Type != discovery.EventMotion || got.NetworkID != usbHome ||
		got.DeviceID != camBackDoor || got.DeviceName != "Back Door" || got.CreatedAt == nil || !got.CreatedAt.Equal(clip.CreatedAt) ||
		got.Clip != "" || !strings.Contains(string(msg.Payload), `"id":"`+strconv.FormatInt(clip.ID, 10)+`"`) ||
		!strings.Contains(string(msg.Payload), `"clip":null`) {
		t.Fatalf("event %s; want local clip %+v of camera %d", msg.Payload, clip, camBackDoor)
	}
	e.rec.WaitForAfter(t, mark, motion, mqtttest.Equals(discovery.On))
	e.rec.WaitForAfter(t, mark, e.devTopic(d, discovery.EntityEvent), mqtttest.Equals(`{"event_type":"motion"}`))
	e.rec.WaitForAfter(t, mark, e.devTopic(d, discovery.EntityLastEvent), mqtttest.Equals(clip.CreatedAt.UTC().Format(time.RFC3339)))

	// The sync module's diagnostic: when it was last checked, and the
	// number of clips in its manifest (in the attributes).
	checked := e.topics.DeviceEntity(usbHome, usbHomeSM, discovery.EntityLocalStorageChecked)
	m := e.rec.WaitForAfter(t, mark, checked, mqtttest.Any)
	if at, err := time.Parse(time.RFC3339, string(m.Payload)); err != nil || time.Since(at) > time.Minute {
		t.Errorf("%s = %q, want a recent RFC 3339 time", checked, m.Payload)
	}
	e.rec.WaitForAfter(t, mark, e.topics.DeviceEntity(usbHome, usbHomeSM, discovery.EntityAttributes),
		mqtttest.Contains(`"local_storage_clips":1`))
	cfgTopic := discovery.DefaultPrefix + "/sensor/" + discovery.SyncModuleDeviceID(usbHomeSM) + "/" + discovery.EntityLocalStorageChecked + "/config"
	if got := e.retained(cfgTopic); len(got[cfgTopic]) == 0 {
		t.Errorf("no discovery config on %s", cfgTopic)
	}

	e.waitManifestReads(usbHome, 2)
	if evs := e.localEvents(mark); len(evs) != 1 {
		t.Errorf("%d local events for one clip, want 1", len(evs))
	}
	if got := e.retained(e.topics.Events()); len(got) != 0 {
		t.Errorf("event retained")
	}
	// The status page's last events list it like a cloud clip.
	if evs := e.bridge.Status().Events; len(evs) == 0 || evs[0].Storage != storageLocal || evs[0].DeviceID != camBackDoor {
		t.Errorf("recent events %+v, want the local clip first", evs)
	}
}

// TestE2ELocalStorageOnlyArmedNetworks: a disarmed network, a network
// without a stick and LOCAL_STORAGE=off cost no local-storage request.
func TestE2ELocalStorageOnlyArmedNetworks(t *testing.T) {
	t.Run("disarmed and without a stick", func(t *testing.T) {
		start := time.Now()
		e := newUSBEnv(t, blinkfake.Config{}, nil)
		e.waitManifestReads(usbHome, 5)
		for _, net := range []int64{usbCabin, usbShop} {
			if n := localRequests(e.fake, net, start); n != 0 {
				t.Errorf("network %d: %d local storage requests, want 0", net, n)
			}
		}
		// (the subscribed network is checked too until its first cloud clip)
		if n := localRequests(e.fake, usbHome, start); n < 6 {
			t.Errorf("armed network: only %d local storage requests", n)
		}
	})
	t.Run("LOCAL_STORAGE=off", func(t *testing.T) {
		e := newUSBEnv(t, blinkfake.Config{}, func(o *Options) { o.LocalStorageOff = true })
		e.fake.TriggerMotion(camBackDoor, "pir")
		for range 3 {
			e.request(OpRefresh, map[string]any{})
		}
		for name, n := range e.fake.Counts() {
			if strings.HasPrefix(name, "local_") && n > 0 {
				t.Errorf("%d %s requests with LOCAL_STORAGE=off", n, name)
			}
		}
		topic := e.topics.DeviceEntity(usbHome, usbHomeSM, discovery.EntityLocalStorageChecked)
		if n := e.rec.Count(0, topic); n != 0 {
			t.Errorf("%s published with LOCAL_STORAGE=off", topic)
		}
	})
}

// TestE2ELocalStorageBusyAndNotReady: 409 busy on the manifest request and
// "not ready" (400 text, 200 text) on the manifest are retried within the
// check; the clip is published once and no check fails.
func TestE2ELocalStorageBusyAndNotReady(t *testing.T) {
	e := newUSBEnv(t, blinkfake.Config{LocalManifestNotReady: 1}, nil)
	e.waitManifestReads(usbHome, 1)
	mark := e.rec.Mark()
	e.fake.Inject(blinkfake.Fault{Endpoint: blinkfake.EpLocalManifestRequest, Status: 409, Count: 2})
	e.fake.Inject(blinkfake.Fault{Endpoint: blinkfake.EpLocalManifest, Status: 400, Body: "Manifest not ready"})
	e.fake.TriggerMotion(camBackDoor, "pir")
	e.rec.WaitForAfter(t, mark, e.topics.Events(), mqtttest.Contains(`"storage":"local"`))
	e.waitManifestReads(usbHome, 4)
	if n := e.fake.PendingFaults(); n != 0 {
		t.Errorf("%d faults never hit", n)
	}
	if evs := e.localEvents(mark); len(evs) != 1 {
		t.Errorf("%d local events, want 1", len(evs))
	}
	if strings.Contains(e.logs.String(), "local storage check failed") {
		t.Errorf("a check failed instead of retrying:\n%s", e.logs.String())
	}
}

// TestE2ELocalStorageRebuildAndRestartDoNotReplay: a manifest rebuild gives
// every clip a new id and a restart forgets everything but the state
// directory; neither publishes a clip again, and a new clip after both is
// published once. The stopped bridge left a manifest request under way (as
// a restart mid-check does): the sync module is busy with it until Blink
// ends it, and the new bridge's checks get through after that.
func TestE2ELocalStorageRebuildAndRestartDoNotReplay(t *testing.T) {
	e := newUSBEnv(t, blinkfake.Config{CommandLifetime: time.Second}, nil, withStateDir(t.TempDir()))
	mark := e.rec.Mark()
	e.fake.TriggerMotion(camBackDoor, "pir")
	e.rec.WaitForAfter(t, mark, e.topics.Events(), mqtttest.Contains(`"storage":"local"`))
	before := e.fake.LocalClips(usbHome)[0]

	if err := e.fake.RebuildLocalManifest(usbHome); err != nil {
		t.Fatal(err)
	}
	if after := e.fake.LocalClips(usbHome)[0]; after.ID == before.ID {
		t.Fatal("the rebuild kept the clip id")
	}
	e.waitManifestReads(usbHome, 2)
	if evs := e.localEvents(mark); len(evs) != 1 {
		t.Fatalf("%d local events after a rebuild, want 1", len(evs))
	}

	e.stop()
	e.leaveManifestRequest(usbHome, usbHomeSM)
	mark = e.rec.Mark()
	e.start()
	e.waitManifestReads(usbHome, 2)
	if evs := e.localEvents(mark); len(evs) != 0 {
		t.Fatalf("%d local events replayed after a restart: %+v", len(evs), evs)
	}

	e.fake.TriggerMotion(camBackDoor, "pir")
	clips := e.fake.LocalClips(usbHome)
	newest := strconv.FormatInt(clips[len(clips)-1].ID, 10)
	e.rec.WaitForAfter(t, mark, e.topics.Events(), mqtttest.Contains(`"id":"`+newest+`"`))
	e.waitManifestReads(usbHome, 2)
	if evs := e.localEvents(mark); len(evs) != 1 || evs[0].LocalID != newest {
		t.Errorf("after rebuild and restart: %+v, want only clip %s", evs, newest)
	}
}

// TestE2ELocalStorageBrokerOutage: a clip recorded while the broker is down
// is published once, when it is back; no check runs meanwhile.
func TestE2ELocalStorageBrokerOutage(t *testing.T) {
	e := newUSBEnv(t, blinkfake.Config{}, func(o *Options) { o.PollInterval = 20 * time.Millisecond })
	e.waitManifestReads(usbHome, 1)
	mark := e.rec.Mark()
	e.broker.Stop()
	e.fake.TriggerMotion(camBackDoor, "pir")
	clip := e.fake.LocalClips(usbHome)[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Many homescreen polls while the broker is down.
	if err := e.fake.WaitCount(ctx, blinkfake.EpHomescreen, e.fake.Count(blinkfake.EpHomescreen)+10); err != nil {
		t.Fatal(err)
	}
	e.broker.Start(t)
	e.rec.WaitForAfter(t, mark, e.topics.Events(), mqtttest.Contains(`"id":"`+strconv.FormatInt(clip.ID, 10)+`"`))
	e.waitManifestReads(usbHome, 2)
	if evs := e.localEvents(mark); len(evs) != 1 {
		t.Errorf("%d local events for a clip from the outage, want 1", len(evs))
	}
}

// TestE2ELocalStorageClipSaved: with MEDIA_DIR the clip is uploaded by the
// sync module and downloaded, then saved whole under the cloud clips'
// naming; the event waits for it. (Retries of cut-off and not-yet-uploaded
// downloads: TestLocalClipRetries.)
func TestE2ELocalStorageClipSaved(t *testing.T) {
	dir := t.TempDir()
	e := newUSBEnv(t, blinkfake.Config{}, func(o *Options) { o.MediaDir = dir })
	e.waitManifestReads(usbHome, 1)
	mark := e.rec.Mark()
	e.fake.TriggerMotion(camBackDoor, "pir")
	clip := e.fake.LocalClips(usbHome)[0]
	msg := e.rec.WaitForAfter(t, mark, e.topics.Events(), mqtttest.Contains(`"storage":"local"`))
	var got eventPayload
	if err := json.Unmarshal(msg.Payload, &got); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, id(usbHome), id(camBackDoor), clip.CreatedAt.UTC().Format(clipTimeFmt)+"_"+id(clip.ID)+".mp4")
	if got.Clip != want {
		t.Fatalf("event clip %q, want %q", got.Clip, want)
	}
	data, err := os.ReadFile(want)
	if err != nil || !bytes.Equal(data, blinkfake.LocalClipMP4(clip)) {
		t.Fatalf("saved clip: %d bytes (%v), want the clip's %d", len(data), err, len(blinkfake.LocalClipMP4(clip)))
	}
	if st, _ := os.Stat(want); st.Mode().Perm() != 0o640 {
		t.Errorf("clip mode %v, want 0640", st.Mode().Perm())
	}
	noTempFiles(t, dir)
	if got.DeviceID != camBackDoor || !bytes.Contains(msg.Payload, []byte(`"clip":"`+want+`"`)) {
		t.Errorf("event %s", msg.Payload)
	}
	e.waitManifestReads(usbHome, 2)
	for ep, n := range map[string]int{blinkfake.EpLocalClipRequest: 1, blinkfake.EpLocalClip: 1} {
		if got := e.fake.Count(ep); got != n {
			t.Errorf("%d %s requests, want %d", got, ep, n)
		}
	}
}

// TestE2ELocalStorageUnknownCamera: a clip whose camera name matches no
// device, or two, is published with device_id null, logged once per name.
func TestE2ELocalStorageUnknownCamera(t *testing.T) {
	e := newUSBEnv(t, blinkfake.Config{}, nil)
	e.waitManifestReads(usbHome, 1)
	mark := e.rec.Mark()
	now := time.Now()
	for i, name := range []string{"Ghost", "SideGate", "Ghost"} {
		if _, err := e.fake.AddLocalClip(usbHome, name, now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	e.waitManifestReads(usbHome, 2)
	evs := e.localEvents(mark)
	if len(evs) != 3 {
		t.Fatalf("%d events, want 3", len(evs))
	}
	for _, ev := range evs {
		if ev.DeviceID != 0 || ev.NetworkID != usbHome {
			t.Errorf("event %+v: want device_id null on network %d", ev, usbHome)
		}
	}
	for _, m := range e.rec.Since(mark) {
		if m.Topic == e.topics.Events() && !bytes.Contains(m.Payload, []byte(`"device_id":null`)) {
			t.Errorf("event %s lacks device_id null", m.Payload)
		}
	}
	if n := strings.Count(e.logs.String(), "matches no single device"); n != 2 {
		t.Errorf("%d log lines about unmatched camera names, want 2 (Ghost, SideGate)", n)
	}
}

// TestE2ELocalStorageLeavesSubscribersAlone: a network whose motion clips
// arrive in the cloud feed is not checked any more, though its stick is
// active, and its media are polled at the fast cadence again.
func TestE2ELocalStorageLeavesSubscribersAlone(t *testing.T) {
	e := newUSBEnv(t, blinkfake.Config{}, nil)
	e.waitManifestReads(usbHome, 1)
	mark := e.rec.Mark()
	m := e.fake.TriggerMotion(camGate, "pir")
	if m.ID == 0 {
		t.Fatal("the subscribed network's clip did not reach the cloud feed")
	}
	e.request(OpRefresh, map[string]any{})
	e.rec.WaitForAfter(t, mark, e.topics.Events(), mqtttest.Contains(`"storage":"cloud"`))
	e.waitManifestReads(usbHome, 1) // one may have been under way
	since := time.Now()
	e.waitManifestReads(usbHome, 3)
	if n := localRequests(e.fake, usbPaid, since); n != 0 {
		t.Errorf("%d local storage requests for the subscribed network after its cloud clip, want 0", n)
	}
	if n := localRequests(e.fake, usbHome, since); n == 0 {
		t.Error("the USB-only network is not checked any more")
	}
	if !strings.Contains(e.logs.String(), "arrive in Blink's cloud") {
		t.Error("no log line says why the network is left alone")
	}
}
