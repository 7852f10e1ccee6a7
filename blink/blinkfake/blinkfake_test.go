package blinkfake_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

const hardwareID = "1F4C2A9E-3B7D-4E51-9A0C-7D2E8B6F1A35"

// raw is a bare HTTP client against the fake: a cookie jar, no redirects.
type raw struct {
	t      *testing.T
	srv    *blinkfake.Server
	hc     *http.Client
	token  string
	verif  string
	chall  string
	csrf   string
	tokens tokenResp
}

type tokenResp struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
}

func newRaw(t *testing.T, srv *blinkfake.Server) *raw {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	verif := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verif))
	return &raw{
		t: t, srv: srv, verif: verif, chall: base64.RawURLEncoding.EncodeToString(sum[:]),
		hc: &http.Client{Jar: jar, Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %q: %v", r.body, err)
	}
}

func (c *raw) do(method, u string, form url.Values, hdr map[string]string) resp {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read: %v", method, u, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (c *raw) authorizeQuery(hw string) url.Values {
	return url.Values{
		"app_brand": {"blink"}, "app_version": {"50.1"}, "client_id": {"ios"},
		"code_challenge": {c.chall}, "code_challenge_method": {"S256"},
		"device_brand": {"Apple"}, "device_model": {"iPhone16,1"}, "device_os_version": {"26.1"},
		"hardware_id": {hw}, "redirect_uri": {blinkfake.RedirectURI}, "response_type": {"code"}, "scope": {"client"},
	}
}

var csrfRe = regexp.MustCompile(`<script id="oauth-args" type="application/json">(.*?)</script>`)

// start runs authorize + sign-in page and keeps the CSRF token.
func (c *raw) start() {
	c.t.Helper()
	r := c.do("GET", c.srv.OAuthURL()+"/oauth/v2/authorize?"+c.authorizeQuery(hardwareID).Encode(), nil, nil)
	if r.status != http.StatusFound || r.header.Get("Location") != "/oauth/v2/signin" {
		c.t.Fatalf("authorize: %d %v", r.status, r.header)
	}
	r = c.do("GET", c.srv.OAuthURL()+"/oauth/v2/signin", nil, nil)
	m := csrfRe.FindSubmatch(r.body)
	if r.status != 200 || m == nil {
		c.t.Fatalf("signin page: %d %s", r.status, r.body)
	}
	var args map[string]string
	if err := json.Unmarshal(m[1], &args); err != nil || args["csrf-token"] == "" {
		c.t.Fatalf("oauth-args %s: %v", m[1], err)
	}
	c.csrf = args["csrf-token"]
}

func (c *raw) signin(user, pass string) resp {
	c.t.Helper()
	return c.do("POST", c.srv.OAuthURL()+"/oauth/v2/signin",
		url.Values{"username": {user}, "password": {pass}, "csrf-token": {c.csrf}}, nil)
}

func (c *raw) verify(code string) resp {
	c.t.Helper()
	return c.do("POST", c.srv.OAuthURL()+"/oauth/v2/2fa/verify",
		url.Values{"2fa_code": {code}, "csrf-token": {c.csrf}, "remember_me": {"false"}}, nil)
}

// code runs step 5 and returns the authorization code.
func (c *raw) code() string {
	c.t.Helper()
	r := c.do("GET", c.srv.OAuthURL()+"/oauth/v2/authorize", nil, nil)
	loc, err := url.Parse(r.header.Get("Location"))
	if r.status != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), blinkfake.RedirectURI+"?") {
		c.t.Fatalf("authorize for code: %d %q", r.status, r.header.Get("Location"))
	}
	if loc.Query().Get("state") == "" {
		c.t.Errorf("callback without state: %s", loc)
	}
	return loc.Query().Get("code")
}

func (c *raw) exchange(code, verifier, hw string) resp {
	c.t.Helper()
	return c.do("POST", c.srv.OAuthURL()+"/oauth/token", url.Values{
		"app_brand": {"blink"}, "client_id": {"ios"}, "code": {code}, "code_verifier": {verifier},
		"grant_type": {"authorization_code"}, "hardware_id": {hw}, "redirect_uri": {blinkfake.RedirectURI},
		"scope": {"client"},
	}, nil)
}

func (c *raw) refresh(rt string) resp {
	c.t.Helper()
	return c.do("POST", c.srv.OAuthURL()+"/oauth/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"ios"},
		"scope": {"client"}, "hardware_id": {hardwareID},
	}, nil)
}

// login runs the whole flow (2FA when the fake wants it) and keeps the token.
func (c *raw) login() {
	c.t.Helper()
	cfg := c.srv.Config()
	c.start()
	r := c.signin(cfg.Email, cfg.Password)
	switch r.status {
	case http.StatusFound:
	case http.StatusPreconditionFailed, http.StatusAccepted:
		if v := c.verify(cfg.Code); v.status != http.StatusCreated {
			c.t.Fatalf("verify: %d %s", v.status, v.body)
		}
	default:
		c.t.Fatalf("signin: %d %s", r.status, r.body)
	}
	r = c.exchange(c.code(), c.verif, hardwareID)
	if r.status != 200 {
		c.t.Fatalf("token: %d %s", r.status, r.body)
	}
	r.json(c.t, &c.tokens)
	c.token = c.tokens.AccessToken
}

