package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// Who may change anything. Through Home Assistant's ingress, Home
// Assistant has already checked the person; otherwise HTTP_PASSWORD (basic
// auth) both opens the page and allows changes, and without one the page is
// read-only. X-Forwarded-For and the like are never read: only the peer
// address of the connection counts.

const (
	// failureWindow and maxFailures bound password guessing: after
	// maxFailures wrong passwords in a window, every password is refused
	// (429) until the window ends.
	failureWindow = time.Minute
	maxFailures   = 20
	// maxIngressPath bounds the X-Ingress-Path header we accept.
	maxIngressPath = 256
)

// visitor is what one request may do.
type visitor struct {
	canChange bool
	// via says why it may: "ingress" or "password"; "" when read-only.
	via string
	// hint tells a read-only visitor how logging in is enabled.
	hint string
}

// access decides who a request comes from.
type access struct {
	password    blink.Secret
	passSum     [sha256.Size]byte
	ingress     bool
	ingressAddr netip.Addr
	now         func() time.Time

	mu          sync.Mutex
	windowStart time.Time
	failures    int
}

func newAccess(password blink.Secret, ingress bool, addr netip.Addr, now func() time.Time) *access {
	return &access{password: password, passSum: sha256.Sum256([]byte(password.Reveal())), ingress: ingress, ingressAddr: addr.Unmap(), now: now}
}

// Hints for read-only visitors.
const (
	hintNoAccess = "This page is read-only. To log in here, set HTTP_PASSWORD (or HTTP_PASSWORD_FILE) and restart; " +
		"the browser then asks for that password (any user name). In the meantime, log in with `blink2mqtt login` " +
		"on a terminal or with the 2FA entities in Home Assistant."
	hintUseIngress = "This page is read-only here. Open it from Home Assistant (the add-on's Open Web UI) to log in."
)

// admit returns what r may do, or answers it (401, 429) and returns false
// when the page needs a password r does not carry.
func (a *access) admit(w http.ResponseWriter, r *http.Request, log zerolog.Logger) (visitor, bool) {
	if a.fromIngress(r) {
		return visitor{canChange: true, via: "ingress"}, true
	}
	if a.password.IsZero() {
		if a.ingress {
			return visitor{hint: hintUseIngress}, true
		}
		return visitor{hint: hintNoAccess}, true
	}
	if _, pass, ok := r.BasicAuth(); ok {
		retry, allowed := a.mayTry()
		if !allowed {
			w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds()+1)))
			http.Error(w, "Too many wrong passwords; try again in a minute.", http.StatusTooManyRequests)
			return visitor{}, false
		}
		sum := sha256.Sum256([]byte(pass))
		if subtle.ConstantTimeCompare(sum[:], a.passSum[:]) == 1 {
			return visitor{canChange: true, via: "password"}, true
		}
		if a.failed() {
			log.Warn().Str("remote", r.RemoteAddr).Int("failures", maxFailures).
				Msg("too many wrong HTTP_PASSWORD attempts; refusing passwords for a minute")
		}
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="blink2mqtt", charset="UTF-8"`)
	http.Error(w, "This page needs the password set in HTTP_PASSWORD (any user name).", http.StatusUnauthorized)
	return visitor{}, false
}

// fromIngress reports whether r came through Home Assistant's ingress
// proxy: ingress is on, the peer is the Supervisor's address, and the proxy's
// X-Ingress-Path header is there.
func (a *access) fromIngress(r *http.Request) bool {
	if !a.ingress {
		return false
	}
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || peer.Addr().Unmap() != a.ingressAddr {
		return false
	}
	return validIngressPath(r.Header.Get("X-Ingress-Path"))
}

// validIngressPath accepts what Home Assistant's proxy sends,
// "/api/hassio_ingress/<token>": an absolute path of URL-safe characters.
func validIngressPath(p string) bool {
	if len(p) < 2 || len(p) > maxIngressPath || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '/' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// mayTry reports whether a password may be checked now, and otherwise how
// long until it may.
func (a *access) mayTry() (time.Duration, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if now.Sub(a.windowStart) >= failureWindow {
		a.windowStart, a.failures = now, 0
	}
	return a.windowStart.Add(failureWindow).Sub(now), a.failures < maxFailures
}

// failed counts a wrong password; it reports true when that one reached
// the limit (log once per window).
func (a *access) failed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failures++
	return a.failures == maxFailures
}
