package web

import (
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// Bounds of what a form may carry; anything outside is refused before it
// reaches Blink.
const (
	maxEmailLen    = 254 // RFC 5321's limit for an address
	maxPasswordLen = 256
	minCodeLen     = 4
	maxCodeLen     = 10
)

// loginForm is the e-mail and password form.
type loginForm struct {
	email    string
	password blink.Secret
	// replace starts over while a code is pending.
	replace bool
}

// Errors a person sees when a form is not usable. They never quote what
// was typed.
var (
	errEmail    = errors.New("type the e-mail address of your Blink account")
	errPassword = errors.New("type the password of your Blink account")
	errCode     = errors.New("type the code Blink sent: digits only")
)

// parseLoginForm reads the login form. The password is taken as typed
// (spaces included); the e-mail is trimmed.
func parseLoginForm(v url.Values) (loginForm, error) {
	email := strings.TrimSpace(v.Get("email"))
	if email == "" || len(email) > maxEmailLen || !utf8.ValidString(email) || hasControl(email) ||
		strings.Count(email, "@") != 1 || strings.HasPrefix(email, "@") || strings.HasSuffix(email, "@") {
		return loginForm{}, errEmail
	}
	pw := v.Get("password")
	if pw == "" || len(pw) > maxPasswordLen || !utf8.ValidString(pw) || hasControl(pw) {
		return loginForm{}, errPassword
	}
	return loginForm{email: email, password: blink.Secret(pw), replace: v.Get("replace") == "1"}, nil
}

// parseCode reads the 2FA code: digits, with spaces and dashes (as people
// copy them) dropped.
func parseCode(v url.Values) (blink.Secret, error) {
	raw := v.Get("code")
	if len(raw) > 4*maxCodeLen {
		return "", errCode
	}
	var b strings.Builder
	for _, r := range raw {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '\t':
		default:
			return "", errCode
		}
	}
	if b.Len() < minCodeLen || b.Len() > maxCodeLen {
		return "", errCode
	}
	return blink.Secret(b.String()), nil
}

// hasControl reports whether s holds a control character.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}

// parseThumbPath reads "<network>/<family>/<id>.jpg" into the key of a
// camera, Mini or doorbell.
func parseThumbPath(p string) (discovery.DeviceKey, bool) {
	s, ok := strings.CutSuffix(p, ".jpg")
	if !ok || len(s) > 64 {
		return discovery.DeviceKey{}, false
	}
	k, ok := discovery.ParseDeviceKey(s)
	if !ok || !k.Family.Valid() || k.String() != s {
		return discovery.DeviceKey{}, false
	}
	return k, true
}
