package blinkfake

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// parseSince reads media/changed's since in every form clients send
// (Blink accepts them all): "2026-03-01T17:00:00+0000" (also with the "+" turned
// into a space by unencoded sending), "2026-03-01T17:00:00.000Z",
// "2026-03-01 17:00:00", RFC 3339 with "+00:00", a date alone, or epoch
// seconds. Empty means the beginning of time.
func parseSince(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && len(v) >= 9 {
		return time.Unix(n, 0).UTC(), nil
	}
	if len(v) > 10 && v[10] == ' ' {
		v = v[:10] + "T" + v[11:]
	}
	// an unencoded "+" in the offset arrives as a space
	v = strings.Replace(v, " ", "+", 1)
	for _, layout := range []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999Z0700",
		"2006-01-02T15:04:05.999999999Z07",
		"2006-01-02T15:04:05.999999999",
		"2006-01-02T15:04",
		"2006-01-02",
	} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("unparsable since")
}

// imageCache keeps generated JPEGs; entries are cheap to regenerate, so it
// is simply cleared when full.
type imageCache struct {
	mu sync.Mutex
	m  map[[2]int64][]byte
}

const maxImages = 256

// jpegFor returns a small real JPEG that is the same for the same (a, b)
// and visibly different otherwise (colour and bars derive from both).
func (c *imageCache) jpegFor(a, b int64) []byte {
	key := [2]int64{a, b}
	c.mu.Lock()
	if img, ok := c.m[key]; ok {
		c.mu.Unlock()
		return img
	}
	c.mu.Unlock()

	const w, h = 64, 36
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	x := uint64(a)*0x9E3779B97F4A7C15 ^ uint64(b)*0xBF58476D1CE4E5B9
	x ^= x >> 31
	bg := color.RGBA{R: uint8(x), G: uint8(x >> 8), B: uint8(x >> 16), A: 255}
	fg := color.RGBA{R: ^bg.R, G: ^bg.G, B: ^bg.B, A: 255}
	for py := 0; py < h; py++ {
		for px := 0; px < w; px++ {
			col := bg
			// 32 vertical bars encode the low bits of b
			if py > h/2 && (uint64(b)>>(px/2)&1) == 1 {
				col = fg
			}
			img.SetRGBA(px, py, col)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70}); err != nil {
		panic(err) // encoding to memory cannot fail
	}
	out := buf.Bytes()

	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxImages {
		c.m = make(map[[2]int64][]byte)
	}
	c.m[key] = out
	c.mu.Unlock()
	return out
}

// imageSeed keeps the pictures of a camera and a Mini sharing an id apart.
func imageSeed(k devKey) int64 {
	switch k.family {
	case blink.FamilyCamera:
		return k.id
	case blink.FamilyOwl:
		return k.id + 1_000_000_007 // odd, so the low bits (the colour) differ
	}
	return k.id + 2_000_000_011
}

// clipMP4 is a small MP4-looking file: an ftyp box, then an mdat box whose
// payload derives from the media id.
func clipMP4(id int64) []byte { return mp4Of(id, 512) }

// mp4Of is clipMP4 with an mdat payload of n bytes.
func mp4Of(id int64, n int) []byte {
	var b bytes.Buffer
	box := func(typ string, payload []byte) {
		_ = binary.Write(&b, binary.BigEndian, uint32(8+len(payload)))
		b.WriteString(typ)
		b.Write(payload)
	}
	box("ftyp", []byte("isom\x00\x00\x02\x00isomiso2avc1mp41"))
	payload := make([]byte, n)
	x := uint64(id)
	for i := range payload {
		x = x*6364136223846793005 + 1442695040888963407
		payload[i] = byte(x >> 56)
	}
	box("mdat", payload)
	return b.Bytes()
}
