package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/bridge"
)

// TestReadOnlyWithoutPassword: with neither HTTP_PASSWORD nor ingress the
// page shows the state but no camera picture, offers no form, says how to
// enable login, and refuses every change whatever the request carries.
func TestReadOnlyWithoutPassword(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	c := newClient(lanAddr).withPassword("guess")
	w := c.do(t, s, http.MethodGet, "/", nil, nil)
	page := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("GET / = %d", w.Code)
	}
	for _, want := range []string{"Driveway", "Living Room", "Home &lt;&amp;&gt; &#34;quoted&#34;", "Armed", "Not logged in", "no saved Blink login",
		"set HTTP_PASSWORD", "121", "71 °F (22 °C)", "Outdoor 4", "10001001 (tier u011)", "picture hidden"} {
		if !strings.Contains(page, want) {
			t.Errorf("read-only page lacks %q", want)
		}
	}
	if strings.Contains(page, "<form") || strings.Contains(page, "configured@example.com") {
		t.Error("a read-only page offers a form or the configured e-mail")
	}
	if strings.Contains(page, `src="thumb/`) {
		t.Error("a read-only page without a password shows camera pictures")
	}
	if w := c.do(t, s, http.MethodGet, "/thumb/410000000/camera/630000000.jpg", nil, nil); w.Code != http.StatusForbidden {
		t.Errorf("picture without a password = %d, want 403", w.Code)
	}
	for _, action := range []string{"login", "verify", "logout"} {
		form := url.Values{"email": {testEmail}, "password": {testPassword}, "code": {testCode}, "csrf": {"x"}}
		w := c.do(t, s, http.MethodPost, "/"+action, form, jsonAccept)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "HTTP_PASSWORD") {
			t.Errorf("POST %s read-only = %d %s, want 403 saying how to enable login", action, w.Code, w.Body.String())
		}
	}
	if calls := s.login.callList(); len(calls) != 0 {
		t.Errorf("read-only requests reached the login: %v", calls)
	}
}

// TestPasswordOpensThePage: with HTTP_PASSWORD the page needs it (any user
// name) and then offers the login; a wrong one is refused like none.
func TestPasswordOpensThePage(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *Options) { o.Password = testHTTPPass })
	tests := []struct {
		name     string
		c        *client
		wantCode int
	}{
		{"none", newClient(lanAddr), http.StatusUnauthorized},
		{"wrong", newClient(lanAddr).withPassword("nope"), http.StatusUnauthorized},
		{"right", newClient(lanAddr).withPassword(testHTTPPass), http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.c.do(t, s, http.MethodGet, "/", nil, nil)
			if w.Code != tc.wantCode {
				t.Fatalf("GET / = %d, want %d", w.Code, tc.wantCode)
			}
			if w.Code == http.StatusUnauthorized {
				if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic ") || strings.Contains(w.Body.String(), "Driveway") {
					t.Errorf("401 without a Basic challenge or with the page: %v", w.Header())
				}
				for _, path := range []string{"/thumb/410000000/camera/630000000.jpg", "/static/app.js"} {
					if w := tc.c.do(t, s, http.MethodGet, path, nil, nil); w.Code != http.StatusUnauthorized {
						t.Errorf("%s without the password = %d", path, w.Code)
					}
				}
				return
			}
			if !strings.Contains(w.Body.String(), `action="login"`) || !strings.Contains(w.Body.String(), `value="configured@example.com"`) {
				t.Errorf("the unlocked page offers no login form with the configured e-mail")
			}
		})
	}
}

// TestPasswordGuessingIsBounded: after 20 wrong passwords in a minute even
// the right one waits for the window to end.
func TestPasswordGuessingIsBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s := newServer(t, func(o *Options) { o.Password = testHTTPPass; o.Now = func() time.Time { return now } })
	for i := range maxFailures {
		if w := newClient(lanAddr).withPassword("guess").do(t, s, http.MethodGet, "/", nil, nil); w.Code != http.StatusUnauthorized {
			t.Fatalf("guess %d = %d", i, w.Code)
		}
	}
	w := newClient(lanAddr).withPassword(testHTTPPass).do(t, s, http.MethodGet, "/", nil, nil)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("right password after %d guesses = %d, want 429 with Retry-After", maxFailures, w.Code)
	}
	now = now.Add(failureWindow)
	if w := newClient(lanAddr).withPassword(testHTTPPass).do(t, s, http.MethodGet, "/", nil, nil); w.Code != http.StatusOK {
		t.Errorf("right password after the window = %d", w.Code)
	}
}

