package bridge

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// TestEventLogKeepsTheNewestInOrder: the ring holds the last
// recentEvents events, newest first, however many went out.
func TestEventLogKeepsTheNewestInOrder(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, recentEvents - 1, recentEvents, recentEvents + 1, 3*recentEvents + 7} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			t.Parallel()
			var l eventLog
			for i := range n {
				l.add(RecentEvent{DeviceID: int64(i)})
			}
			got := l.recent()
			if len(got) != min(n, recentEvents) {
				t.Fatalf("%d events held after %d, want %d", len(got), n, min(n, recentEvents))
			}
			for i, e := range got {
				if want := int64(n - 1 - i); e.DeviceID != want {
					t.Fatalf("event %d is device %d, want %d (newest first)", i, e.DeviceID, want)
				}
			}
			if len(got) > 0 {
				got[0].DeviceID = -1
				if l.recent()[0].DeviceID == -1 {
					t.Fatal("recent returned the ring itself, not a copy")
				}
			}
		})
	}
}

// TestStatusShowsTheAccount: after a poll, Status lists every system with
// its alarm state and every device with its family, telemetry and the
// picture the bridge published; a motion clip shows up as the newest event
// and as motion on its device.
func TestStatusShowsTheAccount(t *testing.T) {
	e := newEnv(t)
	b := e.bridge
	s := b.Status()
	if !s.MQTTConnected || s.Auth.State != AuthOK || s.NextStep != "" || s.Version != "test" ||
		s.AccountID != e.fake.AccountID() || s.Tier != e.fake.Config().Tier || s.LastPoll.IsZero() || s.RequestsLastHour == 0 {
		t.Fatalf("Status = %+v", s)
	}
	nets := e.fake.Networks()
	if len(s.Systems) != len(nets) {
		t.Fatalf("%d systems, want %d", len(s.Systems), len(nets))
	}
	devices := map[discovery.DeviceKey]DeviceStatus{}
	for i, sys := range s.Systems {
		n := nets[i]
		want := discovery.Disarmed
		if n.Armed {
			want = discovery.ArmedAway
		}
		if sys.ID != n.ID || sys.Name != n.Name || sys.Armed != n.Armed || sys.Alarm != want {
			t.Errorf("system %d = %+v, want %+v (%s)", i, sys, n, want)
		}
		if (n.SyncModule != nil) != (len(sys.SyncModules) == 1) {
			t.Errorf("system %s has sync modules %+v", n.Name, sys.SyncModules)
		}
		for _, d := range sys.Devices {
			if d.Key.Network != sys.ID {
				t.Errorf("device %+v listed under system %d", d, sys.ID)
			}
			devices[d.Key] = d
		}
	}
	if len(devices) != len(e.fake.Devices()) {
		t.Fatalf("%d devices, want %d", len(devices), len(e.fake.Devices()))
	}
	for _, fd := range e.fake.Devices() {
		k := discovery.DeviceKey{Network: fd.NetworkID, Family: fd.Family, ID: fd.ID}
		d, ok := devices[k]
		if !ok {
			t.Errorf("device %s (%v) missing", fd.Name, k)
			continue
		}
		if d.Name != fd.Name || d.Family != fd.Family || d.Online != (fd.Status != "offline") || d.MotionDetection != fd.Enabled || d.Battery != fd.Battery {
			t.Errorf("device %s = %+v, want %+v", fd.Name, d, fd)
		}
		if fd.HasSignals && (d.TemperatureF == nil || *d.TemperatureF != fd.TempF || d.WiFiBars == nil || *d.WiFiBars != fd.WiFiBars) {
			t.Errorf("device %s telemetry = %v °F, %v bars; want %d, %d", fd.Name, d.TemperatureF, d.WiFiBars, fd.TempF, fd.WiFiBars)
		}
		img, has := b.Thumbnail(k)
		if d.Thumbnail == "" || !has || !isJPEG(img) {
			t.Errorf("device %s: thumbnail %q, held %v", fd.Name, d.Thumbnail, has)
			continue
		}
		published := e.retained(b.writer.imageTopic(k))[b.writer.imageTopic(k)]
		if !bytes.Equal(img, published) {
			t.Errorf("device %s: Thumbnail is not the picture published on MQTT", fd.Name)
		}
	}
	if _, has := b.Thumbnail(discovery.DeviceKey{Network: 1, Family: blink.FamilyCamera, ID: 2}); has {
		t.Error("a picture for a device that does not exist")
	}
	if len(s.Events) != 0 {
		t.Errorf("events before any motion: %+v", s.Events)
	}

	// A motion clip: the newest event, motion on its device.
	cam := deviceOf(t, e.fake, blink.FamilyCamera)
	before := devices[discovery.DeviceKey{Network: cam.NetworkID, Family: cam.Family, ID: cam.ID}].Thumbnail
	for i := range 2 {
		e.fake.TriggerMotion(cam.ID, fmt.Sprint("pir", i))
		e.request(OpRefresh, map[string]any{})
	}
	s = b.Status()
	if len(s.Events) != 2 {
		t.Fatalf("events = %+v, want the 2 clips", s.Events)
	}
	ev := s.Events[0]
	if ev.DeviceID != cam.ID || ev.NetworkID != cam.NetworkID || ev.DeviceName != cam.Name || ev.Type != discovery.EventMotion ||
		ev.CreatedAt.IsZero() || ev.PublishedAt.IsZero() || s.Events[1].CreatedAt.After(ev.CreatedAt) {
		t.Errorf("newest event = %+v (then %+v)", ev, s.Events[1])
	}
	for _, sys := range s.Systems {
		for _, d := range sys.Devices {
			if d.Key.ID == cam.ID && d.Key.Family == cam.Family && (!d.Motion || d.LastEvent.IsZero()) {
				t.Errorf("camera after motion: %+v", d)
			}
		}
	}

	// A snapshot changes the picture, so its Thumbnail changes too.
	mark := e.rec.Mark()
	if r := e.request(OpSnapshot, map[string]any{"device": cam.ID, "network": cam.NetworkID, "family": cam.Family}); r["status"] != "ok" {
		t.Fatalf("snapshot: %v", r)
	}
	e.rec.WaitForAfter(t, mark, e.devTopic(cam, discovery.EntityThumbnail), mqtttest.Any)
	for _, sys := range b.Status().Systems {
		for _, d := range sys.Devices {
			if d.Key.ID == cam.ID && d.Key.Family == cam.Family && (d.Thumbnail == before || d.Thumbnail == "") {
				t.Errorf("thumbnail id %q after a snapshot, was %q", d.Thumbnail, before)
			}
		}
	}
}

