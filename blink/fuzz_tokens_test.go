package blink

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

func FuzzTokenFileLoad(f *testing.F) {
	addFixtures(f, "tokens_file.json")
	f.Add([]byte(``))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"version":1,"refresh_token":"r","expires_at":"9999-12-31T23:30:00-01:00"}`))
	f.Add([]byte(`{"version":1,"expires_at":1772384400,"account_id":"1001"}`))
	f.Add([]byte(`{"version":1,"account_id":123456789012345678901234}`))
	f.Add([]byte(`{"refresh_token":"` + testRefresh))
	f.Add([]byte("\xff\xfe{}"))
	path := filepath.Join(f.TempDir(), "tokens.json")
	refused := regexp.MustCompile(`^blink: token file ` + regexp.QuoteMeta(strconv.Quote(path)) + ` is corrupt: (` + jsonReason + `|empty file|blink: response too large: more than \d+ bytes)$`)
	f.Fuzz(func(t *testing.T, content []byte) {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		tok, err := FileTokenStore{Path: path}.Load()
		if err != nil {
			// A closed grammar: the refusal names the file and never quotes it.
			if errors.Is(err, ErrNoTokens) || !refused.MatchString(err.Error()) {
				t.Fatalf("refusal %q is not a one-line corrupt-file error", err)
			}
			return
		}
		if !marshalsInUTC(tok.ExpiresAt) {
			t.Fatalf("ExpiresAt %s cannot be marshalled", tok.ExpiresAt)
		}
		// What Load accepts, Save can write and Load reads back unchanged.
		b, err := encodeTokenFile(tok)
		if err != nil {
			t.Fatalf("a loaded session cannot be saved: %v", err)
		}
		again, err := decodeTokenFile(b)
		if err != nil {
			t.Fatalf("a saved session cannot be loaded: %v", err)
		}
		if !again.ExpiresAt.Equal(tok.ExpiresAt) {
			t.Fatalf("ExpiresAt %s came back as %s", tok.ExpiresAt, again.ExpiresAt)
		}
		again.ExpiresAt = tok.ExpiresAt
		if again != tok {
			t.Fatalf("round trip changed the session:\n%#v\n%#v", tok, again)
		}
	})
}
