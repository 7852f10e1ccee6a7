package blinkfake

import (
	_ "embed"
	"errors"
)

// liveviewTS is the video every live view streams (see
// testdata/liveview.ts.txt for how it was made).
//
//go:embed testdata/liveview.ts
var liveviewTS []byte

const (
	tsPacket  = 188
	tsSync    = 0x47
	tsClock   = 90_000
	ptsModulo = 1 << 33
)

// tsChunk is the packets of one video frame (and whatever came with it),
// due at dts on the 90 kHz clock.
type tsChunk struct {
	dts     int64
	packets []byte
}

// tsLoop plays an MPEG-TS clip over and over as one endless stream: each
// pass moves every PTS, DTS and PCR on by the clip's length and renumbers
// continuity counters, so a demuxer sees one live stream.
type tsLoop struct {
	chunks []tsChunk
	period int64 // 90 kHz ticks per pass
	cc     map[uint16]byte
	pass   int64
	next   int
}

// newTSLoop cuts clip into chunks at every video PES start. Audio outside
// the video's time span is dropped, so passes never overlap.
func newTSLoop(clip []byte) (*tsLoop, error) {
	if len(clip) < tsPacket || len(clip)%tsPacket != 0 {
		return nil, errors.New("blinkfake: live-view clip is not whole TS packets")
	}
	var (
		chunks   []tsChunk
		pending  []byte // packets before the first video PES
		videoPID = -1
		firstDTS = int64(-1)
		lastDTS  int64
	)
	for p := clip; len(p) >= tsPacket; p = p[tsPacket:] {
		pkt := p[:tsPacket]
		if pkt[0] != tsSync {
			return nil, errors.New("blinkfake: live-view clip lost TS sync")
		}
		pid := int(pkt[1]&0x1f)<<8 | int(pkt[2])
		if pes := pesStart(pkt); pes != nil && pes[3] >= 0xe0 && pes[3] <= 0xef && (videoPID < 0 || videoPID == pid) {
			videoPID = pid
			pts, dts, ok := pesTimes(pes)
			if !ok {
				return nil, errors.New("blinkfake: video PES without PTS")
			}
			if dts < 0 {
				dts = pts
			}
			if firstDTS < 0 {
				firstDTS = dts
			}
			lastDTS = dts
			chunks = append(chunks, tsChunk{dts: dts, packets: append(pending, pkt...)})
			pending = nil
			continue
		}
		if len(chunks) == 0 {
			pending = append(pending, pkt...)
			continue
		}
		c := &chunks[len(chunks)-1]
		c.packets = append(c.packets, pkt...)
	}
	if len(chunks) < 2 {
		return nil, errors.New("blinkfake: live-view clip has fewer than two video frames")
	}
	n := int64(len(chunks))
	period := (lastDTS - firstDTS) * n / (n - 1)
	drop := map[int]bool{} // a PES may span chunks
	for i := range chunks {
		chunks[i].packets = dropOtherAudio(chunks[i].packets, videoPID, firstDTS, firstDTS+period, drop)
	}
	return &tsLoop{chunks: chunks, period: period, cc: map[uint16]byte{}}, nil
}

// dropOtherAudio removes the packets of non-video PES whose PTS is not in
// [start, end); drop carries, per PID, whether the PES in progress goes.
func dropOtherAudio(packets []byte, videoPID int, start, end int64, drop map[int]bool) []byte {
	out := packets[:0:0]
	for p := packets; len(p) >= tsPacket; p = p[tsPacket:] {
		pkt := p[:tsPacket]
		pid := int(pkt[1]&0x1f)<<8 | int(pkt[2])
		if pes := pesStart(pkt); pes != nil && pid != videoPID {
			pts, _, ok := pesTimes(pes)
			drop[pid] = ok && (pts < start || pts >= end)
		}
		if !drop[pid] {
			out = append(out, pkt...)
		}
	}
	return out
}

