package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/bridge"
)

// authFlow is the daemon's side of logging in (bridge.Authenticator): it
// starts a login only when told to (once at start-up without a token, or on
// auth/login), keeps a login that waits for its 2FA code in memory, and
// reports every change to the bridge. It never retries a login by itself:
// each attempt may send an SMS, and repeated ones lock accounts.
type authFlow struct {
	client   *blink.Client
	email    string
	password blink.Secret
	log      zerolog.Logger
	report   func(bridge.AuthState, string)

	mu      sync.Mutex
	pending *blink.Login
	running bool
}

var _ bridge.Authenticator = (*authFlow)(nil)

// errNoCredentials: a login over MQTT needs BLINK_EMAIL and a password.
var errNoCredentials = errors.New("BLINK_EMAIL and BLINK_PASSWORD (or BLINK_PASSWORD_FILE) are not set; log in with: blink2mqtt login")

// StartLogin begins one login. A login already waiting for its code is
// replaced only by this explicit call.
func (a *authFlow) StartLogin(ctx context.Context) error {
	if a.email == "" || a.password.IsZero() {
		a.report(bridge.AuthReauthRequired, errNoCredentials.Error())
		return errNoCredentials
	}
	a.mu.Lock()
	if a.running {
		a.mu.Unlock()
		return errors.New("a login is already being started")
	}
	a.running = true
	a.pending = nil
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.running = false
		a.mu.Unlock()
	}()

	a.log.Info().Msg("starting a Blink login")
	login, err := a.client.BeginLogin(ctx, a.email, a.password)
	if err != nil {
		err = explainLoginError(err)
		a.log.Error().Err(err).Msg("Blink login failed; fix the cause, then start a login with auth/login or blink2mqtt login")
		a.report(bridge.AuthError, err.Error())
		return err
	}
	if login.CodeRequired() {
		a.mu.Lock()
		a.pending = login
		a.mu.Unlock()
		detail := fmt.Sprintf("Blink sent a code %s; send it to auth/verify or type it into Home Assistant's 2FA code entity", describeChallenge(login.Challenge()))
		a.log.Warn().Msg(detail)
		a.report(bridge.AuthCodeRequired, detail)
		return nil
	}
	a.log.Info().Msg("logged in to Blink")
	a.report(bridge.AuthOK, "logged in")
	return nil
}

// SubmitCode hands the code to the login waiting for it. A wrong code keeps
// the login, so the person can try again without a new SMS.
func (a *authFlow) SubmitCode(ctx context.Context, code blink.Secret) error {
	a.mu.Lock()
	login := a.pending
	a.mu.Unlock()
	if login == nil {
		return bridge.ErrNoLoginPending
	}
	err := login.SubmitCode(ctx, code)
	switch {
	case err == nil:
		a.mu.Lock()
		if a.pending == login {
			a.pending = nil
		}
		a.mu.Unlock()
		a.log.Info().Msg("2FA code accepted; logged in to Blink")
		a.report(bridge.AuthOK, "logged in")
		return nil
	case errors.Is(err, blink.ErrInvalidCode):
		a.report(bridge.AuthCodeRequired, "that code was not accepted; check it and send it again (it stays valid for about 10 minutes)")
		return err
	default:
		a.mu.Lock()
		if a.pending == login {
			a.pending = nil
		}
		a.mu.Unlock()
		err = explainLoginError(err)
		a.report(bridge.AuthError, err.Error())
		return err
	}
}
