package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/bridge"
)

// maxMessage bounds a message shown to the person.
const maxMessage = 400

// flash is the outcome of a form, shown once.
type flash struct {
	msg string
	ok  bool
}

// change runs one of the page's forms: login, verify (the 2FA code) or
// logout. Only POST, only for a visitor who may change, only with the
// form's CSRF token; the answer is JSON for the page's script and the page
// itself otherwise.
func (h *Handler) change(w http.ResponseWriter, r *http.Request, v visitor, action string) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	asJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
	refuse := func(status int, msg string) { h.answer(w, r, v, asJSON, status, flash{msg: msg}) }
	switch {
	case !v.canChange:
		refuse(http.StatusForbidden, v.hint)
		return
	case h.opts.Login == nil:
		refuse(http.StatusForbidden, "Logging in is not available on this page.")
		return
	case r.Header.Get("Sec-Fetch-Site") == "cross-site":
		refuse(http.StatusForbidden, "Refused: the request came from another site.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			refuse(http.StatusRequestEntityTooLarge, "The form is too large.")
		} else {
			refuse(http.StatusBadRequest, "The form could not be read.")
		}
		return
	}
	if !h.csrf.check(r, r.PostForm.Get("csrf")) {
		h.log.Warn().Str("action", action).Str("remote", r.RemoteAddr).Msg("form refused: no valid CSRF token")
		refuse(http.StatusForbidden, "This page is out of date or the form did not come from it: reload the page and try again.")
		return
	}

	ctx, cancel := context.WithTimeout(h.opts.Context, loginTimeout)
	defer cancel()
	var err error
	var ok string
	switch action {
	case "login":
		var f loginForm
		if f, err = parseLoginForm(r.PostForm); err != nil {
			refuse(http.StatusBadRequest, sentence(err.Error()))
			return
		}
		h.log.Info().Str("via", v.via).Bool("replace", f.replace).Msg("login started from the web page")
		err = h.opts.Login.StartLoginWith(ctx, f.email, f.password, bridge.LoginRequest{Replace: f.replace})
		ok = "Logged in to Blink."
		if st := h.opts.Status.Status().Auth; st.State == bridge.AuthCodeRequired {
			ok = st.Detail
		}
	case "verify":
		var code blink.Secret
		if code, err = parseCode(r.PostForm); err != nil {
			refuse(http.StatusBadRequest, sentence(err.Error()))
			return
		}
		h.log.Info().Str("via", v.via).Msg("2FA code submitted from the web page")
		err = h.opts.Login.SubmitCode(ctx, code)
		ok = "Code accepted: logged in to Blink."
	case "logout":
		h.log.Info().Str("via", v.via).Msg("log out requested from the web page")
		err = h.opts.Login.Logout()
		ok = "Logged out of Blink. Log in again below when you want."
	}
	if err != nil {
		status, msg := explain(err, h.opts.Now())
		if status == http.StatusTooManyRequests {
			var refused *bridge.LoginRefusedError
			if errors.As(err, &refused) && !refused.RetryAt.IsZero() {
				w.Header().Set("Retry-After", strconv.Itoa(int(refused.RetryAt.Sub(h.opts.Now()).Seconds())+1))
			}
		}
		h.answer(w, r, v, asJSON, status, flash{msg: msg})
		return
	}
	h.answer(w, r, v, asJSON, http.StatusOK, flash{msg: ok, ok: true})
}

// explain turns a login error into a status and a sentence for the person.
func explain(err error, now time.Time) (int, string) {
	var refused *bridge.LoginRefusedError
	switch {
	case errors.As(err, &refused):
		msg := "Not started: " + refused.Reason + "."
		if !refused.RetryAt.IsZero() {
			msg = "Not started: " + refused.Reason + ". Try again in " + roundUp(refused.RetryAt.Sub(now)) +
				" (after " + refused.RetryAt.UTC().Format("15:04:05") + " UTC)."
			return http.StatusTooManyRequests, bounded(msg)
		}
		return http.StatusConflict, bounded(msg)
	case errors.Is(err, blink.ErrInvalidCode):
		return http.StatusBadRequest, "That code was not accepted. Check it and type it again: the same code stays valid for about 10 minutes."
	case errors.Is(err, bridge.ErrNoLoginPending):
		return http.StatusConflict, "No login is waiting for a code. Log in with your e-mail and password first."
	case errors.Is(err, blink.ErrBadCredentials):
		return http.StatusBadRequest, bounded(sentence(err.Error()))
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusGatewayTimeout, "Blink did not answer in time; try again in a few minutes."
	}
	return http.StatusBadGateway, bounded(sentence(err.Error()))
}

// roundUp is d as whole minutes or seconds, rounded up.
func roundUp(d time.Duration) string {
	if d <= time.Minute {
		return strconv.Itoa(max(1, int((d+time.Second-1)/time.Second))) + " s"
	}
	return strconv.Itoa(int((d+time.Minute-1)/time.Minute)) + " min"
}

// sentence starts s with a capital letter and ends it with a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// bounded keeps a message one line of at most maxMessage bytes.
func bounded(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxMessage {
		cut := maxMessage
		for cut > 0 && s[cut]&0xC0 == 0x80 { // not inside a UTF-8 sequence
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// answer reports a form's outcome: JSON for the page's script, else the
// page with the message.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, v visitor, asJSON bool, status int, f flash) {
	if !asJSON {
		h.page(w, r, v, f, status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		OK      bool   `json:"ok"`
		Message string `json:"message"`
	}{f.ok, f.msg})
}
