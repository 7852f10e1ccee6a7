package bridge

import (
	"time"

	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// AuthState is the bridge's view of the Blink login (bridge/auth "state").
type AuthState string

// Auth states, as published on bridge/auth and the auth state sensor; the
// list lives in discovery (discovery.AuthStates), which HA's sensor uses.
const (
	// AuthOK: a session works; polling runs.
	AuthOK AuthState = discovery.AuthOK
	// AuthCodeRequired: a login waits for the 2FA code (auth/verify).
	AuthCodeRequired AuthState = discovery.AuthCodeRequired
	// AuthReauthRequired: the session is gone; only a new login helps.
	// Polling is paused and every Blink device is unavailable.
	AuthReauthRequired AuthState = discovery.AuthReauthRequired
	// AuthError: a login failed in a way a person must look at.
	AuthError AuthState = discovery.AuthError
)

// AuthStatus is the published auth state.
type AuthStatus struct {
	State  AuthState
	Detail string
	Since  time.Time
}

type authPayload struct {
	State  AuthState `json:"state"`
	Detail string    `json:"detail"`
}

func (a AuthStatus) payload() authPayload { return authPayload{State: a.State, Detail: a.Detail} }

// usable reports whether Blink calls can be made in this state.
func (a AuthStatus) usable() bool { return a.State == AuthOK }
