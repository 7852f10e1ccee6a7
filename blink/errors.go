package blink

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors. Every error the client returns that comes from an HTTP
// status or a Blink result code wraps one of these, so callers decide retry
// policy with errors.Is and never by reading strings.
var (
	// ErrUnauthorized: the access token was refused (HTTP 401, code 101) and a
	// refresh + retry did not help.
	ErrUnauthorized = errors.New("blink: unauthorized")
	// ErrReauthRequired: no usable token and the refresh token was refused or is
	// missing. Only a person can fix this (a new login, maybe with 2FA); the
	// client never starts one by itself.
	ErrReauthRequired = errors.New("blink: re-authentication required")
	// ErrRateLimited: Blink throttled us (429, or 403 on REST). Use errors.As
	// with *RateLimitError for the time to wait.
	ErrRateLimited = errors.New("blink: rate limited")
	// ErrBusy: the sync module is busy with another command (HTTP 409).
	ErrBusy = errors.New("blink: sync module busy")
	// ErrNotFound: 404, or Blink's "not found" codes (wrong tier, wrong family, media 700).
	ErrNotFound = errors.New("blink: not found")
	// ErrNotAcceptable: 406 (Cloudflare / non-UUID hardware_id / User-Agent). Not retryable.
	ErrNotAcceptable = errors.New("blink: request not acceptable (406)")
	// ErrBadCredentials: sign-in refused the e-mail/password.
	ErrBadCredentials = errors.New("blink: wrong e-mail or password")
	// ErrCookiesLost: the OAuth server lost our session cookies (400 empty_cookies).
	ErrCookiesLost = errors.New("blink: login session cookies lost")
	// ErrInvalidCode: the 2FA code was wrong or expired; the same login may try again.
	ErrInvalidCode = errors.New("blink: 2FA code invalid or expired")
	// ErrCommandFailed: a command finished with a status other than 908. Use
	// errors.As with *CommandError for Blink's code and message.
	ErrCommandFailed = errors.New("blink: command failed")
	// ErrCommandTimeout: a command did not complete within the overall timeout.
	ErrCommandTimeout = errors.New("blink: command did not complete in time")
	// ErrDecode: a response body was not the JSON we expected (malformed,
	// truncated, text/plain). Use errors.As with *DecodeError for the endpoint.
	ErrDecode = errors.New("blink: cannot decode response")
	// ErrUnreachable: Blink could not be reached (network error, timeout, 5xx
	// after bounded retries).
	ErrUnreachable = errors.New("blink: service unreachable")
	// ErrTooLarge: a response body was larger than the caller's limit.
	ErrTooLarge = errors.New("blink: response too large")
	// ErrNotReady: the sync module has not finished what was asked (a
	// local-storage manifest still being built). Retry with backoff.
	ErrNotReady = errors.New("blink: not ready yet")
	// ErrWrongFamily: the operation does not exist for the device's family
	// (for example CameraConfig of a Mini), or the family is unknown.
	ErrWrongFamily = errors.New("blink: operation not available for this device family")
)

// StatusError is an HTTP answer outside 2xx/3xx. It wraps the matching sentinel.
type StatusError struct {
	Op      string // endpoint template, e.g. "GET /api/v3/accounts/{acct}/homescreen"
	Code    int    // HTTP status
	APICode int    // Blink's "code" field when the body had one
	Message string // Blink's "message"/"error_description" when the body had one
	kind    error
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.Op, e.Code)
	if e.APICode != 0 {
		s += fmt.Sprintf(" (code %d)", e.APICode)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func (e *StatusError) Unwrap() error { return e.kind }

// RateLimitError says how long Blink asked us to wait (Retry-After), or the
// client's own cooldown when Blink gave none.
type RateLimitError struct {
	Op         string
	RetryAfter time.Duration
	Until      time.Time
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("%s: rate limited, retry after %s", e.Op, e.RetryAfter.Round(time.Second))
}

func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// CommandError is a command that Blink reported as failed (status_code != 908).
type CommandError struct {
	NetworkID int64
	CommandID int64
	Code      int    // Blink's status_code, e.g. 523
	Message   string // Blink's status_msg
}

func (e *CommandError) Error() string {
	return fmt.Sprintf("blink command %d on network %d failed: %s (code %d)", e.CommandID, e.NetworkID, e.Message, e.Code)
}

func (e *CommandError) Unwrap() error { return ErrCommandFailed }

// DecodeError names the endpoint whose body could not be decoded. It never
// includes the body itself, which may carry tokens.
type DecodeError struct {
	Op  string
	Err error
}

func (e *DecodeError) Error() string { return fmt.Sprintf("%s: decode response: %v", e.Op, e.Err) }

func (e *DecodeError) Unwrap() []error { return []error{ErrDecode, e.Err} }

// maxMessage bounds a text Blink wrote (an error message, a status_msg) that
// ends up in an error string or a command answer.
const maxMessage = 200

// cleanText makes outside text fit a one-line error or answer: invalid UTF-8
// and control characters (line breaks included) become spaces, and text
// longer than n bytes is cut at a rune boundary and marked with "…".
func cleanText(s string, n int) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			r = ' '
		}
		if b.Len()+utf8.RuneLen(r) > n {
			return strings.TrimSpace(b.String()) + "…"
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}
