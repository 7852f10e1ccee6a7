package blinkfake_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

func TestGeneratedAccount(t *testing.T) {
	cfg := blinkfake.Config{Networks: 50, DevicesPerNetwork: 10, StandaloneNetworks: 4, UnknownTypes: true,
		LegacyThumbnails: true, Now: newClock().Now}
	srv, c := authed(t, cfg)
	h := c.homescreen()
	if len(h.Networks) != 54 || len(h.SyncModules) != 50 {
		t.Fatalf("%d networks, %d sync modules", len(h.Networks), len(h.SyncModules))
	}
	total := len(h.Cameras) + len(h.Owls) + len(h.Doorbells)
	if total != 504 || len(h.Owls) < 100 || len(h.Doorbells) < 100 {
		t.Errorf("%d devices: %d cameras, %d owls, %d doorbells", total, len(h.Cameras), len(h.Owls), len(h.Doorbells))
	}
	ids := map[int64]string{}
	claim := func(id int64, what string) {
		if prev, ok := ids[id]; ok {
			t.Errorf("id %d used by %s and %s", id, prev, what)
		}
		ids[id] = what
	}
	for _, n := range h.Networks {
		claim(n.ID, "network")
	}
	for _, sm := range h.SyncModules {
		claim(sm.ID, "sync module")
	}
	types := map[string]int{}
	names := map[string]bool{}
	legacy := 0
	for _, list := range [][]hsDevice{h.Cameras, h.Owls, h.Doorbells} {
		for _, d := range list {
			claim(d.ID, d.Name)
			types[d.Type]++
			names[d.Name] = true
			if strings.HasPrefix(d.Thumbnail, "/media/") {
				legacy++
				// legacy paths are fetched with ".jpg" appended
				if r := c.rest("GET", d.Thumbnail+".jpg", nil); r.status != 200 || !bytes.HasPrefix(r.body, []byte{0xFF, 0xD8}) {
					t.Errorf("legacy thumbnail %s: %d", d.Thumbnail, r.status)
				}
			}
		}
	}
	for _, typ := range []string{"catalina", "xt2", "owl", "lotus", "sedona"} {
		if types[typ] == 0 {
			t.Errorf("no %s devices: %v", typ, types)
		}
	}
	if legacy == 0 || len(names) != total {
		t.Errorf("%d legacy thumbnails; %d distinct names of %d", legacy, len(names), total)
	}
	for _, d := range srv.Devices() {
		if d.ID < 1_000_000 {
			t.Errorf("small id %d", d.ID)
		}
	}
	// deterministic: a second fake generates the same account
	again := blinkfake.New(t, cfg)
	if a, b := srv.Devices(), again.Devices(); !reflect.DeepEqual(a, b) {
		t.Error("generation is not deterministic")
	}
}

func TestExplicitAccount(t *testing.T) {
	acct := &blinkfake.Account{
		Networks: []blinkfake.Network{{ID: 77, Name: "Solo"}},
		Devices:  []blinkfake.Device{{ID: 88, NetworkID: 77, Family: blink.FamilyDoorbell, Name: "Gate", Enabled: true}},
	}
	srv, c := authed(t, blinkfake.Config{Account: acct, Tier: "e008", AccountID: 4242})
	h := c.homescreen()
	if h.Account.ID != 4242 || len(h.Networks) != 1 || len(h.SyncModules) != 0 || len(h.Doorbells) != 1 || h.Doorbells[0].Type != "lotus" {
		t.Errorf("homescreen %+v", h)
	}
	if got := srv.RESTURL(); !strings.HasSuffix(got, "/{tier}") {
		t.Errorf("RESTURL %q", got)
	}
	dup := &blinkfake.Account{Networks: []blinkfake.Network{{ID: 5}}, Devices: []blinkfake.Device{{ID: 5, NetworkID: 5}}}
	if _, err := blinkfake.Start(blinkfake.Config{Account: dup}); err == nil {
		t.Error("duplicate id accepted")
	}
	if _, err := blinkfake.Start(blinkfake.Config{Tier: "NOT A TIER"}); err == nil {
		t.Error("bad tier accepted")
	}
}

