package blink

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const homescreenPath = "/u011/api/v3/accounts/1001/homescreen"

// restFake serves homescreen and the token endpoint with rotating tokens.
type restFake struct {
	cnt counter

	mu        sync.Mutex
	access    string // the access token REST accepts
	refresh   string // the refresh token the token endpoint accepts
	rotations int
	refuse    bool // the token endpoint refuses every refresh
	hwSeen    string
}

func newRestFake() *restFake { return &restFake{access: testAccess, refresh: testRefresh} }

func (f *restFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.cnt.add(r)
	switch {
	case r.Method == "POST" && r.URL.Path == "/oauth/token":
		_ = r.ParseForm()
		f.mu.Lock()
		defer f.mu.Unlock()
		f.hwSeen = r.PostForm.Get("hardware_id")
		if f.refuse || r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != f.refresh {
			writeJSON(w, 400, `{"error":"invalid_grant","error_description":"Refresh token is invalid"}`)
			return
		}
		f.rotations++
		n := strconv.Itoa(f.rotations)
		f.access, f.refresh = "at-rotated-"+n, "rt-rotated-"+n
		writeJSON(w, 200, `{"access_token":"`+f.access+`","refresh_token":"`+f.refresh+`","expires_in":14400,"token_type":"Bearer"}`)
	case r.URL.Path == homescreenPath:
		f.mu.Lock()
		ok := r.Header.Get("Authorization") == "Bearer "+f.access
		f.mu.Unlock()
		if !ok {
			writeJSON(w, 401, `{"message":"Unauthorized Access","code":101}`)
			return
		}
		w.Header().Set("Client-Id", "3003")
		w.Header().Set("User-Id", "2002")
		writeJSON(w, 200, `{"account":{"id":1001},"networks":[{"id":4321,"name":"Home","armed":true}]}`)
	default:
		http.NotFound(w, r)
	}
}

func TestRefreshBeforeExpiryPersistsRotatedToken(t *testing.T) {
	f := newRestFake()
	f.access = "at-expected-after-refresh"
	c, store, _ := newTestClient(t, f)
	// 30 s of life left: under the 60 s margin, so the client refreshes first.
	c.mu.Lock()
	c.tokens.ExpiresAt = time.Now().Add(30 * time.Second)
	c.mu.Unlock()
	if _, err := c.Homescreen(t.Context()); err != nil {
		t.Fatal(noteErr(err))
	}
	if n := f.cnt.get("GET " + homescreenPath); n != 1 {
		t.Errorf("homescreen calls = %d, want 1 (no 401 round trip)", n)
	}
	saved, _ := store.Load()
	if saved.RefreshToken != "rt-rotated-1" || saved.AccessToken != "at-rotated-1" {
		t.Errorf("store did not get the rotated tokens")
	}
	if saved.ClientID != 3003 || saved.UserID != 2002 {
		t.Errorf("client/user id from headers = %d/%d", saved.ClientID, saved.UserID)
	}
	if f.hwSeen != sessionTokens(time.Now()).HardwareID {
		t.Errorf("refresh sent hardware_id %q", f.hwSeen)
	}
	if d := time.Until(c.Session().ExpiresAt); d < 3*time.Hour {
		t.Errorf("new expiry in %s, want ~4h", d)
	}
}

func TestUnauthorizedRefreshesOnceAndRetries(t *testing.T) {
	f := newRestFake()
	f.access = "server-forgot-our-token"
	c, store, _ := newTestClient(t, f)
	hs, err := c.Homescreen(t.Context())
	if err != nil {
		t.Fatal(noteErr(err))
	}
	if len(hs.Networks) != 1 {
		t.Errorf("networks = %d", len(hs.Networks))
	}
	if n := f.cnt.get("GET " + homescreenPath); n != 2 {
		t.Errorf("homescreen calls = %d, want 2 (401, then retry)", n)
	}
	if n := f.cnt.get("POST /oauth/token"); n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
	if saved, _ := store.Load(); saved.RefreshToken != "rt-rotated-1" {
		t.Error("rotated refresh token not persisted")
	}
}

