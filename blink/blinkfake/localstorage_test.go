package blinkfake_test

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

// usbAccount is one armed network whose Sync Module 2 has a USB stick, a
// disarmed one without, and a camera on each.
func usbAccount() *blinkfake.Account {
	return &blinkfake.Account{
		Networks: []blinkfake.Network{
			{ID: 5001, Name: "Home", Armed: true, SyncModule: &blinkfake.SyncModule{ID: 7001, LocalStorageStatus: "active"}},
			{ID: 5002, Name: "Cabin", SyncModule: &blinkfake.SyncModule{ID: 7002}},
		},
		Devices: []blinkfake.Device{
			{ID: 6001, NetworkID: 5001, Name: "Back Door", Enabled: true},
			{ID: 6002, NetworkID: 5002, Name: "Porch", Enabled: true},
		},
	}
}

func lsPath(net, sm int64, rest string) string {
	return fmt.Sprintf("/api/v1/accounts/10001001/networks/%d/sync_modules/%d/local_storage/%s", net, sm, rest)
}

type wireManifest struct {
	Version    string `json:"version"`
	ManifestID string `json:"manifest_id"`
	Clips      []struct {
		ID         string `json:"id"`
		Size       string `json:"size"`
		CameraName string `json:"camera_name"`
		CreatedAt  string `json:"created_at"`
	} `json:"clips"`
}

// manifest requests a manifest, polls its command to completion and reads
// it; notReady is how many reads answer "not ready" after completion.
func (c *raw) manifest(net, sm int64, notReady int) wireManifest {
	c.t.Helper()
	r, cmd := c.post(lsPath(net, sm, "manifest/request"), nil)
	if r.status != 200 || cmd.ID == 0 || cmd.NetworkID != net {
		c.t.Fatalf("manifest request: %d %s", r.status, r.body)
	}
	if got := c.rest("GET", lsPath(net, sm, "manifest/request/"+strconv.FormatInt(cmd.ID, 10)), nil); got.status != 400 ||
		!strings.HasPrefix(got.header.Get("Content-Type"), "text/plain") {
		c.t.Fatalf("manifest before its command completed: %d %q, want 400 text/plain", got.status, got.header.Get("Content-Type"))
	}
	c.complete(net, cmd.ID)
	path := lsPath(net, sm, "manifest/request/"+strconv.FormatInt(cmd.ID, 10))
	for i := range notReady {
		if got := c.rest("GET", path, nil); got.status != 200 || !strings.HasPrefix(got.header.Get("Content-Type"), "text/plain") {
			c.t.Fatalf("read %d after completion: %d %s, want 200 text/plain", i+1, got.status, got.body)
		}
	}
	got := c.rest("GET", path, nil)
	if got.status != 200 {
		c.t.Fatalf("manifest: %d %s", got.status, got.body)
	}
	var m wireManifest
	got.json(c.t, &m)
	return m
}

// complete polls a command until it completed (at most 10 polls).
func (c *raw) complete(net, cmd int64) {
	c.t.Helper()
	for range 10 {
		if c.poll(net, cmd).Complete {
			return
		}
	}
	c.t.Fatalf("command %d not complete after 10 polls", cmd)
}

// signals is what a motion could show in the homescreen: the camera's
// thumbnail and updated_at, its network's and its sync module's updated_at
// and the module's heartbeat.
type signals struct {
	Networks []struct {
		ID        int64  `json:"id"`
		UpdatedAt string `json:"updated_at"`
	} `json:"networks"`
	SyncModules []struct {
		NetworkID int64  `json:"network_id"`
		UpdatedAt string `json:"updated_at"`
		LastHB    string `json:"last_hb"`
	} `json:"sync_modules"`
	Cameras []struct {
		ID        int64  `json:"id"`
		Thumbnail string `json:"thumbnail"`
		UpdatedAt string `json:"updated_at"`
	} `json:"cameras"`
}

