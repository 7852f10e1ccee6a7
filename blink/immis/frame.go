package immis

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame types. The server sends video (MPEG-TS) frames and possibly others,
// which are skipped; the client sends keepalives and latency stats.
const (
	TypeVideo        byte = 0x00
	TypeKeepalive    byte = 0x0A
	TypeLatencyStats byte = 0x12
)

// FrameHeaderSize is the length of a frame header: type (1 byte), sequence
// (4) and payload length (4), big-endian.
const FrameHeaderSize = 9

// MaxPayload bounds one frame's payload; a longer one means the stream is
// broken (Blink's video frames are a few kilobytes).
const MaxPayload = 1 << 20

// tsSync is the first byte of every MPEG-TS packet.
const tsSync = 0x47

// Errors that end a stream. Both wrap ErrStream.
var (
	ErrStream = errors.New("immis: stream broken")
	// ErrBadFrame is a frame header announcing more than MaxPayload bytes.
	ErrBadFrame = fmt.Errorf("%w: frame too large", ErrStream)
	// ErrTruncated is a connection that ended inside a frame.
	ErrTruncated = fmt.Errorf("%w: truncated frame", ErrStream)
	// ErrSilent is a server that sent no frame for IdleTimeout.
	ErrSilent = fmt.Errorf("%w: no frame in time", ErrStream)
)

// frameReader reads frames. The payload it returns is valid until the next
// call; its buffer grows to the largest payload seen (at most MaxPayload).
type frameReader struct {
	r   io.Reader
	hdr [FrameHeaderSize]byte
	buf []byte
}

// next reads one frame. A connection that ends cleanly between frames
// gives io.EOF; anything else that is not a whole frame gives an error
// wrapping ErrStream (or the read error itself).
func (f *frameReader) next() (typ byte, payload []byte, err error) {
	if n, err := io.ReadFull(f.r, f.hdr[:]); err != nil {
		switch {
		case n == 0 && errors.Is(err, io.EOF):
			return 0, nil, io.EOF
		case errors.Is(err, io.ErrUnexpectedEOF):
			return 0, nil, fmt.Errorf("%w: %d of %d header bytes", ErrTruncated, n, FrameHeaderSize)
		}
		return 0, nil, err
	}
	size := binary.BigEndian.Uint32(f.hdr[5:9])
	if size > MaxPayload {
		return 0, nil, fmt.Errorf("%w: %d bytes announced", ErrBadFrame, size)
	}
	if cap(f.buf) < int(size) {
		f.buf = make([]byte, size)
	}
	payload = f.buf[:size]
	if n, err := io.ReadFull(f.r, payload); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, fmt.Errorf("%w: %d of %d payload bytes", ErrTruncated, n, size)
		}
		return 0, nil, err
	}
	return f.hdr[0], payload, nil
}

// appendFrame appends one frame to dst.
func appendFrame(dst []byte, typ byte, seq uint32, payload []byte) []byte {
	dst = append(dst, typ)
	dst = binary.BigEndian.AppendUint32(dst, seq)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// latencyStats is the payload of a latency-stats frame as the known
// clients send it: 24 bytes, all zero but byte 21. Its sequence is a
// constant 1000.
var latencyStats = [24]byte{21: 0x01}

const latencyStatsSeq = 1000