// TestHostileInput sends malformed paths, queries, forms and bodies to both
// hosts; the fake must answer each without panicking (a panic fails the test
// through the fake's testing.TB) and without a 5xx other than Blink's own
// "Camera not found".
func TestHostileInput(t *testing.T) {
	srv := blinkfake.New(t, blinkfake.Config{})
	tok, _, _ := srv.IssueTokens()
	a := srv.AccountID()
	dev := srv.Devices()[0]
	huge := strings.Repeat("A", 3<<20)
	cases := []struct{ method, target, body string }{
		{"GET", "/", ""},
		{"GET", "//", ""},
		{"GET", "/u011", ""},
		{"GET", "/u011/api/v1/accounts/x/media/changed?since=%ZZ&page=-9", ""},
		{"GET", fmt.Sprintf("/u011/api/v1/accounts/%d/media/changed?since=\x00&page=99999999999999999999", a), ""},
		{"GET", fmt.Sprintf("/u011/api/v1/accounts/%d/media/changed?page=9223372036854775807", a), ""},
		{"GET", fmt.Sprintf("/u011/api/v1/accounts/%d/media/changed?since=9999-99-99T99:99:99%%2B9999", a), ""},
		{"GET", "/u011/network/-1/command/0", ""},
		{"GET", "/u011/network/1/command/99999999999999999999999", ""},
		{"POST", fmt.Sprintf("/u011/network/%d/camera/%d/enable", dev.NetworkID, dev.ID), huge},
		{"POST", fmt.Sprintf("/u011/api/v1/accounts/%d/networks/%d/owls/%d/config", a, dev.NetworkID, dev.ID), `{"enabled":"yes"}`},
		{"POST", fmt.Sprintf("/u011/api/v1/accounts/%d/networks/1/owls/1/config", a), huge},
		{"POST", fmt.Sprintf("/u011/api/v1/accounts/%d/media/delete", a), `{"media_list":"x"}`},
		{"GET", fmt.Sprintf("/u011/api/v3/media/accounts/%d/networks/x/y/z/thumbnail/thumbnail.jpg?ts=-5", a), ""},
		{"GET", fmt.Sprintf("/u011/api/v2/accounts/%d/media/thumb/.jpg", a), ""},
		{"GET", fmt.Sprintf("/u011/media/production/account/%d/network/%d/camera/%d/clip_zzzzzzzzzzzzzz_x.jpg", a, dev.NetworkID, dev.ID), ""},
		{"GET", fmt.Sprintf("/u011/media/production/account/%d/network/%d/camera/%d/_.jpg", a, dev.NetworkID, dev.ID), ""},
		{"DELETE", fmt.Sprintf("/u011/api/v3/accounts/%d/homescreen", a), ""},
		{"GET", "/oauth/v2/authorize?hardware_id=" + url.QueryEscape("1F4C2A9E-3B7D-4E51-9A0C-7D2E8B6F1A35") + "&client_id=ios", ""},
		{"GET", "/oauth/v2/authorize?%%%", ""},
		{"POST", "/oauth/v2/signin", "username=%ZZ&&&=="},
		{"POST", "/oauth/v2/signin", huge},
		{"POST", "/oauth/v2/2fa/verify", "2fa_code=" + huge[:5000]},
		{"POST", "/oauth/token", "grant_type=authorization_code&hardware_id=1F4C2A9E-3B7D-4E51-9A0C-7D2E8B6F1A35&client_id=ios&code=&code_verifier="},
		{"POST", "/oauth/token", "grant_type=refresh_token&hardware_id=1F4C2A9E-3B7D-4E51-9A0C-7D2E8B6F1A35"},
		{"POST", "/oauth/token", "grant_type=%00"},
		{"PUT", "/oauth/token", ""},
	}
	for _, tc := range cases {
		h := srv.RESTHandler()
		if strings.HasPrefix(tc.target, "/oauth") {
			h = srv.OAuthHandler()
		}
		req := httptest.NewRequest(tc.method, "http://x"+strings.ReplaceAll(tc.target, "\x00", "%00"), strings.NewReader(tc.body))
		if tc.body != "" && strings.HasPrefix(tc.target, "/oauth") {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && !bytes.Contains(rec.Body.Bytes(), []byte("Camera not found")) {
			t.Errorf("%s %.80s: %d %.200s", tc.method, tc.target, rec.Code, rec.Body)
		}
	}
}

// FuzzRESTHandler throws arbitrary paths, queries and bodies at the REST
// host. The fake runs without a testing.TB, so a recovered handler panic
// shows up as a 500 here.
func FuzzRESTHandler(f *testing.F) {
	f.Add("GET", "api/v1/accounts/10001001/media/changed", "since=2026-03-01T17:00:00+0000&page=1", "")
	f.Add("POST", "network/410000000/camera/630000000/thumbnail", "", "")
	f.Add("POST", "api/v1/accounts/10001001/networks/410000002/owls/630000007/config", "", `{"enabled":true}`)
	f.Add("GET", "network/410000000/command/9876500000", "", "")
	f.Add("GET", "api/v3/media/accounts/10001001/networks/410000000/catalina/630000000/thumbnail/thumbnail.jpg", "ts=1&ext=", "")
	f.Add("GET", "media/production/account/10001001/network/410000000/camera/630000000/clip_abc_2026.jpg", "", "")
	srv, err := blinkfake.Start(blinkfake.Config{CommandPolls: 1, MaxMedia: 50})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(srv.Close)
	tok, _, _ := srv.IssueTokens()
	h := srv.RESTHandler()
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		if method != "GET" && method != "POST" {
			method = "GET"
		}
		u := &url.URL{Scheme: "http", Host: "x", Path: "/u011/" + path, RawQuery: query}
		req, err := http.NewRequest(method, u.String(), strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && !bytes.Contains(rec.Body.Bytes(), []byte("Camera not found")) {
			t.Errorf("%s %s: %d %s", method, u, rec.Code, rec.Body)
		}
	})
}

