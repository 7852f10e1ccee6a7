package bridge

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/description"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	"github.com/pion/rtp"
	"github.com/rs/zerolog"
)

var (
	errNoH264      = errors.New("the stream carries no H.264 video")
	errPESTooLarge = fmt.Errorf("a frame larger than %d bytes", maxPESBytes)
)

const (
	// maxPESBytes bounds one PES packet (one frame), which the demuxer
	// collects whole.
	maxPESBytes  = 8 << 20
	tsPacketSize = 188
	// maxHeld bounds the packets kept for the first reader (seconds of
	// Blink's video).
	maxHeld = 1024
)

// heldPacket is a packet kept until the first reader plays.
type heldPacket struct {
	media *description.Media
	pkt   *rtp.Packet
}

// rtpSink takes a relayed stream's RTP packets (*gortsplib.ServerStream).
type rtpSink interface {
	WritePacketRTP(*description.Media, *rtp.Packet) error
}

// relay serves a live view's MPEG-TS as one RTSP stream (see relayTS).
func (r *rtspServer) relay(src io.Reader, ready func(*gortsplib.ServerStream), watched func() bool) error {
	r.mu.Lock()
	srv := r.srv
	r.mu.Unlock()
	if srv == nil {
		return errShuttingDown
	}
	open := func(desc *description.Session) (rtpSink, error) {
		st := &gortsplib.ServerStream{Server: srv, Desc: desc}
		if err := st.Initialize(); err != nil {
			return nil, err
		}
		ready(st)
		return st, nil
	}
	return relayTS(src, open, watched, r.log)
}

// relayTS demuxes MPEG-TS and writes its H.264 (and AAC, when present) as
// RTP into the sink open returns. It opens the sink at the first SPS and
// PPS, so the stream's description carries them; frames before them could
// not be decoded and are dropped. The packets from that first key frame on
// are held until watched reports a reader (the one whose DESCRIBE started
// the session plays a moment later), so it starts with a picture instead
// of waiting a whole group of pictures for the next key frame. A panic in
// the demuxer on hostile input ends the stream with an error, not the
// daemon.
func relayTS(src io.Reader, open func(*description.Session) (rtpSink, error), watched func() bool, log zerolog.Logger) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("the MPEG-TS demuxer failed on the stream: %v", v)
		}
	}()
	// Initialize keeps what it reads until it knows the tracks, at most
	// 1 MiB (mediacommon's own bound).
	mr := &mpegts.Reader{R: src}
	if err := mr.Initialize(); err != nil {
		return fmt.Errorf("read the stream's tracks: %w", err)
	}
	var video, audio *mpegts.Track
	for _, t := range mr.Tracks() {
		switch t.Codec.(type) {
		case *mpegts.CodecH264:
			if video == nil {
				video = t
			}
		case *mpegts.CodecMPEG4Audio:
			if audio == nil {
				audio = t
			}
		}
	}
	if video == nil {
		return errNoH264
	}
	var (
		stream   rtpSink
		h264Fmt  = &format.H264{PayloadTyp: 96, PacketizationMode: 1}
		h264Med  = &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{h264Fmt}}
		aacFmt   *format.MPEG4Audio
		aacMed   *description.Media
		times    mpegts.TimeDecoder // one for all tracks, so they stay in sync
		base     = randomUint32()
		sps, pps []byte
		decErrs  int
		held     []heldPacket // non-nil while holding for the first reader
	)
	write := func(m *description.Media, p *rtp.Packet) error {
		if held != nil {
			if !watched() {
				if len(held) < maxHeld {
					held = append(held, heldPacket{m, p})
					return nil
				}
				log.Debug().Msg("nobody played the live stream in time; no longer holding its start")
			}
			for _, h := range held {
				if err := stream.WritePacketRTP(h.media, h.pkt); err != nil {
					return err
				}
			}
			held = nil
		}
		return stream.WritePacketRTP(m, p)
	}
	mr.OnDecodeError(func(error) { decErrs++ })
	if audio != nil {
		conf := audio.Codec.(*mpegts.CodecMPEG4Audio).Config
		aacFmt = &format.MPEG4Audio{PayloadTyp: 97, Config: &conf, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
		aacMed = &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{aacFmt}}
	}
	h264Enc, err := h264Fmt.CreateEncoder()
	if err != nil {
		return err
	}
	mr.OnDataH264(video, func(pts, _ int64, au [][]byte) error {
		pts = times.Decode(pts)
		if stream == nil {
			for _, n := range au {
				if len(n) == 0 {
					continue
				}
				switch h264.NALUType(n[0] & 0x1f) {
				case h264.NALUTypeSPS:
					sps = append([]byte(nil), n...)
				case h264.NALUTypePPS:
					pps = append([]byte(nil), n...)
				}
			}
			if sps == nil || pps == nil {
				return nil
			}
			h264Fmt.SPS, h264Fmt.PPS = sps, pps
			desc := &description.Session{Medias: []*description.Media{h264Med}}
			if aacMed != nil {
				desc.Medias = append(desc.Medias, aacMed)
			}
			st, err := open(desc)
			if err != nil {
				return err
			}
			stream, held = st, make([]heldPacket, 0, 64)
		}
		pkts, err := h264Enc.Encode(au)
		if err != nil {
			return nil // one bad access unit is skipped, not the stream
		}
		for _, p := range pkts {
			p.Timestamp += base + uint32(pts)
			if err := write(h264Med, p); err != nil {
				return err
			}
		}
		return nil
	})
	if audio != nil {
		aacEnc, err := aacFmt.CreateEncoder()
		if err != nil {
			return err
		}
		rate := int64(aacFmt.ClockRate())
		mr.OnDataMPEG4Audio(audio, func(pts int64, aus [][]byte) error {
			pts = times.Decode(pts)
			if stream == nil {
				return nil
			}
			pkts, err := aacEnc.Encode(aus)
			if err != nil {
				return nil
			}
			for _, p := range pkts {
				p.Timestamp += base + uint32(pts*rate/90000)
				if err := write(aacMed, p); err != nil {
					return err
				}
			}
			return nil
		})
	}
	for {
		if err := mr.Read(); err != nil {
			if decErrs > 0 {
				log.Debug().Int("decode_errors", decErrs).Msg("live stream had MPEG-TS decode errors")
			}
			return err
		}
	}
}

