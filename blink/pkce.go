package blink

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// pkcePair is an OAuth PKCE verifier and its S256 challenge (RFC 7636).
type pkcePair struct {
	verifier  Secret
	challenge string
}

// newPKCE returns a verifier of 32 random bytes (43 base64url characters)
// and its S256 challenge, both base64url without padding (RFC 7636).
func newPKCE() pkcePair {
	var b [32]byte
	_, _ = rand.Read(b[:])
	v := base64.RawURLEncoding.EncodeToString(b[:])
	return pkcePair{verifier: Secret(v), challenge: pkceChallenge(v)}
}

func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