// TestLoginTwoFactorThroughThePage: login → the page names where the code
// went → a wrong code keeps the same login → the right one → logged in →
// log out. Each step through the script's JSON and as a plain form post.
func TestLoginTwoFactorThroughThePage(t *testing.T) {
	t.Parallel()
	for _, script := range []bool{true, false} {
		t.Run(map[bool]string{true: "script", false: "plain form"}[script], func(t *testing.T) {
			t.Parallel()
			s := newServer(t, func(o *Options) { o.Password = testHTTPPass })
			c := newClient(lanAddr).withPassword(testHTTPPass)
			var hdr http.Header
			if script {
				hdr = jsonAccept
			}
			post := func(action string, form url.Values, wantCode int, wantText string) {
				t.Helper()
				form.Set("csrf", c.csrf(t, s))
				w := c.do(t, s, http.MethodPost, "/"+action, form, hdr)
				body := w.Body.String()
				if w.Code != wantCode || !strings.Contains(body, wantText) {
					t.Fatalf("POST %s = %d %s; want %d with %q", action, w.Code, body, wantCode, wantText)
				}
				if script {
					var a struct {
						OK      bool   `json:"ok"`
						Message string `json:"message"`
					}
					if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || a.OK != (wantCode == http.StatusOK) {
						t.Fatalf("answer %s: %v", body, err)
					}
				} else if !strings.Contains(body, "<!doctype html>") {
					t.Fatalf("a plain form post did not get the page back: %s", body)
				}
			}
			post("login", url.Values{"email": {" " + testEmail + " "}, "password": {testPassword}}, http.StatusOK, "xxxxxxx12")
			if page := c.do(t, s, http.MethodGet, "/", nil, nil).Body.String(); !strings.Contains(page, `action="verify"`) || !strings.Contains(page, `data-mode="code"`) {
				t.Fatalf("after sign-in the page offers no code form")
			}
			post("verify", url.Values{"code": {"000 000"}}, http.StatusBadRequest, "not accepted")
			post("verify", url.Values{"code": {testCode[:3] + "-" + testCode[3:]}}, http.StatusOK, "logged in")
			if page := c.do(t, s, http.MethodGet, "/", nil, nil).Body.String(); !strings.Contains(page, `action="logout"`) || !strings.Contains(page, "Logged in") {
				t.Fatalf("after the code the page does not show the login as ok")
			}
			post("logout", url.Values{}, http.StatusOK, "Logged out")
			if page := c.do(t, s, http.MethodGet, "/", nil, nil).Body.String(); !strings.Contains(page, `action="login"`) {
				t.Fatalf("after logout the page offers no login")
			}
			l := s.login
			l.mu.Lock()
			defer l.mu.Unlock()
			want := []string{"login", "verify", "verify", "logout"}
			if strings.Join(l.calls, " ") != strings.Join(want, " ") || l.emails[0] != testEmail || l.passwords[0] != testPassword ||
				l.codes[0] != "000000" || l.codes[1] != testCode {
				t.Errorf("calls %v, e-mail %q, codes %v", l.calls, l.emails, l.codes)
			}
		})
	}
}

// TestLoginRefusalSaysWhenToRetry: the pacing's refusal becomes 429 with
// Retry-After and a sentence with the time; a refusal while a code is
// pending says what to do instead.
func TestLoginRefusalSaysWhenToRetry(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		refusal  error
		code     int
		want     []string
		retryHdr bool
	}{
		{"cooldown", &bridge.LoginRefusedError{Reason: "Blink was asked for a login moments ago", RetryAt: now.Add(4*time.Minute + 10*time.Second)},
			http.StatusTooManyRequests, []string{"moments ago", "Try again in 5 min", "12:04:10 UTC"}, true},
		{"pending", &bridge.LoginRefusedError{Reason: "a login is waiting for the 2FA code Blink sent"},
			http.StatusConflict, []string{"waiting for the 2FA code"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, func(o *Options) { o.Password = testHTTPPass; o.Now = func() time.Time { return now } })
			s.login.refuse = tc.refusal
			c := newClient(lanAddr).withPassword(testHTTPPass)
			w := c.do(t, s, http.MethodPost, "/login", url.Values{"csrf": {c.csrf(t, s)}, "email": {testEmail}, "password": {testPassword}}, jsonAccept)
			if w.Code != tc.code || (w.Header().Get("Retry-After") != "") != tc.retryHdr {
				t.Fatalf("refused login = %d (Retry-After %q), want %d", w.Code, w.Header().Get("Retry-After"), tc.code)
			}
			for _, want := range tc.want {
				if !strings.Contains(w.Body.String(), want) {
					t.Errorf("answer %s lacks %q", w.Body.String(), want)
				}
			}
		})
	}
}

