package blink

// Secret holds a password, token, cookie or 2FA code. Its String, GoString,
// MarshalJSON and MarshalText forms are "[redacted]", so a Secret that slips
// into a log line, an error or a JSON document never shows its value.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret value; call it only where the value goes on the wire.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON redacts: secrets are persisted through tokenFile, never through this.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText redacts for encoders (zerolog, envconfig printing) that use TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
