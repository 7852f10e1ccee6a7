package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// CSRF protection: a random value in an HttpOnly, SameSite=Strict cookie,
// and in every form an HMAC of that value under a key that exists only in
// this process. Another site can neither read the cookie nor compute the
// form token, and a cookie planted from elsewhere has no valid token.

const (
	csrfCookie = "blink2mqtt_csrf"
	// csrfValueLen is the cookie value's length: 24 random bytes, base64url.
	csrfValueLen = 32
)

// csrfKey signs cookie values into form tokens.
type csrfKey [32]byte

// token returns the form token for r's cookie, setting a new cookie on w
// when r has none (or a malformed one).
func (k *csrfKey) token(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && validCSRFValue(c.Value) {
		return k.sign(c.Value)
	}
	var b [24]byte
	rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
	return k.sign(v)
}

// check reports whether form is the token of r's cookie.
func (k *csrfKey) check(r *http.Request, form string) bool {
	c, err := r.Cookie(csrfCookie)
	if err != nil || !validCSRFValue(c.Value) {
		return false
	}
	return hmac.Equal([]byte(form), []byte(k.sign(c.Value)))
}

func (k *csrfKey) sign(v string) string {
	mac := hmac.New(sha256.New, k[:])
	mac.Write([]byte("blink2mqtt csrf\x00" + v))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// validCSRFValue accepts only values this package makes.
func validCSRFValue(v string) bool {
	if len(v) != csrfValueLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
