package blinkfake

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// RedirectURI is the iOS app's redirect URI the authorize step requires.
const RedirectURI = "immedia-blink://applinks.blink.com/signin/callback"

// SessionCookie is the name of the OAuth web session cookie.
const SessionCookie = "_blink_oauth_session"

const (
	maxSessions  = 1000
	sessionTTL   = time.Hour
	codeTTL      = 5 * time.Minute
	twoFactorTTL = 10 * time.Minute
	maxTokens    = 10000
)

type session struct {
	created       time.Time
	hardwareID    string
	challenge     string
	state         string
	csrf          string
	awaiting2FA   bool
	codeSentAt    time.Time
	authenticated bool
}

type authCode struct {
	challenge  string
	hardwareID string
	expires    time.Time
}

func randText() string { return rand.Text() }

// isUUID accepts the 8-4-4-4-12 hex form in either case.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// OAuthHandler is the OAuth host's handler (OAuthURL serves it).
func (s *Server) OAuthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rt := route{name: EpOAuthOther, h: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusNotFound, oauthError("not_found", "", "Not Found"))
		}}
		switch p := strings.TrimSuffix(r.URL.Path, "/"); {
		case p == "/oauth/v2/authorize" && r.Method == http.MethodGet:
			rt = route{EpAuthorize, s.handleAuthorize}
		case p == "/oauth/v2/signin" && r.Method == http.MethodGet:
			rt = route{EpSigninPage, s.handleSigninPage}
		case p == "/oauth/v2/signin" && r.Method == http.MethodPost:
			rt = route{EpSignin, s.handleSignin}
		case p == "/oauth/v2/2fa/verify" && r.Method == http.MethodPost:
			rt = route{EpVerify, s.handleVerify}
		case p == "/oauth/token" && r.Method == http.MethodPost:
			rt = route{EpToken, s.handleToken}
		}
		s.serve(w, r, "oauth", rt)
	})
}

// session returns the cookie's session. Caller holds mu.
func (s *Server) sessionOf(r *http.Request) *session {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return nil
	}
	sess, ok := s.sessions[c.Value]
	if !ok || s.now().Sub(sess.created) > sessionTTL {
		return nil
	}
	return sess
}

func (s *Server) pruneSessions(now time.Time) {
	for k, v := range s.sessions {
		if now.Sub(v.created) > sessionTTL {
			delete(s.sessions, k)
		}
	}
	for len(s.sessions) >= maxSessions {
		for k := range s.sessions {
			delete(s.sessions, k)
			break
		}
	}
	for k, v := range s.codes {
		if now.After(v.expires) {
			delete(s.codes, k)
		}
	}
}

var emptyCookies = oauthError("bad_request", "empty_cookies", "Empty Cookies.")

func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if len(q) == 0 {
		s.authorizeCode(w, r)
		return
	}
	if !isUUID(q.Get("hardware_id")) {
		writeText(w, http.StatusNotAcceptable, "Not Acceptable")
		return
	}
	switch {
	case q.Get("client_id") != "ios":
		writeJSON(w, http.StatusBadRequest, oauthError("invalid_client", "", "Unknown client."))
		return
	case q.Get("response_type") != "code":
		writeJSON(w, http.StatusBadRequest, oauthError("unsupported_response_type", "", "response_type must be code."))
		return
	case q.Get("redirect_uri") != RedirectURI:
		writeJSON(w, http.StatusBadRequest, oauthError("invalid_request", "", "Invalid redirect_uri."))
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		writeJSON(w, http.StatusBadRequest, oauthError("invalid_request", "", "PKCE with S256 is required."))
		return
	}
	state := q.Get("state")
	if state == "" {
		state = randText()
	}
	s.mu.Lock()
	now := s.now()
	s.pruneSessions(now)
	id := randText()
	s.sessions[id] = &session{
		created: now, hardwareID: q.Get("hardware_id"), challenge: q.Get("code_challenge"),
		state: state, csrf: randText(),
	}
	s.handOut(id, s.sessions[id].csrf)
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Location", "/oauth/v2/signin")
	w.WriteHeader(http.StatusFound)
}

// authorizeCode is step 5: the signed-in session gets its authorization code.
func (s *Server) authorizeCode(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	sess := s.sessionOf(r)
	if sess == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusBadRequest, emptyCookies)
		return
	}
	if !sess.authenticated {
		s.mu.Unlock()
		w.Header().Set("Location", "/oauth/v2/signin")
		w.WriteHeader(http.StatusFound)
		return
	}
	code := randText()
	s.handOut(code)
	s.codes[code] = &authCode{challenge: sess.challenge, hardwareID: sess.hardwareID, expires: s.now().Add(codeTTL)}
	state := sess.state
	s.mu.Unlock()
	loc := RedirectURI + "?" + url.Values{"code": {code}, "state": {state}}.Encode()
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusFound)
}

