package blink_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

// TestSecretsNeverLoggedOrInErrors drives a login with a wrong and a right
// 2FA code, a refresh, a refused refresh and failing calls against the fake
// cloud with trace logging, then searches every log line and error string
// for the password, the codes and every secret the fake handed out.
// (TestMain additionally scans the output of the whole suite.)
func TestSecretsNeverLoggedOrInErrors(t *testing.T) {
	var logs blink.LockedBuffer
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error(), blink.SprintAll(err))
			blink.NoteErr(err)
		}
	}
	srv := blinkfake.New(t, fakeConfig(blinkfake.Config{TwoFactor: true, Use202: true}))
	c := newClient(t, srv, nil, func(o *blink.Options) {
		o.Logger = zerolog.New(zerolog.MultiLevelWriter(&logs, blink.SuiteWriter())).Level(zerolog.TraceLevel)
	})

	l, err := c.BeginLogin(t.Context(), fakeEmail, blink.TestPassword)
	note(err)
	if err != nil {
		t.Fatal(err)
	}
	note(l.SubmitCode(t.Context(), "111111"))
	note(l.SubmitCode(t.Context(), blink.TestCode))
	if !c.HasSession() {
		t.Fatal("login did not complete")
	}
	// 401 → refresh (rotates) → retry.
	srv.ExpireAccessTokens()
	_, err = c.Homescreen(t.Context())
	note(err)
	// Now the refresh token gets refused.
	srv.ExpireAccessTokens()
	srv.RevokeRefreshTokens()
	_, err = c.Homescreen(t.Context())
	note(err)
	_, err = c.MediaChanged(t.Context(), time.Now())
	note(err)

	out := logs.String() + strings.Join(errs, "\n") + blink.SprintAll(c.Session()) + blink.SprintAll(l.Challenge())
	handed := srv.Secrets()
	if len(handed) < 6 { // cookie, CSRF, code, two token pairs
		t.Fatalf("the fake handed out only %d secrets; the scan would prove little", len(handed))
	}
	for _, sec := range append(handed, string(blink.TestPassword), blink.TestCode, "111111") {
		if strings.Contains(out, sec) {
			t.Errorf("secret %.12s… appears in logs or errors", sec)
		}
	}
	// The scan must have had something to read.
	for _, want := range []string{"login: complete", "access token refreshed", "refused the refresh token", "POST /oauth/v2/2fa/verify"} {
		if !strings.Contains(out, want) {
			t.Errorf("expected %q in the captured output; the scan would prove little", want)
		}
	}
	checkLoginRequests(t, srv)
}
