package immis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Options fields left zero.
const (
	DefaultKeepaliveEvery = 10 * time.Second
	DefaultStatsEvery     = time.Second
	DefaultIdleTimeout    = 20 * time.Second
	DefaultDialTimeout    = 10 * time.Second
	// writeTimeout bounds one write of the header or a client frame.
	writeTimeout = 5 * time.Second
)

// Options tune a Stream. The zero value is what Blink's clients do.
type Options struct {
	// KeepaliveEvery is the gap between keepalive frames (default 10 s).
	KeepaliveEvery time.Duration
	// StatsEvery is the gap between latency-stats frames (default 1 s).
	StatsEvery time.Duration
	// IdleTimeout ends the stream when no frame arrives for this long
	// (default 20 s).
	IdleTimeout time.Duration
	// DialTimeout bounds the TCP connect, TLS handshake and header
	// (default 10 s).
	DialTimeout time.Duration
	// DialContext replaces the TCP dialer (nil: net.Dialer).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)

	// plain skips TLS (the package's own tests over net.Pipe).
	plain bool
}

func (o *Options) defaults() {
	if o.KeepaliveEvery <= 0 {
		o.KeepaliveEvery = DefaultKeepaliveEvery
	}
	if o.StatsEvery <= 0 {
		o.StatsEvery = DefaultStatsEvery
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.DialContext == nil {
		o.DialContext = (&net.Dialer{}).DialContext
	}
}

// Stats counts what a Stream saw and sent.
type Stats struct {
	Frames     int64 // frames read, of every type
	Skipped    int64 // frames that carried no MPEG-TS (other types, empty, no sync byte)
	TSBytes    int64 // MPEG-TS bytes handed to Read's callers
	Keepalives int64 // keepalive frames sent
	LatencyMsg int64 // latency-stats frames sent
}

// Stream is one live view: Read returns the MPEG-TS it carries, in order,
// until the server ends it (io.EOF), a frame is broken or truncated (an
// error wrapping ErrStream), nothing arrives for IdleTimeout, a keepalive
// cannot be sent, or Close is called. Read must not be called concurrently
// with itself; Close may be called from any goroutine, more than once.
type Stream struct {
	conn    net.Conn
	frames  frameReader
	idle    time.Duration
	pending []byte // the unread rest of the current video payload

	stop      chan struct{}
	done      chan struct{} // the sender has returned
	closeOnce sync.Once
	sendErr   atomic.Pointer[error]

	frameCount, skipped, tsBytes, keepalives, statsSent atomic.Int64
}

// Dial connects to t, sends the header for the device with serial and
// starts sending keepalives. ctx bounds only the dial; Close ends the
// stream.
func Dial(ctx context.Context, t Target, serial string, o Options) (*Stream, error) {
	if t.IsZero() {
		return nil, fmt.Errorf("%w: empty target", ErrBadURL)
	}
	o.defaults()
	ctx, cancel := context.WithTimeout(ctx, o.DialTimeout)
	defer cancel()
	raw, err := o.DialContext(ctx, "tcp", t.Addr())
	if err != nil {
		return nil, fmt.Errorf("immis: connect to %s: %w", t.Addr(), err)
	}
	conn := raw
	if !o.plain {
		// Blink's live-view certificates do not match the IP address the
		// API names; the known clients skip verification. The connection
		// goes only to the host and port the API just named.
		tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("immis: TLS handshake with %s: %w", t.Addr(), err)
		}
		conn = tc
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetWriteDeadline(deadline)
	if _, err := conn.Write(Header(serial, t)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("immis: send header to %s: %w", t.Addr(), err)
	}
	s := &Stream{
		conn:   conn,
		frames: frameReader{r: conn},
		idle:   o.IdleTimeout,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go s.send(o.KeepaliveEvery, o.StatsEvery)
	return s, nil
}

// Read reads MPEG-TS bytes.
func (s *Stream) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		_ = s.conn.SetReadDeadline(time.Now().Add(s.idle))
		typ, payload, err := s.frames.next()
		if err != nil {
			return 0, s.readErr(err)
		}
		s.frameCount.Add(1)
		if typ != TypeVideo || len(payload) == 0 || payload[0] != tsSync {
			s.skipped.Add(1)
			continue
		}
		s.pending = payload
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	s.tsBytes.Add(int64(n))
	return n, nil
}

// readErr says why reading stopped: the server's clean end, Close, a
// failed keepalive, silence, or the read error itself.
func (s *Stream) readErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.EOF // the server ended the stream; a keepalive may have failed on the way
	}
	select {
	case <-s.stop:
		return fmt.Errorf("immis: %w", net.ErrClosed)
	default:
	}
	var out error
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		out = fmt.Errorf("%w (%s)", ErrSilent, s.idle)
	} else {
		out = fmt.Errorf("immis: read: %w", err)
	}
	// A keepalive that failed first is part of the story, not all of it:
	// both stay matchable with errors.Is.
	if e := s.sendErr.Load(); e != nil {
		return fmt.Errorf("%w (after %w)", out, *e)
	}
	return out
}

// send writes a keepalive every keepaliveEvery and latency stats every
// statsEvery, both at once at the start, until Close or a write fails. A
// failed write does not close the connection: a server that ended the
// stream is read to its clean end, and a dead one ends by the idle timeout.
func (s *Stream) send(keepaliveEvery, statsEvery time.Duration) {
	defer close(s.done)
	ka := time.NewTicker(keepaliveEvery)
	defer ka.Stop()
	st := time.NewTicker(statsEvery)
	defer st.Stop()
	var seq uint32
	var buf []byte
	write := func(typ byte) bool {
		if typ == TypeKeepalive {
			seq++
			buf = appendFrame(buf[:0], TypeKeepalive, seq, nil)
		} else {
			buf = appendFrame(buf[:0], TypeLatencyStats, latencyStatsSeq, latencyStats[:])
		}
		_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := s.conn.Write(buf); err != nil {
			select {
			case <-s.stop: // closing: not the stream's failure
			default:
				e := fmt.Errorf("immis: send keepalive: %w", err)
				s.sendErr.Store(&e)
			}
			return false
		}
		if typ == TypeKeepalive {
			s.keepalives.Add(1)
		} else {
			s.statsSent.Add(1)
		}
		return true
	}
	if !write(TypeKeepalive) || !write(TypeLatencyStats) {
		return
	}
	for {
		select {
		case <-s.stop:
			return
		case <-ka.C:
			if !write(TypeKeepalive) {
				return
			}
		case <-st.C:
			if !write(TypeLatencyStats) {
				return
			}
		}
	}
}

// Close ends the stream and waits for its sender.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.conn.Close()
	})
	<-s.done
	return nil
}

// Stats returns the counters so far.
func (s *Stream) Stats() Stats {
	return Stats{
		Frames: s.frameCount.Load(), Skipped: s.skipped.Load(), TSBytes: s.tsBytes.Load(),
		Keepalives: s.keepalives.Load(), LatencyMsg: s.statsSent.Load(),
	}
}