// TestStatusWhileLoggedOut: before any poll and without a session, Status
// says so and what to do, and lists nothing.
func TestStatusWhileLoggedOut(t *testing.T) {
	t.Parallel()
	b, _ := newPubBridge(t, &fakeCloud{}, nil) // no session
	s := b.Status()
	if s.Auth.State != AuthReauthRequired || s.NextStep == "" || len(s.Systems) != 0 || !s.LastPoll.IsZero() {
		t.Errorf("Status = %+v", s)
	}
	b.SetAuthState(AuthCodeRequired, "Blink sent a code by SMS to +1xxx12")
	if s := b.Status(); s.Auth.State != AuthCodeRequired || s.Auth.Detail != "Blink sent a code by SMS to +1xxx12" || s.NextStep != "enter the code Blink sent" {
		t.Errorf("Status after code_required = %+v", s)
	}
}

// TestStatusHoldsSavedClipEvents: an event that waited for its clip to be
// saved (MEDIA_DIR) is among the recent events once it went out.
func TestStatusHoldsSavedClipEvents(t *testing.T) {
	fake := blinkfake.New(t, blinkfake.Config{})
	dir := t.TempDir()
	m, events, _, b := clipRun(t, fake, dir)
	if len(events) != 1 || !strings.HasPrefix(events[0].Clip, dir) {
		t.Fatalf("published %+v, want one event that waited for its saved clip", events)
	}
	got := b.Status().Events
	if len(got) != 1 || got[0].DeviceID != m.DeviceID || !got[0].CreatedAt.Equal(m.CreatedAt) {
		t.Fatalf("recent events = %+v, want the saved clip's", got)
	}
}
