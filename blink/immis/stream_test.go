package immis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// peer is the server end of a net.Pipe: it reads the header, then counts
// the frames the client sends until the pipe closes.
type peer struct {
	conn   net.Conn
	header chan []byte

	mu     sync.Mutex
	counts map[byte]int
	seqs   []uint32 // keepalive sequence numbers
	bad    error
	closed chan struct{}
}

func newPeer(conn net.Conn) *peer {
	p := &peer{conn: conn, header: make(chan []byte, 1), counts: map[byte]int{}, closed: make(chan struct{})}
	go p.read()
	return p
}

func (p *peer) read() {
	defer close(p.closed)
	h := make([]byte, HeaderSize)
	if _, err := io.ReadFull(p.conn, h); err != nil {
		return
	}
	p.header <- h
	fr := frameReader{r: p.conn}
	for {
		typ, payload, err := fr.next()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.counts[typ]++
		switch {
		case typ == TypeKeepalive && len(payload) == 0:
			p.seqs = append(p.seqs, uint32(fr.hdr[1])<<24|uint32(fr.hdr[2])<<16|uint32(fr.hdr[3])<<8|uint32(fr.hdr[4]))
		case typ == TypeLatencyStats && bytes.Equal(payload, latencyStats[:]):
		default:
			p.bad = errors.New("unexpected client frame")
		}
		p.mu.Unlock()
	}
}

func (p *peer) count(typ byte) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[typ]
}

// dialPipe runs Dial over a net.Pipe without TLS and returns both ends.
func dialPipe(t *testing.T, o Options) (*Stream, *peer) {
	t.Helper()
	client, server := net.Pipe()
	p := newPeer(server)
	o.plain = true
	o.DialContext = func(context.Context, string, string) (net.Conn, error) { return client, nil }
	s, err := Dial(t.Context(), mustTarget(t), "G8T1940000000XYZ", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); server.Close() })
	return s, p
}

// TestStreamKeepalivesAndStats: a keepalive at once and every 10 s with a
// growing sequence, latency stats at once and every second.
func TestStreamKeepalivesAndStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, p := dialPipe(t, Options{})
		if h := <-p.header; !bytes.Equal(h, Header("G8T1940000000XYZ", mustTarget(t))) {
			t.Fatalf("server got header %x", h)
		}
		time.Sleep(30*time.Second + time.Millisecond)
		synctest.Wait()
		if k, l := p.count(TypeKeepalive), p.count(TypeLatencyStats); k != 4 || l != 31 {
			t.Errorf("after 30 s: %d keepalives, %d latency stats; want 4 and 31", k, l)
		}
		p.mu.Lock()
		if want := []uint32{1, 2, 3, 4}; !slices.Equal(p.seqs, want) || p.bad != nil {
			t.Errorf("keepalive sequences %v (want %v), bad frame: %v", p.seqs, want, p.bad)
		}
		p.mu.Unlock()
		if st := s.Stats(); st.Keepalives != 4 || st.LatencyMsg != 31 {
			t.Errorf("Stats = %+v", st)
		}
		s.Close()
		<-p.closed
	})
}

func mustTarget(t *testing.T) Target {
	t.Helper()
	tg, err := ParseTarget("immis://203.0.113.7:443/AbCdEfGhIj__IMDS_X?client_id=606199")
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// TestStreamRead: only video frames whose payload starts with the TS sync
// byte reach Read, in order; then the stream ends as the server ends it.
func TestStreamRead(t *testing.T) {
	video1, video2 := ts(376, 1), ts(188, 2)
	tests := []struct {
		name    string
		send    [][]byte
		want    []byte
		wantErr error
	}{
		{name: "video, other types and junk, clean end",
			send: [][]byte{frame(TypeVideo, 1, video1), frame(0x01, 2, []byte("status")), frame(TypeVideo, 3, []byte("not TS")),
				frame(TypeVideo, 4, nil), frame(TypeVideo, 5, video2)},
			want: append(append([]byte{}, video1...), video2...), wantErr: io.EOF},
		{name: "truncated frame ends the stream",
			send: [][]byte{frame(TypeVideo, 1, video1), frame(TypeVideo, 2, video2)[:100]},
			want: video1, wantErr: ErrTruncated},
		{name: "oversized frame ends the stream",
			send: [][]byte{frame(TypeVideo, 1, video1), {0, 0, 0, 0, 2, 0x7f, 0xff, 0xff, 0xff}},
			want: video1, wantErr: ErrBadFrame},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, p := dialPipe(t, Options{})
				<-p.header
				go func() {
					for _, f := range tc.send {
						if _, err := p.conn.Write(f); err != nil {
							return
						}
					}
					p.conn.Close()
				}()
				got, err := readAll(s)
				if !bytes.Equal(got, tc.want) {
					t.Errorf("read %d bytes, want %d", len(got), len(tc.want))
				}
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("stream ended with %v, want %v", err, tc.wantErr)
				}
				s.Close() // the sender stops: synctest fails on a leaked goroutine
			})
		})
	}
}

// readAll reads in small pieces, as a demuxer does.
func readAll(r io.Reader) ([]byte, error) {
	var out []byte
	buf := make([]byte, 100)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
	}
}

// TestStreamIdleAndClose: a silent server ends the stream after
// IdleTimeout; Close during a Read ends it at once.
func TestStreamIdleAndClose(t *testing.T) {
	t.Run("silence", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, p := dialPipe(t, Options{IdleTimeout: 5 * time.Second})
			<-p.header
			start := time.Now()
			_, err := s.Read(make([]byte, 10))
			if !errors.Is(err, ErrSilent) || time.Since(start) != 5*time.Second {
				t.Errorf("Read = %v after %s, want an error after 5s", err, time.Since(start))
			}
		})
	})
	t.Run("close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, p := dialPipe(t, Options{})
			<-p.header
			errc := make(chan error, 1)
			go func() { _, err := s.Read(make([]byte, 10)); errc <- err }()
			time.Sleep(time.Second)
			s.Close()
			if err := <-errc; !errors.Is(err, net.ErrClosed) {
				t.Errorf("Read after Close = %v, want net.ErrClosed", err)
			}
		})
	})
	t.Run("the server hangs up", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s, p := dialPipe(t, Options{})
			<-p.header
			p.conn.Close() // keepalives fail from now on; the read sees the end
			time.Sleep(11 * time.Second)
			if _, err := s.Read(make([]byte, 10)); err != io.EOF {
				t.Fatalf("Read after the server hung up = %v, want io.EOF", err)
			}
		})
	})
	t.Run("keepalives fail, the server stays silent", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			client, server := net.Pipe()
			o := Options{plain: true, IdleTimeout: 30 * time.Second,
				DialContext: func(context.Context, string, string) (net.Conn, error) { return client, nil }}
			go func() { // reads the header, then nothing: writes block until their deadline
				_, _ = io.ReadFull(server, make([]byte, HeaderSize))
			}()
			s, err := Dial(t.Context(), mustTarget(t), "", o)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { s.Close(); server.Close() }()
			_, err = s.Read(make([]byte, 10))
			if !strings.Contains(fmt.Sprint(err), "send keepalive") {
				t.Fatalf("Read = %v, want the failed keepalive named", err)
			}
		})
	})
}
