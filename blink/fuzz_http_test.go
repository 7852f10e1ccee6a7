package blink

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for what the pipeline reads from any answer: Retry-After and
// the error body.

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, v := range []string{
		"", "0", "120", " 30 ", "-1", "+5", "3601", "9223372036854775807", "99999999999999999999", "1.5", "soon",
		now.Add(90 * time.Second).Format(http.TimeFormat), now.Add(-time.Hour).Format(http.TimeFormat),
		"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
		"Fri, 31 Dec 9999 23:59:59 GMT",
	} {
		f.Add(v, now.Unix())
	}
	f.Fuzz(func(t *testing.T, v string, unix int64) {
		at := time.Unix(unix%(1<<40), 0) // about ±35,000 years: every date a header can name and more
		d, ok := parseRetryAfter(v, at)
		if !ok {
			if d != 0 {
				t.Fatalf("%q: refused but d = %s", v, d)
			}
			return
		}
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("%q: Retry-After %s outside 0..%s", v, d, maxRetryAfter)
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && n >= 0 {
			if want := time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second; d != want {
				t.Fatalf("%q: %s, want %s", v, d, want)
			}
		}
	})
}

func FuzzNewStatusError(f *testing.F) {
	for _, s := range []struct {
		status int
		body   string
	}{
		{401, `{"message":"Unauthorized Access","code":101}`},
		{404, `{"message":"Media not found","code":700}`},
		{500, `{"message":"Camera not found","code":500}`},
		{409, `{"message":"System is busy","code":307}`},
		{400, `{"error":"bad_request","error_cause":"empty_cookies","error_description":"Empty Cookies."}`},
		{406, `406 Not Acceptable`},
		{503, `<html>maintenance</html>`},
		{400, `{"message":"line one\nline two\u2028three","code":"1630"}`},
		{429, `{"message":"` + strings.Repeat("é", 150) + `x"}`},
	} {
		f.Add(s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, n int, body []byte) {
		status := fuzzStatus(n)
		if b, ok := withSecretFields(body); ok {
			body = b
		}
		const op = "GET /api/v3/accounts/{acct}/homescreen"
		se := newStatusError(op, &response{status: status, body: body}, nil)
		if se.Code != status || se.Op != op {
			t.Fatalf("StatusError %+v for status %d", se, status)
		}
		if !oneLine(se.Message) || len(se.Message) > maxMessage+len("…") {
			t.Fatalf("Message %q is not one line of at most %d bytes", se.Message, maxMessage)
		}
		checkErrorText(t, se, len(op)+60+maxMessage)
		if !strings.HasPrefix(se.Error(), op+": HTTP "+strconv.Itoa(status)) {
			t.Fatalf("error %q does not start with the endpoint and status", se)
		}
		// The sentinel follows the status when Blink's code and message say nothing.
		if codeKind(se.APICode, se.Message) == nil {
			want := map[int]error{401: ErrUnauthorized, 404: ErrNotFound, 406: ErrNotAcceptable, 409: ErrBusy, 429: ErrRateLimited}[status]
			if want != nil && !errors.Is(se, want) {
				t.Fatalf("status %d: %v does not wrap %v", status, se, want)
			}
		}
	})
}