// TestCSRFRefused: a change without the page's token — no cookie, no
// token, a token of another cookie, a forged cookie, another site — is
// refused before it reaches the login.
func TestCSRFRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *Options) { o.Password = testHTTPPass })
	victim := newClient(lanAddr).withPassword(testHTTPPass)
	token := victim.csrf(t, s)
	other := newClient(lanAddr).withPassword(testHTTPPass)
	otherToken := other.csrf(t, s)
	// Another handler (a restart, or another instance) has another key.
	otherServer := newServer(t, func(o *Options) { o.Password = testHTTPPass })
	stranger := newClient(lanAddr).withPassword(testHTTPPass)
	strangerToken := stranger.csrf(t, otherServer)

	form := func(tok string) url.Values {
		return url.Values{"csrf": {tok}, "email": {testEmail}, "password": {testPassword}}
	}
	tests := []struct {
		name   string
		c      *client
		form   url.Values
		header http.Header
	}{
		{"no token", victim, url.Values{"email": {testEmail}, "password": {testPassword}}, nil},
		{"empty token", victim, form(""), nil},
		{"no cookie", newClient(lanAddr).withPassword(testHTTPPass), form(token), nil},
		{"another cookie's token", victim, form(otherToken), nil},
		{"the cookie value as token", victim, form(victim.cookies[0].Value), nil},
		{"a token from another key", stranger, form(strangerToken), nil},
		{"cross-site", victim, form(token), http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"token in the query only", victim, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			target := "/login"
			f := tc.form
			if f == nil {
				target += "?" + form(token).Encode()
				f = url.Values{}
			}
			w := tc.c.do(t, s, http.MethodPost, target, f, tc.header)
			if w.Code != http.StatusForbidden {
				t.Errorf("POST = %d %s, want 403", w.Code, w.Body.String())
			}
		})
	}
	if calls := s.login.callList(); len(calls) != 0 {
		t.Fatalf("refused forms reached the login: %v", calls)
	}
	if w := victim.do(t, s, http.MethodPost, "/login", form(token), jsonAccept); w.Code != http.StatusOK {
		t.Errorf("the right token = %d %s", w.Code, w.Body.String())
	}
}

// TestGetNeverChanges: only POST changes anything; other methods on the
// action paths, and any query on the page, leave the login alone.
func TestGetNeverChanges(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *Options) { o.Password = testHTTPPass })
	c := newClient(lanAddr).withPassword(testHTTPPass)
	q := url.Values{"csrf": {c.csrf(t, s)}, "email": {testEmail}, "password": {testPassword}, "code": {testCode}}.Encode()
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		for _, action := range []string{"login", "verify", "logout"} {
			if w := c.do(t, s, method, "/"+action+"?"+q, nil, nil); w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != http.MethodPost {
				t.Errorf("%s /%s = %d (Allow %q), want 405", method, action, w.Code, w.Header().Get("Allow"))
			}
		}
	}
	if w := c.do(t, s, http.MethodGet, "/?"+q, nil, nil); w.Code != http.StatusOK {
		t.Errorf("GET /?… = %d", w.Code)
	}
	if w := c.do(t, s, http.MethodPost, "/", url.Values{}, nil); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST / = %d, want 405", w.Code)
	}
	if calls := s.login.callList(); len(calls) != 0 {
		t.Fatalf("non-POST requests reached the login: %v", calls)
	}
}

