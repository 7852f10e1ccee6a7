package blinkfake

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestTSLoopIsOneStream: three passes of the fixture read as one stream —
// video DTS, audio PTS and PCR only move forward, continuity counters
// never skip, and the chunks are due when their frames are.
func TestTSLoopIsOneStream(t *testing.T) {
	l, err := newTSLoop(liveviewTS)
	if err != nil {
		t.Fatal(err)
	}
	if l.period != 4*tsClock {
		t.Errorf("pass length %d ticks, want 4 s (%d)", l.period, 4*tsClock)
	}
	var stream []byte
	lastDue := int64(-1)
	for range 3 * len(l.chunks) {
		p, due := l.take()
		if due <= lastDue {
			t.Fatalf("chunk due at %d after one due at %d", due, lastDue)
		}
		lastDue = due
		stream = append(stream, p...)
	}
	if want := 3*l.period - l.period/int64(len(l.chunks)); lastDue != want {
		t.Errorf("last chunk due at %d, want %d", lastDue, want)
	}
	last := map[int]int64{} // pid → last PTS or DTS
	cc := map[int]int{}     // pid → last continuity counter
	lastPCR := int64(-1)
	for p := stream; len(p) > 0; p = p[tsPacket:] {
		pkt := p[:tsPacket]
		pid := int(pkt[1]&0x1f)<<8 | int(pkt[2])
		if pkt[3]&0x10 != 0 {
			want := 0
			if prev, ok := cc[pid]; ok {
				want = (prev + 1) & 0x0f
			}
			if got := int(pkt[3] & 0x0f); got != want {
				t.Fatalf("pid %#x: continuity %d after %d", pid, got, cc[pid])
			}
			cc[pid] = int(pkt[3] & 0x0f)
		}
		if pkt[3]&0x20 != 0 && pkt[4] >= 7 && pkt[5]&0x10 != 0 {
			b := pkt[6:]
			pcr := int64(b[0])<<25 | int64(b[1])<<17 | int64(b[2])<<9 | int64(b[3])<<1 | int64(b[4])>>7
			if pcr <= lastPCR {
				t.Fatalf("PCR %d after %d", pcr, lastPCR)
			}
			lastPCR = pcr
		}
		if pes := pesStart(pkt); pes != nil {
			pts, dts, _ := pesTimes(pes)
			if dts < 0 {
				dts = pts
			}
			if prev, ok := last[pid]; ok && dts <= prev {
				t.Fatalf("pid %#x: time %d after %d", pid, dts, prev)
			}
			last[pid] = dts
		}
	}
	if len(last) != 2 {
		t.Errorf("streams with timestamps: %d, want video and audio", len(last))
	}
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Log("ffprobe not installed; skipping its check of the looped stream")
		return
	}
	cmd := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "json", "-i", "pipe:0")
	cmd.Stdin = bytes.NewReader(stream)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe: %v: %s", err, stderr.String())
	}
	var probe struct {
		Streams []struct {
			Codec string `json:"codec_name"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatalf("ffprobe printed %q: %v", out, err)
	}
	var got []string
	for _, s := range probe.Streams {
		got = append(got, s.Codec)
	}
	if strings.Join(got, ",") != "h264,aac" {
		t.Errorf("ffprobe sees streams %q, want h264 and aac", got)
	}
}
