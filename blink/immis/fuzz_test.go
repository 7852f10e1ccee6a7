package immis

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// byteConn is a net.Conn that reads from a byte slice and discards writes.
type byteConn struct {
	net.Conn
	r *bytes.Reader
}

func (c byteConn) Read(p []byte) (int, error)     { return c.r.Read(p) }
func (byteConn) SetReadDeadline(time.Time) error  { return nil }
func (byteConn) SetWriteDeadline(time.Time) error { return nil }
func (byteConn) Close() error                     { return nil }
func (byteConn) Write(p []byte) (int, error)      { return len(p), nil }
func (byteConn) SetDeadline(time.Time) error      { return nil }
func newByteStream(data []byte) *Stream {
	c := byteConn{r: bytes.NewReader(data)}
	return &Stream{conn: c, frames: frameReader{r: c}, idle: time.Second, stop: make(chan struct{}), done: make(chan struct{})}
}

// framed wraps the shared live-view fixture in video frames of at most
// size bytes.
func framed(f *testing.F, size int) []byte {
	f.Helper()
	data, err := os.ReadFile("../blinkfake/testdata/liveview.ts")
	if err != nil {
		f.Fatal(err)
	}
	var out []byte
	for seq := uint32(0); len(data) > 0; seq++ {
		n := min(size, len(data))
		out = appendFrame(out, TypeVideo, seq, data[:n])
		data = data[n:]
	}
	return out
}

// FuzzStreamRead feeds arbitrary server bytes to a Stream: it never panics,
// hands out exactly the payloads of well-formed video frames that start
// with the TS sync byte, and ends with io.EOF or an error wrapping
// ErrStream.
func FuzzStreamRead(f *testing.F) {
	full := framed(f, 188*7)
	f.Add(full[:4096])
	f.Add(full[:len(full)/3])
	f.Add(framed(f, 1000)[:3000])
	f.Add([]byte{0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff})
	f.Add(append(frame(0x01, 1, []byte("junk")), frame(TypeVideo, 2, ts(188, 0))[:50]...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := readAll(newByteStream(data))
		if !errors.Is(err, io.EOF) && !errors.Is(err, ErrStream) {
			t.Fatalf("stream ended with %v", err)
		}
		if want := expectedTS(data); !bytes.Equal(got, want) {
			t.Fatalf("read %d TS bytes, want %d", len(got), len(want))
		}
	})
}

// expectedTS is the reference: walk the frames by hand and keep the
// payloads Read must return.
func expectedTS(data []byte) []byte {
	var out []byte
	for len(data) >= FrameHeaderSize {
		size := binary.BigEndian.Uint32(data[5:9])
		if size > MaxPayload || uint64(len(data)-FrameHeaderSize) < uint64(size) {
			break
		}
		p := data[FrameHeaderSize : FrameHeaderSize+int(size)]
		if data[0] == TypeVideo && size > 0 && p[0] == tsSync {
			out = append(out, p...)
		}
		data = data[FrameHeaderSize+int(size):]
	}
	return out
}