func (s *Server) handleSigninPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	csrf := randText()
	if sess := s.sessionOf(r); sess != nil {
		csrf = sess.csrf
	}
	s.mu.Unlock()
	args, _ := json.Marshal(map[string]any{"csrf-token": csrf, "client_id": "ios", "flow": "signin", "locale": "en_US"})
	page := fmt.Sprintf(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in | Blink</title></head>
<body>
<script id="oauth-args" type="application/json">%s</script>
<form method="post" action="/oauth/v2/signin">
<input type="hidden" name="csrf-token" value="%s">
<input type="email" name="username"><input type="password" name="password">
<button type="submit">Sign in</button>
</form>
</body></html>
`, args, html.EscapeString(csrf))
	writeHTML(w, http.StatusOK, page)
}

// locked reports the remaining lockout. Caller holds mu.
func (s *Server) locked() (bool, time.Duration) {
	if s.lockedUntil.IsZero() {
		return false, 0
	}
	left := s.lockedUntil.Sub(s.now())
	if left <= 0 {
		s.lockedUntil = time.Time{}
		return false, 0
	}
	return true, left
}

func writeLocked(w http.ResponseWriter, left time.Duration) {
	w.Header().Set("Retry-After", retryAfterSeconds(left))
	writeJSON(w, http.StatusTooManyRequests, oauthError("too_many_requests", "account_locked",
		"Access limit exceeded, try again in 60 minutes."))
}

func csrfOK(sess *session, got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(sess.csrf), []byte(got)) == 1
}

// formSessionLocked finds the web session of a form POST and checks its
// CSRF token; on failure it has answered as Blink does and returns nil.
func (s *Server) formSessionLocked(w http.ResponseWriter, r *http.Request) *session {
	sess := s.sessionOf(r)
	if sess == nil {
		writeJSON(w, http.StatusBadRequest, emptyCookies)
		return nil
	}
	if !csrfOK(sess, r.PostForm.Get("csrf-token")) {
		writeJSON(w, http.StatusBadRequest, oauthError("bad_request", "invalid_csrf_token", "Invalid CSRF token."))
		return nil
	}
	return sess
}

func (s *Server) handleSignin(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError("bad_request", "invalid_form", "Malformed form."))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.formSessionLocked(w, r)
	if sess == nil {
		return
	}
	if ok, left := s.locked(); ok {
		writeLocked(w, left)
		return
	}
	user, pass := r.PostForm.Get("username"), r.PostForm.Get("password")
	if !strings.EqualFold(user, s.cfg.Email) || subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.Password)) != 1 {
		s.badSignins++
		if s.cfg.LockoutAfter > 0 && s.badSignins >= s.cfg.LockoutAfter {
			s.lockedUntil = s.now().Add(s.cfg.LockoutFor)
		}
		writeJSON(w, http.StatusUnauthorized, oauthError("invalid_user_credentials", "", "Invalid username or password."))
		return
	}
	s.badSignins = 0
	if !s.cfg.TwoFactor {
		sess.authenticated = true
		w.Header().Set("Location", "/oauth/v2/authorize")
		w.WriteHeader(s.cfg.SigninStatus)
		return
	}
	sess.awaiting2FA = true
	sess.codeSentAt = s.now()
	s.codesSent++
	body := map[string]any{
		"next_time_in_secs": 60, "tsv_methods": []string{s.cfg.TwoFactorChannel},
		"tsv_state": s.cfg.TwoFactorChannel, "user_id": s.cfg.UserID,
	}
	if s.cfg.TwoFactorChannel == "email" {
		body["email"] = "u***@example.com"
	} else {
		body["phone"] = "+1xxxxxxx12"
	}
	status := http.StatusPreconditionFailed
	if s.cfg.Use202 {
		status = http.StatusAccepted
	}
	writeJSON(w, status, body)
}

func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError("bad_request", "invalid_form", "Malformed form."))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.formSessionLocked(w, r)
	if sess == nil {
		return
	}
	if !sess.awaiting2FA {
		writeJSON(w, http.StatusBadRequest, oauthError("bad_request", "no_verification_pending", "No verification pending."))
		return
	}
	code := r.PostForm.Get("2fa_code")
	if subtle.ConstantTimeCompare([]byte(code), []byte(s.cfg.Code)) != 1 {
		writeJSON(w, http.StatusBadRequest, oauthError("bad_request", "invalid_2fa_code", "Invalid verification code."))
		return
	}
	if s.now().Sub(sess.codeSentAt) > twoFactorTTL {
		writeJSON(w, http.StatusBadRequest, oauthError("bad_request", "expired_2fa_code", "Verification code expired."))
		return
	}
	sess.awaiting2FA = false
	sess.authenticated = true
	writeJSON(w, http.StatusCreated, map[string]string{"status": "auth-completed"})
}

type wireToken struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError("invalid_request", "", "Malformed form."))
		return
	}
	f := r.PostForm
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok, left := s.locked(); ok {
		writeLocked(w, left)
		return
	}
	hw := f.Get("hardware_id")
	if hw == "" {
		hw = r.Header.Get("hardware_id")
	}
	if !isUUID(hw) {
		writeText(w, http.StatusNotAcceptable, "Not Acceptable")
		return
	}
	switch f.Get("grant_type") {
	case "password":
		writeJSON(w, http.StatusUnauthorized, oauthError("unsupported_grant_type", "", "The authorization grant type is not supported."))
	case "authorization_code":
		if f.Get("client_id") != "ios" {
			writeJSON(w, http.StatusUnauthorized, oauthError("invalid_client", "", "Unknown client."))
			return
		}
		code, ok := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code"))
		switch {
		case !ok || s.now().After(code.expires):
			writeJSON(w, http.StatusBadRequest, oauthError("invalid_grant", "", "Invalid or expired authorization code."))
		case s256(f.Get("code_verifier")) != code.challenge:
			writeJSON(w, http.StatusBadRequest, oauthError("invalid_grant", "", "PKCE verification failed."))
		case !strings.EqualFold(hw, code.hardwareID):
			writeJSON(w, http.StatusBadRequest, oauthError("invalid_grant", "", "hardware_id does not match."))
		case f.Get("redirect_uri") != "" && f.Get("redirect_uri") != RedirectURI:
			writeJSON(w, http.StatusBadRequest, oauthError("invalid_grant", "", "redirect_uri does not match."))
		default:
			s.logins++
			writeJSON(w, http.StatusOK, s.issueTokens())
		}
	case "refresh_token":
		rt := f.Get("refresh_token")
		if !s.refresh[rt] {
			writeJSON(w, http.StatusUnauthorized, oauthError("invalid_grant", "", "Invalid refresh token."))
			return
		}
		delete(s.refresh, rt)
		writeJSON(w, http.StatusOK, s.issueTokens())
	default:
		writeJSON(w, http.StatusBadRequest, oauthError("unsupported_grant_type", "", "The authorization grant type is not supported."))
	}
}

// issueTokens mints an access + refresh pair. Caller holds mu.
func (s *Server) issueTokens() wireToken {
	now := s.now()
	if len(s.access) >= 64 {
		for k, exp := range s.access {
			if !now.Before(exp) {
				delete(s.access, k)
			}
		}
	}
	for len(s.access) >= maxTokens {
		for k := range s.access {
			delete(s.access, k)
			break
		}
	}
	for len(s.refresh) >= maxTokens {
		for k := range s.refresh {
			delete(s.refresh, k)
			break
		}
	}
	at := s.jwtish("access", now)
	rt := s.jwtish("refresh", now)
	s.handOut(at, rt)
	s.access[at] = now.Add(s.cfg.AccessTokenTTL)
	s.refresh[rt] = true
	return wireToken{AccessToken: at, RefreshToken: rt, TokenType: "Bearer",
		ExpiresIn: int(s.cfg.AccessTokenTTL / time.Second), Scope: "client"}
}

// jwtish is an opaque token that looks like a JWT (three base64url parts).
func (s *Server) jwtish(kind string, now time.Time) string {
	enc := base64.RawURLEncoding
	head, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{
		"sub": s.cfg.AccountID, "typ": kind, "iat": now.Unix(),
		"exp": now.Add(s.cfg.AccessTokenTTL).Unix(), "jti": randText(),
	})
	sig := make([]byte, 32)
	_, _ = rand.Read(sig)
	return enc.EncodeToString(head) + "." + enc.EncodeToString(claims) + "." + enc.EncodeToString(sig)
}

// validAccess reports whether the request carries a live access token. Caller holds mu.
func (s *Server) validAccess(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return false
	}
	exp, ok := s.access[tok]
	return ok && s.now().Before(exp)
}

// maxIssued bounds the secrets Secrets remembers.
const maxIssued = 1000

// handOut remembers secrets the fake gave a client. Caller holds mu.
func (s *Server) handOut(secrets ...string) {
	s.issued = append(s.issued, secrets...)
	if over := len(s.issued) - maxIssued; over > 0 {
		s.issued = slices.Delete(s.issued, 0, over)
	}
}

// Secrets returns the newest secrets (up to 1000) the fake handed out:
// session cookies, CSRF tokens, authorization codes, access and refresh
// tokens, live-view tokens and connection ids — for tests that scan logs
// and errors for leaks.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued)
}

// IssueTokens mints a token pair without the login dance, for tests that
// are not about login. It does not count as a login.
func (s *Server) IssueTokens() (access, refresh string, expiresAt time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.issueTokens()
	return t.AccessToken, t.RefreshToken, s.now().Add(s.cfg.AccessTokenTTL)
}
