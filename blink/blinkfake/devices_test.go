package blinkfake_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

const (
	sharedNet = 410_000_100
	sharedID  = 630_000_555
)

// sharedAccount holds a camera and a Mini with one id on one network, as
// Blink's per-family numbering allows.
func sharedAccount() *blinkfake.Account {
	return &blinkfake.Account{
		Networks: []blinkfake.Network{{ID: sharedNet, Name: "Home", Armed: true, SyncModule: &blinkfake.SyncModule{}}},
		Devices: []blinkfake.Device{
			{ID: sharedID, NetworkID: sharedNet, Family: blink.FamilyCamera, Type: "catalina", Name: "Front Yard", Enabled: true},
			{ID: sharedID, NetworkID: sharedNet, Family: blink.FamilyOwl, Type: "owl", Name: "Porch Mini", Enabled: false},
		},
	}
}

var (
	camRef = blink.DeviceRef{Family: blink.FamilyCamera, NetworkID: sharedNet, ID: sharedID}
	owlRef = blink.DeviceRef{Family: blink.FamilyOwl, NetworkID: sharedNet, ID: sharedID}
)

func TestSharedIDAcrossFamilies(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{Account: sharedAccount(), CommandPolls: 1})

	h := c.homescreen()
	if len(h.Cameras) != 1 || h.Cameras[0].Name != "Front Yard" || len(h.Owls) != 1 || h.Owls[0].Name != "Porch Mini" {
		t.Fatalf("homescreen cameras %+v owls %+v, want one of each with its own name", h.Cameras, h.Owls)
	}

	// Each family's endpoint reaches its own device.
	_, o := c.post(fmt.Sprintf("/api/v1/accounts/%d/networks/%d/owls/%d/thumbnail", srv.AccountID(), sharedNet, sharedID), nil)
	if s := c.poll(sharedNet, o.ID); !s.Complete || s.StatusCode != 908 {
		t.Fatalf("owl thumbnail: %+v", s)
	}
	ci, _ := srv.Command(o.ID)
	if ci.Family != blink.FamilyOwl || ci.DeviceID != sharedID {
		t.Errorf("command %+v, want the Mini's", ci)
	}
	cam, _ := srv.DeviceAt(camRef)
	owl, _ := srv.DeviceAt(owlRef)
	if cam.ThumbnailTS == owl.ThumbnailTS {
		t.Error("a Mini snapshot left both thumbnails alike (the camera's was touched too?)")
	}
	r := c.rest("POST", fmt.Sprintf("/network/%d/camera/%d/disable", sharedNet, sharedID), nil)
	var co struct{ ID int64 }
	_ = json.Unmarshal(r.body, &co)
	c.poll(sharedNet, co.ID)
	if cam, _ := srv.DeviceAt(camRef); cam.Enabled {
		t.Error("camera disable did not reach the camera")
	}
	if owl, _ := srv.DeviceAt(owlRef); owl.Enabled {
		t.Error("camera disable changed the Mini")
	}

	// Thumbnails by type: each its own picture; a type neither has is 400.
	thumb := func(typ string) resp {
		return c.rest("GET", fmt.Sprintf("/api/v3/media/accounts/%d/networks/%d/%s/%d/thumbnail/thumbnail.jpg?ts=5&ext=",
			srv.AccountID(), sharedNet, typ, sharedID), nil)
	}
	ct, ot := thumb("catalina"), thumb("owl")
	if ct.status != 200 || ot.status != 200 || bytes.Equal(ct.body, ot.body) {
		t.Errorf("thumbnails: camera %d, Mini %d, equal %v; want two different pictures", ct.status, ot.status, bytes.Equal(ct.body, ot.body))
	}
	if r := thumb("lotus"); r.status != 400 {
		t.Errorf("thumbnail with a type neither has: %d, want 400", r.status)
	}

	// Motion on the Mini is the Mini's clip, and the feed says so.
	m := srv.TriggerMotionOn(owlRef, "pir")
	if m.Family != blink.FamilyOwl || m.DeviceID != sharedID {
		t.Fatalf("media %+v, want the Mini's", m)
	}
	r = c.rest("GET", fmt.Sprintf("/api/v1/accounts/%d/media/changed?since=2000-01-01T00:00:00+0000", srv.AccountID()), nil)
	var page struct {
		Media []struct {
			ID         int64  `json:"id"`
			Device     string `json:"device"`
			DeviceName string `json:"device_name"`
		} `json:"media"`
	}
	r.json(t, &page)
	if len(page.Media) != 1 || page.Media[0].Device != "owl" || page.Media[0].DeviceName != "Porch Mini" {
		t.Errorf("feed = %+v, want the Mini's clip marked owl", page.Media)
	}
	if r := c.rest("GET", strings.TrimSuffix(m.Clip, "?ext="), nil); r.status != 200 {
		t.Errorf("Mini clip download: %d", r.status)
	}
}