func TestUnauthorizedAfterRefreshIsErrUnauthorized(t *testing.T) {
	f := newRestFake()
	c, _, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == homescreenPath {
			f.cnt.add(r)
			writeJSON(w, 401, `{"message":"Unauthorized Access","code":101}`)
			return
		}
		f.ServeHTTP(w, r)
	}))
	_, err := c.Homescreen(t.Context())
	var se *StatusError
	if !errors.Is(noteErr(err), ErrUnauthorized) || !errors.As(err, &se) || se.APICode != 101 {
		t.Fatalf("err = %v, want ErrUnauthorized with code 101", err)
	}
	if n := f.cnt.get("GET " + homescreenPath); n != 2 {
		t.Errorf("homescreen calls = %d, want exactly 2", n)
	}
	if n := f.cnt.get("POST /oauth/token"); n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
}

func TestRefreshRefusedIsReauthRequiredAndSticky(t *testing.T) {
	f := newRestFake()
	f.access = "something-else"
	f.refuse = true
	c, store, _ := newTestClient(t, f)
	_, err := c.Homescreen(t.Context())
	if !errors.Is(noteErr(err), ErrReauthRequired) {
		t.Fatalf("err = %v, want ErrReauthRequired", err)
	}
	if c.HasSession() {
		t.Error("HasSession after refused refresh")
	}
	before := f.cnt.total()
	_, err = c.Homescreen(t.Context())
	if !errors.Is(noteErr(err), ErrReauthRequired) || f.cnt.total() != before {
		t.Errorf("second call: err %v, %d new requests; want ErrReauthRequired without network", err, f.cnt.total()-before)
	}
	// A CLI login writes a new file: ReloadTokens revives the client.
	f.mu.Lock()
	f.refuse, f.access = false, "at-from-cli"
	f.mu.Unlock()
	t2 := sessionTokens(time.Now())
	t2.AccessToken, t2.RefreshToken = "at-from-cli", "rt-SECRET-from-cli"
	_ = store.Save(t2)
	changed, err := c.ReloadTokens()
	if err != nil || !changed {
		t.Fatalf("ReloadTokens = %v, %v", changed, err)
	}
	if _, err := c.Homescreen(t.Context()); err != nil {
		t.Fatalf("after reload: %v", noteErr(err))
	}
}

func TestConcurrentCallersShareOneRefresh(t *testing.T) {
	f := newRestFake()
	f.access = "stale-everywhere"
	c, store, _ := newTestClient(t, f)
	c.mu.Lock()
	c.tokens.ExpiresAt = time.Now().Add(-time.Minute)
	c.mu.Unlock()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 8 {
		wg.Go(func() {
			if _, err := c.Homescreen(t.Context()); noteErr(err) != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Errorf("%d callers failed", failed.Load())
	}
	if n := f.cnt.get("POST /oauth/token"); n != 1 {
		t.Errorf("refreshes = %d, want 1 shared", n)
	}
	// Client-Id/User-Id saves raced the refresh save; the newest tokens must win.
	if saved, _ := store.Load(); saved.RefreshToken != "rt-rotated-1" || saved.ClientID != 3003 {
		t.Errorf("store ended with stale tokens (client id %d)", saved.ClientID)
	}
}

func TestRateLimitCooldownFailsFastWithoutNetwork(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		wantWait   time.Duration
	}{
		{"429 with Retry-After seconds", 429, "120", 120 * time.Second},
		{"429 without Retry-After", 429, "", baseCooldown},
		{"REST 403", 403, "", baseCooldown},
		{"429 with HTTP date", 429, "DATE", 90 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)
			var cnt counter
			c, _, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				cnt.add(r)
				ra := tc.retryAfter
				if ra == "DATE" {
					ra = now.Add(90 * time.Second).Format(http.TimeFormat)
				}
				if ra != "" {
					w.Header().Set("Retry-After", ra)
				}
				w.WriteHeader(tc.status)
			}), func(o *Options) { o.Now = func() time.Time { return now } })
			_, err := c.Homescreen(t.Context())
			var rl *RateLimitError
			if !errors.As(noteErr(err), &rl) || !errors.Is(err, ErrRateLimited) {
				t.Fatalf("err = %v, want *RateLimitError", err)
			}
			if rl.RetryAfter != tc.wantWait {
				t.Errorf("RetryAfter = %s, want %s", rl.RetryAfter, tc.wantWait)
			}
			if got := c.Stats().CooldownUntil; !got.Equal(now.Add(tc.wantWait)) {
				t.Errorf("CooldownUntil = %s", got)
			}
			// During the cooldown nothing reaches the network.
			now = now.Add(tc.wantWait / 2)
			_, err = c.MediaChanged(t.Context(), time.Time{})
			if !errors.As(noteErr(err), &rl) || rl.RetryAfter != tc.wantWait/2 {
				t.Errorf("during cooldown: err = %v", err)
			}
			if _, err := c.Arm(t.Context(), 1); !errors.Is(noteErr(err), ErrRateLimited) {
				t.Errorf("Arm during cooldown: %v", err)
			}
			if cnt.total() != 1 {
				t.Errorf("requests = %d, want 1", cnt.total())
			}
			// After it, calls go out again.
			now = now.Add(tc.wantWait)
			_, _ = c.Homescreen(t.Context())
			if cnt.total() != 2 {
				t.Errorf("after cooldown requests = %d, want 2", cnt.total())
			}
		})
	}
}

func TestCooldownEscalatesWithoutRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)
	c, _, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(429)
	}), func(o *Options) { o.Now = func() time.Time { return now } })
	var got []time.Duration
	for range 7 {
		_, err := c.Homescreen(t.Context())
		var rl *RateLimitError
		if !errors.As(noteErr(err), &rl) {
			t.Fatal(err)
		}
		got = append(got, rl.RetryAfter)
		now = rl.Until
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute, 30 * time.Minute, 30 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("cooldowns = %v, want %v", got, want)
			break
		}
	}
}

func TestServerErrorsRetriedThenUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failures  int
		wantCalls int
		wantErr   error
	}{
		{"burst of two recovers", 2, 3, nil},
		{"persistent 503", 100, 1 + DefaultMaxRetries, ErrUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cnt counter
			c, _, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if cnt.add(r) <= tc.failures {
					w.WriteHeader(503)
					return
				}
				writeJSON(w, 200, `{"networks":[]}`)
			}))
			_, err := c.Homescreen(t.Context())
			noteErr(err)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if cnt.total() != tc.wantCalls {
				t.Errorf("calls = %d, want %d", cnt.total(), tc.wantCalls)
			}
			var se *StatusError
			if err != nil && (!errors.As(err, &se) || se.Code != 503) {
				t.Errorf("err %v is not a StatusError 503", err)
			}
			st := c.Stats().Requests["GET "+homescreenTmpl]
			if st[503] != min(tc.failures, tc.wantCalls) {
				t.Errorf("stats = %v", st)
			}
		})
	}
}

