package blink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// OAuth endpoints of the authorization-code + PKCE login.
const (
	authorizeTmpl = "/oauth/v2/authorize"
	signinTmpl    = "/oauth/v2/signin"
	verifyTmpl    = "/oauth/v2/2fa/verify"
	tierInfoTmpl  = "/api/v1/users/tier_info"
	formType      = "application/x-www-form-urlencoded"
)

// Challenge describes the 2FA code Blink sent.
type Challenge struct {
	// Channel is how the code was sent ("sms", "email", "whatsapp", "voice"),
	// or "" when Blink did not say (a bare 412).
	Channel string
	// Destination is the masked phone number or e-mail Blink reported, if any.
	Destination string
	// ResendAfter is how long Blink wants before another code is requested.
	ResendAfter time.Duration
}

// Login is one sign-in in progress. It holds the OAuth web session (a
// private cookie jar, the CSRF token and the PKCE verifier) in memory between
// BeginLogin and SubmitCode; a restart loses it. A Login is safe for
// concurrent use but meant for one person typing one code.
type Login struct {
	c          *Client
	hardwareID string
	pkce       pkcePair
	// web carries the login's private cookie jar; each step's call says
	// whether a redirect is followed (see redirectPolicy).
	web *http.Client

	// Set by BeginLogin before the Login escapes; read-only afterwards.
	csrf         Secret
	codeRequired bool
	challenge    Challenge
	userID       int64

	// op serialises SubmitCode (held across its network calls); CodeRequired
	// and Challenge never wait for it, so an MQTT handler can ask at any time.
	op       sync.Mutex
	verified bool        // under op: 2FA accepted; only the code exchange is left
	done     atomic.Bool // tokens saved
}