// rest calls the REST host on the account's tier with the bearer token.
func (c *raw) rest(method, path string, body any) resp {
	c.t.Helper()
	return c.restTier(c.srv.Config().Tier, method, path, body)
}

func (c *raw) restTier(tier, method, path string, body any) resp {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.srv.RESTBase(tier)+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// authed is a fake plus a logged-in raw client.
func authed(t *testing.T, cfg blinkfake.Config) (*blinkfake.Server, *raw) {
	t.Helper()
	srv := blinkfake.New(t, cfg)
	c := newRaw(t, srv)
	c.token, _, _ = srv.IssueTokens()
	return srv, c
}

// ---- homescreen model used by the tests (independent of package blink) ----

type hsDevice struct {
	ID        int64  `json:"id"`
	NetworkID int64  `json:"network_id"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	Enabled   bool   `json:"enabled"`
	Status    string `json:"status"`
	Battery   string `json:"battery"`
	Thumbnail string `json:"thumbnail"`
	UpdatedAt string `json:"updated_at"`
	Signals   *struct {
		Temp int `json:"temp"`
		WiFi int `json:"wifi"`
	} `json:"signals"`
}

type hs struct {
	Account  struct{ ID int64 } `json:"account"`
	Networks []struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Armed bool   `json:"armed"`
	} `json:"networks"`
	SyncModules []struct {
		ID        int64 `json:"id"`
		NetworkID int64 `json:"network_id"`
	} `json:"sync_modules"`
	Cameras   []hsDevice `json:"cameras"`
	Owls      []hsDevice `json:"owls"`
	Doorbells []hsDevice `json:"doorbells"`
}

func (c *raw) homescreen() hs {
	c.t.Helper()
	r := c.rest("GET", fmt.Sprintf("/api/v3/accounts/%d/homescreen", c.srv.AccountID()), nil)
	if r.status != 200 {
		c.t.Fatalf("homescreen: %d %s", r.status, r.body)
	}
	var h hs
	r.json(c.t, &h)
	return h
}

func (h hs) device(id int64) hsDevice {
	for _, list := range [][]hsDevice{h.Cameras, h.Owls, h.Doorbells} {
		for _, d := range list {
			if d.ID == id {
				return d
			}
		}
	}
	return hsDevice{}
}

func (h hs) armed(id int64) bool {
	for _, n := range h.Networks {
		if n.ID == id {
			return n.Armed
		}
	}
	return false
}

// newClock is a clock for Config.Now at a fixed start.
func newClock() *blinkfake.Clock {
	return blinkfake.NewClock(time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC))
}

// ---- login ----

func TestLoginFlows(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        blinkfake.Config
		wantSignin int
		wantCodes  int
	}{
		{"no 2FA", blinkfake.Config{}, http.StatusFound, 0},
		{"no 2FA, 303", blinkfake.Config{SigninStatus: http.StatusSeeOther}, http.StatusSeeOther, 0},
		{"2FA 412", blinkfake.Config{TwoFactor: true}, http.StatusPreconditionFailed, 1},
		{"2FA 202", blinkfake.Config{TwoFactor: true, Use202: true}, http.StatusAccepted, 1},
		{"2FA 202 email", blinkfake.Config{TwoFactor: true, Use202: true, TwoFactorChannel: "email"}, http.StatusAccepted, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := blinkfake.New(t, tc.cfg)
			c := newRaw(t, srv)
			cfg := srv.Config()
			c.start()
			r := c.signin(strings.ToUpper(cfg.Email), cfg.Password)
			if r.status != tc.wantSignin {
				t.Fatalf("signin status = %d, want %d (%s)", r.status, tc.wantSignin, r.body)
			}
			if tc.wantSignin == http.StatusAccepted {
				var j struct {
					Next    int      `json:"next_time_in_secs"`
					Methods []string `json:"tsv_methods"`
					State   string   `json:"tsv_state"`
					UserID  int64    `json:"user_id"`
				}
				r.json(t, &j)
				if j.Next != 60 || j.State != cfg.TwoFactorChannel || len(j.Methods) != 1 || j.UserID == 0 {
					t.Errorf("202 body = %+v", j)
				}
			}
			if tc.cfg.TwoFactor {
				// a wrong code is refused and the session stays usable
				if v := c.verify("000000"); v.status != http.StatusBadRequest || !bytes.Contains(v.body, []byte(`"error"`)) {
					t.Errorf("wrong code: %d %s", v.status, v.body)
				}
				v := c.verify(cfg.Code)
				if v.status != http.StatusCreated || !bytes.Contains(v.body, []byte(`"auth-completed"`)) {
					t.Fatalf("verify: %d %s", v.status, v.body)
				}
			}
			r = c.exchange(c.code(), c.verif, hardwareID)
			if r.status != 200 {
				t.Fatalf("token: %d %s", r.status, r.body)
			}
			var tok tokenResp
			r.json(t, &tok)
			if tok.ExpiresIn != 14400 || tok.TokenType != "Bearer" || tok.Scope != "client" ||
				strings.Count(tok.AccessToken, ".") != 2 || tok.RefreshToken == "" {
				t.Errorf("token response = %+v", tok)
			}
			if srv.Logins() != 1 || srv.CodesSent() != tc.wantCodes {
				t.Errorf("Logins = %d, CodesSent = %d; want 1, %d", srv.Logins(), srv.CodesSent(), tc.wantCodes)
			}
			handed := srv.Secrets()
			for _, want := range []string{c.csrf, tok.AccessToken, tok.RefreshToken} {
				if !slices.Contains(handed, want) {
					t.Errorf("Secrets() lacks a secret the client got (%d listed)", len(handed))
				}
			}
			c.token = tok.AccessToken
			r = c.restTier("prod", "GET", "/api/v1/users/tier_info", nil)
			var ti struct {
				Tier      string `json:"tier"`
				AccountID int64  `json:"account_id"`
			}
			r.json(t, &ti)
			if r.status != 200 || ti.Tier != cfg.Tier || ti.AccountID != cfg.AccountID {
				t.Errorf("tier_info = %d %s", r.status, r.body)
			}
		})
	}
}

func TestLoginErrors(t *testing.T) {
	t.Run("bad hardware_id on authorize", func(t *testing.T) {
		srv := blinkfake.New(t, blinkfake.Config{})
		c := newRaw(t, srv)
		r := c.do("GET", srv.OAuthURL()+"/oauth/v2/authorize?"+c.authorizeQuery("Blinkpy").Encode(), nil, nil)
		if r.status != http.StatusNotAcceptable || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("got %d %q", r.status, r.header.Get("Content-Type"))
		}
	})
	t.Run("empty cookies", func(t *testing.T) {
		srv := blinkfake.New(t, blinkfake.Config{})
		c := newRaw(t, srv)
		c.start()
		c.hc.Jar, _ = cookiejar.New(nil)
		r := c.signin(srv.Config().Email, srv.Config().Password)
		var e map[string]string
		r.json(t, &e)
		if r.status != 400 || e["error"] != "bad_request" || e["error_cause"] != "empty_cookies" || e["error_description"] != "Empty Cookies." {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		srv := blinkfake.New(t, blinkfake.Config{})
		c := newRaw(t, srv)
		c.start()
		r := c.signin(srv.Config().Email, "nope")
		if r.status != 401 || !bytes.Contains(r.body, []byte(`"invalid_user_credentials"`)) {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})
	t.Run("PKCE mismatch", func(t *testing.T) {
		srv := blinkfake.New(t, blinkfake.Config{})
		c := newRaw(t, srv)
		c.start()
		if r := c.signin(srv.Config().Email, srv.Config().Password); r.status != http.StatusFound {
			t.Fatalf("signin %d", r.status)
		}
		code := c.code()
		r := c.exchange(code, c.verif+"x", hardwareID)
		if r.status != 400 || !bytes.Contains(r.body, []byte(`"invalid_grant"`)) {
			t.Errorf("got %d %s", r.status, r.body)
		}
		// the code is single-use: even the right verifier fails now
		if r := c.exchange(code, c.verif, hardwareID); r.status != 400 {
			t.Errorf("reused code: %d", r.status)
		}
		if srv.Logins() != 0 {
			t.Errorf("Logins = %d", srv.Logins())
		}
	})
	t.Run("bad hardware_id on token", func(t *testing.T) {
		srv := blinkfake.New(t, blinkfake.Config{})
		c := newRaw(t, srv)
		c.start()
		c.signin(srv.Config().Email, srv.Config().Password)
		if r := c.exchange(c.code(), c.verif, "Home Assistant"); r.status != http.StatusNotAcceptable {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})
	t.Run("password grant retired", func(t *testing.T) {
		srv := blinkfake.New(t, blinkfake.Config{})
		c := newRaw(t, srv)
		r := c.do("POST", srv.OAuthURL()+"/oauth/token", url.Values{"grant_type": {"password"},
			"username": {srv.Config().Email}, "password": {srv.Config().Password}, "client_id": {"android"},
			"hardware_id": {hardwareID}}, nil)
		if r.status != 401 || !bytes.Contains(r.body, []byte(`"unsupported_grant_type"`)) {
			t.Errorf("got %d %s", r.status, r.body)
		}
	})
}

func TestRefreshRotationAndRevocation(t *testing.T) {
	srv := blinkfake.New(t, blinkfake.Config{})
	c := newRaw(t, srv)
	c.login()
	first := c.tokens.RefreshToken
	r := c.refresh(first)
	if r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	var tok tokenResp
	r.json(t, &tok)
	if tok.RefreshToken == first || tok.AccessToken == c.tokens.AccessToken {
		t.Error("refresh did not rotate the tokens")
	}
	if r := c.refresh(first); r.status != 401 || !bytes.Contains(r.body, []byte(`"invalid_grant"`)) {
		t.Errorf("old refresh token: %d %s", r.status, r.body)
	}
	srv.RevokeRefreshTokens()
	if r := c.refresh(tok.RefreshToken); r.status != 401 {
		t.Errorf("revoked refresh token: %d %s", r.status, r.body)
	}
	if srv.Logins() != 1 {
		t.Errorf("Logins = %d, want 1 (refreshes are not logins)", srv.Logins())
	}
}

func TestBearerAndTier(t *testing.T) {
	clock := newClock()
	srv, c := authed(t, blinkfake.Config{Now: clock.Now, AccessTokenTTL: time.Hour})
	hsPath := fmt.Sprintf("/api/v3/accounts/%d/homescreen", srv.AccountID())
	unauthorized := `{"message":"Unauthorized Access","code":101}`

	r := c.rest("GET", hsPath, nil)
	if r.status != 200 || r.header.Get("Client-Id") == "" || r.header.Get("User-Id") == "" {
		t.Fatalf("homescreen: %d %v", r.status, r.header)
	}
	if r := c.rest("GET", fmt.Sprintf("/api/v4/accounts/%d/homescreen", srv.AccountID()), nil); r.status != 200 {
		t.Errorf("v4 homescreen: %d", r.status)
	}
	if r := c.restTier("prod", "GET", hsPath, nil); r.status != 404 || string(r.body) != `{"message":"Not Found"}` {
		t.Errorf("wrong tier: %d %s", r.status, r.body)
	}
	if r := c.restTier("e008", "GET", "/api/v1/users/tier_info", nil); r.status != 404 {
		t.Errorf("tier_info on another tier: %d", r.status)
	}
	if r := c.rest("GET", "/api/v3/accounts/1/homescreen", nil); r.status != 404 {
		t.Errorf("other account: %d", r.status)
	}

	good := c.token
	c.token = ""
	if r := c.rest("GET", hsPath, nil); r.status != 401 || string(r.body) != unauthorized {
		t.Errorf("no token: %d %s", r.status, r.body)
	}
	c.token = "eyJ.unknown.token"
	if r := c.rest("GET", hsPath, nil); r.status != 401 {
		t.Errorf("unknown token: %d", r.status)
	}
	c.token = good
	clock.Add(time.Hour)
	if r := c.rest("GET", hsPath, nil); r.status != 401 || string(r.body) != unauthorized {
		t.Errorf("expired token: %d %s", r.status, r.body)
	}
	c.token, _, _ = srv.IssueTokens()
	if r := c.rest("GET", hsPath, nil); r.status != 200 {
		t.Errorf("fresh token: %d", r.status)
	}
	srv.ExpireAccessTokens()
	if r := c.rest("GET", hsPath, nil); r.status != 401 {
		t.Errorf("ExpireAccessTokens: %d", r.status)
	}
	if got := srv.Count(blinkfake.EpHomescreen); got != 9 {
		t.Errorf("Count(homescreen) = %d, want 9", got)
	}
}

func TestDefaultAccount(t *testing.T) {
	_, c := authed(t, blinkfake.Config{})
	h := c.homescreen()
	if len(h.Networks) != 3 || len(h.SyncModules) != 2 || len(h.Cameras) != 6 || len(h.Owls) != 1 || len(h.Doorbells) != 1 {
		t.Fatalf("default account: %d networks, %d sync modules, %d cameras, %d owls, %d doorbells",
			len(h.Networks), len(h.SyncModules), len(h.Cameras), len(h.Owls), len(h.Doorbells))
	}
	seen := map[int64]bool{}
	for _, n := range h.Networks {
		seen[n.ID] = true
	}
	for _, sm := range h.SyncModules {
		if seen[sm.ID] {
			t.Errorf("id %d reused", sm.ID)
		}
		seen[sm.ID] = true
	}
	for _, list := range [][]hsDevice{h.Cameras, h.Owls, h.Doorbells} {
		for _, d := range list {
			if seen[d.ID] {
				t.Errorf("id %d reused", d.ID)
			}
			seen[d.ID] = true
			want := fmt.Sprintf("/api/v3/media/accounts/%d/networks/%d/%s/%d/thumbnail/thumbnail.jpg?ts=", h.Account.ID, d.NetworkID, d.Type, d.ID)
			if !strings.HasPrefix(d.Thumbnail, want) || !strings.HasSuffix(d.Thumbnail, "&ext=") {
				t.Errorf("%s thumbnail = %q", d.Name, d.Thumbnail)
			}
		}
	}
	for _, d := range h.Cameras {
		if d.Signals == nil || d.Battery == "" || d.Status != "done" {
			t.Errorf("camera %s: signals %v battery %q status %q", d.Name, d.Signals, d.Battery, d.Status)
		}
	}
	if o := h.Owls[0]; o.Battery != "" || o.Signals != nil || o.Status != "online" {
		t.Errorf("owl %+v", o)
	}
	if d := h.Doorbells[0]; d.Battery == "" || d.Signals != nil {
		t.Errorf("doorbell %+v", d)
	}
}

// ---- commands ----

type cmdStatus struct {
	Complete   bool   `json:"complete"`
	Status     int    `json:"status"`
	StatusMsg  string `json:"status_msg"`
	StatusCode int    `json:"status_code"`
	Commands   []struct {
		ID             int64  `json:"id"`
		Command        string `json:"command"`
		StateCondition string `json:"state_condition"`
		StateStage     string `json:"state_stage"`
	} `json:"commands"`
	MediaID *int64 `json:"media_id"`
}

func (c *raw) poll(net, cmd int64) cmdStatus {
	c.t.Helper()
	r := c.rest("GET", fmt.Sprintf("/network/%d/command/%d", net, cmd), nil)
	if r.status != 200 {
		c.t.Fatalf("command status: %d %s", r.status, r.body)
	}
	var s cmdStatus
	r.json(c.t, &s)
	return s
}

type cmdObj struct {
	ID        int64  `json:"id"`
	NetworkID int64  `json:"network_id"`
	Command   string `json:"command"`
	State     string `json:"state"`
	// full form
	StateCondition string `json:"state_condition"`
	Target         string `json:"target"`
	Message        string `json:"message"`
	Code           int    `json:"code"`
}

func (c *raw) post(path string, body any) (resp, cmdObj) {
	c.t.Helper()
	r := c.rest("POST", path, body)
	var o cmdObj
	if r.status == 200 {
		r.json(c.t, &o)
	}
	return r, o
}

func TestCommandProgression(t *testing.T) {
	clock := newClock()
	srv, c := authed(t, blinkfake.Config{Now: clock.Now})
	acct := srv.AccountID()
	cams := srv.DevicesOf(blink.FamilyCamera)
	cam := cams[2] // Driveway: motion disabled
	owl := srv.DevicesOf(blink.FamilyOwl)[0]
	bell := srv.DevicesOf(blink.FamilyDoorbell)[0]
	home := srv.Networks()[0]
	cabin := srv.Networks()[1]

	tests := []struct {
		name    string
		path    string
		body    any
		netID   int64
		command string
		check   func(t *testing.T, before, after hs)
	}{
		{"camera enable", fmt.Sprintf("/network/%d/camera/%d/enable", cam.NetworkID, cam.ID), nil, cam.NetworkID, "device_motion_enable",
			func(t *testing.T, b, a hs) {
				if b.device(cam.ID).Enabled || !a.device(cam.ID).Enabled {
					t.Error("enabled did not flip to true")
				}
			}},
		{"camera thumbnail", fmt.Sprintf("/network/%d/camera/%d/thumbnail", cam.NetworkID, cam.ID), nil, cam.NetworkID, "thumbnail",
			func(t *testing.T, b, a hs) {
				if b.device(cam.ID).Thumbnail == a.device(cam.ID).Thumbnail || b.device(cam.ID).UpdatedAt == a.device(cam.ID).UpdatedAt {
					t.Error("thumbnail/updated_at unchanged")
				}
			}},
		{"owl disable", fmt.Sprintf("/api/v1/accounts/%d/networks/%d/owls/%d/config", acct, owl.NetworkID, owl.ID), map[string]bool{"enabled": false}, owl.NetworkID, "config_set",
			func(t *testing.T, b, a hs) {
				if !b.device(owl.ID).Enabled || a.device(owl.ID).Enabled {
					t.Error("owl enabled did not flip to false")
				}
			}},
		{"doorbell disable", fmt.Sprintf("/api/v1/accounts/%d/networks/%d/doorbells/%d/disable", acct, bell.NetworkID, bell.ID), nil, bell.NetworkID, "device_motion_disable",
			func(t *testing.T, b, a hs) {
				if !b.device(bell.ID).Enabled || a.device(bell.ID).Enabled {
					t.Error("doorbell enabled did not flip to false")
				}
			}},
		{"doorbell thumbnail", fmt.Sprintf("/api/v1/accounts/%d/networks/%d/doorbells/%d/thumbnail", acct, bell.NetworkID, bell.ID), nil, bell.NetworkID, "thumbnail",
			func(t *testing.T, b, a hs) {
				if b.device(bell.ID).Thumbnail == a.device(bell.ID).Thumbnail {
					t.Error("thumbnail unchanged")
				}
			}},
		{"disarm", fmt.Sprintf("/api/v1/accounts/%d/networks/%d/state/disarm", acct, home.ID), nil, home.ID, "disarm",
			func(t *testing.T, b, a hs) {
				if !b.armed(home.ID) || a.armed(home.ID) {
					t.Error("armed did not flip to false")
				}
			}},
		{"arm", fmt.Sprintf("/api/v1/accounts/%d/networks/%d/state/arm", acct, cabin.ID), nil, cabin.ID, "arm",
			func(t *testing.T, b, a hs) {
				if b.armed(cabin.ID) || !a.armed(cabin.ID) {
					t.Error("armed did not flip to true")
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock.Add(time.Minute)
			before := c.homescreen()
			r, o := c.post(tc.path, tc.body)
			if r.status != 200 || o.ID == 0 || o.NetworkID != tc.netID || o.Command != tc.command {
				t.Fatalf("submit: %d %s", r.status, r.body)
			}
			// second command on the same network while the first runs: busy
			r2, _ := c.post(tc.path, tc.body)
			if r2.status != http.StatusConflict || string(r2.body) != `{"message":"System is busy, please wait","code":307}` {
				t.Errorf("concurrent command: %d %s", r2.status, r2.body)
			}
			s1 := c.poll(tc.netID, o.ID)
			if s1.Complete || s1.StatusCode != 908 || s1.Status != 0 || s1.StatusMsg != "Command succeeded" {
				t.Errorf("first poll = %+v, want in progress", s1)
			}
			clock.Add(time.Second)
			if mid := c.homescreen(); !reflect.DeepEqual(mid, before) {
				t.Error("homescreen changed before the command completed")
			}
			s2 := c.poll(tc.netID, o.ID)
			if !s2.Complete || s2.StatusCode != 908 || s2.Status != 0 || len(s2.Commands) == 0 {
				t.Fatalf("second poll = %+v, want complete", s2)
			}
			for _, ch := range s2.Commands {
				if ch.StateCondition != "done" {
					t.Errorf("child %+v not done", ch)
				}
			}
			if srv.CommandCompletedAt(o.ID).IsZero() {
				t.Error("CommandCompletedAt is zero")
			}
			tc.check(t, before, c.homescreen())
		})
	}
}

func TestCommandFailureStallAndDone(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{CommandPolls: 1})
	cam := srv.DevicesOf(blink.FamilyCamera)[0]
	path := fmt.Sprintf("/network/%d/camera/%d/thumbnail", cam.NetworkID, cam.ID)
	before := c.homescreen().device(cam.ID).Thumbnail

	srv.FailNextCommand(523, "Live view failed")
	_, o := c.post(path, nil)
	s := c.poll(cam.NetworkID, o.ID)
	if !s.Complete || s.StatusCode != 523 || s.Status != 1 || s.StatusMsg != "Live view failed" || s.Commands[0].StateCondition != "error" {
		t.Errorf("failed command = %+v", s)
	}
	if c.homescreen().device(cam.ID).Thumbnail != before {
		t.Error("a failed command changed the thumbnail")
	}

	srv.StallNextCommand()
	_, o = c.post(path, nil)
	for range 5 {
		if s := c.poll(cam.NetworkID, o.ID); s.Complete {
			t.Fatal("stalled command completed")
		}
	}
	if r, _ := c.post(path, nil); r.status != http.StatusConflict {
		t.Errorf("network not busy behind a stalled command: %d", r.status)
	}
	r := c.rest("POST", fmt.Sprintf("/network/%d/command/%d/done/", cam.NetworkID, o.ID), nil)
	if r.status != 200 || !bytes.Contains(r.body, []byte(`"code":902`)) {
		t.Errorf("done: %d %s", r.status, r.body)
	}
	if r, _ := c.post(path, nil); r.status != 200 {
		t.Errorf("after done: %d %s", r.status, r.body)
	}
}

func TestArmWithoutEnabledCameras(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{})
	n := srv.Networks()[1]
	for _, d := range srv.Devices() {
		if d.NetworkID == n.ID {
			if err := srv.SetEnabled(d.ID, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	r := c.rest("POST", fmt.Sprintf("/api/v1/accounts/%d/networks/%d/state/arm", srv.AccountID(), n.ID), nil)
	if r.status != 200 || string(r.body) != `{"message":"No Cameras Enabled for Motion","code":304}` {
		t.Errorf("got %d %s", r.status, r.body)
	}
	if !c.homescreen().armed(n.ID) {
		t.Error("network not armed after 304")
	}
}

func TestWrongFamily(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{})
	owl := srv.DevicesOf(blink.FamilyOwl)[0]
	cam := srv.DevicesOf(blink.FamilyCamera)[0]
	for _, path := range []string{
		fmt.Sprintf("/network/%d/camera/%d/enable", owl.NetworkID, owl.ID),
		fmt.Sprintf("/api/v1/accounts/%d/networks/%d/owls/%d/thumbnail", srv.AccountID(), cam.NetworkID, cam.ID),
		fmt.Sprintf("/api/v1/accounts/%d/networks/%d/doorbells/%d/clip", srv.AccountID(), cam.NetworkID, cam.ID),
	} {
		r := c.rest("POST", path, nil)
		if r.status != 500 || string(r.body) != `{"message":"Camera not found","code":500}` {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	if n := len(srv.Commands()); n != 0 {
		t.Errorf("%d commands created", n)
	}
}

// ---- media ----

type mediaPage struct {
	Limit int `json:"limit"`
	Media []struct {
		ID        int64  `json:"id"`
		CreatedAt string `json:"created_at"`
		DeviceID  int64  `json:"device_id"`
		Source    string `json:"source"`
		Deleted   bool   `json:"deleted"`
		Thumbnail string `json:"thumbnail"`
		Media     string `json:"media"`
	} `json:"media"`
}

func (c *raw) mediaChanged(rawQuery string) (int, mediaPage) {
	c.t.Helper()
	r := c.rest("GET", fmt.Sprintf("/api/v1/accounts/%d/media/changed?%s", c.srv.AccountID(), rawQuery), nil)
	var p mediaPage
	if r.status == 200 {
		r.json(c.t, &p)
	}
	return r.status, p
}

func TestMediaPagingAndSince(t *testing.T) {
	clock := newClock()
	srv, c := authed(t, blinkfake.Config{Now: clock.Now, MediaPageSize: 4})
	devs := srv.Devices()
	var ids []int64
	for i := range 10 {
		clock.Add(time.Minute)
		ids = append(ids, srv.TriggerMotion(devs[i%len(devs)].ID, "").ID)
	}
	// pages: 4, 4, 2, then empty; newest first; page 0 == page 1
	var got []int64
	for page := 1; ; page++ {
		st, p := c.mediaChanged(fmt.Sprintf("since=1970-01-01T00:00:00%%2B0000&page=%d", page))
		if st != 200 || p.Limit != 4 {
			t.Fatalf("page %d: %d limit %d", page, st, p.Limit)
		}
		if len(p.Media) == 0 {
			break
		}
		for _, m := range p.Media {
			got = append(got, m.ID)
			if m.Source != "pir" {
				t.Errorf("source %q", m.Source)
			}
		}
	}
	if len(got) != 10 || got[0] != ids[9] || got[9] != ids[0] {
		t.Errorf("paged ids = %v, want newest first of %v", got, ids)
	}
	_, p0 := c.mediaChanged("page=0")
	if len(p0.Media) != 4 || p0.Media[0].ID != ids[9] {
		t.Errorf("page=0: %+v", p0)
	}

	// since = 17:05:00 → items created at 17:05 … 17:10 (six)
	for _, q := range []string{
		"since=2026-03-01T17:05:00+0000",      // blinkpy, unencoded: + → space
		"since=2026-03-01T17:05:00%2B0000",    // encoded
		"since=2026-03-01T17:05:00.000Z",      // homebridge
		"since=2026-03-01%2017:05:00",         // Homey
		"since=2026-03-01T17:05:00%2B00:00",   // RFC 3339
		"since=2026-03-01T18:05:00%2B01:00",   // other offset
		"since=2026-03-01T17:05:00.123456Z&x", // fractional, junk param
	} {
		var n int
		for page := 1; page < 10; page++ {
			st, p := c.mediaChanged(q + fmt.Sprintf("&page=%d", page))
			if st != 200 {
				t.Fatalf("%s: status %d", q, st)
			}
			if len(p.Media) == 0 {
				break
			}
			n += len(p.Media)
		}
		want := 6
		if strings.Contains(q, ".123456Z") {
			want = 5
		}
		if n != want {
			t.Errorf("%s: %d items, want %d", q, n, want)
		}
	}
	if st, _ := c.mediaChanged("since=yesterday"); st != 400 {
		t.Errorf("unparsable since: %d", st)
	}

	// changed-feed: deleting an old item brings it back to the top
	clock.Add(time.Minute)
	if err := srv.DeleteMedia(ids[0]); err != nil {
		t.Fatal(err)
	}
	_, p := c.mediaChanged("since=2026-03-01T17:10:30Z")
	if len(p.Media) != 1 || p.Media[0].ID != ids[0] || !p.Media[0].Deleted {
		t.Errorf("changed feed after delete: %+v", p)
	}
}

func TestMediaDownloads(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{CommandPolls: 1})
	cam := srv.DevicesOf(blink.FamilyCamera)[0]
	owl := srv.DevicesOf(blink.FamilyOwl)[0]
	mc := srv.TriggerMotion(cam.ID, "")
	mo := srv.TriggerMotion(owl.ID, "snapshot")

	get := func(path string) resp {
		t.Helper()
		return c.rest("GET", path, nil)
	}
	for _, tc := range []struct {
		name, path, ctype string
		prefix            []byte
	}{
		{"v2 thumb", mc.Thumbnail + ".jpg", "image/jpeg", []byte{0xFF, 0xD8}},
		{"v2 clip", mc.Clip, "video/mp4", []byte("\x00\x00\x00\x20ftyp")},
		{"v3 thumb", mo.Thumbnail, "image/jpeg", []byte{0xFF, 0xD8}},
		{"v3 clip", mo.Clip, "video/mp4", []byte("\x00\x00\x00\x20ftyp")},
	} {
		r := get(tc.path)
		if r.status != 200 || r.header.Get("Content-Type") != tc.ctype || !bytes.HasPrefix(r.body, tc.prefix) {
			t.Errorf("%s %s: %d %q %q", tc.name, tc.path, r.status, r.header.Get("Content-Type"), r.body[:min(8, len(r.body))])
		}
	}
	if r := get(mc.Thumbnail); r.status != 404 || string(r.body) != `{"message":"Media not found","code":700}` {
		t.Errorf("thumb without .jpg: %d %s", r.status, r.body)
	}
	if r := get(fmt.Sprintf("/api/v2/accounts/%d/media/clip/1.mp4", srv.AccountID())); r.status != 404 {
		t.Errorf("unknown clip: %d", r.status)
	}

	// device thumbnail changes with ts
	h := c.homescreen()
	t1 := get(h.device(cam.ID).Thumbnail)
	_, o := c.post(fmt.Sprintf("/network/%d/camera/%d/thumbnail", cam.NetworkID, cam.ID), nil)
	c.poll(cam.NetworkID, o.ID)
	t2 := get(c.homescreen().device(cam.ID).Thumbnail)
	if t1.status != 200 || t2.status != 200 || bytes.Equal(t1.body, t2.body) {
		t.Errorf("device thumbnails: %d %d, equal=%v", t1.status, t2.status, bytes.Equal(t1.body, t2.body))
	}
	wrongType := strings.Replace(h.device(cam.ID).Thumbnail, "/"+cam.Type+"/", "/owl/", 1)
	if r := get(wrongType); !bytes.Contains(r.body, []byte(`"code":1630`)) {
		t.Errorf("wrong type segment: %d %s", r.status, r.body)
	}

	// clip command creates a media item whose id the status reports
	_, o = c.post(fmt.Sprintf("/api/v1/accounts/%d/networks/%d/owls/%d/clip", srv.AccountID(), owl.NetworkID, owl.ID), nil)
	s := c.poll(owl.NetworkID, o.ID)
	if s.MediaID == nil || *s.MediaID == 0 {
		t.Fatalf("clip status without media_id: %+v", s)
	}
	if ms := srv.Media(); ms[len(ms)-1].ID != *s.MediaID {
		t.Errorf("clip media %d not the newest", *s.MediaID)
	}
}

func TestLiveview(t *testing.T) {
	clock := newClock()
	srv, c := authed(t, blinkfake.Config{Now: clock.Now, CommandPolls: 1})
	acct := srv.AccountID()
	cam := srv.DevicesOf(blink.FamilyCamera)[0] // on "Home", armed
	owl := srv.DevicesOf(blink.FamilyOwl)[0]

	type lv struct {
		CommandID int64  `json:"command_id"`
		Server    string `json:"server"`
		Duration  int    `json:"duration"`
		Type      string `json:"type"`
	}
	start := func(path, intent string) (resp, lv) {
		t.Helper()
		r := c.rest("POST", path, map[string]any{"intent": intent, "motion_event_start_time": nil})
		var v lv
		if r.status == 200 {
			r.json(t, &v)
		}
		return r, v
	}
	camPath := fmt.Sprintf("/api/v6/accounts/%d/networks/%d/cameras/%d/liveview", acct, cam.NetworkID, cam.ID)
	r, v := start(camPath, "liveview")
	if r.status != 200 || v.CommandID == 0 || !strings.HasPrefix(v.Server, "immis://") || v.Duration != 300 || v.Type != "lv" {
		t.Fatalf("liveview: %d %s", r.status, r.body)
	}
	// connected: complete, child still running, network busy
	s := c.poll(cam.NetworkID, v.CommandID)
	if !s.Complete || s.StatusCode != 908 || s.Commands[0].StateCondition != "running" {
		t.Errorf("streaming status = %+v", s)
	}
	if r, _ := start(camPath, "liveview"); r.status != http.StatusConflict {
		t.Errorf("second live view: %d", r.status)
	}
	media := len(srv.Media())
	if r := c.rest("POST", fmt.Sprintf("/network/%d/command/%d/done/", cam.NetworkID, v.CommandID), nil); r.status != 200 {
		t.Fatalf("done: %d", r.status)
	}
	if s := c.poll(cam.NetworkID, v.CommandID); s.Commands[0].StateCondition != "done" {
		t.Errorf("after done: %+v", s)
	}
	if ms := srv.Media(); len(ms) != media+1 || ms[len(ms)-1].Source != "liveview" {
		t.Errorf("armed live view saved no liveview clip")
	}

	// an extended live view ends by itself when its duration is over
	owlPath := fmt.Sprintf("/api/v2/accounts/%d/networks/%d/owls/%d/liveview", acct, owl.NetworkID, owl.ID)
	r, v = start(owlPath, "extended_liveview")
	if r.status != 200 || v.Type != "elv" || v.Duration != 5400 {
		t.Fatalf("extended: %d %s", r.status, r.body)
	}
	c.poll(owl.NetworkID, v.CommandID)
	clock.Add(5400 * time.Second)
	if s := c.poll(owl.NetworkID, v.CommandID); s.Commands[0].StateCondition != "done" {
		t.Errorf("expired live view: %+v", s)
	}

	// failure at connect
	srv.FailNextCommand(523, "Live view failed")
	_, v = start(camPath, "")
	if s := c.poll(cam.NetworkID, v.CommandID); s.StatusCode != 523 || !s.Complete {
		t.Errorf("failed live view: %+v", s)
	}
	// wrong family
	if r, _ := start(fmt.Sprintf("/api/v6/accounts/%d/networks/%d/cameras/%d/liveview", acct, owl.NetworkID, owl.ID), ""); r.status != 500 {
		t.Errorf("owl on the camera path: %d", r.status)
	}
}

func TestLegacyLoginRetired(t *testing.T) {
	srv := blinkfake.New(t, blinkfake.Config{})
	c := newRaw(t, srv)
	r := c.restTier("prod", "POST", "/api/v5/account/login", map[string]string{"email": "x", "password": "y"})
	if r.status != http.StatusUpgradeRequired || string(r.body) != `{"message":"An app update is required"}` {
		t.Errorf("got %d %s", r.status, r.body)
	}
}

// TestHomescreenStableBetweenPolls: without events only the sync modules'
// heartbeats move.
func TestHomescreenStableBetweenPolls(t *testing.T) {
	clock := newClock()
	_, c := authed(t, blinkfake.Config{Now: clock.Now})
	lastHB := regexp.MustCompile(`"last_hb":"[^"]*"`)
	get := func() []byte {
		return c.rest("GET", fmt.Sprintf("/api/v3/accounts/%d/homescreen", c.srv.AccountID()), nil).body
	}
	a := get()
	clock.Add(10 * time.Minute)
	b := get()
	if bytes.Equal(a, b) {
		t.Error("ten minutes passed and no heartbeat moved")
	}
	if !bytes.Equal(lastHB.ReplaceAll(a, nil), lastHB.ReplaceAll(b, nil)) {
		t.Error("homescreen changed beyond last_hb without any event")
	}
}
