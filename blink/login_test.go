package blink

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// oauthFake is a small OAuth host for sign-in edge cases. signin decides
// what POST /oauth/v2/signin answers.
type oauthFake struct {
	t      *testing.T
	signin func(w http.ResponseWriter)
	cnt    counter

	mu            sync.Mutex
	challenge     string
	authenticated bool
	verifyTries   int
	problems      []string
}

var uuidUpper = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

func (f *oauthFake) problem(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

func (f *oauthFake) hasCookie(r *http.Request) bool {
	c, err := r.Cookie("session")
	return err == nil && c.Value == testCookie
}

func (f *oauthFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.cnt.add(r)
	ua := r.Header.Get("User-Agent")
	switch r.Method + " " + r.URL.Path {
	case "GET /oauth/v2/authorize":
		if !strings.Contains(ua, "Safari") {
			f.problem("authorize UA %q", ua)
		}
		q := r.URL.Query()
		if len(q) == 0 { // step 5
			f.mu.Lock()
			ok := f.authenticated
			f.mu.Unlock()
			if !ok || !f.hasCookie(r) {
				writeJSON(w, 400, `{"error":"bad_request","error_cause":"empty_cookies"}`)
				return
			}
			http.Redirect(w, r, "immedia-blink://applinks.blink.com/signin/callback?code="+testAuthCode+"&state=x", http.StatusFound)
			return
		}
		if !uuidUpper.MatchString(q.Get("hardware_id")) {
			http.Error(w, "406 Not Acceptable", http.StatusNotAcceptable)
			return
		}
		if q.Get("client_id") != "ios" || q.Get("code_challenge_method") != "S256" || q.Get("response_type") != "code" ||
			q.Get("redirect_uri") != oauthRedirectURI || q.Get("scope") != "client" || len(q.Get("code_challenge")) != 43 {
			f.problem("authorize query %v", q)
		}
		f.mu.Lock()
		f.challenge = q.Get("code_challenge")
		f.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "session", Value: testCookie, Path: "/"})
		http.Redirect(w, r, "/oauth/v2/signin", http.StatusFound)
	case "GET /oauth/v2/signin":
		if !f.hasCookie(r) {
			f.problem("signin page without cookie")
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Blink</title>
<script type="application/json" id="other">{"csrf-token":"wrong"}</script>
<script id="oauth-args" type="application/json">{"csrf-token":"%s","client_id":"ios"}</script></head><body>sign in</body></html>`, testCSRF)
	case "POST /oauth/v2/signin":
		_ = r.ParseForm()
		if r.Header.Get("Origin") == "" || !strings.HasSuffix(r.Header.Get("Referer"), "/oauth/v2/signin") {
			f.problem("signin POST Origin/Referer missing")
		}
		if r.PostForm.Get("csrf-token") != testCSRF || r.PostForm.Get("password") != testPassword || r.PostForm.Get("username") != "me@example.com" {
			f.problem("signin form %v", r.PostForm.Has("password"))
		}
		if !f.hasCookie(r) {
			writeJSON(w, 400, `{"error":"bad_request","error_cause":"empty_cookies","error_description":"Empty Cookies."}`)
			return
		}
		f.signin(w)
	case "POST /oauth/v2/2fa/verify":
		_ = r.ParseForm()
		f.mu.Lock()
		f.verifyTries++
		f.mu.Unlock()
		if r.PostForm.Get("csrf-token") != testCSRF || !f.hasCookie(r) {
			f.problem("2fa verify without csrf or cookie")
		}
		if r.PostForm.Get("2fa_code") != testCode {
			writeJSON(w, 401, `{"error":"invalid_2fa_code","error_description":"Invalid code"}`)
			return
		}
		f.mu.Lock()
		f.authenticated = true
		f.mu.Unlock()
		writeJSON(w, 201, `{"status":"auth-completed"}`)
	case "POST /oauth/token":
		if !strings.Contains(ua, "CFNetwork") {
			f.problem("token UA %q", ua)
		}
		_ = r.ParseForm()
		p := r.PostForm
		f.mu.Lock()
		ch := f.challenge
		f.mu.Unlock()
		switch {
		case p.Get("grant_type") != "authorization_code":
			writeJSON(w, 400, `{"error":"unsupported_grant_type"}`)
		case p.Get("code") != testAuthCode || pkceChallenge(p.Get("code_verifier")) != ch:
			writeJSON(w, 400, `{"error":"invalid_grant"}`)
		case !uuidUpper.MatchString(p.Get("hardware_id")) || p.Get("client_id") != "ios":
			writeJSON(w, 406, `{"error":"not_acceptable"}`)
		default:
			writeJSON(w, 200, `{"access_token":"`+testAccess+`","refresh_token":"`+testRefresh+`","token_type":"Bearer","expires_in":14400,"scope":"client"}`)
		}
	case "GET /prod/api/v1/users/tier_info":
		if r.Header.Get("Authorization") != "Bearer "+testAccess {
			writeJSON(w, 401, `{"message":"Unauthorized Access","code":101}`)
			return
		}
		if r.Header.Get("APP-BUILD") == "" {
			f.problem("tier_info without APP-BUILD")
		}
		writeJSON(w, 200, `{"tier":"u011","account_id":1001}`)
	default:
		http.NotFound(w, r)
	}
}

func (f *oauthFake) check(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.problems {
		t.Errorf("fake OAuth host saw a bad request: %s", p)
	}
}

func (f *oauthFake) signinOK(w http.ResponseWriter) {
	f.mu.Lock()
	f.authenticated = true
	f.mu.Unlock()
	w.Header().Set("Location", "/oauth/v2/authorize")
	w.WriteHeader(http.StatusFound)
}

// errAny in a test table accepts any non-nil error.
var errAny = errors.New("any error")

// loggedOut starts a client without a session.
func loggedOut(o *Options) { o.Store = &MemoryTokenStore{} }

func TestLoginSigninOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		signin     func(f *oauthFake, w http.ResponseWriter)
		wantErr    error
		wantCode   bool
		wantChal   Challenge
		wantStored bool
	}{
		{name: "302 without 2FA", signin: (*oauthFake).signinOK, wantStored: true},
		{name: "303 without 2FA", signin: func(f *oauthFake, w http.ResponseWriter) {
			f.mu.Lock()
			f.authenticated = true
			f.mu.Unlock()
			w.Header().Set("Location", "/oauth/v2/authorize")
			w.WriteHeader(http.StatusSeeOther)
		}, wantStored: true},
		{name: "412 asks for a code", signin: func(_ *oauthFake, w http.ResponseWriter) {
			w.WriteHeader(http.StatusPreconditionFailed)
		}, wantCode: true},
		{name: "202 with tsv_state", signin: func(_ *oauthFake, w http.ResponseWriter) {
			writeJSON(w, 202, `{"next_time_in_secs":60,"phone":"+49xxxxxxxx12","tsv_methods":["sms","whatsapp"],"tsv_state":"sms","user_id":123}`)
		}, wantCode: true, wantChal: Challenge{Channel: "sms", Destination: "+49xxxxxxxx12", ResendAfter: time.Minute}},
		{name: "202 e-mail code", signin: func(_ *oauthFake, w http.ResponseWriter) {
			writeJSON(w, 202, `{"next_time_in_secs":"30","email":"m***@example.com","tsv_state":"email"}`)
		}, wantCode: true, wantChal: Challenge{Channel: "email", Destination: "m***@example.com", ResendAfter: 30 * time.Second}},
		{name: "400 empty_cookies", signin: func(_ *oauthFake, w http.ResponseWriter) {
			writeJSON(w, 400, `{"error":"bad_request","error_cause":"empty_cookies","error_description":"Empty Cookies."}`)
		}, wantErr: ErrCookiesLost},
		{name: "401 bad password", signin: func(_ *oauthFake, w http.ResponseWriter) {
			w.WriteHeader(http.StatusUnauthorized)
		}, wantErr: ErrBadCredentials},
		{name: "400 invalid_user_credentials", signin: func(_ *oauthFake, w http.ResponseWriter) {
			writeJSON(w, 400, `{"error":"invalid_user_credentials","error_description":"Invalid credentials"}`)
		}, wantErr: ErrBadCredentials},
		{name: "200 page re-rendered with the error", signin: func(_ *oauthFake, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<script id="oauth-args" type="application/json">{"csrf-token":"n","error":"invalid_user_credentials"}</script>`))
		}, wantErr: ErrBadCredentials},
		{name: "200 page without a decision", signin: func(_ *oauthFake, w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<html>hello</html>`))
		}, wantErr: errAny},
		{name: "406 cloudflare", signin: func(_ *oauthFake, w http.ResponseWriter) {
			http.Error(w, "406 Not Acceptable", http.StatusNotAcceptable)
		}, wantErr: ErrNotAcceptable},
		{name: "429 throttled", signin: func(_ *oauthFake, w http.ResponseWriter) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		}, wantErr: ErrRateLimited},
		{name: "500 persistent", signin: func(_ *oauthFake, w http.ResponseWriter) {
			w.WriteHeader(http.StatusInternalServerError)
		}, wantErr: ErrUnreachable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &oauthFake{t: t}
			f.signin = func(w http.ResponseWriter) { tc.signin(f, w) }
			c, _, _ := newTestClient(t, f, loggedOut)
			store := c.store.(*MemoryTokenStore)
			l, err := c.BeginLogin(t.Context(), "me@example.com", testPassword)
			noteErr(err)
			f.check(t)
			if tc.wantErr != nil {
				if err == nil || tc.wantErr != errAny && !errors.Is(err, tc.wantErr) {
					t.Fatalf("BeginLogin error = %v, want %v", err, tc.wantErr)
				}
				if c.HasSession() {
					t.Error("HasSession after a failed login")
				}
				return
			}
			if err != nil {
				t.Fatalf("BeginLogin: %v", err)
			}
			if got := l.CodeRequired(); got != tc.wantCode {
				t.Fatalf("CodeRequired = %v, want %v", got, tc.wantCode)
			}
			if got := l.Challenge(); got != tc.wantChal {
				t.Errorf("Challenge = %+v, want %+v", got, tc.wantChal)
			}
			saved, _ := store.Load()
			if got := !saved.RefreshToken.IsZero(); got != tc.wantStored {
				t.Errorf("tokens stored = %v, want %v", got, tc.wantStored)
			}
			if tc.wantStored {
				if saved.Tier != "u011" || saved.AccountID != 1001 || saved.AccessToken != testAccess || !uuidUpper.MatchString(saved.HardwareID) {
					t.Errorf("saved session = tier %q acct %d hw %q", saved.Tier, saved.AccountID, saved.HardwareID)
				}
				if !c.HasSession() || c.Session().Tier != "u011" {
					t.Errorf("client session not adopted: %+v", c.Session())
				}
			}
		})
	}
}

func TestLoginTwoFactorRetryThenSuccess(t *testing.T) {
	f := &oauthFake{t: t}
	f.signin = func(w http.ResponseWriter) { w.WriteHeader(http.StatusPreconditionFailed) }
	c, store, _ := newTestClient(t, f, loggedOut)
	hw := c.Session().HardwareID
	l, err := c.BeginLogin(t.Context(), "me@example.com", testPassword)
	if err != nil {
		t.Fatal(noteErr(err))
	}
	if !l.CodeRequired() {
		t.Fatal("CodeRequired = false after 412")
	}
	if saved, _ := store.Load(); saved.HardwareID != hw || saved.RefreshToken != "" {
		t.Fatalf("before the code: stored hw %q (want %q) and a refresh token: %v", saved.HardwareID, hw, saved.RefreshToken != "")
	}
	err = l.SubmitCode(t.Context(), "000000")
	if !errors.Is(noteErr(err), ErrInvalidCode) {
		t.Fatalf("wrong code: err = %v, want ErrInvalidCode", err)
	}
	if !l.CodeRequired() {
		t.Fatal("Login unusable after a wrong code")
	}
	if err := l.SubmitCode(t.Context(), " "+testCode+"\n"); err != nil {
		t.Fatalf("right code: %v", noteErr(err))
	}
	if l.CodeRequired() {
		t.Error("CodeRequired still true after success")
	}
	saved, _ := store.Load()
	if saved.RefreshToken != testRefresh || saved.HardwareID != hw || saved.Tier != "u011" {
		t.Errorf("saved = tier %q hw %q (want %q)", saved.Tier, saved.HardwareID, hw)
	}
	if err := l.SubmitCode(t.Context(), testCode); err == nil {
		t.Error("SubmitCode on a finished login succeeded")
	}
	if n := f.cnt.get("POST /oauth/v2/2fa/verify"); n != 2 {
		t.Errorf("2fa verify calls = %d, want 2", n)
	}
	if n := f.cnt.get("POST /oauth/token"); n != 1 {
		t.Errorf("token calls = %d, want 1", n)
	}
	f.check(t)
}

func TestLoginRejectsEmptyCredentialsWithoutNetwork(t *testing.T) {
	f := &oauthFake{t: t}
	c, _, _ := newTestClient(t, f, loggedOut)
	_, err := c.BeginLogin(t.Context(), "", testPassword)
	if !errors.Is(noteErr(err), ErrBadCredentials) {
		t.Errorf("err = %v", err)
	}
	if f.cnt.total() != 0 {
		t.Errorf("made %d requests", f.cnt.total())
	}
}

func TestHardwareIDGeneratedOnceAndKept(t *testing.T) {
	store := &MemoryTokenStore{}
	c1, err := New(Options{Store: store, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	hw := c1.Session().HardwareID
	if !uuidUpper.MatchString(hw) {
		t.Fatalf("hardware id %q is not an upper-case UUIDv4", hw)
	}
	c2, err := New(Options{Store: store, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := c2.Session().HardwareID; got != hw {
		t.Errorf("second client hardware id %q, want %q", got, hw)
	}
	if c2.HasSession() {
		t.Error("HasSession without tokens")
	}
	if _, err := c2.Homescreen(context.Background()); !errors.Is(noteErr(err), ErrReauthRequired) {
		t.Errorf("Homescreen without session: %v, want ErrReauthRequired", err)
	}
}

func TestExtractCSRF(t *testing.T) {
	tests := []struct {
		name, page string
		want       Secret
		wantErr    bool
	}{
		{"attribute order", `<script type="application/json" id="oauth-args">{"csrf-token":"abc"}</script>`, "abc", false},
		{"single quotes, newlines", "<SCRIPT id='oauth-args' type='application/json'>\n {\"csrf-token\" : \"x y\"}\n</SCRIPT>", "x y", false},
		{"missing script", `<html></html>`, "", true},
		{"no token", `<script id="oauth-args">{"other":1}</script>`, "", true},
		{"broken json", `<script id="oauth-args">{"csrf-token":</script>`, "", true},
		{"invalid UTF-8 is not silently replaced", "<script id=\"oauth-args\">{\"csrf-token\":\"\xf8\"}</script>", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extractCSRF([]byte(tc.page))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("extractCSRF = %q, %v; want %q, err %v", got.Reveal(), err, tc.want.Reveal(), tc.wantErr)
			}
		})
	}
}

func TestPKCE(t *testing.T) {
	p := newPKCE()
	if len(p.verifier.Reveal()) != 43 || len(p.challenge) != 43 {
		t.Fatalf("lengths %d/%d, want 43/43", len(p.verifier.Reveal()), len(p.challenge))
	}
	// RFC 7636 appendix B.
	if got := pkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Errorf("challenge = %q", got)
	}
	if newPKCE().verifier == p.verifier {
		t.Error("two verifiers are equal")
	}
}

func TestLoginStateReadableDuringSubmit(t *testing.T) {
	f := &oauthFake{t: t}
	f.signin = func(w http.ResponseWriter) { w.WriteHeader(http.StatusPreconditionFailed) }
	arrived, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth/v2/2fa/verify" {
			close(arrived)
			<-release
		}
		f.ServeHTTP(w, r)
	})
	c, _, _ := newTestClient(t, h, loggedOut)
	l, err := c.BeginLogin(t.Context(), "me@example.com", testPassword)
	if err != nil {
		t.Fatal(noteErr(err))
	}
	done := make(chan error, 1)
	go func() { done <- l.SubmitCode(t.Context(), testCode) }()
	<-arrived
	// SubmitCode is now blocked inside the 2FA request; reading state must not wait for it.
	read := make(chan bool, 1)
	go func() { read <- l.CodeRequired() && l.Challenge() == Challenge{} }()
	select {
	case ok := <-read:
		if !ok {
			t.Error("CodeRequired false while the code is still being checked")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("CodeRequired blocked behind SubmitCode")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(noteErr(err))
	}
	if l.CodeRequired() {
		t.Error("CodeRequired after success")
	}
}

func TestParseChallengeBounded(t *testing.T) {
	tests := []struct {
		name, body string
		want       Challenge
	}{
		{"Blink's 202", `{"next_time_in_secs":60,"phone":"+49xxxxxxxx12","tsv_state":"sms"}`, Challenge{"sms", "+49xxxxxxxx12", time.Minute}},
		{"e-mail, numbers as strings", `{"next_time_in_secs":"90","email":"m***@example.com","tsv_state":"email"}`, Challenge{"email", "m***@example.com", 90 * time.Second}},
		{"bare 412", ``, Challenge{}},
		{"negative wait", `{"next_time_in_secs":-5}`, Challenge{}},
		{"wait overflowing a Duration", `{"next_time_in_secs":20000000000}`, Challenge{ResendAfter: maxResendAfter}},
		{"a day", `{"next_time_in_secs":86400}`, Challenge{ResendAfter: maxResendAfter}},
		{"line breaks", `{"phone":"+49\n12","tsv_state":"sms\r\nX-Injected: 1"}`, Challenge{"sms  X-Injected: 1", "+49 12", 0}},
		{"long destination", `{"email":"` + strings.Repeat("a", 150) + `"}`, Challenge{Destination: strings.Repeat("a", maxDestination) + "…"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := parseChallenge([]byte(tc.body)); got != tc.want {
				t.Errorf("parseChallenge = %+v, want %+v", got, tc.want)
			}
		})
	}
}
