package blinkfake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

func TestConfigs(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{})
	a := srv.AccountID()
	cam := srv.DevicesOf(blink.FamilyCamera)[0]
	owl := srv.DevicesOf(blink.FamilyOwl)[0]
	bell := srv.DevicesOf(blink.FamilyDoorbell)[0]
	if err := srv.SetBattery(cam.ID, "low"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		check      func(t *testing.T, m map[string]any)
	}{
		{"camera config", fmt.Sprintf("/network/%d/camera/%d/config", cam.NetworkID, cam.ID), func(t *testing.T, m map[string]any) {
			list, _ := m["camera"].([]any)
			if len(list) != 1 {
				t.Fatalf("camera = %v", m["camera"])
			}
			c0 := list[0].(map[string]any)
			if c0["id"] != float64(cam.ID) || c0["battery_state"] != "low" || c0["battery_voltage"] == nil ||
				c0["temperature"] != float64(cam.TempF) || c0["motion_sensitivity"] == nil {
				t.Errorf("camera[0] = %v", c0)
			}
			if sig, _ := m["signals"].(map[string]any); sig["battery"] != float64(1) || sig["temp"] != float64(cam.TempF) {
				t.Errorf("signals = %v", m["signals"])
			}
		}},
		{"camera signals", fmt.Sprintf("/network/%d/camera/%d/signals", cam.NetworkID, cam.ID), func(t *testing.T, m map[string]any) {
			if m["wifi"] != float64(cam.WiFiBars) || m["lfr"] != float64(cam.LFRBars) || m["updated_at"] == nil {
				t.Errorf("signals = %v", m)
			}
		}},
		{"owl config", fmt.Sprintf("/api/v1/accounts/%d/networks/%d/owls/%d/config", a, owl.NetworkID, owl.ID), func(t *testing.T, m map[string]any) {
			if m["enabled"] != owl.Enabled || m["wifi"] != float64(owl.WiFiBars) || m["illuminator_enable"] != "auto" || m["name"] != owl.Name {
				t.Errorf("owl config = %v", m)
			}
		}},
		{"doorbell config", fmt.Sprintf("/api/v1/accounts/%d/networks/%d/doorbells/%d/config", a, bell.NetworkID, bell.ID), func(t *testing.T, m map[string]any) {
			rssi, _ := m["wifi_rssi"].(float64)
			if m["temp"] != float64(bell.TempF) || rssi >= 0 || m["battery_state"] != "ok" || m["lfr_rssi"] == nil {
				t.Errorf("doorbell config = %v", m)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := c.rest("GET", tc.path, nil)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var m map[string]any
			r.json(t, &m)
			tc.check(t, m)
		})
	}
	for _, path := range []string{
		fmt.Sprintf("/network/%d/camera/%d/config", owl.NetworkID, owl.ID),
		fmt.Sprintf("/network/%d/camera/%d/signals", bell.NetworkID, bell.ID),
		fmt.Sprintf("/api/v1/accounts/%d/networks/%d/owls/%d/config", a, cam.NetworkID, cam.ID),
		fmt.Sprintf("/api/v1/accounts/%d/networks/%d/doorbells/%d/config", a, owl.NetworkID, owl.ID),
	} {
		if r := c.rest("GET", path, nil); r.status != 500 || string(r.body) != `{"message":"Camera not found","code":500}` {
			t.Errorf("wrong family %s: %d %s", path, r.status, r.body)
		}
	}
	if r := c.rest("GET", fmt.Sprintf("/network/1/camera/%d/config", cam.ID), nil); r.status != 404 {
		t.Errorf("unknown network: %d", r.status)
	}
}

func TestNetworkUpdate(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{})
	home := srv.Networks()[0]
	type net struct {
		Network struct {
			ID              int64  `json:"id"`
			Armed           bool   `json:"armed"`
			ArmString       string `json:"arm_string"`
			Busy            bool   `json:"busy"`
			SyncModuleError bool   `json:"sync_module_error"`
		} `json:"network"`
	}
	update := func() net {
		t.Helper()
		r := c.rest("POST", fmt.Sprintf("/network/%d/update", home.ID), nil)
		var n net
		r.json(t, &n)
		return n
	}
	if n := update(); n.Network.ID != home.ID || !n.Network.Armed || n.Network.ArmString != "Armed" || n.Network.Busy {
		t.Errorf("update = %+v", n)
	}
	c.post(fmt.Sprintf("/api/v1/accounts/%d/networks/%d/state/disarm", srv.AccountID(), home.ID), nil)
	if n := update(); !n.Network.Busy {
		t.Error("not busy while a command runs")
	}
	if err := srv.SetDeviceStatus(home.SyncModule.ID, "offline"); err != nil {
		t.Fatal(err)
	}
	if n := update(); !n.Network.SyncModuleError {
		t.Error("sync_module_error false with the sync module offline")
	}
}

