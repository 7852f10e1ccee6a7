package blinkfake_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

// liveStart is a live-view answer, as the tests read it.
type liveStart struct {
	CommandID        int64  `json:"command_id"`
	Server           string `json:"server"`
	Duration         int    `json:"duration"`
	ContinueInterval int    `json:"continue_interval"`
}

// startLive starts a live view of d through the REST API.
func startLive(t *testing.T, c *raw, d blinkfake.Device) liveStart {
	t.Helper()
	path := map[blink.Family]string{
		blink.FamilyCamera: "/api/v6/accounts/%d/networks/%d/cameras/%d/liveview",
		blink.FamilyOwl:    "/api/v2/accounts/%d/networks/%d/owls/%d/liveview",
	}[d.Family]
	r := c.rest("POST", fmt.Sprintf(path, c.srv.AccountID(), d.NetworkID, d.ID),
		map[string]any{"intent": "liveview", "motion_event_start_time": nil})
	var lv liveStart
	if r.status != 200 {
		t.Fatalf("live view: %d %s", r.status, r.body)
	}
	r.json(t, &lv)
	return lv
}

// header builds the 122-byte header field by field, independently of the
// client's own code.
type header struct {
	magic    uint32
	serial   string
	clientID uint32
	static   [2]byte
	tokenLen uint32
	token    byte // value of every token byte
	connLen  uint32
	connID   string
	trailer  uint32
}

func headerFor(t *testing.T, lv liveStart, serial string) header {
	t.Helper()
	u, err := url.Parse(lv.Server)
	if err != nil {
		t.Fatal(err)
	}
	var cid uint32
	if _, err := fmt.Sscan(u.Query().Get("client_id"), &cid); err != nil {
		t.Fatalf("client_id in %q: %v", lv.Server, err)
	}
	conn, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "__")
	return header{magic: 0x28, serial: serial, clientID: cid, static: [2]byte{1, 8}, connLen: 16, connID: conn, trailer: 1}
}

func (h header) bytes() []byte {
	b := binary.BigEndian.AppendUint32(nil, h.magic)
	b = binary.BigEndian.AppendUint32(b, uint32(len(h.serial)))
	b = append(b, (h.serial + strings.Repeat("\x00", 16))[:16]...)
	b = binary.BigEndian.AppendUint32(b, h.clientID)
	b = append(b, h.static[:]...)
	b = binary.BigEndian.AppendUint32(b, h.tokenLen)
	b = append(b, bytes.Repeat([]byte{h.token}, 64)...)
	b = binary.BigEndian.AppendUint32(b, h.connLen)
	b = append(b, (h.connID + strings.Repeat("\x00", 16))[:16]...)
	return binary.BigEndian.AppendUint32(b, h.trailer)
}

// dialLive connects to the answer's stream server and sends hdr.
func dialLive(t *testing.T, lv liveStart, hdr []byte) net.Conn {
	t.Helper()
	u, err := url.Parse(lv.Server)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "immis" || u.Hostname() != "127.0.0.1" {
		t.Fatalf("server %q is not an immis URL on loopback", lv.Server)
	}
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(hdr); err != nil {
		t.Fatal(err)
	}
	return conn
}

// readFrame reads one server frame.
func readFrame(conn net.Conn) (byte, []byte, error) {
	var h [9]byte
	if _, err := io.ReadFull(conn, h[:]); err != nil {
		return 0, nil, err
	}
	p := make([]byte, binary.BigEndian.Uint32(h[5:]))
	_, err := io.ReadFull(conn, p)
	return h[0], p, err
}

func clientFrame(typ byte, seq uint32, payload []byte) []byte {
	b := append([]byte{typ}, binary.BigEndian.AppendUint32(nil, seq)...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	return append(b, payload...)
}

func waitFake(t *testing.T, srv *blinkfake.Server, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := srv.WaitFor(ctx, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

func liveInfo(srv *blinkfake.Server, id int64) blinkfake.LiveviewInfo {
	for _, l := range srv.Liveviews() {
		if l.CommandID == id {
			return l
		}
	}
	return blinkfake.LiveviewInfo{}
}

// TestImmisStreamsTheFixture: a right header gets video frames of whole TS
// packets; the fake counts the client's keepalives and latency stats.
func TestImmisStreamsTheFixture(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{})
	cam := srv.DevicesOf(blink.FamilyCamera)[0]
	lv := startLive(t, c, cam)
	conn := dialLive(t, lv, headerFor(t, lv, cam.Serial).bytes())
	var ts []byte
	for len(ts) < 20*188 {
		typ, p, err := readFrame(conn)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(ts), err)
		}
		if typ != 0 || len(p)%188 != 0 {
			t.Fatalf("frame of type %#x with %d bytes", typ, len(p))
		}
		ts = append(ts, p...)
	}
	for i := 0; i < len(ts); i += 188 {
		if ts[i] != 0x47 {
			t.Fatalf("byte %d is %#x, not the TS sync byte", i, ts[i])
		}
	}
	var out []byte
	out = append(out, clientFrame(0x0A, 1, nil)...)
	for range 3 {
		out = append(out, clientFrame(0x12, 1000, make([]byte, 24))...)
	}
	out = append(out, clientFrame(0x0A, 2, nil)...)
	if _, err := conn.Write(out); err != nil {
		t.Fatal(err)
	}
	waitFake(t, srv, "the client frames and the video counted", func() bool {
		l := liveInfo(srv, lv.CommandID)
		return l.Keepalives == 2 && l.LatencyStats == 3 && l.BytesSent >= int64(len(ts)) // what the client read
	})
	if l := liveInfo(srv, lv.CommandID); !l.Streaming || l.Connections != 1 || l.VideoFrames < len(ts)/(7*188) || l.State != "running" {
		t.Errorf("live view = %+v", l)
	}
}