// FuzzOAuthHandler throws arbitrary requests at the OAuth host, with and
// without a live session cookie.
func FuzzOAuthHandler(f *testing.F) {
	f.Add("GET", "/oauth/v2/authorize", "client_id=ios&hardware_id=1F4C2A9E-3B7D-4E51-9A0C-7D2E8B6F1A35", "", true)
	f.Add("POST", "/oauth/v2/signin", "", "username=a&password=b&csrf-token=c", true)
	f.Add("POST", "/oauth/v2/2fa/verify", "", "2fa_code=123456&csrf-token=x", true)
	f.Add("POST", "/oauth/token", "", "grant_type=authorization_code&code=x&code_verifier=y&hardware_id=1F4C2A9E-3B7D-4E51-9A0C-7D2E8B6F1A35&client_id=ios", false)
	f.Add("POST", "/oauth/token", "", "grant_type=refresh_token&refresh_token=x&hardware_id=1F4C2A9E-3B7D-4E51-9A0C-7D2E8B6F1A35", false)
	srv, err := blinkfake.Start(blinkfake.Config{TwoFactor: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(srv.Close)
	h := srv.OAuthHandler()
	// a live session to reuse
	start := httptest.NewRecorder()
	h.ServeHTTP(start, httptest.NewRequest("GET", "http://x/oauth/v2/authorize?client_id=ios&response_type=code&code_challenge=abc&code_challenge_method=S256&redirect_uri="+
		url.QueryEscape(blinkfake.RedirectURI)+"&hardware_id=1F4C2A9E-3B7D-4E51-9A0C-7D2E8B6F1A35", nil))
	cookies := start.Result().Cookies()
	if len(cookies) == 0 {
		f.Fatal("authorize set no cookie")
	}
	f.Fuzz(func(t *testing.T, method, path, query, form string, withCookie bool) {
		if method != "GET" && method != "POST" {
			method = "POST"
		}
		u := &url.URL{Scheme: "http", Host: "x", Path: path, RawQuery: query}
		req, err := http.NewRequest(method, u.String(), strings.NewReader(form))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if withCookie {
			req.AddCookie(cookies[0])
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Errorf("%s %s %q: %d %s", method, u, form, rec.Code, rec.Body)
		}
	})
}

// TestConcurrentUse drives a big account from many goroutines at once;
// run with -race.
func TestConcurrentUse(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{Networks: 10, DevicesPerNetwork: 5, CommandPolls: 2})
	devs := srv.Devices()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := &http.Client{}
			get := func(method, path string) int {
				req, _ := http.NewRequest(method, srv.RESTBase(srv.Config().Tier)+path, nil)
				req.Header.Set("Authorization", "Bearer "+c.token)
				res, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return 0
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				return res.StatusCode
			}
			for i := range 30 {
				d := devs[(g*30+i)%len(devs)]
				switch i % 5 {
				case 0:
					get("GET", fmt.Sprintf("/api/v3/accounts/%d/homescreen", srv.AccountID()))
				case 1:
					srv.TriggerMotion(d.ID, "pir")
				case 2:
					get("GET", fmt.Sprintf("/api/v1/accounts/%d/media/changed?page=1", srv.AccountID()))
				case 3:
					get("POST", fmt.Sprintf("/api/v1/accounts/%d/networks/%d/state/arm", srv.AccountID(), d.NetworkID))
				case 4:
					cmds := srv.Commands()
					for _, ci := range cmds[max(0, len(cmds)-4):] {
						get("GET", fmt.Sprintf("/network/%d/command/%d", ci.NetworkID, ci.ID))
					}
					_ = srv.Counts()
					_, _ = srv.Network(d.NetworkID)
				}
			}
		}()
	}
	wg.Wait()
	if srv.Total() == 0 || len(srv.Media()) != 8*6 {
		t.Errorf("total %d, media %d", srv.Total(), len(srv.Media()))
	}
}

func TestHomescreenJSON(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{Networks: 50, DevicesPerNetwork: 10})
	served := c.rest("GET", fmt.Sprintf("/api/v3/accounts/%d/homescreen", srv.AccountID()), nil).body
	if got := srv.HomescreenJSON(); !bytes.Equal(got, served) || len(got) < 100_000 {
		t.Errorf("HomescreenJSON (%d bytes) differs from the served body (%d bytes)", len(got), len(served))
	}
	if !bytes.Contains(served, []byte("&ext=")) || bytes.Contains(served, []byte(`\u0026`)) {
		t.Error("thumbnail URLs are not sent with a raw &")
	}
}

func BenchmarkHomescreen50x10(b *testing.B) {
	srv := blinkfake.New(b, blinkfake.Config{Networks: 50, DevicesPerNetwork: 10})
	tok, _, _ := srv.IssueTokens()
	h := srv.RESTHandler()
	path := fmt.Sprintf("http://x/%s/api/v3/accounts/%d/homescreen", srv.Config().Tier, srv.AccountID())
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
		b.SetBytes(int64(rec.Body.Len()))
	}
}
