package main

import (
	"context"
	"errors"
	"strings"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/bridge"
)

// errNeedCredentials: a login from the web page needs both fields.
var errNeedCredentials = errors.New("type the e-mail and the password of the Blink account")

// StartLoginWith begins a login with the e-mail and password a person typed
// into the web page. They live only in this call (Blink's sign-in step) and
// are never stored; the pacing and every refusal are StartLogin's, so the
// page, MQTT and the start-up login share one budget of code-sending
// sign-ins.
func (a *authFlow) StartLoginWith(ctx context.Context, email string, password blink.Secret, req bridge.LoginRequest) error {
	email = strings.TrimSpace(email)
	if email == "" || password.IsZero() {
		return errNeedCredentials
	}
	return a.begin(ctx, email, password, req)
}

// Logout drops the saved Blink session (tokens; the hardware id stays) and
// a login waiting for its code. The bridge goes to reauth_required and stays
// there until the next login. It is refused while a login is being started,
// whose result would otherwise land after it.
func (a *authFlow) Logout() error {
	a.mu.Lock()
	if a.running {
		a.mu.Unlock()
		return &bridge.LoginRefusedError{Reason: "a login is being started right now; log out once it has finished"}
	}
	a.pending = nil
	a.mu.Unlock()
	if err := a.client.Logout(); err != nil {
		a.log.Error().Err(err).Msg("could not log out: the saved session could not be removed")
		return err
	}
	a.log.Info().Msg("logged out of Blink on request; the saved session is gone")
	a.report(bridge.AuthReauthRequired, "logged out: log in again (web page, auth/login or blink2mqtt login)")
	return nil
}
