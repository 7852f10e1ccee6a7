package web

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/bridge"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// Values the tests type; none may ever come back in a response.
const (
	testEmail    = "owner-SECRET@example.com"
	testPassword = "pw-SECRET-Hunter2"
	testCode     = "917254"
	testHTTPPass = "http-SECRET-pass"
)

// fakeBridge is the status and thumbnail source.
type fakeBridge struct {
	mu     sync.Mutex
	status bridge.Status
	thumbs map[discovery.DeviceKey][]byte
}

func (f *fakeBridge) Status() bridge.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *fakeBridge) setAuth(state bridge.AuthState, detail string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status.Auth = bridge.AuthStatus{State: state, Detail: detail, Since: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)}
}

func (f *fakeBridge) Thumbnail(k discovery.DeviceKey) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	img, ok := f.thumbs[k]
	return img, ok
}

// fakeLogin is a LoginController that behaves like the daemon's: a sign-in
// asks for a code, the right code logs in, a wrong one can be retried.
type fakeLogin struct {
	b *fakeBridge

	mu        sync.Mutex
	calls     []string
	emails    []string
	passwords []blink.Secret
	codes     []blink.Secret
	refuse    error // StartLoginWith returns it when set
}

func (l *fakeLogin) StartLoginWith(_ context.Context, email string, password blink.Secret, req bridge.LoginRequest) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, "login")
	l.emails = append(l.emails, email)
	l.passwords = append(l.passwords, password)
	if l.refuse != nil {
		return l.refuse
	}
	l.b.setAuth(bridge.AuthCodeRequired, "Blink sent a code by SMS to +1xxxxxxx12; send it to auth/verify")
	return nil
}

func (l *fakeLogin) SubmitCode(_ context.Context, code blink.Secret) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, "verify")
	l.codes = append(l.codes, code)
	if code != testCode {
		l.b.setAuth(bridge.AuthCodeRequired, "that code was not accepted")
		return blink.ErrInvalidCode
	}
	l.b.setAuth(bridge.AuthOK, "logged in")
	return nil
}

func (l *fakeLogin) Logout() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, "logout")
	l.b.setAuth(bridge.AuthReauthRequired, "logged out")
	return nil
}

func (l *fakeLogin) callList() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

// jpeg is a minimal picture for the thumbnail routes.
var jpeg = append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, append(make([]byte, 200), 0xFF, 0xD9)...)

var (
	camKey  = discovery.DeviceKey{Network: 410000000, Family: blink.FamilyCamera, ID: 630000000}
	miniKey = discovery.DeviceKey{Network: 410000002, Family: blink.FamilyOwl, ID: 640000000}
)

func sampleStatus() bridge.Status {
	temp, wifi := 71, 4
	return bridge.Status{
		Version: "1.2.3", MQTTConnected: true, AccountID: 10001001, Tier: "u011",
		Auth:             bridge.AuthStatus{State: bridge.AuthReauthRequired, Detail: "no saved Blink login", Since: time.Date(2026, 11, 30, 11, 0, 0, 0, time.UTC)},
		NextStep:         "log in to Blink",
		LastPoll:         time.Date(2026, 11, 30, 11, 59, 0, 0, time.UTC),
		RequestsLastHour: 121,
		Systems: []bridge.SystemStatus{
			{ID: camKey.Network, Name: "Home <&> \"quoted\"", Armed: true, Alarm: discovery.ArmedAway,
				SyncModules: []bridge.SyncModuleStatus{{ID: 1, Name: "Hall", Online: true, WiFiBars: 3}},
				Devices: []bridge.DeviceStatus{{Key: camKey, Name: "Driveway", Family: blink.FamilyCamera, Model: "Outdoor 4",
					Online: true, MotionDetection: true, Battery: "ok", TemperatureF: &temp, WiFiBars: &wifi, Thumbnail: "abc-202",
					LastEvent: time.Date(2026, 11, 30, 11, 58, 0, 0, time.UTC)}}},
			{ID: miniKey.Network, Name: "Living", Alarm: discovery.Disarmed,
				Devices: []bridge.DeviceStatus{{Key: miniKey, Name: "Living Room", Family: blink.FamilyOwl, Online: false}}},
		},
		Events: []bridge.RecentEvent{{Type: "motion", NetworkID: camKey.Network, DeviceID: camKey.ID, DeviceName: "Driveway",
			CreatedAt: time.Date(2026, 11, 30, 11, 58, 0, 0, time.UTC)}},
	}
}

// server is a handler under test with its fakes.
type server struct {
	h     *Handler
	b     *fakeBridge
	login *fakeLogin
}

func newServer(t testing.TB, tweak func(*Options)) *server {
	t.Helper()
	b := &fakeBridge{status: sampleStatus(), thumbs: map[discovery.DeviceKey][]byte{camKey: jpeg}}
	l := &fakeLogin{b: b}
	o := Options{Status: b, Thumbnails: b, Login: l, Logger: zerolog.Nop(), Email: "configured@example.com"}
	if tweak != nil {
		tweak(&o)
	}
	return &server{h: New(o), b: b, login: l}
}

// client is one browser: its address, its cookies, its credentials.
type client struct {
	remote  string
	cookies []*http.Cookie
	header  http.Header
}

func newClient(remote string) *client {
	return &client{remote: remote, header: http.Header{}}
}

func (c *client) withPassword(p string) *client {
	c.header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("anyone:"+p)))
	return c
}

// do sends one request through the handler and keeps the cookies set.
func (c *client) do(t testing.TB, s *server, method, target string, form url.Values, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	r.RemoteAddr = c.remote
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range c.header {
		r.Header[k] = vs
	}
	for k, vs := range header {
		r.Header[k] = vs
	}
	for _, ck := range c.cookies {
		r.AddCookie(ck)
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	c.cookies = append(c.cookies, w.Result().Cookies()...)
	return w
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf loads the page and returns the form token it carries.
func (c *client) csrf(t testing.TB, s *server) string {
	t.Helper()
	w := c.do(t, s, http.MethodGet, "/", nil, nil)
	m := csrfInput.FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("the page (%d) has no CSRF token:\n%s", w.Code, w.Body.String())
	}
	return m[1]
}

var jsonAccept = http.Header{"Accept": {"application/json"}}

const (
	lanAddr     = "192.0.2.7:51000"
	ingressPeer = "172.30.32.2:41234"
)

var trustedIngress = netip.MustParseAddr("172.30.32.2")
