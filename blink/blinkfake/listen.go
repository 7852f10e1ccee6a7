package blinkfake

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// TB is the part of testing.TB the fake uses; *testing.T and *testing.B
// satisfy it. The fake does not import package testing, so a program that
// serves it (the demo) links no test code.
type TB interface {
	Helper()
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Cleanup(func())
}

// localServer is a plain net/http server on a fresh 127.0.0.1 port.
type localServer struct {
	url  string
	srv  *http.Server
	done chan struct{} // closed when Serve returned

	mu    sync.Mutex
	fresh map[net.Conn]bool // accepted, no request read yet
}

// shutdownGrace bounds how long Close waits for requests in flight.
const shutdownGrace = 5 * time.Second

func serveLocal(h http.Handler) (*localServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("blinkfake: listen: %w", err)
	}
	ls := &localServer{
		url:   "http://" + ln.Addr().String(),
		srv:   &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		done:  make(chan struct{}),
		fresh: map[net.Conn]bool{},
	}
	ls.srv.ConnState = func(c net.Conn, st http.ConnState) {
		ls.mu.Lock()
		defer ls.mu.Unlock()
		if st == http.StateNew {
			ls.fresh[c] = true
		} else {
			delete(ls.fresh, c)
		}
	}
	go func() {
		defer close(ls.done)
		// Serve ends with ErrServerClosed on Close; any other end (a broken
		// listener) shows as refused connections, which clients handle.
		_ = ls.srv.Serve(ln)
	}()
	return ls, nil
}

// Close stops accepting, lets the requests in flight finish (the fake ends
// its held ones when it closes) and then drops every connection. A
// connection that has sent no request yet is dropped at once: Shutdown
// would wait 5 s for it.
func (ls *localServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	ls.srv.SetKeepAlivesEnabled(false)
	ls.mu.Lock()
	for c := range ls.fresh {
		_ = c.Close()
	}
	ls.mu.Unlock()
	if ls.srv.Shutdown(ctx) != nil {
		_ = ls.srv.Close()
	}
	<-ls.done
}
