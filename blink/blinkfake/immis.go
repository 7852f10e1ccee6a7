package blinkfake

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strconv"
	"sync"
	"time"
)

// The live-view stream server: TLS on a loopback port, started with the
// first live view. A client sends the 122-byte header (checked field by
// field against the live view it names), then gets the fixture as framed
// MPEG-TS in real time while it sends keepalive and latency-stats frames.
// The stream ends when the live view does (done, duration over, failed).

// Frame types of the immis protocol.
const (
	immisVideo     = 0x00
	immisKeepalive = 0x0A
	immisStats     = 0x12
)

const (
	immisHeaderSize = 122
	// immisTSPerFrame is how many TS packets one video frame carries.
	immisTSPerFrame = 7
	// immisMaxClientFrame bounds a frame from the client.
	immisMaxClientFrame = 64 << 10
	immisIOTimeout      = 5 * time.Second
)

// ImmisFaultKind says how the stream server misbehaves.
type ImmisFaultKind int

// Stream faults.
const (
	// ImmisOversized sends a frame header announcing 4 GiB.
	ImmisOversized ImmisFaultKind = iota + 1
	// ImmisTruncated sends a frame header and half its payload, then closes.
	ImmisTruncated
	// ImmisDrop closes the connection.
	ImmisDrop
	// ImmisForeign sends a frame of another type and a video frame
	// without TS sync, then streams on (clients skip both).
	ImmisForeign
	// ImmisSilent stops sending but keeps the connection open.
	ImmisSilent
)

// ImmisFault is a misbehaviour of the next stream connection, after it
// sent AfterFrames video frames.
type ImmisFault struct {
	Kind        ImmisFaultKind
	AfterFrames int
}

// InjectImmis makes the next live-view stream connection misbehave.
func (s *Server) InjectImmis(f ImmisFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.immisFaults = append(s.immisFaults, f)
}

// LiveviewInfo is a snapshot of one live view the fake started.
type LiveviewInfo struct {
	CommandID  int64
	NetworkID  int64
	DeviceID   int64
	Family     string
	State      string // running, done, failed, cancelled
	Streaming  bool   // a client connected and the session is running
	Extensions int    // …/update/ calls
	// Connections counts stream connections with a right header; the
	// frame counters add up over them.
	Connections  int
	Keepalives   int
	LatencyStats int
	OtherFrames  int // client frames of other types
	VideoFrames  int // video frames sent
	BytesSent    int64
	EndsAt       time.Time // clock time the session ends without an extension
}

// Liveviews returns the live views the fake remembers, oldest first.
func (s *Server) Liveviews() []LiveviewInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
	var out []LiveviewInfo
	for _, id := range s.cmdOrder {
		c := s.commands[id]
		if c.kind != cmdLiveview {
			continue
		}
		li := LiveviewInfo{CommandID: c.id, NetworkID: c.networkID, DeviceID: c.deviceID, Family: string(c.family),
			State: c.state.String(), Streaming: c.state == cmdRunning && c.live.conns > 0}
		li.Extensions, li.Connections, li.Keepalives, li.LatencyStats = c.live.extensions, c.live.conns, c.live.keepalives, c.live.stats
		li.OtherFrames, li.VideoFrames, li.BytesSent = c.live.other, c.live.frames, c.live.bytes
		if !c.liveSince.IsZero() {
			li.EndsAt = c.liveSince.Add(c.liveFor)
		}
		out = append(out, li)
	}
	return out
}

// ImmisRejected is how many stream connections were refused for a bad
// header, and why the last one was.
func (s *Server) ImmisRejected() (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.immisRejected, s.immisRejectWhy
}

// liveStats are a live view's stream counters.
type liveStats struct {
	connID                          string
	serial                          string
	conns, keepalives, stats, other int
	frames, extensions              int
	bytes                           int64
}

// immisServer is the running stream listener.
type immisServer struct {
	ln   net.Listener
	port int
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[net.Conn]bool
}

