package bridge

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
	"github.com/rs/zerolog"
)

func liveFixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../blink/blinkfake/testdata/liveview.ts")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recordSink collects what relayTS writes.
type recordSink struct {
	desc    *description.Session
	packets []*rtp.Packet
	medias  []*description.Media
}

func (s *recordSink) WritePacketRTP(m *description.Media, p *rtp.Packet) error {
	s.packets, s.medias = append(s.packets, p), append(s.medias, m)
	return nil
}

// TestRelayTS: the fixture becomes one description with H.264 (SPS and PPS
// from the stream) and AAC (16 kHz mono), and RTP from the first key frame
// on; packets written before anyone watches are held and then delivered,
// none lost, video timestamps never going back.
func TestRelayTS(t *testing.T) {
	sink := &recordSink{}
	opened := 0
	open := func(d *description.Session) (rtpSink, error) {
		opened++
		sink.desc = d
		return sink, nil
	}
	calls := 0
	watched := func() bool { calls++; return calls > 20 } // the reader plays after 20 packets
	var bytesIn int
	src := &tsGuard{r: bytes.NewReader(liveFixture(t)), count: func(n int) { bytesIn += n }}
	if err := relayTS(src, open, watched, zerolog.Nop()); !errors.Is(err, io.EOF) {
		t.Fatalf("relayTS = %v, want io.EOF at the end of the clip", err)
	}
	if opened != 1 || len(sink.desc.Medias) != 2 || bytesIn != len(liveFixture(t)) {
		t.Fatalf("opened %d times, %d medias, %d of %d bytes counted", opened, len(sink.desc.Medias), bytesIn, len(liveFixture(t)))
	}
	var h *format.H264
	var aac *format.MPEG4Audio
	video := sink.desc.FindFormat(&h)
	if video == nil || len(h.SPS) == 0 || len(h.PPS) == 0 || sink.desc.FindFormat(&aac) == nil ||
		aac.Config.SampleRate != 16000 || aac.Config.ChannelCount != 1 {
		t.Fatalf("description: %+v", sink.desc.Medias)
	}
	dec, err := h.CreateDecoder()
	if err != nil {
		t.Fatal(err)
	}
	var aus, keys int
	var lastTS uint32
	for i, p := range sink.packets {
		if sink.medias[i] != video {
			continue
		}
		if aus > 0 && int32(p.Timestamp-lastTS) < 0 {
			t.Fatalf("video timestamp went back at packet %d", i)
		}
		lastTS = p.Timestamp
		au, err := dec.Decode(p)
		if errors.Is(err, rtph264.ErrMorePacketsNeeded) {
			continue
		}
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if aus == 0 && !h264.IsRandomAccess(au) {
			t.Fatal("the first access unit is not a key frame")
		}
		if h264.IsRandomAccess(au) {
			keys++
		}
		aus++
	}
	// 4 s at 15 fps with a key frame every second; the last frame has no
	// following PES to end it
	if aus < 58 || keys != 4 {
		t.Errorf("%d access units with %d key frames, want the clip's 59–60 and 4", aus, keys)
	}
}

// TestRelayTSRefuses: a stream that cannot serve ends with an error and
// opens no stream.
func TestRelayTSRefuses(t *testing.T) {
	fixture := liveFixture(t)
	noVideo := dropPID(fixture, 0x100)
	tests := []struct {
		name string
		in   []byte
		want error // nil: any error
	}{
		{"nothing", nil, io.EOF},
		{"not TS", bytes.Repeat([]byte("junk"), 5000), io.EOF},
		{"video announced but never sent", noVideo, io.EOF},
		{"cut before the first frame ends", fixture[:8*188], io.EOF},
		// mediacommon keeps at most 1 MiB while it looks for the tracks
		{"endless null packets before any tracks", bytes.Repeat(append([]byte{0x47, 0x1f, 0xff, 0x10}, make([]byte, 184)...), 8000), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opened := false
			open := func(*description.Session) (rtpSink, error) { opened = true; return &recordSink{}, nil }
			src := &tsGuard{r: bytes.NewReader(tc.in), count: func(int) {}}
			err := relayTS(src, open, func() bool { return true }, zerolog.Nop())
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) || opened {
				t.Errorf("relayTS = %v (opened %v), want %v without a stream", err, opened, tc.want)
			}
		})
	}
}

// dropPID removes one PID's packets from a TS.
func dropPID(ts []byte, pid uint16) []byte {
	var out []byte
	for p := ts; len(p) >= 188; p = p[188:] {
		if uint16(p[1]&0x1f)<<8|uint16(p[2]) != pid {
			out = append(out, p[:188]...)
		}
	}
	return out
}

// TestTSGuardBoundsOneFrame: a PES that never ends is cut off at
// maxPESBytes, wherever the reads split the packets.
func TestTSGuardBoundsOneFrame(t *testing.T) {
	pkt := make([]byte, 188)
	pkt[0], pkt[1], pkt[2], pkt[3] = 0x47, 0x01, 0x00, 0x10 // PID 0x100, no PES start
	start := append([]byte(nil), pkt...)
	start[1] |= 0x40
	stream := append(start, bytes.Repeat(pkt, maxPESBytes/188+2)...)
	g := &tsGuard{r: bytes.NewReader(stream), count: func(int) {}}
	buf := make([]byte, 1000) // not a multiple of 188
	var err error
	for err == nil {
		_, err = g.Read(buf)
	}
	if !errors.Is(err, errPESTooLarge) {
		t.Errorf("read ended with %v, want errPESTooLarge", err)
	}
}

// FuzzRelayTS feeds arbitrary bytes to the demuxer and packetizer: it ends
// (no hang, no panic escaping), and writes no more packets than the input
// could carry.
func FuzzRelayTS(f *testing.F) {
	fixture := liveFixture(f)
	f.Add(fixture[:20*188])
	f.Add(fixture[:60*188])
	f.Add(fixture[1000:9000])
	f.Add([]byte{0x47, 0x40, 0x00, 0x10, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 256<<10 {
			return
		}
		sink := &recordSink{}
		open := func(*description.Session) (rtpSink, error) { return sink, nil }
		src := &tsGuard{r: bytes.NewReader(data), count: func(int) {}}
		if err := relayTS(src, open, func() bool { return true }, zerolog.Nop()); err == nil {
			t.Fatal("relayTS returned no error at the end of its input")
		}
		if len(sink.packets) > len(data)/10+16 {
			t.Fatalf("%d packets from %d bytes", len(sink.packets), len(data))
		}
	})
}