// take returns the next chunk, rewritten for its pass, and when it is due
// (90 kHz ticks after the stream's first chunk).
func (l *tsLoop) take() (packets []byte, due int64) {
	c := l.chunks[l.next]
	shift := l.pass * l.period
	out := make([]byte, len(c.packets))
	copy(out, c.packets)
	for p := out; len(p) >= tsPacket; p = p[tsPacket:] {
		l.rewrite(p[:tsPacket], shift)
	}
	due = c.dts + shift - l.chunks[0].dts
	if l.next++; l.next == len(l.chunks) {
		l.next, l.pass = 0, l.pass+1
	}
	return out, due
}

// rewrite moves one packet's timestamps on by shift and gives it the next
// continuity counter of its PID.
func (l *tsLoop) rewrite(pkt []byte, shift int64) {
	pid := uint16(pkt[1]&0x1f)<<8 | uint16(pkt[2])
	afc := pkt[3] >> 4 & 0x3
	if afc&0x1 != 0 { // the counter moves only with a payload
		pkt[3] = pkt[3]&0xf0 | l.cc[pid]&0x0f
		l.cc[pid]++
	}
	if afc&0x2 != 0 && pkt[4] >= 7 && pkt[5]&0x10 != 0 {
		pcr := pkt[6:12]
		base := int64(pcr[0])<<25 | int64(pcr[1])<<17 | int64(pcr[2])<<9 | int64(pcr[3])<<1 | int64(pcr[4])>>7
		base = (base + shift) % ptsModulo
		pcr[0], pcr[1], pcr[2], pcr[3] = byte(base>>25), byte(base>>17), byte(base>>9), byte(base>>1)
		pcr[4] = pcr[4]&0x7f | byte(base<<7)
	}
	if pes := pesStart(pkt); len(pes) >= 14 {
		flags := pes[7] >> 6
		if flags&0x2 != 0 {
			putTime(pes[9:14], (readTime(pes[9:14])+shift)%ptsModulo)
		}
		if flags == 0x3 && len(pes) >= 19 {
			putTime(pes[14:19], (readTime(pes[14:19])+shift)%ptsModulo)
		}
	}
}

// pesStart returns the payload of a packet that starts a PES with an
// optional header (audio or video), or nil.
func pesStart(pkt []byte) []byte {
	if pkt[1]&0x40 == 0 {
		return nil
	}
	off := 4
	if pkt[3]&0x20 != 0 {
		off += 1 + int(pkt[4])
	}
	if off+9 > len(pkt) {
		return nil
	}
	pes := pkt[off:]
	if pes[0] != 0 || pes[1] != 0 || pes[2] != 1 || pes[3] < 0xc0 || pes[3] > 0xef {
		return nil
	}
	return pes
}

// pesTimes reads a PES header's PTS and DTS (dts -1 when absent).
func pesTimes(pes []byte) (pts, dts int64, ok bool) {
	flags := pes[7] >> 6
	if flags&0x2 == 0 || len(pes) < 14 {
		return 0, -1, false
	}
	pts, dts = readTime(pes[9:14]), -1
	if flags == 0x3 && len(pes) >= 19 {
		dts = readTime(pes[14:19])
	}
	return pts, dts, true
}

// readTime decodes a 33-bit PES timestamp from its 5 bytes.
func readTime(b []byte) int64 {
	return int64(b[0]>>1&0x07)<<30 | int64(b[1])<<22 | int64(b[2]>>1)<<15 | int64(b[3])<<7 | int64(b[4]>>1)
}

// putTime encodes a 33-bit timestamp, keeping the 4-bit prefix.
func putTime(b []byte, v int64) {
	b[0] = b[0]&0xf0 | byte(v>>29)&0x0e | 1
	b[1] = byte(v >> 22)
	b[2] = byte(v>>14)&0xfe | 1
	b[3] = byte(v >> 7)
	b[4] = byte(v<<1) | 1
}