func TestNetworkErrorRetriedAndSanitized(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens: connection refused
	store := &MemoryTokenStore{}
	_ = store.Save(sessionTokens(time.Now()))
	var attempts atomic.Int32
	c, err := New(Options{
		OAuthURL: "http://" + addr, RESTURL: "http://" + addr + "/{tier}", Store: store, Logger: testLogger(t),
		OnRequest: func(ri RequestInfo) { attempts.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	c.retryBase = time.Millisecond
	_, err = c.MediaChanged(t.Context(), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	if !errors.Is(noteErr(err), ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if strings.Contains(err.Error(), "since=") || strings.Contains(err.Error(), "http://") {
		t.Errorf("error leaks the URL: %v", err)
	}
	if attempts.Load() != 1+DefaultMaxRetries {
		t.Errorf("attempts = %d", attempts.Load())
	}
	if got := c.Stats().Requests["GET "+mediaChangedTmpl][0]; got != 1+DefaultMaxRetries {
		t.Errorf("status-0 count = %d", got)
	}
}

func TestDecodeErrorsNameTheEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"malformed", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"networks":[{"id":1,}]}`) }},
		{"wrong structure", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"networks":{"id":1}}`) }},
		{"text/plain", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte("Service temporarily busy"))
		}},
		{"empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }},
		{"truncated JSON", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"networks":[{"id":1,"name":"Ho`) }},
		{"connection cut mid-body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5000")
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"networks":[`))
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := newTestClient(t, tc.handler)
			_, err := c.Homescreen(t.Context())
			var de *DecodeError
			if !errors.As(noteErr(err), &de) || !errors.Is(err, ErrDecode) {
				t.Fatalf("err = %T %v, want *DecodeError", err, err)
			}
			if de.Op != "GET "+homescreenTmpl {
				t.Errorf("Op = %q", de.Op)
			}
			if strings.Contains(err.Error(), "Ho") && tc.name == "truncated JSON" {
				t.Errorf("error quotes the body: %v", err)
			}
		})
	}
}

func TestBodySizeCap(t *testing.T) {
	c, _, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"networks":[`))
		chunk := []byte(strings.Repeat(`{"id":1},`, 1000))
		for written := 0; written <= maxJSONBody; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	_, err := c.Homescreen(t.Context())
	if !errors.Is(noteErr(err), ErrTooLarge) || !errors.Is(err, ErrDecode) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestRequestHeadersAndDeadline(t *testing.T) {
	var got http.Header
	var hadDeadline bool
	c, _, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		writeJSON(w, 200, `{}`)
	}))
	orig := c.http.Transport
	c.http = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		_, hadDeadline = r.Context().Deadline()
		return orig.RoundTrip(r)
	})}
	if _, err := c.Homescreen(context.Background()); err != nil {
		t.Fatal(noteErr(err))
	}
	if !hadDeadline {
		t.Error("request without deadline")
	}
	for k, want := range map[string]string{
		"Authorization": "Bearer " + testAccess,
		"User-Agent":    restUserAgent,
		"App-Build":     restAppBuild,
		"Locale":        "en_US",
	} {
		if got.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, got.Get(k), want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestStatusErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   error
	}{
		{404, `{"message":"Not Found"}`, ErrNotFound},
		{200, `{"message":"Media not found","code":700}`, ErrNotFound},
		{400, `{"code":1630,"message":"Invalid Device Type"}`, ErrNotFound},
		{406, `406 Not Acceptable`, ErrNotAcceptable},
		{409, `{"message":"System is busy"}`, ErrBusy},
		{401, `{"message":"Unauthorized Access","code":101}`, ErrUnauthorized},
	} {
		se := newStatusError("GET /x", &response{status: tc.status, body: []byte(tc.body)}, nil)
		if !errors.Is(se, tc.want) {
			t.Errorf("%d %s → %v, want %v", tc.status, tc.body, se, tc.want)
		}
	}
}

func TestStatsCountsAndHook(t *testing.T) {
	var infos []RequestInfo
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)
	f := newRestFake()
	c, _, _ := newTestClient(t, f, func(o *Options) {
		o.OnRequest = func(ri RequestInfo) { mu.Lock(); infos = append(infos, ri); mu.Unlock() }
		o.Now = func() time.Time { return now }
	})
	c.mu.Lock()
	c.tokens.ExpiresAt = now.Add(4 * time.Hour)
	c.mu.Unlock()
	for range 3 {
		if _, err := c.Homescreen(t.Context()); err != nil {
			t.Fatal(noteErr(err))
		}
	}
	now = now.Add(59 * time.Minute)
	_, _ = c.MediaChanged(t.Context(), time.Time{}) // 404 in this fake
	st := c.Stats()
	if st.Requests["GET "+homescreenTmpl][200] != 3 || st.Requests["GET "+mediaChangedTmpl][404] != 1 {
		t.Errorf("Requests = %v", st.Requests)
	}
	if st.LastHour != 4 || st.Total != 4 {
		t.Errorf("LastHour = %d, Total = %d, want 4/4", st.LastHour, st.Total)
	}
	now = now.Add(2 * time.Minute)
	if st := c.Stats(); st.LastHour != 1 {
		t.Errorf("LastHour after 61 min = %d, want 1", st.LastHour)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(infos) != 4 || infos[0].Endpoint != "GET "+homescreenTmpl || infos[0].Status != 200 {
		t.Errorf("hook saw %+v", infos)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"30", 30 * time.Second, true}, {"-1", 0, false}, {"abc", 0, false},
		{"999999", maxRetryAfter, true}, {now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	} {
		got, ok := parseRetryAfter(tc.in, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestBackoffDelayBounds(t *testing.T) {
	for attempt := 1; attempt <= 30; attempt++ {
		for range 50 {
			d := backoffDelay(500*time.Millisecond, attempt, maxRetryDelay)
			step := min(500*time.Millisecond<<min(attempt-1, 20), maxRetryDelay)
			if d < step/2 || d > step {
				t.Fatalf("attempt %d: delay %s outside [%s, %s]", attempt, d, step/2, step)
			}
		}
	}
}