func randomUint32() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint32(b[:])
}

// tsGuard passes a live view's MPEG-TS through to the demuxer, counting
// bytes and bounding what the demuxer would collect for one PES packet
// (which it keeps whole until the next one starts). It is read by the
// relay's goroutine only.
type tsGuard struct {
	r     io.Reader
	count func(int)
	pkt   [tsPacketSize]byte
	pktN  int
	pes   map[uint16]int // bytes since each PID's last PES start
}

func (g *tsGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if n > 0 {
		g.count(n)
		if gerr := g.inspect(p[:n]); gerr != nil {
			return 0, gerr
		}
	}
	return n, err
}

// inspect follows the TS packets in b (resyncing on the sync byte, as the
// demuxer does) and fails when one PID's PES grows beyond maxPESBytes.
func (g *tsGuard) inspect(b []byte) error {
	if g.pes == nil {
		g.pes = map[uint16]int{}
	}
	for len(b) > 0 {
		if g.pktN == 0 && b[0] != 0x47 {
			b = b[1:]
			continue
		}
		k := copy(g.pkt[g.pktN:], b)
		g.pktN += k
		b = b[k:]
		if g.pktN < tsPacketSize {
			return nil
		}
		g.pktN = 0
		pid := uint16(g.pkt[1]&0x1f)<<8 | uint16(g.pkt[2])
		if g.pkt[1]&0x40 != 0 {
			g.pes[pid] = 0
		}
		if g.pes[pid] += tsPacketSize; g.pes[pid] > maxPESBytes {
			return errPESTooLarge
		}
	}
	return nil
}
