package blink

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/time/rate"
)

func TestCommandAnswersWithoutID(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		wantErr     error
		wantWarning string
	}{
		{"304 warning", `{"message":"No Cameras Enabled for Motion","code":304}`, nil, "No Cameras Enabled for Motion"},
		{"plain message is a synchronous success", `{"message":"Doorbell enabled"}`, nil, ""},
		{"code 902 success", `{"message":"Command set to :done","code":902}`, nil, ""},
		{"camera not found dressed as 200", `{"message":"Camera not found","code":500}`, ErrNotFound, ""},
		{"busy in the body is retried, then fails", `{"message":"System is busy","code":307}`, ErrBusy, ""},
		{"unknown code is a command failure", `{"message":"Something odd","code":42}`, ErrCommandFailed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &cmdFake{submit: tc.body, poll: running}
				c, _ := newBubbleClient(t, f)
				res, err := c.SetMotionDetection(t.Context(), DeviceRef{Family: FamilyDoorbell, NetworkID: 4321, ID: 999}, true)
				noteErr(err)
				if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if err == nil && res.Warning != tc.wantWarning {
					t.Errorf("Warning = %q, want %q", res.Warning, tc.wantWarning)
				}
				if f.polls != 0 {
					t.Errorf("polled %d times without a command id", f.polls)
				}
			})
		})
	}
}

func TestLimiterIsSharedAndHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cnt counter
		lim := rate.NewLimiter(rate.Every(time.Second), 1)
		c, _ := newBubbleClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cnt.add(r)
			writeJSON(w, 200, `{"limit":500,"media":[]}`)
		}), func(o *Options) { o.Limiter = lim })
		start := time.Now()
		for range 3 {
			if _, err := c.MediaChanged(t.Context(), time.Time{}); err != nil {
				t.Fatal(noteErr(err))
			}
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("3 calls at 1 rps took %s, want 2s", d)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, err := c.Homescreen(ctx)
		if !errors.Is(noteErr(err), context.DeadlineExceeded) {
			t.Errorf("limiter wait past the deadline: %v", err)
		}
		if cnt.total() != 3 {
			t.Errorf("requests = %d", cnt.total())
		}
	})
}

func TestSlowServerHitsPerAttemptDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var cnt counter
		c, _ := newBubbleClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cnt.add(r)
			select { // a server that never answers in time
			case <-r.Context().Done():
			case <-time.After(time.Hour):
			}
		}))
		c.retryBase = time.Millisecond
		start := time.Now()
		_, err := c.Homescreen(context.Background()) // no deadline from the caller
		if !errors.Is(noteErr(err), ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if cnt.total() != 1+DefaultMaxRetries {
			t.Errorf("attempts = %d", cnt.total())
		}
		if d := time.Since(start); d < 4*defaultCallTimeout || d > 4*defaultCallTimeout+time.Second {
			t.Errorf("took %s, want ~4 × %s", d, defaultCallTimeout)
		}
	})
}

func TestDownloadRefreshesOn401(t *testing.T) {
	f := newRestFake()
	f.access = "needs-refresh"
	c, _, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".mp4") {
			f.mu.Lock()
			ok := r.Header.Get("Authorization") == "Bearer "+f.access
			f.mu.Unlock()
			if !ok {
				writeJSON(w, 401, `{"message":"Unauthorized Access","code":101}`)
				return
			}
			w.Header().Set("Content-Type", "video/mp4")
			w.Write([]byte("mp4 bytes"))
			return
		}
		f.ServeHTTP(w, r)
	}))
	var buf bytes.Buffer
	n, err := c.DownloadTo(t.Context(), "/api/v2/accounts/1001/media/clip/1.mp4", &buf, 0)
	if err != nil || n != 9 || buf.String() != "mp4 bytes" {
		t.Fatalf("n=%d %q err=%v", n, buf.String(), noteErr(err))
	}
}

func TestTwoFactorVerifyOutcomes(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   error
	}{
		{201, `{"status":"auth-completed"}`, nil},
		{200, `{"status":"auth-completed"}`, nil},
		{200, `{"status":"pending"}`, ErrInvalidCode},
		{400, `{"error":"invalid_code"}`, ErrInvalidCode},
		{401, ``, ErrInvalidCode},
		{400, `{"error":"bad_request","error_cause":"empty_cookies"}`, ErrCookiesLost},
		{406, `406 Not Acceptable`, ErrNotAcceptable},
	} {
		err := verifyOutcome("POST /v", &response{status: tc.status, body: []byte(tc.body)})
		if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%d %s → %v, want %v", tc.status, tc.body, err, tc.want)
		}
	}
}

func TestServerErrorRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name       string
		retryAfter string
		wantCalls  int
		wantWait   time.Duration
		wantErr    error
	}{
		{"short Retry-After is honoured", "5", 2, 5 * time.Second, nil},
		{"long Retry-After ends the call", "120", 1, 0, ErrUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var cnt counter
				c, _ := newBubbleClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if cnt.add(r) == 1 {
						w.Header().Set("Retry-After", tc.retryAfter)
						w.WriteHeader(http.StatusServiceUnavailable)
						return
					}
					writeJSON(w, 200, `{}`)
				}))
				start := time.Now()
				_, err := c.Homescreen(t.Context())
				if !errors.Is(noteErr(err), tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				if cnt.total() != tc.wantCalls {
					t.Errorf("calls = %d, want %d", cnt.total(), tc.wantCalls)
				}
				if d := time.Since(start); d != tc.wantWait {
					t.Errorf("waited %s, want %s", d, tc.wantWait)
				}
			})
		})
	}
}

func TestWaitCommandRejectsZeroIDs(t *testing.T) {
	var cnt counter
	c, _, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { cnt.add(r) }))
	if _, err := c.WaitCommand(t.Context(), 0, 5); noteErr(err) == nil || cnt.total() != 0 {
		t.Errorf("err = %v, %d requests", err, cnt.total())
	}
}
