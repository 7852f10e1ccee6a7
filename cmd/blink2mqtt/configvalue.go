package main

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// maxEchoed bounds how much of a bad value an error line repeats.
const maxEchoed = 64

// logLevels are the LOG_LEVEL values, by name.
var logLevels = []struct {
	name  string
	level zerolog.Level
}{
	{"trace", zerolog.TraceLevel}, {"debug", zerolog.DebugLevel}, {"info", zerolog.InfoLevel},
	{"warn", zerolog.WarnLevel}, {"error", zerolog.ErrorLevel},
}

// setValue parses raw into the field dst by the field's type. Its errors name
// the bad value and what the variable accepts, but not the variable.
func setValue(dst reflect.Value, raw string) error {
	s := strings.TrimSpace(raw)
	switch dst.Interface().(type) {
	case time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%s is not a duration like 30s, 5m or 1h", quote(raw))
		}
		dst.SetInt(int64(d))
	case zerolog.Level:
		l, err := parseLevel(s)
		if err != nil {
			return err
		}
		dst.SetInt(int64(l))
	case bool:
		b, err := strconv.ParseBool(strings.ToLower(s))
		if err != nil {
			return fmt.Errorf("%s is not true or false", quote(raw))
		}
		dst.SetBool(b)
	case float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s is not a number", quote(raw))
		}
		dst.SetFloat(f)
	case int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%s is not a whole number", quote(raw))
		}
		dst.SetInt(n)
	default:
		if dst.Kind() != reflect.String {
			return errors.New("unsupported field type " + dst.Type().String()) // a programming error, caught by the tests
		}
		dst.SetString(raw) // strings and secrets are taken verbatim
	}
	return nil
}

// parseLevel accepts the LOG_LEVEL names, in any case.
func parseLevel(s string) (zerolog.Level, error) {
	names := make([]string, len(logLevels))
	for i, l := range logLevels {
		if strings.EqualFold(s, l.name) {
			return l.level, nil
		}
		names[i] = l.name
	}
	return zerolog.NoLevel, fmt.Errorf("%s is not one of %s", quote(s), strings.Join(names, ", "))
}

// quote is %q of a value cut to maxEchoed characters, so an error line stays
// short whatever was put in the variable.
func quote(s string) string {
	if r := []rune(s); len(r) > maxEchoed {
		return strconv.Quote(string(r[:maxEchoed])) + "…"
	}
	return strconv.Quote(s)
}

// redactURL hides the user info of a URL, also of one that does not parse:
// everything between "://" (or the start) and the last "@" becomes
// [redacted]. It may hide more than the user info of an odd URL, never less.
func redactURL(s string) string {
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return s
	}
	start := 0
	if i := strings.Index(s, "://"); i >= 0 && i+3 <= at {
		start = i + 3
	}
	return s[:start] + "[redacted]" + s[at:]
}