// TestFormBodiesAreBounded: an oversized form is refused unread; a form
// with the wrong fields never reaches the login.
func TestFormBodiesAreBounded(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *Options) { o.Password = testHTTPPass })
	c := newClient(lanAddr).withPassword(testHTTPPass)
	tok := c.csrf(t, s)
	huge := url.Values{"csrf": {tok}, "email": {testEmail}, "password": {strings.Repeat("p", 64<<10)}}
	if w := c.do(t, s, http.MethodPost, "/login", huge, jsonAccept); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("64 KiB form = %d, want 413", w.Code)
	}
	for name, f := range map[string]url.Values{
		"no e-mail":     {"email": {""}, "password": {testPassword}},
		"two @":         {"email": {"a@b@c"}, "password": {testPassword}},
		"no password":   {"email": {testEmail}},
		"long password": {"email": {testEmail}, "password": {strings.Repeat("p", maxPasswordLen+1)}},
		"control char":  {"email": {testEmail}, "password": {"pw\x00x"}},
	} {
		f.Set("csrf", tok)
		if w := c.do(t, s, http.MethodPost, "/login", f, jsonAccept); w.Code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, w.Code)
		}
	}
	for name, code := range map[string]string{"letters": "12a456", "short": "12", "long": "12345678901", "empty": ""} {
		if w := c.do(t, s, http.MethodPost, "/verify", url.Values{"csrf": {tok}, "code": {code}}, jsonAccept); w.Code != http.StatusBadRequest {
			t.Errorf("code %s: %d, want 400", name, w.Code)
		}
	}
	if calls := s.login.callList(); len(calls) != 0 {
		t.Fatalf("unusable forms reached the login: %v", calls)
	}
}

// TestIngressTrust: only a request from the configured Supervisor address
// with Home Assistant's ingress header, and only with ingress on, may
// change anything; headers naming that address from elsewhere count for
// nothing.
func TestIngressTrust(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		ingress    bool
		password   bool
		remote     string
		header     http.Header
		wantCode   int
		wantChange bool
	}{
		{"ingress", true, false, ingressPeer, http.Header{"X-Ingress-Path": {"/api/hassio_ingress/Ab-9_x"}}, 200, true},
		{"ingress over IPv4-in-IPv6", true, false, "[::ffff:172.30.32.2]:41234", http.Header{"X-Ingress-Path": {"/api/hassio_ingress/Ab"}}, 200, true},
		{"ingress, password set", true, true, ingressPeer, http.Header{"X-Ingress-Path": {"/api/hassio_ingress/Ab"}}, 200, true},
		{"Supervisor without the header", true, false, ingressPeer, nil, 200, false},
		{"Supervisor with a bad header", true, false, ingressPeer, http.Header{"X-Ingress-Path": {"/x\"><script>"}}, 200, false},
		{"ingress off", false, false, ingressPeer, http.Header{"X-Ingress-Path": {"/api/hassio_ingress/Ab"}}, 200, false},
		{"another peer with the header", true, false, "172.30.32.3:41234", http.Header{"X-Ingress-Path": {"/api/hassio_ingress/Ab"}}, 200, false},
		{"another peer forwarded for the Supervisor", true, false, lanAddr, http.Header{
			"X-Ingress-Path": {"/api/hassio_ingress/Ab"}, "X-Forwarded-For": {"172.30.32.2"}, "X-Real-Ip": {"172.30.32.2"}, "Forwarded": {"for=172.30.32.2"}}, 200, false},
		{"another peer, password set", true, true, lanAddr, http.Header{"X-Ingress-Path": {"/api/hassio_ingress/Ab"}, "X-Forwarded-For": {"172.30.32.2"}}, 401, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, func(o *Options) {
				o.Ingress, o.IngressAddr = tc.ingress, trustedIngress
				if tc.password {
					o.Password = testHTTPPass
				}
			})
			c := newClient(tc.remote)
			w := c.do(t, s, http.MethodGet, "/", nil, tc.header)
			if w.Code != tc.wantCode {
				t.Fatalf("GET / = %d, want %d", w.Code, tc.wantCode)
			}
			if w.Code != http.StatusOK {
				return
			}
			m := csrfInput.FindStringSubmatch(w.Body.String())
			if (m != nil) != tc.wantChange {
				t.Fatalf("page offers forms: %v, want %v", m != nil, tc.wantChange)
			}
			tok := "none"
			if m != nil {
				tok = m[1]
			}
			w = c.do(t, s, http.MethodPost, "/login", url.Values{"csrf": {tok}, "email": {testEmail}, "password": {testPassword}}, mergeHeader(tc.header, jsonAccept))
			if (w.Code == http.StatusOK) != tc.wantChange {
				t.Errorf("POST /login = %d %s, want change allowed %v", w.Code, w.Body.String(), tc.wantChange)
			}
			if !tc.wantChange && tc.ingress && !strings.Contains(w.Body.String(), "Home Assistant") {
				t.Errorf("read-only answer with ingress on does not point to Home Assistant: %s", w.Body.String())
			}
		})
	}
}

