package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/liberrors"
	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// rtspServer is the RTSP side of liveviews: the server on RTSP_LISTEN
// (TCP, and UDP on the next two ports from the next even one: :8554 →
// 8556 and 8557) and its handler. gortsplib calls the handler from its
// connection and session goroutines; a reader's session is remembered in
// its gortsplib session's user data, which only that session's goroutine
// touches.
type rtspServer struct {
	live *liveviews
	log  zerolog.Logger
	user string
	pass blink.Secret

	mu  sync.Mutex
	srv *gortsplib.Server // nil until listen, and after close
	tcp net.Addr
	udp [2]net.Addr
}

// liveReader is one RTSP session reading a live stream.
type liveReader struct {
	s *liveSession
}

// listen binds the TCP and UDP ports and starts serving.
func (r *rtspServer) listen(addr, user string, pass blink.Secret) error {
	ln, rtp, rtcp, err := bindRTSP(addr)
	if err != nil {
		return fmt.Errorf("bridge: RTSP: %w", err)
	}
	r.user, r.pass = user, pass // before the handler can run; never changed after
	srv := &gortsplib.Server{
		Handler:        r,
		RTSPAddress:    ln.Addr().String(),
		UDPRTPAddress:  rtp.LocalAddr().String(),
		UDPRTCPAddress: rtcp.LocalAddr().String(),
		// The sockets are bound already, so the UDP ports are known
		// before a reader asks (and :0 works in tests).
		Listen: func(string, string) (net.Listener, error) { return ln, nil },
		ListenPacket: func(_, address string) (net.PacketConn, error) {
			if address == rtp.LocalAddr().String() {
				return rtp, nil
			}
			return rtcp, nil
		},
	}
	if err := srv.Start(); err != nil {
		ln.Close()
		rtp.Close()
		rtcp.Close()
		return fmt.Errorf("bridge: RTSP: %w", err)
	}
	r.mu.Lock()
	r.srv = srv
	r.tcp, r.udp = ln.Addr(), [2]net.Addr{rtp.LocalAddr(), rtcp.LocalAddr()}
	r.mu.Unlock()
	r.log.Info().Str("rtsp", ln.Addr().String()).Str("udp", rtp.LocalAddr().String()+"+"+
		strconv.Itoa(rtcp.LocalAddr().(*net.UDPAddr).Port)).Bool("auth", user != "").Msg("RTSP server listening")
	return nil
}

// bindRTSP binds addr over TCP and the RTP/RTCP pair over UDP on the same
// host: the first even port above the TCP port and the one after it. With
// port 0 it retries until a free pair turns up.
func bindRTSP(addr string) (net.Listener, *net.UDPConn, *net.UDPConn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, nil, err
	}
	for range 20 {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, nil, nil, err
		}
		p := ln.Addr().(*net.TCPAddr).Port
		rtpPort := (p/2 + 1) * 2
		rtp, err1 := net.ListenUDP("udp", udpAddr(host, rtpPort))
		var rtcp *net.UDPConn
		if err1 == nil {
			rtcp, err1 = net.ListenUDP("udp", udpAddr(host, rtpPort+1))
			if err1 != nil {
				rtp.Close()
			}
		}
		if err1 == nil {
			return ln, rtp, rtcp, nil
		}
		ln.Close()
		if port != "0" {
			return nil, nil, nil, fmt.Errorf("UDP ports %d and %d: %w", rtpPort, rtpPort+1, err1)
		}
	}
	return nil, nil, nil, errors.New("no free UDP port pair next to a TCP port")
}

func udpAddr(host string, port int) *net.UDPAddr {
	a := &net.UDPAddr{Port: port}
	if host != "" {
		a.IP = net.ParseIP(host)
	}
	return a
}

// addr is the bound TCP address (nil before listen).
func (r *rtspServer) addr() net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tcp
}

// close stops the server; its readers are disconnected.
func (r *rtspServer) close() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// authorize checks a reader's credentials when RTSP_USERNAME is set: no
// credentials get 401 with a challenge, wrong ones a closed connection.
func (r *rtspServer) authorize(c *gortsplib.ServerConn, req *base.Request) (*base.Response, error) {
	if r.user == "" || c.VerifyCredentials(req, r.user, r.pass.Reveal()) {
		return nil, nil
	}
	return &base.Response{StatusCode: base.StatusUnauthorized}, liberrors.ErrServerAuth{}
}

