package bridge

import "time"

// AuthState is the bridge's view of the Blink login (bridge/auth "state").
type AuthState string

// Auth states, as published on bridge/auth and the auth state sensor.
const (
	// AuthOK: a session works; polling runs.
	AuthOK AuthState = "ok"
	// AuthCodeRequired: a login waits for the 2FA code (auth/verify).
	AuthCodeRequired AuthState = "code_required"
	// AuthReauthRequired: the session is gone; only a new login helps.
	// Polling is paused and every Blink device is unavailable.
	AuthReauthRequired AuthState = "reauth_required"
	// AuthError: a login failed in a way a person must look at.
	AuthError AuthState = "error"
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