func mergeHeader(hs ...http.Header) http.Header {
	out := http.Header{}
	for _, h := range hs {
		for k, v := range h {
			out[k] = v
		}
	}
	return out
}

// TestSecurityHeadersEverywhere: every answer, errors included, carries
// the restrictive policy, framing only by the page's own origin.
func TestSecurityHeadersEverywhere(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *Options) { o.Password = testHTTPPass })
	for _, tc := range []struct {
		name string
		c    *client
		path string
	}{
		{"page", newClient(lanAddr).withPassword(testHTTPPass), "/"},
		{"script", newClient(lanAddr).withPassword(testHTTPPass), "/static/app.js"},
		{"picture", newClient(lanAddr).withPassword(testHTTPPass), "/thumb/410000000/camera/630000000.jpg"},
		{"not found", newClient(lanAddr).withPassword(testHTTPPass), "/nothing"},
		{"unauthorized", newClient(lanAddr), "/"},
	} {
		w := tc.c.do(t, s, http.MethodGet, tc.path, nil, nil)
		h := w.Header()
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'self'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", tc.name, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") || h.Get("X-Frame-Options") != "SAMEORIGIN" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", tc.name, h)
		}
	}
}

var (
	urlAttr      = regexp.MustCompile(`(?i)\b(href|src|action)="([^"]*)"`)
	inlineScript = regexp.MustCompile(`(?is)<script[^>]*>\s*[^<\s]`)
	inlineAttr   = regexp.MustCompile(`(?i)\s(on[a-z]+|style)=`)
)

// TestPageIsRelativeAndNeedsNoInlineCode: every link, picture, script and
// form target is relative (so the page works under ingress's path prefix),
// and nothing inline needs a CSP exception, in every form mode.
func TestPageIsRelativeAndNeedsNoInlineCode(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *Options) { o.Password = testHTTPPass })
	c := newClient(lanAddr).withPassword(testHTTPPass)
	for _, state := range []bridge.AuthState{bridge.AuthReauthRequired, bridge.AuthCodeRequired, bridge.AuthOK, bridge.AuthError} {
		s.b.setAuth(state, "detail")
		page := c.do(t, s, http.MethodGet, "/", nil, nil).Body.String()
		attrs := urlAttr.FindAllStringSubmatch(page, -1)
		if len(attrs) < 5 {
			t.Fatalf("%s: found only %d URLs in the page", state, len(attrs))
		}
		for _, a := range attrs {
			u := a[2]
			if u == "" || strings.HasPrefix(u, "/") || strings.Contains(u, "://") || strings.HasPrefix(strings.ToLower(u), "javascript:") {
				t.Errorf("%s: %s=%q is not a relative URL", state, a[1], u)
			}
		}
		if m := inlineScript.FindString(page); m != "" {
			t.Errorf("%s: inline script %q", state, m)
		}
		if m := inlineAttr.FindString(page); m != "" {
			t.Errorf("%s: inline handler or style %q", state, m)
		}
	}
}

// TestPageETag: an unchanged page answers 304 to its own ETag; a change
// sends the new page.
func TestPageETag(t *testing.T) {
	t.Parallel()
	s := newServer(t, nil)
	c := newClient(lanAddr)
	w := c.do(t, s, http.MethodGet, "/", nil, nil)
	etag := w.Header().Get("ETag")
	if etag == "" || w.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("page headers %v", w.Header())
	}
	if w := c.do(t, s, http.MethodGet, "/", nil, http.Header{"If-None-Match": {etag}}); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
		t.Errorf("unchanged page = %d (%d bytes), want 304", w.Code, w.Body.Len())
	}
	s.b.setAuth(bridge.AuthOK, "")
	if w := c.do(t, s, http.MethodGet, "/", nil, http.Header{"If-None-Match": {etag}}); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Logged in") {
		t.Errorf("changed page = %d", w.Code)
	}
}

