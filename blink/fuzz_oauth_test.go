package blink

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for the OAuth host's pages and answers.

// fuzzSecret stands in for a token or password in a fuzzed body. The code
// under test never compares against it, so the fuzzer cannot learn to put it
// where an error may legitimately quote text.
const fuzzSecret = "zq-fuzz-secret-7Hk2"

// withSecretFields puts token-like fields holding fuzzSecret in front of a
// JSON object body; ok is false for anything else.
func withSecretFields(body []byte) (out []byte, ok bool) {
	t := bytes.TrimSpace(body)
	if len(t) < 2 || t[0] != '{' {
		return nil, false
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for _, k := range []string{"access_token", "refresh_token", "password", "csrf-token", "2fa_code", "code_verifier"} {
		b.WriteString(`"` + k + `":"` + fuzzSecret + `",`)
	}
	b.WriteString(`"code":"` + fuzzSecret + `"`)
	if rest := bytes.TrimSpace(t[1:]); len(rest) > 0 && rest[0] != '}' {
		b.WriteByte(',')
	}
	b.Write(t[1:])
	return b.Bytes(), true
}

// fuzzStatus maps any int onto an HTTP status 100..999.
func fuzzStatus(n int) int {
	if n < 0 {
		n = -(n + 1)
	}
	return 100 + n%900
}

// checkErrorText fails when an error is not one bounded line or quotes a secret.
func checkErrorText(t *testing.T, err error, limit int) {
	t.Helper()
	if err == nil {
		return
	}
	s := err.Error()
	if !oneLine(s) || len(s) > limit {
		t.Fatalf("error is not one line of at most %d bytes (%d): %q", limit, len(s), s)
	}
	if strings.Contains(s, fuzzSecret) {
		t.Fatalf("error quotes a secret field: %q", s)
	}
}

// jsonReason is every reason jsonErr can give: a closed grammar, so no
// content of the input can be in it.
var jsonReason = `(invalid JSON at byte \d+|unexpected JSON [a-z ]+ for field "[\w.-]*"|truncated JSON|invalid JSON|empty body)`

var csrfErr = regexp.MustCompile(`^(sign-in page has no oauth-args script|oauth-args has no csrf-token|oauth-args is not UTF-8|oauth-args: ` + jsonReason + `)$`)

func FuzzExtractCSRF(f *testing.F) {
	f.Add(mustFixture(f, "oauth/signin_page.html"))
	f.Add([]byte(`<script type="application/json" id="oauth-args">{"csrf-token":"abc"}</script>`))
	f.Add([]byte("<SCRIPT id='oauth-args'>\n {\"csrf-token\" : \"x\\u0079\"}\n</SCRIPT>"))
	f.Add([]byte(`<script id="oauth-args">{"csrf-token":</script>`))
	f.Add([]byte(`<script id="oauth-args">{"csrf-token":""}</script><script id="oauth-args">{"csrf-token":"2"}</script>`))
	f.Fuzz(func(t *testing.T, page []byte) {
		tok, err := extractCSRF(page)
		if err != nil {
			if !tok.IsZero() {
				t.Fatal("a token returned with an error")
			}
			if !csrfErr.MatchString(err.Error()) {
				t.Fatalf("error outside the known reasons (may quote the page): %q", err)
			}
			return
		}
		s := tok.Reveal()
		if s == "" {
			t.Fatal("empty CSRF token accepted")
		}
		// It came from the page: literally, or spelt with JSON escapes.
		if !bytes.Contains(page, []byte(s)) && !bytes.Contains(page, []byte(`\`)) {
			t.Fatalf("CSRF token %q is not in the page", s)
		}
		if len(s) > len(page) {
			t.Fatalf("CSRF token longer than the page")
		}
	})
}

func FuzzParseChallenge(f *testing.F) {
	addFixtures(f, "oauth/challenge_202.json", "oauth/challenge_email.json")
	f.Add([]byte(``))
	f.Add([]byte(`{"next_time_in_secs":20000000000,"phone":"+49\n123","tsv_state":"sms\u2028x"}`))
	f.Add([]byte(`{"next_time_in_secs":-5,"email":"` + strings.Repeat("é", 80) + `"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ch, _ := parseChallenge(body)
		if ch.ResendAfter < 0 || ch.ResendAfter > maxResendAfter {
			t.Fatalf("ResendAfter = %s, want 0..%s", ch.ResendAfter, maxResendAfter)
		}
		if !oneLine(ch.Channel) || len(ch.Channel) > maxChannel+len("…") {
			t.Fatalf("Channel %q is not one short line", ch.Channel)
		}
		if !oneLine(ch.Destination) || len(ch.Destination) > maxDestination+len("…") {
			t.Fatalf("Destination %q is not one short line", ch.Destination)
		}
		again, _ := parseChallenge(body)
		if again != ch {
			t.Fatal("parseChallenge is not deterministic")
		}
	})
}

func FuzzSigninOutcome(f *testing.F) {
	for _, s := range []struct {
		status  int
		fixture string
	}{
		{302, ""}, {412, ""}, {202, "oauth/challenge_202.json"}, {400, "oauth/error_empty_cookies.json"},
		{401, "oauth/error_bad_credentials.json"}, {200, "oauth/signin_page.html"}, {406, ""}, {500, "oauth/error_invalid_code.json"},
	} {
		var body []byte
		if s.fixture != "" {
			body = mustFixture(f, s.fixture)
		}
		f.Add(s.status, body)
	}
	f.Add(200, []byte(`<p>invalid_user_credentials</p>`))
	f.Fuzz(func(t *testing.T, n int, body []byte) {
		status := fuzzStatus(n)
		if b, ok := withSecretFields(body); ok {
			body = b
		}
		const op = "POST " + signinTmpl
		l := &Login{}
		err := l.signinOutcome(op, &response{status: status, body: body})
		checkErrorText(t, err, len(op)+60+maxMessage)
		switch {
		case status >= 300 && status < 400:
			if err != nil || l.codeRequired {
				t.Fatalf("3xx: err %v, code required %v; want signed in", err, l.codeRequired)
			}
		case status == http.StatusPreconditionFailed || status == http.StatusAccepted:
			if err != nil || !l.codeRequired {
				t.Fatalf("%d: err %v, code required %v; want a 2FA challenge", status, err, l.codeRequired)
			}
			if l.challenge.ResendAfter < 0 || l.challenge.ResendAfter > maxResendAfter {
				t.Fatalf("challenge ResendAfter %s", l.challenge.ResendAfter)
			}
		default:
			if err == nil || l.codeRequired {
				t.Fatalf("%d: err %v, code required %v; want a failure", status, err, l.codeRequired)
			}
		}
		if errors.Is(err, ErrBadCredentials) && status != http.StatusUnauthorized && !bytes.Contains(body, []byte("invalid_user_credentials")) &&
			!bytes.Contains(body, []byte(`\`)) {
			t.Fatalf("%d: bad credentials without a 401 or Blink saying so", status)
		}
	})
}

func FuzzVerifyOutcome(f *testing.F) {
	f.Add(201, mustFixture(f, "oauth/verify_completed.json"))
	f.Add(200, mustFixture(f, "oauth/verify_completed.json"))
	f.Add(401, mustFixture(f, "oauth/error_invalid_code.json"))
	f.Add(400, mustFixture(f, "oauth/error_empty_cookies.json"))
	f.Add(406, []byte("406 Not Acceptable"))
	f.Add(200, []byte(`{"status":"pending"}`))
	f.Fuzz(func(t *testing.T, n int, body []byte) {
		status := fuzzStatus(n)
		if b, ok := withSecretFields(body); ok {
			body = b
		}
		const op = "POST " + verifyTmpl
		err := verifyOutcome(op, &response{status: status, body: body})
		checkErrorText(t, err, len(op)+60+maxMessage)
		var ok struct {
			Status flexString `json:"status"`
		}
		completed := status == http.StatusCreated ||
			status == http.StatusOK && json.Unmarshal(body, &ok) == nil && ok.Status.v == "auth-completed"
		if completed != (err == nil) {
			t.Fatalf("%d %q: err %v, want success %v", status, body, err, completed)
		}
		if err == nil {
			return
		}
		switch {
		case status == http.StatusNotAcceptable:
			if !errors.Is(err, ErrNotAcceptable) {
				t.Fatalf("406 gave %v", err)
			}
		case !errors.Is(err, ErrCookiesLost) && !errors.Is(err, ErrInvalidCode):
			t.Fatalf("%d gave %v, want ErrCookiesLost or ErrInvalidCode", status, err)
		}
	})
}

var tokenErr = regexp.MustCompile(`^POST /oauth/token: decode response: (` + jsonReason + `|no access_token in token response)$`)

func FuzzDecodeTokenResponse(f *testing.F) {
	addFixtures(f, "oauth/token.json", "oauth/error_invalid_code.json")
	f.Add([]byte(`{"access_token":"a","expires_in":"20000000000"}`))
	f.Add([]byte(`{"access_token":"a","expires_in":-1,"refresh_token":null}`))
	f.Add([]byte(`{"access_token":1}`))
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	c := &Client{now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, body []byte) {
		tr, err := decodeTokenResponse("POST "+tokenTmpl, body)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || !tokenErr.MatchString(err.Error()) {
				t.Fatalf("error is not a DecodeError with a known reason (may quote the body): %q", err)
			}
			return
		}
		if tr.AccessToken == "" {
			t.Fatal("token answer without an access token accepted")
		}
		exp := c.expiry(tr)
		if !exp.After(now) || exp.Sub(now) > maxTokenLife || !marshalsInUTC(exp) {
			t.Fatalf("expiry %s for %q: want within (now, now+%s]", exp, body, maxTokenLife)
		}
	})
}

func FuzzParseOAuthError(f *testing.F) {
	addFixtures(f, "oauth/error_empty_cookies.json", "oauth/error_bad_credentials.json", "oauth/error_invalid_code.json")
	f.Add([]byte(`{"error":1,"error_cause":["x"],"message":null}`))
	f.Add([]byte(`{"error_cause":"invalid_user\u005fcredentials"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e := parseOAuthError(body)
		if e.badCredentials() && !bytes.Contains(body, []byte("invalid_user_credentials")) && !bytes.Contains(body, []byte(`\`)) {
			t.Fatalf("bad credentials read from a body that does not say so: %q", body)
		}
		if e.ErrorCause.v == "empty_cookies" && !bytes.Contains(body, []byte("empty_cookies")) && !bytes.Contains(body, []byte(`\`)) {
			t.Fatalf("empty_cookies read from a body that does not say so: %q", body)
		}
		if parseOAuthError(body) != e {
			t.Fatal("parseOAuthError is not deterministic")
		}
	})
}