// stream finds or starts the session of path and waits for it.
func (r *rtspServer) stream(path string) (*liveSession, *base.Response) {
	key, ok := r.live.resolvePath(path)
	if !ok {
		r.log.Debug().Str("path", short(path)).Msg("RTSP request for an unknown path")
		return nil, &base.Response{StatusCode: base.StatusNotFound}
	}
	ctx, cancel := context.WithTimeout(context.Background(), liveStartTimeout+liveEndTimeout)
	defer cancel()
	s, err := r.live.acquire(ctx, key)
	if err == nil {
		return s, nil
	}
	le := r.live.classify(err)
	status := le.status
	return nil, &base.Response{StatusCode: status, StatusMessage: base.StatusMessages[status] + " (" + livePhrase(le.reason) + ")"}
}

// livePhrase is the short reason in an RTSP status line.
func livePhrase(reason string) string {
	switch reason {
	case LiveFailOffline:
		return "device offline"
	case LiveFailBusy:
		return "network busy: Blink streams one device per network"
	case LiveFailUnsupported:
		return "no live view for this camera"
	case LiveFailAuth:
		return "Blink login needed"
	case LiveFailRateLimited:
		return "Blink rate limit"
	case LiveFailTimeout:
		return "no video in time"
	case LiveFailNoVideo:
		return "stream ended before any video"
	case LiveFailShutdown:
		return "shutting down"
	}
	return "Blink error"
}

// OnDescribe implements gortsplib.ServerHandlerOnDescribe: the first
// reader of a path starts its live view.
func (r *rtspServer) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if res, err := r.authorize(ctx.Conn, ctx.Request); res != nil {
		return res, nil, err
	}
	s, res := r.stream(ctx.Path)
	if res != nil {
		return res, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, s.stream, nil
}

// OnSetup implements gortsplib.ServerHandlerOnSetup.
func (r *rtspServer) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	if res, err := r.authorize(ctx.Conn, ctx.Request); res != nil {
		return res, nil, err
	}
	s, res := r.stream(ctx.Path)
	if res != nil {
		return res, nil, nil
	}
	// A reader counts from its first SETUP, so the idle timer cannot end
	// the live view between SETUP and PLAY (a slow player would get a
	// stream that never plays).
	if _, ok := ctx.Session.UserData().(*liveReader); !ok {
		if !r.live.addReader(s) {
			return &base.Response{StatusCode: base.StatusServiceUnavailable, StatusMessage: "Service Unavailable (the live view just ended; try again)"}, nil, nil
		}
		ctx.Session.SetUserData(&liveReader{s: s})
	}
	return &base.Response{StatusCode: base.StatusOK}, s.stream, nil
}

// OnPlay implements gortsplib.ServerHandlerOnPlay: a reader plays the live
// view it set up, unless that ended meanwhile.
func (r *rtspServer) OnPlay(ctx *gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	if rd, ok := ctx.Session.UserData().(*liveReader); ok && r.live.ended(rd.s) {
		return &base.Response{StatusCode: base.StatusServiceUnavailable, StatusMessage: "Service Unavailable (the live view ended; try again)"}, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// OnSessionClose implements gortsplib.ServerHandlerOnSessionClose: the
// last reader to leave starts the idle timer.
func (r *rtspServer) OnSessionClose(ctx *gortsplib.ServerHandlerOnSessionCloseCtx) {
	if rd, ok := ctx.Session.UserData().(*liveReader); ok {
		ctx.Session.SetUserData(nil)
		r.live.removeReader(rd.s)
	}
}

// OnConnClose implements gortsplib.ServerHandlerOnConnClose.
func (r *rtspServer) OnConnClose(ctx *gortsplib.ServerHandlerOnConnCloseCtx) {
	if ctx.Error != nil && !strings.Contains(ctx.Error.Error(), "EOF") {
		r.log.Debug().Err(ctx.Error).Msg("RTSP connection closed")
	}
}
