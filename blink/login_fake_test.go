package blink_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

// Login tests against the fake cloud: it checks CSRF, cookies, PKCE and the
// hardware id itself; faults stand in for the answers it would not give.

// errAny in a test table accepts any non-nil error.
var errAny = errors.New("any error")

var uuidUpper = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

// loginFake starts a fake with cfg and the faults, and a client without a
// session that does not retry (a 5xx fails at once).
func loginFake(t *testing.T, cfg blinkfake.Config, faults ...blinkfake.Fault) (*blinkfake.Server, *blink.Client, *blink.MemoryTokenStore) {
	t.Helper()
	srv := blinkfake.New(t, fakeConfig(cfg))
	for _, f := range faults {
		srv.Inject(f)
	}
	store := &blink.MemoryTokenStore{}
	return srv, newClient(t, srv, store, func(o *blink.Options) { o.MaxRetries = -1 }), store
}

// checkLoginRequests checks what the fake cannot refuse by itself: each
// step looks like the client it claims to be.
func checkLoginRequests(t *testing.T, srv *blinkfake.Server) {
	t.Helper()
	first := true
	for _, r := range srv.Requests() {
		switch r.Endpoint {
		case blinkfake.EpAuthorize, blinkfake.EpSigninPage, blinkfake.EpSignin, blinkfake.EpVerify:
			if !strings.Contains(r.UserAgent, "Safari") {
				t.Errorf("%s %s with User-Agent %q, want a browser's", r.Method, r.Path, r.UserAgent)
			}
		case blinkfake.EpToken:
			if !strings.Contains(r.UserAgent, "CFNetwork") {
				t.Errorf("token request with User-Agent %q, want the iOS app's", r.UserAgent)
			}
		case blinkfake.EpTierInfo:
			if r.AppBuild == "" {
				t.Error("tier_info without APP-BUILD")
			}
		}
		if r.Method == http.MethodPost && (r.Endpoint == blinkfake.EpSignin || r.Endpoint == blinkfake.EpVerify) &&
			(r.Origin != srv.OAuthURL() || !strings.HasSuffix(r.Referer, "/oauth/v2/signin")) {
			t.Errorf("%s posted with Origin %q, Referer %q; want the sign-in page's", r.Endpoint, r.Origin, r.Referer)
		}
		if r.Endpoint == blinkfake.EpAuthorize && first {
			first = false
			q, _ := url.ParseQuery(r.Query)
			if q.Get("scope") != "client" || len(q.Get("code_challenge")) != 43 || !uuidUpper.MatchString(q.Get("hardware_id")) {
				t.Errorf("authorize query: scope %q, challenge of %d characters, hardware id %q",
					q.Get("scope"), len(q.Get("code_challenge")), q.Get("hardware_id"))
			}
		}
	}
}

