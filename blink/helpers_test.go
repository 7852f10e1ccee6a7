package blink

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// Secrets the suite uses. TestMain fails the run when any of them shows up in
// a log line or an error string produced anywhere in the suite.
const (
	testPassword = "pw-Hunter2-SECRET"
	testAccess   = "at-SECRET-0001"
	testRefresh  = "rt-SECRET-0001"
	testCode     = "731946"
	testCSRF     = "csrf-SECRET-77"
	testCookie   = "cookie-SECRET-55"
	testAuthCode = "authcode-SECRET-99"
	testVerifier = "verifier-never-logged"
)

// lockedBuffer is a goroutine-safe log sink.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *lockedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// sink collects every log line and every error string the suite produced.
var sink = &lockedBuffer{}

func TestMain(m *testing.M) {
	code := m.Run()
	out := sink.String()
	for _, sec := range []string{testPassword, testAccess, testRefresh, testCode, testCSRF, testCookie, testAuthCode,
		"at-rotated", "rt-rotated", "rt-SECRET"} {
		if i := strings.Index(out, sec); i >= 0 {
			lo := max(0, i-200)
			fmt.Fprintf(os.Stderr, "SECRET LEAK: %q found in suite logs/errors near: …%s…\n", sec, out[lo:min(len(out), i+100)])
			code = 1
		}
	}
	os.Exit(code)
}

// noteErr records an error string for the suite's secret scan and returns err.
func noteErr(err error) error {
	if err != nil {
		fmt.Fprintf(sink, "ERROR: %v | %+v | %#v\n", err, err, err)
	}
	return err
}

// testLogger writes trace-level JSON into the suite sink and to t.Log.
func testLogger(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.MultiLevelWriter(sink, zerolog.NewTestWriter(t))).Level(zerolog.TraceLevel).With().Timestamp().Logger()
}

// sessionTokens is a valid session for tests that start logged in.
func sessionTokens(now time.Time) Tokens {
	return Tokens{
		AccessToken:  testAccess,
		RefreshToken: testRefresh,
		ExpiresAt:    now.Add(4 * time.Hour),
		Tier:         "u011",
		AccountID:    1001,
		HardwareID:   "0C2A1D7E-5B0F-4E7B-9A61-3D2C1B0A9F8E",
	}
}

type clientOpt func(*Options)

// newTestClient starts an httptest server with h, and a client logged in
// (sessionTokens) whose OAuth and REST URLs point at it.
func newTestClient(t testing.TB, h http.Handler, opts ...clientOpt) (*Client, *MemoryTokenStore, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	store := &MemoryTokenStore{}
	_ = store.Save(sessionTokens(time.Now()))
	o := Options{
		OAuthURL:   srv.URL,
		RESTURL:    srv.URL + "/{tier}",
		HTTPClient: srv.Client(),
		Limiter:    rate.NewLimiter(rate.Inf, 1),
		Store:      store,
		Logger:     testLogger(t),
	}
	for _, f := range opts {
		f(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.retryBase = time.Millisecond
	c.busyBase = time.Millisecond
	ms, _ := o.Store.(*MemoryTokenStore)
	return c, ms, srv
}

// newBubbleClient is newTestClient without sockets: requests go straight to h
// in-process, so the client can run inside a synctest bubble.
func newBubbleClient(t testing.TB, h http.Handler, opts ...clientOpt) (*Client, *MemoryTokenStore) {
	t.Helper()
	store := &MemoryTokenStore{}
	_ = store.Save(sessionTokens(time.Now()))
	o := Options{
		OAuthURL:   "http://oauth.test",
		RESTURL:    "http://rest.test/{tier}",
		HTTPClient: &http.Client{Transport: handlerTransport{h}},
		Limiter:    rate.NewLimiter(rate.Inf, 1),
		Store:      store,
		Logger:     testLogger(t),
	}
	for _, f := range opts {
		f(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ms, _ := o.Store.(*MemoryTokenStore)
	return c, ms
}

// handlerTransport serves requests with an http.Handler in the calling goroutine.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	if req.Body == nil {
		req.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err // like a real transport whose request was cancelled
	}
	res := rec.Result()
	res.Request = req
	return res, nil
}

// counter counts requests per "METHOD path" in a handler.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(r *http.Request) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[string]int)
	}
	k := r.Method + " " + r.URL.Path
	c.n[k]++
	return c.n[k]
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

func (c *counter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func mustFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
