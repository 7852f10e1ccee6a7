package immis

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func frame(typ byte, seq uint32, payload []byte) []byte { return appendFrame(nil, typ, seq, payload) }

func ts(n int, fill byte) []byte {
	b := bytes.Repeat([]byte{fill}, n)
	b[0] = tsSync
	return b
}

func TestFrameReader(t *testing.T) {
	type got struct {
		typ  byte
		size int
	}
	tests := []struct {
		name    string
		in      []byte
		frames  []got
		wantErr error // after the frames; io.EOF = clean end
	}{
		{name: "two frames then a clean end",
			in:     append(frame(TypeVideo, 1, ts(188, 1)), frame(0x0B, 2, []byte("x"))...),
			frames: []got{{TypeVideo, 188}, {0x0B, 1}}, wantErr: io.EOF},
		{name: "empty payload", in: frame(TypeKeepalive, 3, nil), frames: []got{{TypeKeepalive, 0}}, wantErr: io.EOF},
		{name: "nothing at all", in: nil, wantErr: io.EOF},
		{name: "header cut short", in: frame(TypeVideo, 1, ts(10, 0))[:5], wantErr: ErrTruncated},
		{name: "payload cut short", in: frame(TypeVideo, 1, ts(100, 0))[:50], wantErr: ErrTruncated},
		{name: "second frame cut short",
			in:     append(frame(TypeVideo, 1, ts(20, 0)), frame(TypeVideo, 2, ts(20, 0))[:12]...),
			frames: []got{{TypeVideo, 20}}, wantErr: ErrTruncated},
		{name: "absurd length", in: []byte{0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x47}, wantErr: ErrBadFrame},
		{name: "just over the limit", in: []byte{0, 0, 0, 0, 1, 0x00, 0x10, 0x00, 0x01}, wantErr: ErrBadFrame},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fr := frameReader{r: bytes.NewReader(tc.in)}
			for i, want := range tc.frames {
				typ, p, err := fr.next()
				if err != nil || typ != want.typ || len(p) != want.size {
					t.Fatalf("frame %d = type %#x, %d bytes, %v; want type %#x, %d bytes", i, typ, len(p), err, want.typ, want.size)
				}
			}
			_, _, err := fr.next()
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("after the frames: %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != io.EOF && !errors.Is(err, ErrStream) {
				t.Errorf("%v does not wrap ErrStream", err)
			}
		})
	}
}
