package blinkfake

import (
	"context"
	"net/http"
	"time"
)

// Request is one request the fake answered, without secrets: of the
// headers only those that say what kind of client asked, no bodies.
type Request struct {
	Time      time.Time // clock time
	Method    string
	Path      string // including the tier prefix on the REST host
	Query     string // raw query
	Endpoint  string // Ep… name
	Status    int
	UserAgent string
	Origin    string // Origin header (browser-like form posts send one)
	Referer   string
	AppBuild  string // APP-BUILD header of the Blink apps
}

const maxRequests = 500

// Requests returns the newest requests (up to 500), oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, 0, len(s.reqLog))
	out = append(out, s.reqLog[s.reqNext:]...)
	out = append(out, s.reqLog[:s.reqNext]...)
	return out
}

func (s *Server) logRequest(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answered[r.Endpoint]++
	if len(s.reqLog) < maxRequests {
		s.reqLog = append(s.reqLog, r)
	} else {
		s.reqLog[s.reqNext] = r
		s.reqNext = (s.reqNext + 1) % maxRequests
	}
	s.notifyLocked()
}

// notifyLocked wakes every WaitFor. Caller holds mu.
func (s *Server) notifyLocked() {
	if s.changed != nil {
		close(s.changed)
	}
	s.changed = make(chan struct{})
}

// WaitFor blocks until cond returns true, re-evaluating it after every
// answered request and every control call, or until ctx ends. cond may call
// the Server's methods.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.closed:
			return http.ErrServerClosed
		}
	}
}

// WaitCount blocks until n requests to the endpoint have been answered (so
// their effects are visible), or until ctx ends. Requests still held by a
// Delay fault are counted by Count but not here; wait for those with
// WaitFor and Count.
func (s *Server) WaitCount(ctx context.Context, endpoint string, n int) error {
	return s.WaitFor(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.answered[endpoint] >= n
	})
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}
