package blink

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFileTokenStoreRoundTripModeAndAtomicity(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "nested")
	s := FileTokenStore{Path: filepath.Join(dir, "tokens.json")}

	_, err := s.Load()
	if !errors.Is(err, ErrNoTokens) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of nothing = %v, want ErrNoTokens wrapping fs.ErrNotExist", err)
	}
	want := sessionTokens(time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC))
	want.UserID, want.ClientID = 2002, 3003
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("round trip = %+v, want %+v", got, want)
	}
	raw, _ := os.ReadFile(s.Path)
	if !strings.Contains(string(raw), testRefresh) || strings.Contains(string(raw), redacted) {
		t.Error("the file must hold the real secrets (Secret.MarshalJSON redacts)")
	}
	if runtime.GOOS != "windows" {
		fi, _ := os.Stat(s.Path)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
		}
		di, _ := os.Stat(dir)
		if di.Mode().Perm() != 0o700 {
			t.Errorf("dir mode %v, want 0700", di.Mode().Perm())
		}
	}

	// Overwrite: no temp files left behind, old content fully replaced.
	want.RefreshToken = "rt-SECRET-second"
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only tokens.json", names)
	}
	if got, _ := s.Load(); got.RefreshToken != "rt-SECRET-second" {
		t.Error("second save not visible")
	}
}

func TestFileTokenStoreFailedWriteKeepsOldFile(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() == 0 {
		t.Skip("needs a non-root POSIX user to make a directory read-only")
	}
	dir := t.TempDir()
	s := FileTokenStore{Path: filepath.Join(dir, "tokens.json")}
	old := sessionTokens(time.Now())
	if err := s.Save(old); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	next := old
	next.RefreshToken = "rt-SECRET-new"
	if err := s.Save(next); err == nil {
		t.Fatal("save into a read-only directory succeeded")
	}
	if got, _ := s.Load(); got.RefreshToken != old.RefreshToken {
		t.Error("old token file damaged by a failed save")
	}
}

func TestFileTokenStoreCorruptFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tokens.json")
	os.WriteFile(p, []byte(`{"refresh_token":"`+testRefresh), 0o600)
	_, err := FileTokenStore{Path: p}.Load()
	if err == nil || errors.Is(err, ErrNoTokens) {
		t.Fatalf("err = %v, want a corrupt-file error", err)
	}
	if strings.Contains(noteErr(err).Error(), testRefresh) {
		t.Error("error quotes the file content")
	}
}

func TestFileTokenStoreWithClient(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tokens.json")
	c, err := New(Options{Store: FileTokenStore{Path: p}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	saved, err := FileTokenStore{Path: p}.Load()
	if err != nil || saved.HardwareID != c.Session().HardwareID || !saved.RefreshToken.IsZero() {
		t.Fatalf("hardware id not persisted before any login: %+v, %v", saved, err)
	}
	changed, err := c.ReloadTokens()
	if err != nil || changed {
		t.Errorf("ReloadTokens without change = %v, %v", changed, err)
	}
}

func TestSecretsRedactedInSessionAndTokens(t *testing.T) {
	tok := sessionTokens(time.Now())
	for _, s := range []string{
		strings.Join([]string{tok.AccessToken.String(), tok.RefreshToken.GoString()}, " "),
	} {
		if strings.Contains(s, testAccess) || strings.Contains(s, testRefresh) {
			t.Errorf("secret printed: %s", s)
		}
	}
	fmtd := sprintAll(tok)
	if strings.Contains(fmtd, testAccess) || strings.Contains(fmtd, testRefresh) {
		t.Errorf("Tokens formatting leaks: %s", fmtd)
	}
}

func sprintAll(v any) string {
	b, _ := json.Marshal(v)
	return fmt.Sprintf("%v %+v %#v %s", v, v, v, b)
}

func TestFileTokenStoreFailedRenameLeavesNoTempFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "tokens.json")
	// A non-empty directory where the file should go makes the rename fail, even as root.
	if err := os.MkdirAll(filepath.Join(target, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := FileTokenStore{Path: target}.Save(sessionTokens(time.Now()))
	if err == nil {
		t.Fatal("save over a directory succeeded")
	}
	if strings.Contains(noteErr(err).Error(), testRefresh) {
		t.Error("error leaks the token")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left behind: %d entries", len(entries))
	}
}

func TestFileTokenStoreRefusesGarbage(t *testing.T) {
	tests := []struct {
		name    string
		content string
		reason  string // "" means accepted
	}{
		{"empty file", "", "empty file"},
		{"blank file", " \n", "empty file"},
		{"truncated", `{"refresh_token":"` + testRefresh, "invalid JSON at byte 32"},
		{"not JSON", "refresh_token=" + testRefresh, "invalid JSON at byte 1"},
		{"an array", `["` + testRefresh + `"]`, `unexpected JSON array for field ""`},
		{"a number too large for the account id", `{"refresh_token":"r","account_id":731946731946731946731946}`, `unexpected JSON number for field "tokenFile.account_id"`},
		{"a token of the wrong type", `{"refresh_token":731946}`, `unexpected JSON number for field "tokenFile.refresh_token"`},
		{"larger than 1 MiB", `{"refresh_token":"` + strings.Repeat("x", maxTokenFile) + `"}`, "more than 1048576 bytes"},
		{"unreadable expiry is unknown", `{"version":1,"refresh_token":"r","expires_at":"` + testRefresh + `"}`, ""},
		{"absurd expiry is unknown", `{"version":1,"refresh_token":"r","expires_at":"9999-12-31T23:30:00-01:00"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "tokens.json")
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			tok, err := FileTokenStore{Path: p}.Load()
			if tc.reason == "" {
				if err != nil || tok.RefreshToken != "r" || !tok.ExpiresAt.IsZero() {
					t.Fatalf("Load = %+v, %v; want the session with an unknown expiry", tok, err)
				}
				return
			}
			if err == nil || errors.Is(err, ErrNoTokens) {
				t.Fatalf("Load = %v, want a corrupt-file error", err)
			}
			msg := noteErr(err).Error()
			if !strings.Contains(msg, strconv.Quote(p)) || !strings.HasSuffix(msg, tc.reason) {
				t.Errorf("error %q: want the path and %q", msg, tc.reason)
			}
			if strings.Contains(msg, testRefresh) || strings.Contains(msg, "731946") || len(msg) > 200 {
				t.Errorf("error %q quotes the file", msg)
			}
		})
	}
}