// TestThumbnailsAndAssets: pictures (for a visitor with the password) and
// static files by exact names only.
func TestThumbnailsAndAssets(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *Options) { o.Password = testHTTPPass })
	c := newClient(lanAddr).withPassword(string(testHTTPPass))
	tests := []struct {
		path, ctype string
		code        int
		body        []byte
	}{
		{"/thumb/410000000/camera/630000000.jpg?v=abc", "image/jpeg", 200, jpeg},
		{"/thumb/410000002/owl/640000000.jpg", "", 404, nil},                               // no picture held
		{"/thumb/410000000/sync_module/1.jpg", "", 404, nil},                               // not a device with pictures
		{"/thumb/410000000/630000000.jpg", "", 404, nil},                                   // old key form
		{"/thumb/410000000/camera/630000000", "", 404, nil},                                // no .jpg
		{"/thumb/410000000/camera/0630000000.jpg", "", 404, nil},                           // not canonical
		{"/thumb/../../etc/passwd", "", 404, nil},                                          //
		{"/static/app.js", "text/javascript; charset=utf-8", 200, nil},                     //
		{"/static/style.css?v=" + s.h.assets.version, "text/css; charset=utf-8", 200, nil}, //
		{"/static/page.html", "", 404, nil},                                                // the template is not a file to serve
		{"/static/", "", 404, nil},                                                         //
	}
	for _, tc := range tests {
		w := c.do(t, s, http.MethodGet, tc.path, nil, nil)
		if w.Code != tc.code || (tc.ctype != "" && w.Header().Get("Content-Type") != tc.ctype) || (tc.body != nil && !bytes.Equal(w.Body.Bytes(), tc.body)) {
			t.Errorf("GET %s = %d %q (%d bytes), want %d %q", tc.path, w.Code, w.Header().Get("Content-Type"), w.Body.Len(), tc.code, tc.ctype)
		}
	}
	if w := c.do(t, s, http.MethodGet, "/static/app.js?v="+s.h.assets.version, nil, nil); !strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("versioned asset cache %q", w.Header().Get("Cache-Control"))
	}
}

// TestNoSecretInAnyResponse: whatever is typed — accepted, refused, wrong,
// malformed — no response (page, JSON, error, header) carries the
// password, the e-mail typed, the code or the HTTP password.
func TestNoSecretInAnyResponse(t *testing.T) {
	t.Parallel()
	s := newServer(t, func(o *Options) { o.Password = testHTTPPass; o.Email = "" })
	c := newClient(lanAddr).withPassword(testHTTPPass)
	var bodies, headers strings.Builder
	record := func(w *httptest.ResponseRecorder) {
		for k, v := range w.Header() {
			headers.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
		// Tokens and ETags are random: a digit code could turn up in them by chance.
		bodies.WriteString(csrfInput.ReplaceAllString(w.Body.String(), "") + "\n")
	}
	for _, hdr := range []http.Header{nil, jsonAccept} {
		for _, step := range []struct {
			action string
			form   url.Values
		}{
			{"login", url.Values{"email": {testEmail}, "password": {testPassword}}},
			{"login", url.Values{"email": {testPassword + "@x"}, "password": {testPassword}}},
			{"login", url.Values{"email": {testEmail + "\x01"}, "password": {testPassword}}},
			{"verify", url.Values{"code": {testCode + "x"}}},
			{"verify", url.Values{"code": {"9" + testCode[1:]}}},
			{"verify", url.Values{"code": {testCode}}},
			{"logout", url.Values{}},
		} {
			step.form.Set("csrf", c.csrf(t, s))
			record(c.do(t, s, http.MethodPost, "/"+step.action, step.form, hdr))
			record(c.do(t, s, http.MethodGet, "/", nil, nil))
		}
	}
	for _, secret := range []string{testPassword, testEmail, testCode, testHTTPPass} {
		if strings.Contains(bodies.String(), secret) {
			t.Errorf("a response body carries %q", secret)
		}
	}
	for _, secret := range []string{testPassword, testEmail, testHTTPPass} {
		if strings.Contains(headers.String(), secret) {
			t.Errorf("a response header carries %q", secret)
		}
	}
}