// TestImmisHeaderChecked: each field of the header is checked; a wrong one
// gets the connection closed without a frame.
func TestImmisHeaderChecked(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{})
	cam := srv.DevicesOf(blink.FamilyCamera)[0]
	lv := startLive(t, c, cam)
	tests := []struct {
		name string
		edit func(*header)
		why  string
	}{
		{"magic", func(h *header) { h.magic = 0x29 }, "magic"},
		{"another device's serial", func(h *header) { h.serial = "G8V1NOTTHISONE" }, "serial"},
		{"client id", func(h *header) { h.clientID++ }, "client id"},
		{"static field", func(h *header) { h.static = [2]byte{1, 9} }, "static"},
		{"token length", func(h *header) { h.tokenLen = 64 }, "token"},
		{"token bytes", func(h *header) { h.token = 'x' }, "token"},
		{"connection id length", func(h *header) { h.connLen = 10 }, "connection id length"},
		{"unknown connection id", func(h *header) { h.connID = "zzzzzzzzzz" }, "connection id"},
		{"trailer", func(h *header) { h.trailer = 2 }, "trailer"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := headerFor(t, lv, cam.Serial)
			tc.edit(&h)
			conn := dialLive(t, lv, h.bytes())
			if typ, _, err := readFrame(conn); err == nil {
				t.Fatalf("got a frame of type %#x for a bad header", typ)
			}
			n, why := srv.ImmisRejected()
			if n != i+1 || !strings.Contains(why, tc.why) {
				t.Errorf("rejected %d (want %d), last because %q (want %q)", n, i+1, why, tc.why)
			}
		})
	}
	if l := liveInfo(srv, lv.CommandID); l.Connections != 0 {
		t.Errorf("bad headers counted as connections: %+v", l)
	}
}

// TestImmisStreamEndsWithTheLiveview: done, its duration passing, an
// offline device — each ends the stream from the server side.
func TestImmisStreamEndsWithTheLiveview(t *testing.T) {
	tests := []struct {
		name string
		end  func(srv *blinkfake.Server, c *raw, clock *blinkfake.Clock, cam blinkfake.Device, lv liveStart)
		// offline: the device is offline before the stream connects
		offline bool
		state   string
	}{
		{name: "done", state: "done", end: func(_ *blinkfake.Server, c *raw, _ *blinkfake.Clock, cam blinkfake.Device, lv liveStart) {
			c.rest("POST", fmt.Sprintf("/network/%d/command/%d/done/", cam.NetworkID, lv.CommandID), nil)
		}},
		{name: "duration over", state: "done", end: func(_ *blinkfake.Server, _ *raw, clock *blinkfake.Clock, _ blinkfake.Device, _ liveStart) {
			clock.Add(301 * time.Second)
		}},
		{name: "offline device", offline: true, state: "failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			srv, c := authed(t, blinkfake.Config{Now: clock.Now})
			cam := srv.DevicesOf(blink.FamilyCamera)[0]
			if tc.offline {
				if err := srv.SetDeviceStatusOn(cam.Ref(), "offline"); err != nil {
					t.Fatal(err)
				}
			}
			lv := startLive(t, c, cam)
			conn := dialLive(t, lv, headerFor(t, lv, cam.Serial).bytes())
			if !tc.offline {
				if _, _, err := readFrame(conn); err != nil {
					t.Fatalf("no first frame: %v", err)
				}
				tc.end(srv, c, clock, cam, lv)
			}
			var err error
			for err == nil {
				_, _, err = readFrame(conn)
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("stream ended with %v, want the server closing it", err)
			}
			if l := liveInfo(srv, lv.CommandID); l.State != tc.state || l.Streaming {
				t.Errorf("live view = %+v, want %s", l, tc.state)
			}
		})
	}
}

// TestLiveviewExtension: …/update/ moves the end by a duration, up to 90
// minutes in all; the network stays busy while the live view runs.
func TestLiveviewExtension(t *testing.T) {
	clock := newClock()
	srv, c := authed(t, blinkfake.Config{Now: clock.Now, LiveviewDuration: 100 * time.Second})
	cam := srv.DevicesOf(blink.FamilyCamera)[0]
	lv := startLive(t, c, cam)
	if lv.Duration != 100 || lv.ContinueInterval != 100 {
		t.Errorf("answer durations %d/%d, want 100/100", lv.Duration, lv.ContinueInterval)
	}
	conn := dialLive(t, lv, headerFor(t, lv, cam.Serial).bytes())
	if _, _, err := readFrame(conn); err != nil {
		t.Fatal(err)
	}
	start := clock.Now()
	update := fmt.Sprintf("/network/%d/command/%d/update/", cam.NetworkID, lv.CommandID)
	clock.Add(80 * time.Second)
	if r := c.rest("POST", update, nil); r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.body)
	}
	if l := liveInfo(srv, lv.CommandID); l.Extensions != 1 || !l.EndsAt.Equal(start.Add(180*time.Second)) {
		t.Errorf("after one extension: %+v, want the end at +180s", l)
	}
	for range 60 {
		clock.Add(90 * time.Second)
		c.rest("POST", update, nil)
	}
	if l := liveInfo(srv, lv.CommandID); l.State != "done" || l.EndsAt.After(start.Add(5400*time.Second)) {
		t.Errorf("after 90 minutes of extensions: %+v, want done by +5400s", l)
	}
	if r := c.rest("POST", fmt.Sprintf("/network/%d/command/%d/update/", cam.NetworkID, 999), nil); r.status != 404 {
		t.Errorf("update of an unknown command: %d", r.status)
	}
}
