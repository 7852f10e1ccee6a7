package blink

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// Lenient JSON scalars. Blink's JSON is loosely typed: ids sometimes arrive
// as strings, flags as 0/1, timestamps in several layouts, and any field can
// be null. These types accept all of that and never fail on a surprising
// scalar; a wrong *structure* (an object where an array belongs) still fails.

// unquote returns the text of a JSON string literal. The outer decoder has
// already validated the document, so a literal without escapes is its own
// text; only escaped ones pay for a full decode.
func unquote(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b[1 : len(b)-1]), true
	}
	var s string
	if json.Unmarshal(b, &s) != nil {
		return "", false
	}
	return s, true
}

// flexInt accepts a number, a numeric string, a bool or null.
type flexInt struct {
	v   int64
	set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	*f = flexInt{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] == 'n' || b[0] == '{' || b[0] == '[' {
		return nil
	}
	s := string(b)
	switch {
	case b[0] == '"':
		str, ok := unquote(b)
		if !ok {
			return nil
		}
		s = strings.TrimSpace(str)
	case s == "true":
		f.v, f.set = 1, true
		return nil
	case s == "false":
		f.v, f.set = 0, true
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		f.v, f.set = n, true
		return nil
	}
	if x, err := strconv.ParseFloat(s, 64); err == nil && math.Abs(x) < 9e18 {
		f.v, f.set = int64(x), true
	}
	return nil
}

func (f flexInt) ptr() *int {
	if !f.set {
		return nil
	}
	n := int(f.v)
	return &n
}

// flexBool accepts true/false, 0/1, "true"/"false"/"1"/"0" and null.
type flexBool struct{ v bool }

func (f *flexBool) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		str, ok := unquote(b)
		if !ok {
			f.v = false
			return nil
		}
		s = strings.ToLower(strings.TrimSpace(str))
	}
	switch s {
	case "true", "1", "yes", "on":
		f.v = true
	default:
		if x, err := strconv.ParseFloat(s, 64); err == nil {
			f.v = x != 0
		} else {
			f.v = false
		}
	}
	return nil
}

// flexString accepts a string, a number (kept as its decimal text) or null.
type flexString struct{ v string }

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	f.v = ""
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		f.v, _ = unquote(b)
	case 'n', '{', '[', 't', 'f':
	default:
		// A number: keep integers exactly as sent ("thumbnail": 1772384712).
		f.v = string(b)
		if strings.ContainsAny(f.v, ".eE") {
			if x, err := strconv.ParseFloat(f.v, 64); err == nil && x == math.Trunc(x) && math.Abs(x) < 1e18 {
				f.v = strconv.FormatInt(int64(x), 10)
			}
		}
	}
	return nil
}

// flexTime accepts the timestamp layouts Blink and its clients use, an
// epoch number (seconds or milliseconds), or null. Unparsable or out of
// range (see inRange) → zero. The value is always in UTC.
type flexTime struct{ v time.Time }

func (f *flexTime) UnmarshalJSON(b []byte) error {
	f.v = time.Time{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	if b[0] != '"' {
		if n, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			f.v = inRange(epochTime(n))
		}
		return nil
	}
	s, ok := unquote(b)
	if !ok {
		return nil
	}
	f.v = inRange(parseTime(s))
	return nil
}

// Years of a time that Blink may hand us. Go's JSON and RFC 3339 encoders
// refuse years outside 0..9999 (in the time's own zone, and consumers
// encode in UTC); year 0 is below the zero time, which already means
// "absent".
const (
	minYear = 1
	maxYear = 9999
)

// inRange returns t in UTC when its UTC year is within minYear..maxYear, and
// the zero time otherwise: an absurd date is treated as absent, so that
// t.UTC().MarshalJSON() can never fail downstream.
func inRange(t time.Time) time.Time {
	u := t.UTC()
	if y := u.Year(); y < minYear || y > maxYear {
		return time.Time{}
	}
	return u
}

func epochTime(n int64) time.Time {
	switch {
	case n <= 0:
		return time.Time{}
	case n > 1e14: // microseconds are not a thing Blink sends; treat as invalid
		return time.Time{}
	case n > 1e11:
		return time.UnixMilli(n).UTC()
	default:
		return time.Unix(n, 0).UTC()
	}
}

func parseTime(s string) time.Time {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}
	}
	layouts := [...]string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05-0700",
		"2006-01-02T15:04:05.000-0700",
		"2006-01-02 15:04:05 -0700",
		"2006-01-02 15:04:05-07:00",
		"2006-01-02 15:04:05",
		"2006-01-02T15:04:05",
		"2006-01-02T15:04:05.999999999",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC()
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return epochTime(n)
	}
	return time.Time{}
}
