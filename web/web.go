// Package web serves blink2mqtt's status page and the Blink login with its
// 2FA step on the daemon's HTTP listener. It owns the page, its assets
// (embedded; no build step, nothing from elsewhere), the access rules
// (HTTP basic auth or Home Assistant's ingress proxy to change anything,
// read-only otherwise), CSRF tokens and the security headers. It reads the
// bridge through small interfaces and never calls Blink, MQTT or the
// environment itself; every link is relative, so the page works under any
// path prefix (Home Assistant ingress).
package web

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/bridge"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// StatusSource reports what the bridge knows (*bridge.Bridge).
type StatusSource interface {
	Status() bridge.Status
}

// ThumbnailSource returns a device's latest picture (*bridge.Bridge).
type ThumbnailSource interface {
	Thumbnail(k discovery.DeviceKey) ([]byte, bool)
}

// LoginController logs in and out of Blink (the daemon's login flow). Its
// errors are shown to the person: they must say what happened and when to
// try again, and never hold a secret.
type LoginController interface {
	// StartLoginWith signs in with what the person typed; refusals (a code
	// is pending, the pacing) are *bridge.LoginRefusedError.
	StartLoginWith(ctx context.Context, email string, password blink.Secret, req bridge.LoginRequest) error
	// SubmitCode hands the 2FA code to the pending login.
	SubmitCode(ctx context.Context, code blink.Secret) error
	// Logout drops the saved session.
	Logout() error
}

// DefaultIngressAddr is the address of Home Assistant's Supervisor, whose
// ingress proxy is the only peer trusted when Options.Ingress is on.
var DefaultIngressAddr = netip.MustParseAddr("172.30.32.2")

// Options configure the page.
type Options struct {
	Status     StatusSource    // required
	Thumbnails ThumbnailSource // nil: no pictures
	// Login runs logins; nil makes the page read-only for everyone.
	Login LoginController
	// Password, when set, is needed (HTTP basic auth, any user name) to see
	// the page and to change anything, except through ingress.
	Password blink.Secret
	// Ingress trusts requests from IngressAddr that carry Home Assistant's
	// X-Ingress-Path header to change anything.
	Ingress bool
	// IngressAddr is the Supervisor's address (default DefaultIngressAddr).
	IngressAddr netip.Addr
	// Email prefills the login form (BLINK_EMAIL) for those who may log in.
	Email string
	// Context bounds logins started from the page (the daemon's lifetime);
	// nil means context.Background.
	Context context.Context
	Logger  zerolog.Logger
	// Now is the clock for cookies and the failure window (default time.Now).
	Now func() time.Time
}

// Limits on what a request may cost.
const (
	// maxFormBytes bounds a form body (e-mail, password, code, token).
	maxFormBytes = 8 << 10
	// loginTimeout bounds one sign-in or code check started from the page.
	loginTimeout = 2 * time.Minute
)

// Handler serves the page and its assets; mount it at "/" next to /healthz
// and /metrics (more specific patterns win).
type Handler struct {
	opts   Options
	log    zerolog.Logger
	access *access
	csrf   csrfKey
	assets *assets
}

// New builds the handler. Its CSRF key is new on every start, so a page
// loaded before a restart needs a reload before its forms work again.
func New(opts Options) *Handler {
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if !opts.IngressAddr.IsValid() {
		opts.IngressAddr = DefaultIngressAddr
	}
	h := &Handler{
		opts:   opts,
		log:    opts.Logger.With().Str("component", "web").Logger(),
		access: newAccess(opts.Password, opts.Ingress, opts.IngressAddr, opts.Now),
		assets: loadAssets(),
	}
	rand.Read(h.csrf[:]) // never fails (crypto/rand since Go 1.24)
	return h
}

// ServeHTTP routes one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	v, ok := h.access.admit(w, r, h.log)
	if !ok {
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	switch {
	case path == "":
		if h.onlyGet(w, r) {
			h.page(w, r, v, flash{}, http.StatusOK)
		}
	case strings.HasPrefix(path, "static/"):
		if h.onlyGet(w, r) {
			h.assets.serve(w, r, strings.TrimPrefix(path, "static/"))
		}
	case strings.HasPrefix(path, "thumb/"):
		if v.via == "" {
			// Pictures need the password or ingress (see pageData.Pictures).
			http.Error(w, "pictures need HTTP_PASSWORD", http.StatusForbidden)
			return
		}
		if h.onlyGet(w, r) {
			h.thumbnail(w, r, strings.TrimPrefix(path, "thumb/"))
		}
	case path == "login" || path == "verify" || path == "logout":
		h.change(w, r, v, path)
	default:
		http.NotFound(w, r)
	}
}

// onlyGet answers 405 to anything but GET and HEAD.
func (h *Handler) onlyGet(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	return false
}

// setSecurityHeaders: scripts, styles, pictures and form targets come from
// the page's own origin only; it may be framed only by its own origin,
// which is how Home Assistant shows ingress pages.
func setSecurityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "+
		"form-action 'self'; frame-ancestors 'self'; base-uri 'none'")
	hd.Set("X-Frame-Options", "SAMEORIGIN")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
}
