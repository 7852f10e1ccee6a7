package blink_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/blink/immis"
)

// fastImmis sends keepalives and stats often enough to count them in a
// test; the fake streams in real time either way.
func fastImmis(o *blink.Options) {
	o.Immis = immis.Options{KeepaliveEvery: 40 * time.Millisecond, StatsEvery: 10 * time.Millisecond, IdleTimeout: 2 * time.Second}
}

// liveClient is a client with fast keepalives against a fresh fake. At
// the end of the test its trace log is searched for every secret the fake
// handed out (live-view tokens and connection ids included).
func liveClient(t *testing.T, cfg blinkfake.Config) (*blinkfake.Server, *blink.Client) {
	t.Helper()
	var logs blink.LockedBuffer
	srv, c := loggedIn(t, cfg, fastImmis, func(o *blink.Options) {
		o.Logger = zerolog.New(zerolog.MultiLevelWriter(&logs, blink.SuiteWriter())).Level(zerolog.TraceLevel)
	})
	t.Cleanup(func() {
		out := logs.String()
		if !strings.Contains(out, "live view started") {
			t.Error("no live-view log line: the secret scan would prove little")
		}
		for _, sec := range srv.Secrets() {
			if strings.Contains(out, sec) {
				t.Errorf("secret %.6s… appears in the client's log", sec)
			}
		}
	})
	return srv, c
}

func liveOf(srv *blinkfake.Server, id int64) blinkfake.LiveviewInfo {
	for _, l := range srv.Liveviews() {
		if l.CommandID == id {
			return l
		}
	}
	return blinkfake.LiveviewInfo{}
}

// readTS reads at least n bytes and checks they are whole TS packets.
func readTS(t *testing.T, r io.Reader, n int) {
	t.Helper()
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatalf("reading %d TS bytes: %v", n, err)
	}
	for i := 0; i < n; i += 188 {
		if buf[i] != 0x47 {
			t.Fatalf("byte %d is %#x, not the TS sync byte", i, buf[i])
		}
	}
}

// TestLiveviewAgainstFake: the client's header is accepted by the fake's
// independent check, the frames become TS, keepalives and stats arrive,
// extension and end work, and ending the live view ends the stream.
func TestLiveviewAgainstFake(t *testing.T) {
	for _, fam := range []blink.Family{blink.FamilyCamera, blink.FamilyOwl, blink.FamilyDoorbell} {
		t.Run(string(fam), func(t *testing.T) {
			srv, c := liveClient(t, blinkfake.Config{})
			d := srv.DevicesOf(fam)[0]
			ctx := t.Context()
			lv, err := c.StartLiveview(ctx, d.Ref())
			if err != nil {
				t.Fatal(blink.NoteErr(err))
			}
			st, err := c.OpenLiveview(ctx, lv, d.Serial)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			readTS(t, st, 40*188)
			if n, why := srv.ImmisRejected(); n != 0 {
				t.Fatalf("the fake refused the header: %s", why)
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := srv.WaitFor(wctx, func() bool { l := liveOf(srv, lv.CommandID); return l.Keepalives >= 3 && l.LatencyStats >= 10 }); err != nil {
				t.Fatalf("keepalives and stats: %+v", liveOf(srv, lv.CommandID))
			}
			if l := liveOf(srv, lv.CommandID); l.OtherFrames != 0 || l.Family != string(fam) {
				t.Errorf("live view = %+v", l)
			}
			alive, err := c.LiveviewAlive(ctx, lv.NetworkID, lv.CommandID)
			if err != nil || !alive {
				t.Errorf("LiveviewAlive while streaming = %v, %v", alive, err)
			}
			if err := c.ExtendLiveview(ctx, lv.NetworkID, lv.CommandID); err != nil || liveOf(srv, lv.CommandID).Extensions != 1 {
				t.Errorf("ExtendLiveview: %v, %+v", err, liveOf(srv, lv.CommandID))
			}
			if err := c.EndLiveview(ctx, lv.NetworkID, lv.CommandID); err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, st); err != nil {
				t.Errorf("stream after done ended with %v, want a clean end", err)
			}
			if alive, err := c.LiveviewAlive(ctx, lv.NetworkID, lv.CommandID); err != nil || alive {
				t.Errorf("LiveviewAlive after done = %v, %v", alive, err)
			}
		})
	}
}

