package blink_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

// TestLogoutDropsTheSessionAndKeepsTheHardwareID: after Logout no call
// reaches Blink with the old tokens, the token file holds no token but the
// same hardware id, a new client from that file has no session, and a new
// login works and is saved.
func TestLogoutDropsTheSessionAndKeepsTheHardwareID(t *testing.T) {
	srv := blinkfake.New(t, fakeConfig(blinkfake.Config{}))
	path := filepath.Join(t.TempDir(), "tokens.json")
	store := blink.FileTokenStore{Path: path}
	c := newClient(t, srv, store)
	if _, err := c.BeginLogin(context.Background(), fakeEmail, blink.TestPassword); err != nil {
		t.Fatal(err)
	}
	hw := c.Session().HardwareID
	if _, err := c.Homescreen(context.Background()); err != nil || !c.HasSession() {
		t.Fatalf("before logout: session %v, homescreen %v", c.HasSession(), err)
	}
	calls := srv.Total()

	if err := c.Logout(); err != nil {
		t.Fatal(err)
	}
	if c.HasSession() || c.Session().LoggedIn || c.Session().HardwareID != hw {
		t.Errorf("after logout: session %+v, want none with hardware id %s", c.Session(), hw)
	}
	if _, err := c.Homescreen(context.Background()); !errors.Is(err, blink.ErrReauthRequired) {
		t.Errorf("homescreen after logout: %v, want ErrReauthRequired", err)
	}
	if n := srv.Total(); n != calls {
		t.Errorf("%d requests reached Blink after logout, want none", n-calls)
	}
	saved, err := store.Load()
	if err != nil || !saved.AccessToken.IsZero() || !saved.RefreshToken.IsZero() || saved.HardwareID != hw {
		t.Errorf("token file after logout: %+v, %v; want only hardware id %s", saved, err, hw)
	}
	if again := newClient(t, srv, store); again.HasSession() || again.Session().HardwareID != hw {
		t.Errorf("a restart after logout: session %+v", again.Session())
	}

	if _, err := c.BeginLogin(context.Background(), fakeEmail, blink.TestPassword); err != nil {
		t.Fatalf("login after logout: %v", err)
	}
	if saved, _ := store.Load(); saved.RefreshToken.IsZero() || saved.HardwareID != hw || !c.HasSession() {
		t.Errorf("after a new login: saved %+v", saved)
	}
}

// flakyStore refuses saves once fail is set.
type flakyStore struct {
	blink.MemoryTokenStore
	fail bool
}

func (f *flakyStore) Save(t blink.Tokens) error {
	if f.fail {
		return errors.New("disk full")
	}
	return f.MemoryTokenStore.Save(t)
}

// TestLogoutThatCannotSaveKeepsTheSession: a logout that cannot write the
// token file changes nothing, so memory and disk never disagree.
func TestLogoutThatCannotSaveKeepsTheSession(t *testing.T) {
	srv := blinkfake.New(t, fakeConfig(blinkfake.Config{}))
	store := &flakyStore{}
	c := newClient(t, srv, store)
	if _, err := c.BeginLogin(context.Background(), fakeEmail, blink.TestPassword); err != nil {
		t.Fatal(err)
	}
	store.fail = true
	if err := c.Logout(); err == nil {
		t.Fatal("logout reported success without saving")
	}
	if !c.HasSession() {
		t.Error("the session was dropped in memory although the file still holds it")
	}
	if _, err := c.Homescreen(context.Background()); err != nil {
		t.Errorf("homescreen after a failed logout: %v", err)
	}
}
