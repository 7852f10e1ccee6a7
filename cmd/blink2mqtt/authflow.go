package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/bridge"
	"github.com/blink2mqtt/blink2mqtt/internal/atomicfile"
)

// Pacing of code-sending sign-ins. Every sign-in may send an SMS, and
// repeated ones get accounts locked, so after one that sent (or may have
// sent) a code the next waits loginCooldown; after one Blink refused
// outright (wrong password: no code sent) it waits loginRetryFloor. The
// time of the last one is kept in STATE_DIR, so a daemon in a restart loop
// does not send a code on every start.
const (
	loginCooldown   = 5 * time.Minute
	loginRetryFloor = 30 * time.Second
	loginStateFile  = "login.json"
)

// authFlow is the daemon's side of logging in (bridge.Authenticator): it
// starts a login only when told to (once at start-up without a token, or on
// auth/login), keeps a login that waits for its 2FA code in memory, and
// reports every change to the bridge. It never retries a login by itself.
type authFlow struct {
	client   *blink.Client
	email    string
	password blink.Secret
	log      zerolog.Logger
	report   func(bridge.AuthState, string)
	// stateDir keeps the time of the last sign-in ("" = memory only).
	stateDir string
	now      func() time.Time

	mu      sync.Mutex
	pending *blink.Login
	running bool
	// nextAt is when the next sign-in may start.
	nextAt time.Time
	loaded bool
}

var _ bridge.Authenticator = (*authFlow)(nil)

// errNoCredentials: a login over MQTT needs BLINK_EMAIL and a password.
var errNoCredentials = errors.New("BLINK_EMAIL and BLINK_PASSWORD (or BLINK_PASSWORD_FILE) are not set; log in with: blink2mqtt login")

type loginState struct {
	NextAt time.Time `json:"next_signin_allowed_at"`
}

// loadLocked reads the persisted pacing once.
func (a *authFlow) loadLocked() {
	if a.loaded || a.stateDir == "" {
		a.loaded = true
		return
	}
	a.loaded = true
	data, err := os.ReadFile(filepath.Join(a.stateDir, loginStateFile))
	if err != nil {
		return
	}
	var st loginState
	if json.Unmarshal(data, &st) == nil && st.NextAt.After(a.nextAt) {
		// Never further ahead than one cooldown: a clock that jumped back
		// must not lock logins out for long.
		a.nextAt = earliest(st.NextAt, a.clock().Add(loginCooldown))
	}
}

func (a *authFlow) saveLocked() {
	if a.stateDir == "" {
		return
	}
	data, _ := json.Marshal(loginState{NextAt: a.nextAt})
	if err := atomicfile.Write(filepath.Join(a.stateDir, loginStateFile), data, 0o600); err != nil {
		a.log.Warn().Err(err).Msg("could not save the login pacing; a restart may allow an earlier login")
	}
}

func (a *authFlow) clock() time.Time {
	if a.now != nil {
		return a.now()
	}
	return time.Now()
}

func earliest(x, y time.Time) time.Time {
	if y.Before(x) {
		return y
	}
	return x
}

// StartLogin begins one login, unless a login is being started, one waits
// for its code (and req.Replace is false) or the pacing says not yet; each
// refusal is a *bridge.LoginRefusedError that says when to retry.
func (a *authFlow) StartLogin(ctx context.Context, req bridge.LoginRequest) error {
	if a.email == "" || a.password.IsZero() {
		a.report(bridge.AuthReauthRequired, errNoCredentials.Error())
		return errNoCredentials
	}
	return a.begin(ctx, a.email, a.password, req)
}

// begin starts one code-sending sign-in with email and password under the
// pacing rules; every way of logging in ends here.
func (a *authFlow) begin(ctx context.Context, email string, password blink.Secret, req bridge.LoginRequest) error {
	a.mu.Lock()
	a.loadLocked()
	now := a.clock()
	switch {
	case a.running:
		a.mu.Unlock()
		return &bridge.LoginRefusedError{Reason: "a login is being started right now"}
	case a.pending != nil && !req.Replace:
		a.mu.Unlock()
		return &bridge.LoginRefusedError{Reason: `a login is waiting for the 2FA code Blink sent; send that code (auth/verify), or ask again with {"replace": true} to start over`}
	case now.Before(a.nextAt):
		next := a.nextAt
		a.mu.Unlock()
		return &bridge.LoginRefusedError{
			Reason:  "Blink was asked for a login moments ago, and repeated sign-ins send repeated codes and get accounts locked",
			RetryAt: next,
		}
	}
	a.running = true
	a.pending = nil
	a.nextAt = now.Add(loginCooldown) // until we know no code was sent
	a.saveLocked()
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.running = false
		a.mu.Unlock()
	}()

	a.log.Info().Msg("starting a Blink login")
	login, err := a.client.BeginLogin(ctx, email, password)
	if err != nil {
		if errors.Is(err, blink.ErrBadCredentials) {
			a.mu.Lock()
			a.nextAt = now.Add(loginRetryFloor) // refused before any code was sent
			a.saveLocked()
			a.mu.Unlock()
		}
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
