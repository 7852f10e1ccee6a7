package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/bridge"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

func newTestAuthFlow(t *testing.T, fake *blinkfake.Server, stateDir string, clock *blinkfake.Clock, password string) (*authFlow, *[]bridge.AuthState) {
	t.Helper()
	client, err := blink.New(blink.Options{
		OAuthURL: fake.OAuthURL(), RESTURL: fake.RESTURL(),
		Limiter: rate.NewLimiter(rate.Inf, 1), Store: &blink.MemoryTokenStore{}, Logger: zerolog.Nop(),
	})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	states := &[]bridge.AuthState{}
	a := &authFlow{
		client: client, email: fake.Config().Email, password: blink.Secret(password),
		log: zerolog.Nop(), stateDir: stateDir, now: clock.Now,
		report: func(s bridge.AuthState, _ string) { mu.Lock(); *states = append(*states, s); mu.Unlock() },
	}
	return a, states
}

// TestLoginFloodSendsOneCode: auth/login twice a second for 40 s (what once
// made 17 code-sending sign-ins) makes exactly one; every call returns, the
// refusals say why and when to retry.
func TestLoginFloodSendsOneCode(t *testing.T) {
	fake := blinkfake.New(t, blinkfake.Config{TwoFactor: true})
	clock := blinkfake.NewClock(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	a, _ := newTestAuthFlow(t, fake, t.TempDir(), clock, fake.Config().Password)
	start := clock.Now()
	var refusals int
	for i := range 80 {
		err := a.StartLogin(t.Context(), bridge.LoginRequest{Replace: i%2 == 1})
		var refused *bridge.LoginRefusedError
		switch {
		case err == nil:
		case errors.As(err, &refused):
			refusals++
			if i%2 == 1 && !refused.RetryAt.Equal(start.Add(loginCooldown)) {
				t.Fatalf("request %d (replace) refused with retry at %v, want %v", i, refused.RetryAt, start.Add(loginCooldown))
			}
			if i%2 == 0 && !strings.Contains(refused.Error(), "replace") {
				t.Fatalf("request %d refused without saying how to start over: %v", i, refused)
			}
		default:
			t.Fatalf("request %d: %v", i, err)
		}
		clock.Add(500 * time.Millisecond)
	}
	if got := fake.CodesSent(); got != 1 {
		t.Errorf("80 login requests in 40 s sent %d codes, want 1", got)
	}
	if refusals != 79 {
		t.Errorf("refusals = %d, want 79", refusals)
	}

	// After the cooldown, replace starts over (one more code); without
	// replace a pending login still wins.
	clock.Add(start.Add(loginCooldown).Sub(clock.Now()))
	if err := a.StartLogin(t.Context(), bridge.LoginRequest{}); err == nil {
		t.Fatal("a new login started while a code is pending, without replace")
	}
	if err := a.StartLogin(t.Context(), bridge.LoginRequest{Replace: true}); err != nil {
		t.Fatalf("replace after the cooldown: %v", err)
	}
	if got := fake.CodesSent(); got != 2 {
		t.Errorf("codes after a replace = %d, want 2", got)
	}
}

// TestLoginPacingSurvivesRestart: a daemon that restarts (crash loop)
// within the cooldown does not sign in again.
func TestLoginPacingSurvivesRestart(t *testing.T) {
	fake := blinkfake.New(t, blinkfake.Config{TwoFactor: true})
	dir := t.TempDir()
	clock := blinkfake.NewClock(time.Now())
	a, _ := newTestAuthFlow(t, fake, dir, clock, fake.Config().Password)
	if err := a.StartLogin(t.Context(), bridge.LoginRequest{}); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	restarted, _ := newTestAuthFlow(t, fake, dir, clock, fake.Config().Password)
	var refused *bridge.LoginRefusedError
	if err := restarted.StartLogin(t.Context(), bridge.LoginRequest{}); !errors.As(err, &refused) {
		t.Fatalf("login after a restart within the cooldown: %v, want a refusal", err)
	}
	if got := fake.CodesSent(); got != 1 {
		t.Errorf("codes sent across the restart = %d, want 1", got)
	}
	clock.Add(loginCooldown)
	if err := restarted.StartLogin(t.Context(), bridge.LoginRequest{}); err != nil {
		t.Fatalf("login after the cooldown: %v", err)
	}
}

// TestLoginWrongPasswordRetryFloor: a sign-in Blink refused sent no code,
// so a corrected attempt is allowed after the short floor, not the cooldown.
func TestLoginWrongPasswordRetryFloor(t *testing.T) {
	fake := blinkfake.New(t, blinkfake.Config{TwoFactor: true})
	clock := blinkfake.NewClock(time.Now())
	a, states := newTestAuthFlow(t, fake, t.TempDir(), clock, "wrong password")
	if err := a.StartLogin(t.Context(), bridge.LoginRequest{}); !errors.Is(err, blink.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	var refused *bridge.LoginRefusedError
	if err := a.StartLogin(t.Context(), bridge.LoginRequest{}); !errors.As(err, &refused) || refused.RetryAt.Sub(clock.Now()) > loginRetryFloor {
		t.Fatalf("immediate retry: %v, want a refusal within the %s floor", err, loginRetryFloor)
	}
	clock.Add(loginRetryFloor)
	a.password = blink.Secret(fake.Config().Password)
	if err := a.StartLogin(context.Background(), bridge.LoginRequest{}); err != nil {
		t.Fatalf("retry after the floor: %v", err)
	}
	if (*states)[len(*states)-1] != bridge.AuthCodeRequired {
		t.Errorf("states = %v, want code_required last", *states)
	}
}

// TestDaemonLoginFloodOverMQTT: 80 auth/login requests at once against a
// daemon waiting for its start-up code: every request is answered, none
// sends a code.
func TestDaemonLoginFloodOverMQTT(t *testing.T) {
	fake := blinkfake.New(t, blinkfake.Config{TwoFactor: true})
	rec, env := daemonEnvWithBroker(t, fake, "blink2mqtt/#")
	var out, logs syncBuffer
	startRun(t, []string{"run"}, env, &out, &logs)
	rec.WaitFor(t, "blink2mqtt/bridge/auth", mqtttest.Contains(`"code_required"`))
	mark := rec.Mark()
	for i := range 80 {
		rec.Publish(t, "blink2mqtt/bridge/request/auth/login", []byte(`{"transaction":`+strconv.Itoa(i)+`}`), false)
	}
	seen := map[string]bool{}
	for len(seen) < 80 {
		m := rec.WaitMatch(t, mark, "another auth/login answer", func(m mqtttest.Message) bool {
			return m.Topic == "blink2mqtt/bridge/response/auth/login" && !seen[string(m.Payload)]
		})
		if !strings.Contains(string(m.Payload), `"status":"error"`) {
			t.Fatalf("a flood request was accepted: %s", m.Payload)
		}
		seen[string(m.Payload)] = true
	}
	if got := fake.CodesSent(); got != 1 {
		t.Errorf("codes sent = %d, want 1 (the start-up login)", got)
	}
}

// FuzzLoginStateFile: whatever login.json holds, the pacing it yields never
// reaches further than one cooldown from now.
func FuzzLoginStateFile(f *testing.F) {
	f.Add([]byte(`{"next_signin_allowed_at":"2026-11-30T12:05:00Z"}`))
	f.Add([]byte(`{"next_signin_allowed_at":"9999-12-31T23:59:59Z"}`))
	f.Add([]byte(`{"next_signin_allowed_at":"0001-01-01T00:00:00Z"}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, loginStateFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		a := &authFlow{stateDir: dir, now: func() time.Time { return now }}
		a.mu.Lock()
		a.loadLocked()
		next := a.nextAt
		a.mu.Unlock()
		if next.After(now.Add(loginCooldown)) {
			t.Fatalf("login.json %q pushes the next sign-in to %s, past one cooldown", data, next)
		}
	})
}
