package blink

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
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