// TestLiveviewBrokenStreams: each broken stream ends with an error (or a
// clean end for a dropped connection), never a hang or a crash; foreign
// frames are skipped and the video goes on.
func TestLiveviewBrokenStreams(t *testing.T) {
	tests := []struct {
		name    string
		kind    blinkfake.ImmisFaultKind
		wantErr error // nil: the stream goes on
	}{
		{"oversized frame", blinkfake.ImmisOversized, immis.ErrBadFrame},
		{"truncated frame", blinkfake.ImmisTruncated, immis.ErrTruncated},
		{"dropped connection", blinkfake.ImmisDrop, io.EOF},
		{"silence", blinkfake.ImmisSilent, immis.ErrSilent},
		{"foreign frames", blinkfake.ImmisForeign, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := liveClient(t, blinkfake.Config{})
			cam := srv.DevicesOf(blink.FamilyCamera)[0]
			srv.InjectImmis(blinkfake.ImmisFault{Kind: tc.kind, AfterFrames: 10})
			lv, err := c.StartLiveview(t.Context(), cam.Ref())
			if err != nil {
				t.Fatal(blink.NoteErr(err))
			}
			st, err := c.OpenLiveview(t.Context(), lv, cam.Serial)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if tc.wantErr == nil {
				readTS(t, st, 200*188) // well past the fault
				if s := st.(*immis.Stream).Stats(); s.Skipped != 2 {
					t.Errorf("skipped %d frames, want the 2 foreign ones", s.Skipped)
				}
				return
			}
			start := time.Now()
			n, err := io.Copy(io.Discard, st)
			if tc.wantErr == io.EOF {
				if err != nil {
					t.Errorf("after %d bytes: %v, want a clean end", n, err)
				}
			} else if !errors.Is(err, tc.wantErr) {
				t.Errorf("after %d bytes: %v, want %v", n, err, tc.wantErr)
			}
			if n == 0 || time.Since(start) > 5*time.Second {
				t.Errorf("read %d bytes in %s", n, time.Since(start))
			}
		})
	}
}

// TestLiveviewRefusedByFake: a busy network answers at once; an offline
// device's stream ends before any video.
func TestLiveviewRefusedByFake(t *testing.T) {
	srv, c := liveClient(t, blinkfake.Config{})
	cams := srv.DevicesOf(blink.FamilyCamera)
	first := cams[0]
	var second blinkfake.Device
	for _, d := range cams[1:] {
		if d.NetworkID == first.NetworkID {
			second = d
		}
	}
	lv, err := c.StartLiveview(t.Context(), first.Ref())
	if err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	start := time.Now()
	if _, err := c.StartLiveview(t.Context(), second.Ref()); !errors.Is(err, blink.ErrBusy) || time.Since(start) > time.Second {
		t.Errorf("second live view on the network = %v after %s, want ErrBusy at once", err, time.Since(start))
	}
	if err := c.EndLiveview(t.Context(), lv.NetworkID, lv.CommandID); err != nil {
		t.Fatal(err)
	}

	if err := srv.SetDeviceStatusOn(second.Ref(), "offline"); err != nil {
		t.Fatal(err)
	}
	lv, err = c.StartLiveview(t.Context(), second.Ref())
	if err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	st, err := c.OpenLiveview(t.Context(), lv, second.Serial)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := io.Copy(io.Discard, st); n != 0 || err != nil {
		t.Errorf("offline device streamed %d bytes, ended with %v", n, err)
	}
	if l := liveOf(srv, lv.CommandID); l.State != "failed" {
		t.Errorf("offline live view = %+v", l)
	}
}
