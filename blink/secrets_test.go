package blink

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// lockedBuffer is a goroutine-safe log sink.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSecretsNeverLoggedOrInErrors drives a login with a wrong and a right
// 2FA code, a refresh, a refused refresh and failing calls with trace logging,
// then searches every log line and error string for the secrets involved.
// (TestMain additionally scans the output of the whole suite.)
func TestSecretsNeverLoggedOrInErrors(t *testing.T) {
	var logs lockedBuffer
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error(), sprintAll(err))
			noteErr(err)
		}
	}
	f := &oauthFake{t: t}
	f.signin = func(w http.ResponseWriter) {
		writeJSON(w, 202, `{"next_time_in_secs":60,"phone":"+49xxxxxxxx12","tsv_state":"sms","user_id":123}`)
	}
	rest := newRestFake()
	mux := http.NewServeMux()
	mux.Handle("/oauth/v2/", f)
	mux.Handle("/prod/", f)
	mux.HandleFunc("/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PostForm.Get("grant_type") == "authorization_code" {
			f.ServeHTTP(w, r)
			return
		}
		rest.ServeHTTP(w, r)
	})
	mux.Handle("/u011/", rest)
	c, _, _ := newTestClient(t, mux, loggedOut, func(o *Options) {
		o.Logger = zerolog.New(zerolog.MultiLevelWriter(&logs, sink)).Level(zerolog.TraceLevel)
	})

	l, err := c.BeginLogin(t.Context(), "me@example.com", testPassword)
	note(err)
	if err != nil {
		t.Fatal(err)
	}
	note(l.SubmitCode(t.Context(), "111111"))
	note(l.SubmitCode(t.Context(), testCode))
	if !c.HasSession() {
		t.Fatal("login did not complete")
	}
	// The fake REST host knows other tokens: 401 → refresh (rotates) → retry.
	rest.mu.Lock()
	rest.access = "at-rotated-1"
	rest.mu.Unlock()
	_, err = c.Homescreen(t.Context())
	note(err)
	// Now the refresh token gets refused.
	rest.mu.Lock()
	rest.access, rest.refuse = "nobody-has-this", true
	rest.mu.Unlock()
	_, err = c.Homescreen(t.Context())
	note(err)
	_, err = c.MediaChanged(t.Context(), c.now())
	note(err)

	out := logs.String() + strings.Join(errs, "\n") + sprintAll(c.Session()) + sprintAll(l.Challenge())
	for _, sec := range []string{testPassword, testAccess, testRefresh, testCode, "111111", testCSRF, testCookie, testAuthCode, "at-rotated-1", "rt-rotated-1"} {
		if strings.Contains(out, sec) {
			t.Errorf("secret %q appears in logs or errors", sec)
		}
	}
	// The scan must have had something to read.
	for _, want := range []string{"login: complete", "access token refreshed", "refused the refresh token", "POST /oauth/v2/2fa/verify"} {
		if !strings.Contains(out, want) {
			t.Errorf("expected %q in the captured output; the scan would prove little", want)
		}
	}
	f.check(t)
}
