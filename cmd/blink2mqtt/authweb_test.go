package main

import (
	"errors"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/bridge"
)

// TestWebLoginUsesTypedCredentialsAndSharesThePacing: a daemon configured
// without credentials logs in with what the page typed (wrong code, then the
// right one, in the same login); the page and MQTT share one budget of
// code-sending sign-ins, in both directions.
func TestWebLoginUsesTypedCredentialsAndSharesThePacing(t *testing.T) {
	t.Parallel()
	fake := blinkfake.New(t, blinkfake.Config{TwoFactor: true})
	clock := blinkfake.NewClock(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	a, states := newTestAuthFlow(t, fake, t.TempDir(), clock, "")
	a.email = ""
	if err := a.StartLogin(t.Context(), bridge.LoginRequest{}); !errors.Is(err, errNoCredentials) {
		t.Fatalf("MQTT login without configured credentials: %v", err)
	}
	for _, tc := range []struct {
		name, email, password string
	}{{"no e-mail", " ", "pw"}, {"no password", "me@example.com", ""}} {
		if err := a.StartLoginWith(t.Context(), tc.email, blink.Secret(tc.password), bridge.LoginRequest{}); !errors.Is(err, errNeedCredentials) {
			t.Errorf("%s: %v, want errNeedCredentials", tc.name, err)
		}
	}
	if fake.Logins() != 0 {
		t.Fatalf("an incomplete form reached Blink")
	}

	cfg := fake.Config()
	if err := a.StartLoginWith(t.Context(), " "+cfg.Email+" ", blink.Secret(cfg.Password), bridge.LoginRequest{}); err != nil {
		t.Fatalf("login with typed credentials: %v", err)
	}
	if last := (*states)[len(*states)-1]; last != bridge.AuthCodeRequired {
		t.Fatalf("state after sign-in = %s, want code_required", last)
	}
	// Neither path starts another sign-in while the code is pending or in
	// the cooldown.
	var refused *bridge.LoginRefusedError
	if err := a.StartLoginWith(t.Context(), cfg.Email, blink.Secret(cfg.Password), bridge.LoginRequest{}); !errors.As(err, &refused) {
		t.Errorf("second page login while a code is pending: %v", err)
	}
	a.email, a.password = cfg.Email, blink.Secret(cfg.Password)
	if err := a.StartLogin(t.Context(), bridge.LoginRequest{Replace: true}); !errors.As(err, &refused) || refused.RetryAt.IsZero() {
		t.Errorf("MQTT replace inside the page login's cooldown: %v, want a refusal with a retry time", err)
	}
	if err := a.StartLoginWith(t.Context(), cfg.Email, blink.Secret(cfg.Password), bridge.LoginRequest{Replace: true}); !errors.As(err, &refused) || !refused.RetryAt.Equal(clock.Now().Add(loginCooldown)) {
		t.Errorf("page replace inside the cooldown: %v, want a refusal until %v", err, clock.Now().Add(loginCooldown))
	}
	if n := fake.CodesSent(); n != 1 {
		t.Fatalf("codes sent = %d, want 1", n)
	}

	if err := a.SubmitCode(t.Context(), "000000"); !errors.Is(err, blink.ErrInvalidCode) {
		t.Fatalf("wrong code: %v", err)
	}
	if err := a.SubmitCode(t.Context(), blink.Secret(cfg.Code)); err != nil {
		t.Fatalf("right code after a wrong one: %v", err)
	}
	if last := (*states)[len(*states)-1]; last != bridge.AuthOK || !a.client.HasSession() {
		t.Fatalf("after the right code: state %s, session %v", last, a.client.HasSession())
	}
	if n := fake.CodesSent(); n != 1 {
		t.Errorf("codes sent = %d, want 1 (the wrong code is retried in the same login)", n)
	}
}

// TestWebLogoutDropsTheSession: logging out removes the saved session and
// a pending login, reports reauth_required, and keeps the hardware id.
func TestWebLogoutDropsTheSession(t *testing.T) {
	t.Parallel()
	fake := blinkfake.New(t, blinkfake.Config{TwoFactor: true})
	clock := blinkfake.NewClock(time.Now())
	a, states := newTestAuthFlow(t, fake, t.TempDir(), clock, fake.Config().Password)
	if err := a.StartLogin(t.Context(), bridge.LoginRequest{}); err != nil {
		t.Fatal(err)
	}
	if err := a.SubmitCode(t.Context(), blink.Secret(fake.Config().Code)); err != nil {
		t.Fatal(err)
	}
	hw := a.client.Session().HardwareID
	if err := a.Logout(); err != nil {
		t.Fatal(err)
	}
	if a.client.HasSession() || a.client.Session().HardwareID != hw {
		t.Errorf("after logout: %+v", a.client.Session())
	}
	if last := (*states)[len(*states)-1]; last != bridge.AuthReauthRequired {
		t.Errorf("state after logout = %s, want reauth_required", last)
	}

	// A login waiting for its code is dropped too.
	clock.Add(loginCooldown)
	if err := a.StartLogin(t.Context(), bridge.LoginRequest{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Logout(); err != nil {
		t.Fatal(err)
	}
	if err := a.SubmitCode(t.Context(), blink.Secret(fake.Config().Code)); !errors.Is(err, bridge.ErrNoLoginPending) {
		t.Errorf("code after logout: %v, want ErrNoLoginPending", err)
	}

	// Refused while a login is being started.
	a.mu.Lock()
	a.running = true
	a.mu.Unlock()
	var refused *bridge.LoginRefusedError
	if err := a.Logout(); !errors.As(err, &refused) {
		t.Errorf("logout during a login: %v, want a refusal", err)
	}
}