// TestLoginSigninOutcomes: how each answer to the sign-in POST ends
// BeginLogin, and the whole login where the fake itself answers.
func TestLoginSigninOutcomes(t *testing.T) {
	signin := func(status int, body string) blinkfake.Fault {
		return blinkfake.Fault{Endpoint: blinkfake.EpSignin, Status: status, Body: body}
	}
	tests := []struct {
		name     string
		cfg      blinkfake.Config
		fault    *blinkfake.Fault // on the sign-in POST
		password blink.Secret     // "" → the right one
		wantErr  error
		wantCode bool
		wantChal blink.Challenge
		// codes are submitted in order: all but the last are wrong.
		codes []blink.Secret
	}{
		{name: "302 without 2FA"},
		{name: "303 without 2FA", cfg: blinkfake.Config{SigninStatus: http.StatusSeeOther}},
		{name: "412 asks for a code", cfg: blinkfake.Config{TwoFactor: true}, wantCode: true,
			wantChal: blink.Challenge{Channel: "sms", Destination: "+1xxxxxxx12", ResendAfter: time.Minute},
			codes:    []blink.Secret{blink.TestCode}},
		{name: "202 by SMS", cfg: blinkfake.Config{TwoFactor: true, Use202: true}, wantCode: true,
			wantChal: blink.Challenge{Channel: "sms", Destination: "+1xxxxxxx12", ResendAfter: time.Minute},
			codes:    []blink.Secret{blink.TestCode}},
		{name: "202 by e-mail, wrong code first", cfg: blinkfake.Config{TwoFactor: true, Use202: true, TwoFactorChannel: "email"},
			wantCode: true, wantChal: blink.Challenge{Channel: "email", Destination: "u***@example.com", ResendAfter: time.Minute},
			codes: []blink.Secret{"000000", blink.TestCode}},
		{name: "202 with the wait as a string and more methods", wantCode: true,
			fault:    ptr(signin(http.StatusAccepted, `{"next_time_in_secs":"30","email":"m***@example.com","tsv_methods":["sms","whatsapp"],"tsv_state":"email"}`)),
			wantChal: blink.Challenge{Channel: "email", Destination: "m***@example.com", ResendAfter: 30 * time.Second}},
		{name: "wrong password", password: "not-the-password", wantErr: blink.ErrBadCredentials},
		{name: "401 without a body", fault: ptr(signin(http.StatusUnauthorized, "Unauthorized")), wantErr: blink.ErrBadCredentials},
		{name: "400 invalid_user_credentials", wantErr: blink.ErrBadCredentials,
			fault: ptr(signin(http.StatusBadRequest, `{"error":"invalid_user_credentials","error_description":"Invalid credentials"}`))},
		{name: "200 page re-rendered with the error", wantErr: blink.ErrBadCredentials,
			fault: ptr(signin(http.StatusOK, `<script id="oauth-args" type="application/json">{"csrf-token":"n","error":"invalid_user_credentials"}</script>`))},
		{name: "200 page without a decision", fault: ptr(signin(http.StatusOK, `<html>hello</html>`)), wantErr: errAny},
		{name: "400 empty_cookies", wantErr: blink.ErrCookiesLost,
			fault: ptr(signin(http.StatusBadRequest, `{"error":"bad_request","error_cause":"empty_cookies","error_description":"Empty Cookies."}`))},
		{name: "406 cloudflare", fault: ptr(signin(http.StatusNotAcceptable, "")), wantErr: blink.ErrNotAcceptable},
		{name: "429 throttled", wantErr: blink.ErrRateLimited,
			fault: &blinkfake.Fault{Endpoint: blinkfake.EpSignin, Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Minute}},
		{name: "500 persistent", fault: &blinkfake.Fault{Endpoint: blinkfake.EpSignin, Status: 500, Count: -1}, wantErr: blink.ErrUnreachable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var faults []blinkfake.Fault
			if tc.fault != nil {
				faults = append(faults, *tc.fault)
			}
			srv, c, store := loginFake(t, tc.cfg, faults...)
			password := tc.password
			if password == "" {
				password = blink.TestPassword
			}
			l, err := c.BeginLogin(t.Context(), fakeEmail, password)
			blink.NoteErr(err)
			checkLoginRequests(t, srv)
			if tc.wantErr != nil {
				if err == nil || tc.wantErr != errAny && !errors.Is(err, tc.wantErr) {
					t.Fatalf("BeginLogin error = %v, want %v", err, tc.wantErr)
				}
				if saved, _ := store.Load(); c.HasSession() || !saved.RefreshToken.IsZero() {
					t.Error("a failed login left a session")
				}
				return
			}
			if err != nil {
				t.Fatalf("BeginLogin: %v", err)
			}
			if l.CodeRequired() != tc.wantCode {
				t.Fatalf("CodeRequired = %v, want %v", l.CodeRequired(), tc.wantCode)
			}
			if got := l.Challenge(); got != tc.wantChal {
				t.Errorf("Challenge = %+v, want %+v", got, tc.wantChal)
			}
			if tc.wantCode && tc.codes == nil {
				return // the fault answered for the fake: no code to send
			}
			for i, code := range tc.codes {
				err := blink.NoteErr(l.SubmitCode(t.Context(), code))
				if last := i == len(tc.codes)-1; last && err != nil {
					t.Fatalf("SubmitCode(right code): %v", err)
				} else if !last && !errors.Is(err, blink.ErrInvalidCode) {
					t.Fatalf("SubmitCode(wrong code) = %v, want ErrInvalidCode", err)
				}
			}
			checkLoginRequests(t, srv)
			if !c.HasSession() || l.CodeRequired() {
				t.Fatal("no session after the login")
			}
			if srv.Logins() != 1 || srv.CodesSent() != min(1, len(tc.codes)) {
				t.Errorf("logins %d, codes sent %d", srv.Logins(), srv.CodesSent())
			}
			saved, err := store.Load()
			if err != nil || saved.Tier != srv.Config().Tier || saved.AccountID != srv.AccountID() || !uuidUpper.MatchString(saved.HardwareID) {
				t.Errorf("saved session: tier %q, account %d, hardware id %q, %v", saved.Tier, saved.AccountID, saved.HardwareID, err)
			}
			if hs, err := c.Homescreen(t.Context()); err != nil || len(hs.Devices) == 0 {
				t.Fatalf("Homescreen after the login: %v", blink.NoteErr(err))
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestLoginTwoFactorRetryThenSuccess(t *testing.T) {
	srv, c, store := loginFake(t, blinkfake.Config{TwoFactor: true})
	hw := c.Session().HardwareID
	l, err := c.BeginLogin(t.Context(), fakeEmail, blink.TestPassword)
	if err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	if !l.CodeRequired() {
		t.Fatal("CodeRequired = false after 412")
	}
	if saved, _ := store.Load(); saved.HardwareID != hw || !saved.RefreshToken.IsZero() {
		t.Fatalf("before the code: stored hw %q (want %q) and a refresh token: %v", saved.HardwareID, hw, !saved.RefreshToken.IsZero())
	}
	if err := l.SubmitCode(t.Context(), "000000"); !errors.Is(blink.NoteErr(err), blink.ErrInvalidCode) {
		t.Fatalf("wrong code: err = %v, want ErrInvalidCode", err)
	}
	if !l.CodeRequired() {
		t.Fatal("Login unusable after a wrong code")
	}
	if err := l.SubmitCode(t.Context(), " "+blink.TestCode+"\n"); err != nil {
		t.Fatalf("right code with spaces around: %v", blink.NoteErr(err))
	}
	if l.CodeRequired() {
		t.Error("CodeRequired still true after success")
	}
	saved, _ := store.Load()
	if saved.RefreshToken.IsZero() || saved.HardwareID != hw || saved.Tier != srv.Config().Tier {
		t.Errorf("saved = tier %q hw %q (want %q), refresh token %v", saved.Tier, saved.HardwareID, hw, !saved.RefreshToken.IsZero())
	}
	if err := l.SubmitCode(t.Context(), blink.TestCode); err == nil {
		t.Error("SubmitCode on a finished login succeeded")
	}
	if n := srv.Count(blinkfake.EpVerify); n != 2 {
		t.Errorf("2fa verify calls = %d, want 2", n)
	}
	if n := srv.Count(blinkfake.EpToken); n != 1 {
		t.Errorf("token calls = %d, want 1", n)
	}
	checkLoginRequests(t, srv)
}

func TestLoginRejectsEmptyCredentialsWithoutNetwork(t *testing.T) {
	srv, c, _ := loginFake(t, blinkfake.Config{})
	_, err := c.BeginLogin(t.Context(), "", blink.TestPassword)
	if !errors.Is(blink.NoteErr(err), blink.ErrBadCredentials) {
		t.Errorf("err = %v", err)
	}
	if srv.Total() != 0 {
		t.Errorf("made %d requests", srv.Total())
	}
}

func TestLoginStateReadableDuringSubmit(t *testing.T) {
	release := make(chan struct{})
	srv, c, _ := loginFake(t, blinkfake.Config{TwoFactor: true},
		blinkfake.Fault{Endpoint: blinkfake.EpVerify, Hold: release})
	l, err := c.BeginLogin(t.Context(), fakeEmail, blink.TestPassword)
	if err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	done := make(chan error, 1)
	go func() { done <- l.SubmitCode(t.Context(), blink.TestCode) }()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := srv.WaitFor(ctx, func() bool { return srv.Count(blinkfake.EpVerify) == 1 }); err != nil {
		t.Fatal("the 2FA request never arrived:", err)
	}
	// SubmitCode is now blocked inside the 2FA request; reading state must not wait for it.
	read := make(chan bool, 1)
	go func() { read <- l.CodeRequired() && l.Challenge().Channel == "sms" }()
	select {
	case ok := <-read:
		if !ok {
			t.Error("CodeRequired false while the code is still being checked")
		}
	case <-ctx.Done():
		t.Fatal("CodeRequired blocked behind SubmitCode")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	if l.CodeRequired() {
		t.Error("CodeRequired after success")
	}
}

func TestCooldownBlocksLoginToo(t *testing.T) {
	srv, c, _ := loginFake(t, blinkfake.Config{},
		blinkfake.Fault{Endpoint: blinkfake.EpSignin, Status: http.StatusTooManyRequests, RetryAfter: 10 * time.Minute})
	_, err := c.BeginLogin(t.Context(), fakeEmail, blink.TestPassword)
	if !errors.Is(blink.NoteErr(err), blink.ErrRateLimited) {
		t.Fatalf("err = %v", err)
	}
	before := srv.Total()
	_, err = c.BeginLogin(t.Context(), fakeEmail, blink.TestPassword)
	var rl *blink.RateLimitError
	if !errors.As(blink.NoteErr(err), &rl) || rl.RetryAfter <= 9*time.Minute || srv.Total() != before {
		t.Errorf("second login during cooldown: %v, %d requests", err, srv.Total()-before)
	}
}

// TestLoginLaterStepFailures: a login that fails after the sign-in leaves
// no session behind.
func TestLoginLaterStepFailures(t *testing.T) {
	tests := []struct {
		name    string
		fault   blinkfake.Fault
		wantErr error // nil: any error
	}{
		{"token exchange refused", blinkfake.Fault{Endpoint: blinkfake.EpToken, Status: 400, Body: `{"error":"invalid_grant"}`}, nil},
		{"token exchange 406", blinkfake.Fault{Endpoint: blinkfake.EpToken, Status: 406}, blink.ErrNotAcceptable},
		{"token response without refresh token", blinkfake.Fault{Endpoint: blinkfake.EpToken, Status: 200,
			Body: `{"access_token":"x","expires_in":14400}`}, blink.ErrDecode},
		{"tier_info malformed", blinkfake.Fault{Endpoint: blinkfake.EpTierInfo, Status: 200, Body: `{"tier":`}, blink.ErrDecode},
		{"tier_info without tier", blinkfake.Fault{Endpoint: blinkfake.EpTierInfo, Status: 200, Body: `{"account_id":1001}`}, blink.ErrDecode},
		{"tier_info with a hostile tier", blinkfake.Fault{Endpoint: blinkfake.EpTierInfo, Status: 200,
			Body: `{"tier":"evil.example.com/x","account_id":1001}`}, blink.ErrDecode},
		// The second authorize is the one that carries the code.
		{"authorize without code", blinkfake.Fault{Endpoint: blinkfake.EpAuthorize, Skip: 1, Status: http.StatusFound,
			Location: blinkfake.RedirectURI + "?state=x"}, nil},
		{"authorize 406 on the first step", blinkfake.Fault{Endpoint: blinkfake.EpAuthorize, Status: 406}, blink.ErrNotAcceptable},
		// Count 2: authorize's redirect to the page and the page itself.
		{"sign-in page without csrf", blinkfake.Fault{Endpoint: blinkfake.EpSigninPage, Status: 200, Count: 2,
			Body: "<html>maintenance</html>"}, blink.ErrDecode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, c, store := loginFake(t, blinkfake.Config{}, tc.fault)
			_, err := c.BeginLogin(t.Context(), fakeEmail, blink.TestPassword)
			blink.NoteErr(err)
			if err == nil {
				t.Fatal("login succeeded")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if srv.PendingFaults() != 0 {
				t.Errorf("the fault never applied; err = %v", err)
			}
			if c.HasSession() {
				t.Error("session adopted after a failed login")
			}
			if saved, _ := store.Load(); !saved.RefreshToken.IsZero() {
				t.Error("tokens saved after a failed login")
			}
		})
	}
}