// BeginLogin signs in with e-mail and password. When Blink asks for a 2FA
// code, CodeRequired reports true and SubmitCode finishes the login;
// otherwise the tokens are already saved. Never call this in a loop: every
// attempt may send an SMS, and repeated logins get accounts locked.
func (c *Client) BeginLogin(ctx context.Context, email string, password Secret) (*Login, error) {
	if strings.TrimSpace(email) == "" || password.IsZero() {
		return nil, fmt.Errorf("blink: login: %w: e-mail and password are required", ErrBadCredentials)
	}
	l := c.newLogin()
	c.log.Info().Msg("login: starting OAuth sign-in")

	// Step 1: authorize starts the web session (302 to the sign-in page).
	q := url.Values{
		"app_brand":             {"blink"},
		"app_version":           {"50.1"},
		"client_id":             {oauthClientID},
		"code_challenge":        {l.pkce.challenge},
		"code_challenge_method": {"S256"},
		"device_brand":          {"Apple"},
		"device_model":          {"iPhone16,1"},
		"device_os_version":     {"26.1"},
		"hardware_id":           {l.hardwareID},
		"redirect_uri":          {oauthRedirectURI},
		"response_type":         {"code"},
		"scope":                 {oauthScope},
	}
	resp, err := c.do(ctx, l.step(http.MethodGet, authorizeTmpl, redirectSameOrigin, q, nil))
	if err != nil {
		return nil, fmt.Errorf("blink: login: %w", err)
	}
	if resp.status != http.StatusOK {
		return nil, fmt.Errorf("blink: login: %w", newStatusError("GET "+authorizeTmpl, resp, nil))
	}

	// Step 2: the sign-in page carries the CSRF token.
	cl := l.step(http.MethodGet, signinTmpl, redirectSameOrigin, nil, nil)
	resp, err = c.do(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("blink: login: %w", err)
	}
	if resp.status != http.StatusOK {
		return nil, fmt.Errorf("blink: login: %w", newStatusError(cl.op(), resp, nil))
	}
	csrf, err := extractCSRF(resp.body)
	if err != nil {
		return nil, fmt.Errorf("blink: login: %w", &DecodeError{Op: cl.op(), Err: err})
	}
	l.csrf = csrf

	// Step 3: credentials; a redirect is the answer, never followed with the password.
	form := url.Values{
		"username":   {email},
		"password":   {password.Reveal()},
		"csrf-token": {csrf.Reveal()},
	}
	cl = l.step(http.MethodPost, signinTmpl, redirectAnswer, nil, form)
	resp, err = c.do(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("blink: login: %w", err)
	}
	if err := l.signinOutcome(cl.op(), resp); err != nil {
		return nil, fmt.Errorf("blink: login: %w", err)
	}
	if l.codeRequired {
		c.log.Info().Str("channel", l.challenge.Channel).Msg("login: Blink sent a 2FA code")
		return l, nil
	}
	if err := l.finish(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

func (c *Client) newLogin() *Login {
	jar, _ := cookiejar.New(nil) // cookiejar.New with nil options never fails
	tr := c.http.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	return &Login{
		c:          c,
		hardwareID: c.snapshot().HardwareID,
		pkce:       newPKCE(),
		web:        &http.Client{Transport: tr, Jar: jar},
	}
}

// step builds an OAuth web-step call. Forms get Origin and Referer like a browser.
func (l *Login) step(method, tmpl string, redirect redirectPolicy, q, form url.Values) *call {
	cl := &call{
		method: method, tmpl: tmpl, base: l.c.oauthURL, path: tmpl, query: q,
		prof: profWeb, client: l.web, raw: true, redirect: redirect,
	}
	if form != nil {
		cl.body = []byte(form.Encode())
		cl.ctype = formType
		cl.header = http.Header{
			"Origin":  {l.c.oauthURL},
			"Referer": {l.c.oauthURL + signinTmpl},
		}
	}
	return cl
}

// oauthArgs finds the JSON of <script id="oauth-args" type="application/json">.
var oauthArgs = regexp.MustCompile(`(?is)<script[^>]*\bid\s*=\s*["']oauth-args["'][^>]*>(.*?)</script>`)

func extractCSRF(page []byte) (Secret, error) {
	m := oauthArgs.FindSubmatch(page)
	if m == nil {
		return "", errors.New("sign-in page has no oauth-args script")
	}
	if !utf8.Valid(m[1]) {
		// encoding/json would silently turn the bytes into U+FFFD: a token Blink never sent.
		return "", errors.New("oauth-args is not UTF-8")
	}
	var args struct {
		CSRF string `json:"csrf-token"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(m[1]), &args); err != nil {
		return "", fmt.Errorf("oauth-args: %w", jsonErr(err))
	}
	if args.CSRF == "" {
		return "", errors.New("oauth-args has no csrf-token")
	}
	return Secret(args.CSRF), nil
}

// oauthError is the JSON error body of the OAuth host.
type oauthError struct {
	Error      flexString `json:"error"`
	ErrorCause flexString `json:"error_cause"`
	Desc       flexString `json:"error_description"`
	Message    flexString `json:"message"`
}

func parseOAuthError(body []byte) oauthError {
	var e oauthError
	_ = json.Unmarshal(body, &e)
	return e
}

func (e oauthError) badCredentials() bool {
	return strings.Contains(e.Error.v, "invalid_user_credentials") || strings.Contains(e.ErrorCause.v, "invalid_user_credentials")
}

// signinOutcome maps the sign-in POST answer: 3xx signed in, 412/202 code needed, else an error.
func (l *Login) signinOutcome(op string, resp *response) error {
	s := resp.status
	oe := parseOAuthError(resp.body)
	switch {
	case s >= 300 && s < 400:
		return nil
	case s == http.StatusPreconditionFailed:
		l.codeRequired = true
		l.challenge, l.userID = parseChallenge(resp.body)
		return nil
	case s == http.StatusAccepted:
		l.codeRequired = true
		l.challenge, l.userID = parseChallenge(resp.body)
		return nil
	case oe.badCredentials() || s == http.StatusUnauthorized || bytes.Contains(resp.body, []byte("invalid_user_credentials")):
		// The last test also catches a re-rendered sign-in page carrying the error.
		return newStatusError(op, resp, ErrBadCredentials)
	case s == http.StatusBadRequest && oe.ErrorCause.v == "empty_cookies":
		return newStatusError(op, resp, ErrCookiesLost)
	case s == http.StatusNotAcceptable:
		return newStatusError(op, resp, ErrNotAcceptable)
	case s == http.StatusOK:
		return fmt.Errorf("%s: sign-in page answered 200 without a decision", op)
	default:
		return newStatusError(op, resp, nil)
	}
}

// Bounds of what a 2FA challenge may report; Blink sends "sms", a masked
// number and 60 s, and the values reach logs and MQTT answers.
const (
	maxChannel     = 32
	maxDestination = 100
	maxResendAfter = time.Hour
)

// parseChallenge reads the 202 JSON (tsv_state, phone/email,
// next_time_in_secs, user_id); a bare 412 gives an empty Challenge.
func parseChallenge(body []byte) (Challenge, int64) {
	var raw struct {
		TSVState flexString `json:"tsv_state"`
		Phone    flexString `json:"phone"`
		Email    flexString `json:"email"`
		Next     flexInt    `json:"next_time_in_secs"`
		UserID   flexInt    `json:"user_id"`
	}
	_ = json.Unmarshal(body, &raw)
	ch := Challenge{Channel: cleanText(raw.TSVState.v, maxChannel), Destination: cleanText(raw.Phone.v, maxDestination)}
	if ch.Destination == "" {
		ch.Destination = cleanText(raw.Email.v, maxDestination)
	}
	switch next := raw.Next.v; {
	case next > int64(maxResendAfter/time.Second):
		ch.ResendAfter = maxResendAfter // also keeps the multiplication below from overflowing
	case next > 0:
		ch.ResendAfter = time.Duration(next) * time.Second
	}
	return ch, raw.UserID.v
}

// CodeRequired reports whether the login waits for a 2FA code. false means
// the login is complete and the tokens are saved.
func (l *Login) CodeRequired() bool {
	return l.codeRequired && !l.done.Load()
}

// Challenge describes the 2FA code Blink sent.
func (l *Login) Challenge() Challenge {
	return l.challenge
}

// SubmitCode sends the 2FA code and, when Blink accepts it, finishes the
// login and saves the tokens. A wrong or expired code returns ErrInvalidCode
// and the Login stays usable for another try.
func (l *Login) SubmitCode(ctx context.Context, code Secret) error {
	l.op.Lock()
	defer l.op.Unlock()
	switch {
	case l.done.Load():
		return errors.New("blink: login already complete")
	case !l.codeRequired:
		return errors.New("blink: login did not ask for a code")
	}
	if !l.verified {
		trimmed := Secret(strings.TrimSpace(code.Reveal()))
		if trimmed.IsZero() {
			return fmt.Errorf("blink: login: %w: empty code", ErrInvalidCode)
		}
		form := url.Values{
			"2fa_code":    {trimmed.Reveal()},
			"csrf-token":  {l.csrf.Reveal()},
			"remember_me": {"false"},
		}
		cl := l.step(http.MethodPost, verifyTmpl, redirectAnswer, nil, form)
		resp, err := l.c.do(ctx, cl)
		if err != nil {
			return fmt.Errorf("blink: login: %w", err)
		}
		if err := verifyOutcome(cl.op(), resp); err != nil {
			return fmt.Errorf("blink: login: %w", err)
		}
		l.verified = true
		l.c.log.Info().Msg("login: 2FA code accepted")
	}
	return l.finish(ctx)
}

func verifyOutcome(op string, resp *response) error {
	s := resp.status
	if s == http.StatusCreated {
		return nil
	}
	var ok struct {
		Status flexString `json:"status"`
	}
	if s == http.StatusOK && json.Unmarshal(resp.body, &ok) == nil && ok.Status.v == "auth-completed" {
		return nil
	}
	oe := parseOAuthError(resp.body)
	switch {
	case s == http.StatusNotAcceptable:
		return newStatusError(op, resp, ErrNotAcceptable)
	case s == http.StatusBadRequest && oe.ErrorCause.v == "empty_cookies":
		return newStatusError(op, resp, ErrCookiesLost)
	default:
		return newStatusError(op, resp, ErrInvalidCode)
	}
}

// finish gets the authorization code, exchanges it for tokens, learns the
// tier and saves the session (steps 5–7). Called with l.op held or before
// the Login escapes.
func (l *Login) finish(ctx context.Context) error {
	c := l.c
	cl := l.step(http.MethodGet, authorizeTmpl, redirectAnswer, nil, nil) // the code is in Location
	resp, err := c.do(ctx, cl)
	if err != nil {
		return fmt.Errorf("blink: login: %w", err)
	}
	if resp.status < 300 || resp.status >= 400 {
		return fmt.Errorf("blink: login: authorization code: %w", newStatusError(cl.op(), resp, nil))
	}
	// The Location carries the code: never log or quote it.
	loc, err := url.Parse(resp.header.Get("Location"))
	if err != nil {
		return fmt.Errorf("blink: login: %s: unparsable redirect", cl.op())
	}
	code := Secret(loc.Query().Get("code"))
	if code.IsZero() {
		return fmt.Errorf("blink: login: %s: redirect carries no authorization code", cl.op())
	}

	form := url.Values{
		"app_brand":     {"blink"},
		"client_id":     {oauthClientID},
		"code":          {code.Reveal()},
		"code_verifier": {l.pkce.verifier.Reveal()},
		"grant_type":    {"authorization_code"},
		"hardware_id":   {l.hardwareID},
		"redirect_uri":  {oauthRedirectURI},
		"scope":         {oauthScope},
	}
	cl = &call{
		method: http.MethodPost, tmpl: tokenTmpl, base: c.oauthURL, path: tokenTmpl,
		body: []byte(form.Encode()), ctype: formType, prof: profToken, client: l.web, raw: true,
		redirect: redirectRefuse, // the body carries the code and the PKCE verifier
	}
	resp, err = c.do(ctx, cl)
	if err != nil {
		return fmt.Errorf("blink: login: %w", err)
	}
	if resp.status != http.StatusOK {
		return fmt.Errorf("blink: login: token exchange: %w", newStatusError(cl.op(), resp, nil))
	}
	tr, err := decodeTokenResponse(cl.op(), resp.body)
	if err != nil {
		return fmt.Errorf("blink: login: %w", err)
	}
	if tr.RefreshToken == "" {
		return fmt.Errorf("blink: login: %w", &DecodeError{Op: cl.op(), Err: errors.New("no refresh_token in token response")})
	}
	t := Tokens{
		AccessToken:  Secret(tr.AccessToken),
		RefreshToken: Secret(tr.RefreshToken),
		ExpiresAt:    c.expiry(tr),
		HardwareID:   l.hardwareID,
		UserID:       l.userID,
	}

	cl = &call{
		method: http.MethodGet, tmpl: tierInfoTmpl, base: c.restBase(prodTier), path: tierInfoTmpl,
		prof: profREST, token: t.AccessToken, redirect: redirectSameOrigin,
	}
	resp, err = c.do(ctx, cl)
	if err != nil {
		return fmt.Errorf("blink: login: %w", err)
	}
	var ti tierInfo
	if err := decodeJSON(cl.op(), resp.body, &ti); err != nil {
		return fmt.Errorf("blink: login: %w", err)
	}
	if !validTier(ti.Tier.v) || ti.AccountID.v == 0 {
		return fmt.Errorf("blink: login: %w", &DecodeError{Op: cl.op(), Err: errors.New("tier_info without a valid tier or account_id")})
	}
	t.Tier, t.AccountID = ti.Tier.v, ti.AccountID.v

	// Save before adopting: a session that cannot be persisted would be
	// lost at the next restart and cost the user another 2FA login.
	c.saveMu.Lock()
	err = c.store.Save(t)
	if err == nil {
		c.mu.Lock()
		c.tokens = t
		c.refused = false
		c.mu.Unlock()
	}
	c.saveMu.Unlock()
	if err != nil {
		return fmt.Errorf("blink: login: save tokens: %w", err)
	}
	l.done.Store(true)
	c.log.Info().Str("tier", t.Tier).Msg("login: complete, tokens saved")
	return nil
}