// immisPort starts the stream server on first use and returns its port.
// Caller holds s.mu.
func (s *Server) immisPort() (int, error) {
	if s.immis != nil {
		return s.immis.port, nil
	}
	select {
	case <-s.closed:
		return 0, errors.New("blinkfake: closed")
	default:
	}
	cert, err := selfSigned()
	if err != nil {
		return 0, err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		return 0, fmt.Errorf("blinkfake: live-view listener: %w", err)
	}
	is := &immisServer{ln: ln, port: ln.Addr().(*net.TCPAddr).Port, open: map[net.Conn]bool{}}
	s.immis = is
	is.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			is.mu.Lock()
			is.open[conn] = true
			is.mu.Unlock()
			is.wg.Go(func() {
				defer func() {
					conn.Close()
					is.mu.Lock()
					delete(is.open, conn)
					is.mu.Unlock()
				}()
				s.serveImmis(conn)
			})
		}
	})
	return is.port, nil
}

// close stops the listener, ends every stream and waits for them.
func (is *immisServer) close() {
	is.ln.Close()
	is.mu.Lock()
	for c := range is.open {
		c.Close()
	}
	is.mu.Unlock()
	is.wg.Wait()
}

// selfSigned makes a throwaway certificate; like Blink's, it names no IP
// the client dialed, so only a client that skips verification connects.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "immis.blinkfake.invalid"},
		DNSNames:  []string{"immis.blinkfake.invalid"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// liveviewURL is the server URL of a live-view answer; its port is 0 (an
// unusable URL) when the listener could not start. Caller holds s.mu.
func (s *Server) liveviewURL(c *command) string {
	port, _ := s.immisPort()
	return "immis://127.0.0.1:" + strconv.Itoa(port) + "/" + c.live.connID + "__IMDS_" + c.live.serial +
		"?client_id=" + strconv.FormatInt(s.cfg.ClientID, 10)
}

// checkImmisHeader finds the running live view a header names, or says
// what is wrong with it. Caller holds s.mu.
func (s *Server) checkImmisHeader(h []byte) (*command, error) {
	u32 := func(off int) uint32 { return binary.BigEndian.Uint32(h[off : off+4]) }
	zero := func(b []byte) bool { return len(bytes.Trim(b, "\x00")) == 0 }
	switch {
	case u32(0) != 0x28:
		return nil, errors.New("bad magic")
	case u32(4) > 16 || !zero(h[8+u32(4):24]):
		return nil, errors.New("bad serial field")
	case u32(24) != uint32(s.cfg.ClientID):
		return nil, errors.New("wrong client id")
	case h[28] != 0x01 || h[29] != 0x08:
		return nil, errors.New("bad static field")
	case u32(30) != 0 || !zero(h[34:98]):
		return nil, errors.New("token field not null")
	case u32(98) != 16:
		return nil, errors.New("bad connection id length")
	case u32(118) != 1:
		return nil, errors.New("bad trailer")
	}
	serial := string(h[8 : 8+u32(4)])
	connID := string(bytes.TrimRight(h[102:118], "\x00"))
	for _, c := range s.inFlight {
		if c.kind != cmdLiveview || c.live.connID == "" || connID != c.live.connID[:min(16, len(c.live.connID))] {
			continue
		}
		if serial != c.live.serial {
			return nil, errors.New("serial is not the device's")
		}
		return c, nil
	}
	return nil, errors.New("no running live view with that connection id")
}

// serveImmis runs one stream connection.
func (s *Server) serveImmis(conn net.Conn) {
	_ = conn.SetDeadline(time.Now().Add(immisIOTimeout))
	h := make([]byte, immisHeaderSize)
	if _, err := io.ReadFull(conn, h); err != nil {
		return
	}
	s.mu.Lock()
	s.advanceAll()
	c, err := s.checkImmisHeader(h)
	var fault *ImmisFault
	switch {
	case err != nil:
		s.immisRejected++
		s.immisRejectWhy = err.Error()
	case c.fail.code != 0:
		s.finish(c, s.now()) // the device never joins: the live view fails
	default:
		if c.liveSince.IsZero() {
			c.liveSince = s.now()
		}
		c.live.conns++
		if len(s.immisFaults) > 0 {
			fault, s.immisFaults = &s.immisFaults[0], s.immisFaults[1:]
		}
	}
	s.notifyLocked()
	s.mu.Unlock()
	if err != nil || c.state != cmdRunning {
		return
	}
	_ = conn.SetDeadline(time.Time{})
	clientGone := make(chan struct{})
	go func() {
		defer close(clientGone)
		s.readImmisClient(conn, c)
	}()
	s.streamImmis(conn, c, fault, clientGone)
	conn.Close()
	<-clientGone
}

// readImmisClient counts the client's frames until it goes away or sends
// a broken one.
func (s *Server) readImmisClient(conn net.Conn, c *command) {
	var hdr [9]byte
	for {
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[5:])
		if n > immisMaxClientFrame {
			conn.Close()
			return
		}
		if _, err := io.CopyN(io.Discard, conn, int64(n)); err != nil {
			return
		}
		s.mu.Lock()
		switch {
		case hdr[0] == immisKeepalive && n == 0:
			c.live.keepalives++
		case hdr[0] == immisStats && n == 24:
			c.live.stats++
		default:
			c.live.other++
		}
		s.notifyLocked()
		s.mu.Unlock()
	}
}