func TestMediaDeleteAndWatched(t *testing.T) {
	clock := newClock()
	srv, c := authed(t, blinkfake.Config{Now: clock.Now})
	d := srv.Devices()[0]
	m1 := srv.TriggerMotion(d.ID, "")
	m2 := srv.TriggerMotion(d.ID, "")
	clock.Add(time.Minute)
	r := c.rest("POST", fmt.Sprintf("/api/v1/accounts/%d/media/delete", srv.AccountID()), map[string][]int64{"media_list": {m1.ID}})
	if r.status != 200 || string(r.body) != `{"message":"Successfully deleted media","code":711}` {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if r := c.rest("GET", m1.Clip, nil); r.status != 404 {
		t.Errorf("deleted clip: %d", r.status)
	}
	if err := srv.MarkWatched(m2.ID); err != nil {
		t.Fatal(err)
	}
	_, p := c.mediaChanged("since=" + url.QueryEscape(clock.Now().Format(time.RFC3339)))
	if len(p.Media) != 2 {
		t.Errorf("changed feed after delete+watched: %+v", p)
	}
	if err := srv.MarkWatched(1); err == nil {
		t.Error("unknown media accepted")
	}
}

func TestOAuthEdgeCases(t *testing.T) {
	clock := newClock()
	srv := blinkfake.New(t, blinkfake.Config{Now: clock.Now, TwoFactor: true})
	cfg := srv.Config()

	t.Run("authorize checks", func(t *testing.T) {
		c := newRaw(t, srv)
		for _, tc := range []struct {
			name, key, value string
		}{
			{"client", "client_id", "android"},
			{"response type", "response_type", "token"},
			{"redirect", "redirect_uri", "https://evil.example/cb"},
			{"PKCE method", "code_challenge_method", "plain"},
			{"no challenge", "code_challenge", ""},
		} {
			q := c.authorizeQuery(hardwareID)
			q.Set(tc.key, tc.value)
			if r := c.do("GET", srv.OAuthURL()+"/oauth/v2/authorize?"+q.Encode(), nil, nil); r.status != 400 || !json.Valid(r.body) {
				t.Errorf("%s: %d %s", tc.name, r.status, r.body)
			}
		}
		// lowercase UUIDs are fine
		if r := c.do("GET", srv.OAuthURL()+"/oauth/v2/authorize?"+c.authorizeQuery(strings.ToLower(hardwareID)).Encode(), nil, nil); r.status != http.StatusFound {
			t.Errorf("lowercase hardware_id: %d", r.status)
		}
	})
	t.Run("code step needs a signed-in session", func(t *testing.T) {
		c := newRaw(t, srv)
		if r := c.do("GET", srv.OAuthURL()+"/oauth/v2/authorize", nil, nil); r.status != 400 || !strings.Contains(string(r.body), "empty_cookies") {
			t.Errorf("no cookie: %d %s", r.status, r.body)
		}
		c.start()
		if r := c.do("GET", srv.OAuthURL()+"/oauth/v2/authorize", nil, nil); r.status != http.StatusFound || r.header.Get("Location") != "/oauth/v2/signin" {
			t.Errorf("before sign-in: %d %q", r.status, r.header.Get("Location"))
		}
		// 2FA pending is not signed in either
		c.signin(cfg.Email, cfg.Password)
		if r := c.do("GET", srv.OAuthURL()+"/oauth/v2/authorize", nil, nil); r.header.Get("Location") != "/oauth/v2/signin" {
			t.Errorf("2FA pending: %q", r.header.Get("Location"))
		}
	})
	t.Run("csrf", func(t *testing.T) {
		c := newRaw(t, srv)
		c.start()
		good := c.csrf
		c.csrf = "forged"
		if r := c.signin(cfg.Email, cfg.Password); r.status != 400 {
			t.Errorf("forged csrf on sign-in: %d", r.status)
		}
		c.csrf = good
		c.signin(cfg.Email, cfg.Password)
		c.csrf = "forged"
		if r := c.verify(cfg.Code); r.status != 400 {
			t.Errorf("forged csrf on verify: %d", r.status)
		}
	})
	t.Run("verify without pending code", func(t *testing.T) {
		c := newRaw(t, srv)
		c.start()
		if r := c.verify(cfg.Code); r.status != 400 {
			t.Errorf("got %d", r.status)
		}
		c.hc.Jar, _ = cookiejar.New(nil)
		if r := c.verify(cfg.Code); r.status != 400 || !strings.Contains(string(r.body), "empty_cookies") {
			t.Errorf("no cookie: %d %s", r.status, r.body)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		c := newRaw(t, srv)
		c.start()
		c.signin(cfg.Email, cfg.Password)
		clock.Add(11 * time.Minute)
		if r := c.verify(cfg.Code); r.status != 400 || !strings.Contains(string(r.body), "expired") {
			t.Errorf("got %d %s", r.status, r.body)
		}
		// signing in again sends a new code that works
		sent := srv.CodesSent()
		c.signin(cfg.Email, cfg.Password)
		if r := c.verify(cfg.Code); r.status != 201 || srv.CodesSent() != sent+1 {
			t.Errorf("after resend: %d, codes %d→%d", r.status, sent, srv.CodesSent())
		}
	})
	t.Run("expired authorization code", func(t *testing.T) {
		c := newRaw(t, srv)
		c.start()
		c.signin(cfg.Email, cfg.Password)
		c.verify(cfg.Code)
		code := c.code()
		clock.Add(6 * time.Minute)
		if r := c.exchange(code, c.verif, hardwareID); r.status != 400 {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})
	t.Run("hardware_id bound to the code", func(t *testing.T) {
		c := newRaw(t, srv)
		c.start()
		c.signin(cfg.Email, cfg.Password)
		c.verify(cfg.Code)
		if r := c.exchange(c.code(), c.verif, "00000000-0000-4000-8000-000000000000"); r.status != 400 {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})
	t.Run("refresh with hardware_id header only", func(t *testing.T) {
		_, rt, _ := srv.IssueTokens()
		c := newRaw(t, srv)
		r := c.do("POST", srv.OAuthURL()+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
			"client_id": {"ios"}, "scope": {"client"}}, map[string]string{"hardware_id": hardwareID})
		if r.status != 200 {
			t.Errorf("got %d %s", r.status, r.body)
		}
		r = c.do("POST", srv.OAuthURL()+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
			"client_id": {"ios"}}, map[string]string{"hardware_id": "Blinkpy"})
		if r.status != http.StatusNotAcceptable {
			t.Errorf("non-UUID header: %d", r.status)
		}
	})
}

func TestControlAndInspection(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{CommandPolls: 1})
	n, err := srv.AddNetwork(blinkfake.Network{Name: "Barn", SyncModule: &blinkfake.SyncModule{Type: "kalahari"}})
	if err != nil || n.ID == 0 || n.SyncModule == nil || n.SyncModule.ID == 0 || n.SyncModule.ID == n.ID {
		t.Fatalf("AddNetwork: %+v %v", n, err)
	}
	d, err := srv.AddDevice(blinkfake.Device{NetworkID: n.ID, Family: blink.FamilyOwl, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.SetArmed(n.ID, true); err != nil {
		t.Fatal(err)
	}
	h := c.homescreen()
	if !h.armed(n.ID) || h.device(d.ID).Type != "owl" || len(h.SyncModules) != 3 {
		t.Errorf("homescreen after AddNetwork/AddDevice/SetArmed: %+v", h.device(d.ID))
	}
	if got, ok := srv.Device(d.ID); !ok || got.Name == "" || got.Serial == "" {
		t.Errorf("Device = %+v %v", got, ok)
	}
	if _, ok := srv.Device(1); ok {
		t.Error("Device(1) found")
	}
	_, o := c.post(fmt.Sprintf("/api/v1/accounts/%d/networks/%d/owls/%d/thumbnail", srv.AccountID(), n.ID, d.ID), nil)
	if ci, ok := srv.Command(o.ID); !ok || ci.State != "running" || ci.Command != "thumbnail" || ci.DeviceID != d.ID {
		t.Errorf("Command = %+v", ci)
	}
	c.poll(n.ID, o.ID)
	if ci, _ := srv.Command(o.ID); ci.State != "done" || ci.Polls != 1 || ci.StatusCode != 908 || ci.CompletedAt.IsZero() {
		t.Errorf("Command after poll = %+v", ci)
	}
	srv.Inject(blinkfake.Fault{Endpoint: "x", Count: 3})
	if srv.PendingFaults() != 1 {
		t.Errorf("PendingFaults = %d", srv.PendingFaults())
	}
	srv.ResetCounts()
	if srv.Total() != 0 || len(srv.Counts()) != 0 {
		t.Errorf("after ResetCounts: %d %v", srv.Total(), srv.Counts())
	}
}

func TestCommandMemoryBounded(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{CommandPolls: 1, MaxMedia: 10})
	cam := srv.DevicesOf(blink.FamilyCamera)[0]
	var first int64
	for i := range 1010 {
		_, o := c.post(fmt.Sprintf("/network/%d/camera/%d/clip", cam.NetworkID, cam.ID), nil)
		if i == 0 {
			first = o.ID
		}
		c.poll(cam.NetworkID, o.ID)
	}
	if n := len(srv.Commands()); n != 1000 {
		t.Errorf("%d commands remembered, want 1000", n)
	}
	if _, ok := srv.Command(first); ok {
		t.Error("oldest command still remembered")
	}
	if n := len(srv.Media()); n != 10 {
		t.Errorf("%d media kept, want 10", n)
	}
}

func TestWaitAndRequestLog(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.WaitCount(ctx, blinkfake.EpMediaChanged, 2) }()
	c.mediaChanged("page=1")
	select {
	case err := <-done:
		t.Fatalf("WaitCount returned after one request: %v", err)
	default:
	}
	c.mediaChanged("page=2")
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// WaitFor sees control calls too
	d := srv.Devices()[0]
	go func() {
		done <- srv.WaitFor(ctx, func() bool { return len(srv.Media()) == 1 })
	}()
	srv.TriggerMotion(d.ID, "")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithCancel(ctx)
	cancelShort()
	if err := srv.WaitCount(short, blinkfake.EpArm, 1); err == nil {
		t.Error("WaitCount ignored a cancelled context")
	}

	hdr := map[string]string{"Origin": "https://example.test", "Referer": "https://example.test/oauth/v2/signin"}
	c.do("POST", srv.OAuthURL()+"/oauth/v2/signin", nil, hdr)
	c.do("GET", srv.RESTBase("prod")+"/api/v1/users/tier_info", nil, map[string]string{"APP-BUILD": "IOS_8854"})
	reqs := srv.Requests()
	if r := reqs[len(reqs)-2]; r.Endpoint != blinkfake.EpSignin || r.Origin != hdr["Origin"] || r.Referer != hdr["Referer"] {
		t.Errorf("sign-in request logged as %+v, want its Origin and Referer", r)
	}
	if r := reqs[len(reqs)-1]; r.Endpoint != blinkfake.EpTierInfo || r.AppBuild != "IOS_8854" {
		t.Errorf("tier_info request logged as %+v, want its APP-BUILD", r)
	}
	reqs = reqs[:len(reqs)-2]
	last := reqs[len(reqs)-1]
	if last.Endpoint != blinkfake.EpMediaChanged || last.Status != 200 || last.Query != "page=2" ||
		!strings.HasPrefix(last.Path, "/"+srv.Config().Tier+"/") || last.UserAgent == "" {
		t.Errorf("last request = %+v", last)
	}
	for _, r := range reqs {
		if strings.Contains(fmt.Sprint(r), c.token) {
			t.Error("request log holds the token")
		}
	}
}

func TestMotionRequiresArmed(t *testing.T) {
	srv := blinkfake.New(t, blinkfake.Config{MotionRequiresArmed: true})
	home, cabin := srv.Networks()[0], srv.Networks()[1] // armed, disarmed
	var armedOn, disabledOn, disarmedOn blinkfake.Device
	for _, d := range srv.DevicesOf(blink.FamilyCamera) {
		switch {
		case d.NetworkID == home.ID && d.Enabled:
			armedOn = d
		case d.NetworkID == home.ID && !d.Enabled:
			disabledOn = d
		case d.NetworkID == cabin.ID && d.Enabled:
			disarmedOn = d
		}
	}
	for _, tc := range []struct {
		name   string
		dev    blinkfake.Device
		source string
		record bool
	}{
		{"armed and enabled", armedOn, "pir", true},
		{"motion detection off", disabledOn, "pir", false},
		{"system disarmed", disarmedOn, "", false},
		{"snapshot ignores arming", disarmedOn, "snapshot", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := srv.Device(tc.dev.ID)
			m := srv.TriggerMotion(tc.dev.ID, tc.source)
			after, _ := srv.Device(tc.dev.ID)
			if got := m.ID != 0; got != tc.record {
				t.Errorf("recorded = %v, want %v", got, tc.record)
			}
			if !tc.record && after.ThumbnailTS != before.ThumbnailTS {
				t.Error("thumbnail moved without a recording")
			}
		})
	}
}