func TestSharedIDNeedsARef(t *testing.T) {
	srv := blinkfake.New(t, blinkfake.Config{Account: sharedAccount()})
	for name, call := range map[string]func() error{
		"SetEnabled":      func() error { return srv.SetEnabled(sharedID, true) },
		"SetBattery":      func() error { return srv.SetBattery(sharedID, "low") },
		"SetDeviceStatus": func() error { return srv.SetDeviceStatus(sharedID, "offline") },
		"RemoveDevice":    func() error { return srv.RemoveDevice(sharedID) },
	} {
		if err := call(); err == nil || !strings.Contains(err.Error(), "camera and a owl") {
			t.Errorf("%s(shared id) = %v, want a refusal naming both families", name, err)
		}
	}
	for name, call := range map[string]func(){
		"Device":        func() { srv.Device(sharedID) },
		"TriggerMotion": func() { srv.TriggerMotion(sharedID, "pir") },
	} {
		func() {
			defer func() {
				if v := recover(); v == nil || !strings.Contains(fmt.Sprint(v), "blink.DeviceRef") {
					t.Errorf("%s(shared id) recovered %v, want a panic pointing at the ref variant", name, v)
				}
			}()
			call()
		}()
	}
	if len(srv.Media()) != 0 {
		t.Error("an ambiguous TriggerMotion recorded a clip")
	}

	// The ref variants reach exactly one device.
	if err := srv.SetEnabledOn(owlRef, true); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetBatteryOn(camRef, "low"); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetDeviceStatusOn(owlRef, "offline"); err != nil {
		t.Fatal(err)
	}
	cam, _ := srv.DeviceAt(camRef)
	owl, _ := srv.DeviceAt(owlRef)
	if cam.Battery != "low" || cam.Status != "done" || !owl.Enabled || owl.Status != "offline" || owl.Battery != "" {
		t.Errorf("camera %+v / Mini %+v: each change should reach only its device", cam, owl)
	}
	if _, ok := srv.DeviceAt(blink.DeviceRef{Family: blink.FamilyOwl, NetworkID: sharedNet + 1, ID: sharedID}); ok {
		t.Error("DeviceAt found the Mini on another network")
	}
	if err := srv.RemoveDeviceAt(camRef); err != nil {
		t.Fatal(err)
	}
	if d, ok := srv.Device(sharedID); !ok || d.Family != blink.FamilyOwl {
		t.Errorf("after removing the camera, Device(id) = %+v %v, want the Mini", d, ok)
	}
}

func TestDuplicateIDsRefused(t *testing.T) {
	tests := []struct {
		name string
		dev  blinkfake.Device
	}{
		{"same family", blinkfake.Device{ID: sharedID, NetworkID: sharedNet, Family: blink.FamilyCamera}},
		{"a network's id", blinkfake.Device{ID: sharedNet, NetworkID: sharedNet, Family: blink.FamilyDoorbell}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := blinkfake.New(t, blinkfake.Config{Account: sharedAccount()})
			if _, err := srv.AddDevice(tc.dev); err == nil {
				t.Errorf("AddDevice(%+v) accepted", tc.dev)
			}
		})
	}
	srv := blinkfake.New(t, blinkfake.Config{Account: sharedAccount()})
	if d, err := srv.AddDevice(blinkfake.Device{ID: sharedID, NetworkID: sharedNet, Family: blink.FamilyDoorbell}); err != nil || d.ID != sharedID {
		t.Errorf("a doorbell sharing the id: %+v %v, want accepted", d, err)
	}
}