// streamImmis sends the fixture in real time until the live view ends, the
// client goes away, a fault ends it or the server closes.
func (s *Server) streamImmis(conn net.Conn, c *command, fault *ImmisFault, clientGone <-chan struct{}) {
	loop, err := newTSLoop(liveviewTS)
	if err != nil {
		s.errorf("%v", err)
		return
	}
	start := time.Now()
	var seq uint32
	var buf []byte
	frame := func(typ byte, payload []byte) {
		seq++
		buf = append(buf, typ)
		buf = binary.BigEndian.AppendUint32(buf, seq)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(payload)))
		buf = append(buf, payload...)
	}
	sent := 0
	for {
		packets, due := loop.take()
		wait := time.NewTimer(time.Until(start.Add(time.Duration(due) * time.Second / tsClock)))
		select {
		case <-wait.C:
		case <-clientGone:
			wait.Stop()
			return
		case <-s.closed:
			wait.Stop()
			return
		}
		s.mu.Lock()
		s.advanceAll()
		running := c.state == cmdRunning
		s.mu.Unlock()
		if !running {
			return
		}
		buf = buf[:0]
		frames := 0
		for p := packets; len(p) > 0; frames++ {
			n := min(len(p), immisTSPerFrame*tsPacket)
			if fault != nil && sent+frames >= fault.AfterFrames {
				s.applyImmisFault(conn, fault, &buf, frame, clientGone)
				if fault.Kind != ImmisForeign {
					return
				}
				fault = nil
			}
			frame(immisVideo, p[:n])
			p = p[n:]
		}
		_ = conn.SetWriteDeadline(time.Now().Add(immisIOTimeout))
		if _, err := conn.Write(buf); err != nil {
			return
		}
		sent += frames
		s.mu.Lock()
		c.live.frames += frames
		c.live.bytes += int64(len(buf))
		s.notifyLocked()
		s.mu.Unlock()
	}
}

// applyImmisFault writes what the fault sends (after the frames already
// in buf).
func (s *Server) applyImmisFault(conn net.Conn, f *ImmisFault, buf *[]byte, frame func(byte, []byte), clientGone <-chan struct{}) {
	switch f.Kind {
	case ImmisForeign:
		frame(0x01, []byte("server-status"))
		frame(immisVideo, []byte("not a TS packet"))
		return
	case ImmisOversized:
		*buf = append(*buf, immisVideo, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff)
	case ImmisTruncated:
		frame(immisVideo, bytes.Repeat([]byte{tsSync}, 200))
		*buf = (*buf)[:len(*buf)-100]
	case ImmisSilent:
		_, _ = conn.Write(*buf)
		select {
		case <-s.closed:
		case <-clientGone:
		}
		return
	}
	_ = conn.SetWriteDeadline(time.Now().Add(immisIOTimeout))
	_, _ = conn.Write(*buf)
}
