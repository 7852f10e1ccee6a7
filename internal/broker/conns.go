package broker

import (
	"net"
	"sync"
)

// trackingListener remembers every connection it accepted until that
// connection closes, so Close can end them all.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

func track(ln net.Listener) *trackingListener {
	return &trackingListener{Listener: ln, conns: map[*trackedConn]struct{}{}}
}

// Accept is the listener's Accept; a connection accepted while Close runs
// is closed at once.
func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		_ = c.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: c, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

// Close stops accepting and closes every open connection. It is safe to
// call more than once.
func (l *trackingListener) Close() error {
	l.mu.Lock()
	l.closed = true
	open := l.conns
	l.conns = map[*trackedConn]struct{}{}
	l.mu.Unlock()
	err := l.Listener.Close()
	for c := range open {
		_ = c.Conn.Close()
	}
	return err
}

type trackedConn struct {
	net.Conn
	l *trackingListener
}

func (c *trackedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}
