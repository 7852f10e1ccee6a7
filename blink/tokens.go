package blink

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/blink2mqtt/blink2mqtt/internal/atomicfile"
)

// ErrNoTokens is returned by TokenStore.Load when nothing was saved yet. It
// wraps fs.ErrNotExist.
var ErrNoTokens = fmt.Errorf("blink: no saved tokens: %w", fs.ErrNotExist)

// Tokens is the persisted session. HardwareID is the UUID Blink knows this
// installation by; it is generated once and kept even without tokens.
type Tokens struct {
	AccessToken  Secret
	RefreshToken Secret
	ExpiresAt    time.Time
	Tier         string
	AccountID    int64
	UserID       int64
	ClientID     int64
	HardwareID   string
}

// TokenStore persists Tokens. Load returns ErrNoTokens when none were saved.
type TokenStore interface {
	Load() (Tokens, error)
	Save(Tokens) error
}

// FileTokenStore keeps Tokens in one JSON file, written atomically (temp
// file, fsync, rename) with mode 0600; its directory is created 0700.
type FileTokenStore struct {
	Path string
}

// tokenFile is the on-disk form. It holds plain strings because
// Secret.MarshalJSON redacts on purpose.
type tokenFile struct {
	Version      int       `json:"version"`
	AccessToken  string    `json:"access_token,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
	Tier         string    `json:"tier,omitempty"`
	AccountID    int64     `json:"account_id,omitempty"`
	UserID       int64     `json:"user_id,omitempty"`
	ClientID     int64     `json:"client_id,omitempty"`
	HardwareID   string    `json:"hardware_id,omitempty"`
}

// maxTokenFile bounds what Load reads: a token file is about 2 KiB.
const maxTokenFile = 1 << 20

// Load reads the token file. A file that is not a JSON token document (or
// larger than 1 MiB) is refused with an error naming the path, never quoting
// the content; an expires_at that is unreadable or out of range counts as
// unknown (the next 401 refreshes).
func (s FileTokenStore) Load() (Tokens, error) {
	f, err := os.Open(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return Tokens{}, ErrNoTokens
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("blink: read token file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return Tokens{}, fmt.Errorf("blink: read token file: %w", err)
	}
	if len(b) > maxTokenFile {
		return Tokens{}, fmt.Errorf("blink: token file %q is corrupt: %w: more than %d bytes", s.Path, ErrTooLarge, maxTokenFile)
	}
	t, err := decodeTokenFile(b)
	if err != nil {
		return Tokens{}, fmt.Errorf("blink: token file %q is corrupt: %w", s.Path, err)
	}
	return t, nil
}

// decodeTokenFile parses the on-disk form. Its errors name a type, a field
// or an offset, never the content.
func decodeTokenFile(b []byte) (Tokens, error) {
	var f struct {
		tokenFile
		// Shadows tokenFile.ExpiresAt: lenient, and an absurd date is absent.
		ExpiresAt flexTime `json:"expires_at"`
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return Tokens{}, errors.New("empty file")
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return Tokens{}, jsonErr(err)
	}
	return Tokens{
		AccessToken:  Secret(f.AccessToken),
		RefreshToken: Secret(f.RefreshToken),
		ExpiresAt:    f.ExpiresAt.v,
		Tier:         f.Tier,
		AccountID:    f.AccountID,
		UserID:       f.UserID,
		ClientID:     f.ClientID,
		HardwareID:   f.HardwareID,
	}, nil
}

// Save writes the token file atomically with mode 0600.
func (s FileTokenStore) Save(t Tokens) error {
	b, err := encodeTokenFile(t)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o700); err != nil {
		return fmt.Errorf("blink: create state directory: %w", err)
	}
	if err := atomicfile.Write(s.Path, b, 0o600); err != nil {
		return fmt.Errorf("blink: save tokens: %w", err)
	}
	return nil
}

// encodeTokenFile is the on-disk form of t.
func encodeTokenFile(t Tokens) ([]byte, error) {
	b, err := json.MarshalIndent(tokenFile{
		Version:      1,
		AccessToken:  t.AccessToken.Reveal(),
		RefreshToken: t.RefreshToken.Reveal(),
		ExpiresAt:    inRange(t.ExpiresAt), // never fails to encode
		Tier:         t.Tier,
		AccountID:    t.AccountID,
		UserID:       t.UserID,
		ClientID:     t.ClientID,
		HardwareID:   t.HardwareID,
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("blink: encode tokens: %w", err)
	}
	return append(b, '\n'), nil
}

// MemoryTokenStore keeps Tokens in memory (tests, demo mode). The zero value
// is empty and ready to use.
type MemoryTokenStore struct {
	mu    sync.Mutex
	t     Tokens
	saved bool
	saves int
}

// Load returns the saved tokens or ErrNoTokens.
func (m *MemoryTokenStore) Load() (Tokens, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.saved {
		return Tokens{}, ErrNoTokens
	}
	return m.t, nil
}

// Save keeps a copy of t.
func (m *MemoryTokenStore) Save(t Tokens) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.t, m.saved = t, true
	m.saves++
	return nil
}

// Saves reports how many times Save was called.
func (m *MemoryTokenStore) Saves() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}

// newHardwareID returns a random UUIDv4 in upper case, as the iOS app sends it.
func newHardwareID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