// TestLocalStorageMotionSignals: which homescreen fields move when a clip
// lands on the USB storage — the cheap signal the bridge checks sooner on.
// The camera's thumbnail and updated_at do; its network's and sync
// module's fields do not.
func TestLocalStorageMotionSignals(t *testing.T) {
	clock := newClock()
	srv, c := authed(t, blinkfake.Config{Account: usbAccount(), Now: clock.Now})
	read := func() signals {
		var s signals
		c.rest("GET", fmt.Sprintf("/api/v3/accounts/%d/homescreen", srv.AccountID()), nil).json(t, &s)
		return s
	}
	before := read()
	clock.Add(10 * time.Second)
	srv.TriggerMotion(6001, "pir")
	after := read()
	if before.Cameras[0].Thumbnail == after.Cameras[0].Thumbnail || before.Cameras[0].UpdatedAt == after.Cameras[0].UpdatedAt {
		t.Errorf("camera: thumbnail %q → %q, updated_at %q → %q; want both moved",
			before.Cameras[0].Thumbnail, after.Cameras[0].Thumbnail, before.Cameras[0].UpdatedAt, after.Cameras[0].UpdatedAt)
	}
	if before.Cameras[1] != after.Cameras[1] {
		t.Errorf("the other network's camera moved: %+v → %+v", before.Cameras[1], after.Cameras[1])
	}
	if before.Networks[0] != after.Networks[0] || before.SyncModules[0] != after.SyncModules[0] {
		t.Errorf("network or sync module moved: %+v %+v → %+v %+v", before.Networks[0], before.SyncModules[0], after.Networks[0], after.SyncModules[0])
	}
}

func TestLocalStorageMotionGoesToTheManifest(t *testing.T) {
	for _, notReady := range []int{0, 2} {
		t.Run(fmt.Sprintf("%d not-ready reads", notReady), func(t *testing.T) {
			clock := newClock()
			srv, c := authed(t, blinkfake.Config{Account: usbAccount(), Now: clock.Now, LocalManifestNotReady: notReady})
			m := srv.TriggerMotion(6001, "pir")
			if m.ID != 0 || m.DeviceID != 6001 || !m.CreatedAt.Equal(clock.Now()) {
				t.Fatalf("TriggerMotion = %+v, want a USB clip (id 0) of 6001 now", m)
			}
			if other := srv.TriggerMotion(6002, "pir"); other.ID == 0 {
				t.Fatalf("motion without a USB stick did not reach the media feed")
			}
			if n := len(srv.Media()); n != 1 {
				t.Fatalf("%d media items, want only the one without USB", n)
			}
			if d, _ := srv.Device(6001); d.ThumbnailTS != clock.Now().Unix() {
				t.Errorf("thumbnail ts %d, want it moved to the motion (%d)", d.ThumbnailTS, clock.Now().Unix())
			}
			clips := srv.LocalClips(5001)
			if len(clips) != 1 || clips[0].CameraName != "BackDoor" || clips[0].Device.ID != 6001 {
				t.Fatalf("LocalClips = %+v", clips)
			}
			man := c.manifest(5001, 7001, notReady)
			if man.ManifestID != strconv.FormatInt(srv.LocalManifestID(5001), 10) || len(man.Clips) != 1 {
				t.Fatalf("manifest = %+v", man)
			}
			mc := man.Clips[0]
			if mc.ID != strconv.FormatInt(clips[0].ID, 10) || mc.CameraName != "BackDoor" ||
				mc.Size != strconv.Itoa(clips[0].Size) || mc.CreatedAt != clock.Now().UTC().Format("2006-01-02T15:04:05+00:00") {
				t.Errorf("manifest clip = %+v, want %+v", mc, clips[0])
			}
			if got := srv.Count(blinkfake.EpLocalManifest); got != 2+notReady {
				t.Errorf("%d manifest reads counted, want %d", got, 2+notReady)
			}
		})
	}
}

func TestLocalStorageClipUploadDownloadDelete(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{Account: usbAccount()})
	srv.TriggerMotion(6001, "pir")
	srv.TriggerMotion(6001, "pir")
	man := c.manifest(5001, 7001, 0)
	if len(man.Clips) != 2 || man.Clips[0].ID <= man.Clips[1].ID {
		t.Fatalf("manifest %+v: want two clips, newest first", man)
	}
	clipPath := lsPath(5001, 7001, "manifest/"+man.ManifestID+"/clip/request/"+man.Clips[0].ID)

	if r := c.rest("GET", clipPath, nil); r.status != 200 || !strings.Contains(string(r.body), `"code":700`) {
		t.Fatalf("clip before its upload: %d %s, want 200 code 700", r.status, r.body)
	}
	r, cmd := c.post(clipPath, nil)
	if r.status != 200 || cmd.ID == 0 {
		t.Fatalf("upload request: %d %s", r.status, r.body)
	}
	if r2, _ := c.post(lsPath(5001, 7001, "manifest/request"), nil); r2.status != 409 {
		t.Fatalf("manifest request during an upload: %d, want 409 busy", r2.status)
	}
	c.complete(5001, cmd.ID)
	got := c.rest("GET", clipPath, nil)
	want := blinkfake.LocalClipMP4(srv.LocalClips(5001)[1])
	if got.status != 200 || got.header.Get("Content-Type") != "video/mp4" || !bytes.Equal(got.body, want) {
		t.Fatalf("clip after upload: %d %q, %d bytes; want the clip's %d bytes", got.status, got.header.Get("Content-Type"), len(got.body), len(want))
	}

	del := lsPath(5001, 7001, "manifest/"+man.ManifestID+"/clip/delete/"+man.Clips[1].ID)
	r, cmd = c.post(del, nil)
	if r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	c.complete(5001, cmd.ID)
	if left := srv.LocalClips(5001); len(left) != 1 || strconv.FormatInt(left[0].ID, 10) != man.Clips[0].ID {
		t.Fatalf("after delete: %+v", left)
	}
	for name, n := range map[string]int{blinkfake.EpLocalClipRequest: 1, blinkfake.EpLocalClip: 2, blinkfake.EpLocalClipDelete: 1} {
		if got := srv.Count(name); got != n {
			t.Errorf("Count(%s) = %d, want %d", name, got, n)
		}
	}
}

func TestLocalStorageRebuildChangesIDs(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{Account: usbAccount()})
	srv.TriggerMotion(6001, "pir")
	before := c.manifest(5001, 7001, 0)
	if err := srv.RebuildLocalManifest(5001); err != nil {
		t.Fatal(err)
	}
	after := c.manifest(5001, 7001, 0)
	if after.ManifestID == before.ManifestID || len(after.Clips) != 1 || after.Clips[0].ID == before.Clips[0].ID {
		t.Fatalf("rebuild kept ids: before %+v, after %+v", before, after)
	}
	if a, b := after.Clips[0], before.Clips[0]; a.CameraName != b.CameraName || a.CreatedAt != b.CreatedAt || a.Size != b.Size {
		t.Errorf("rebuild changed the clip itself: %+v → %+v", b, a)
	}
	old := lsPath(5001, 7001, "manifest/"+before.ManifestID+"/clip/request/"+before.Clips[0].ID)
	if r, _ := c.post(old, nil); r.status != 404 {
		t.Errorf("upload by the old ids: %d, want 404", r.status)
	}
}

func TestLocalStorageEdges(t *testing.T) {
	acct := usbAccount()
	acct.Networks = append(acct.Networks, blinkfake.Network{ID: 5003, Name: "Paid", Armed: true, Subscription: true,
		SyncModule: &blinkfake.SyncModule{ID: 7003, LocalStorageStatus: "active"}})
	acct.Devices = append(acct.Devices, blinkfake.Device{ID: 6003, NetworkID: 5003, Name: "Gate", Enabled: true})
	srv, c := authed(t, blinkfake.Config{Account: acct, MotionRequiresArmed: true})
	tests := []struct {
		name   string
		method string
		path   string
		status int
	}{
		{"no USB stick", "POST", lsPath(5002, 7002, "manifest/request"), 400},
		{"wrong sync module", "POST", lsPath(5001, 7002, "manifest/request"), 404},
		{"unknown manifest request", "GET", lsPath(5001, 7001, "manifest/request/123"), 404},
		{"unknown clip", "POST", lsPath(5001, 7001, "manifest/1/clip/request/2"), 404},
		{"status", "GET", lsPath(5001, 7001, "status"), 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if r := c.rest(tc.method, tc.path, nil); r.status != tc.status {
				t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, r.status, r.body, tc.status)
			}
		})
	}
	if r := c.rest("GET", lsPath(5001, 7001, "status"), nil); !strings.Contains(string(r.body), `"status":"active"`) {
		t.Errorf("status body %s", r.body)
	}
	t.Run("subscription keeps the feed", func(t *testing.T) {
		if m := srv.TriggerMotion(6003, "pir"); m.ID == 0 || len(srv.LocalClips(5003)) != 0 {
			t.Errorf("motion on a subscribed network: %+v, %d USB clips", m, len(srv.LocalClips(5003)))
		}
	})
	t.Run("disarmed records nothing", func(t *testing.T) {
		_ = srv.SetArmed(5001, false)
		srv.TriggerMotion(6001, "pir")
		if n := len(srv.LocalClips(5001)); n != 0 {
			t.Errorf("%d USB clips while disarmed", n)
		}
	})
	t.Run("a clip by camera name alone", func(t *testing.T) {
		lc, err := srv.AddLocalClip(5001, "Ghost", newClock().Now())
		if err != nil || lc.CameraName != "Ghost" || lc.Device != (blink.DeviceRef{}) {
			t.Fatalf("AddLocalClip = %+v, %v", lc, err)
		}
		if _, err := srv.AddLocalClip(999, "Ghost", newClock().Now()); err == nil {
			t.Error("AddLocalClip on an unknown network")
		}
	})
}
