package bridge

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// refusalTexts holds the fixed parts of refusals (digits in them are not
// quoted payloads).
var refusalTexts = fmt.Sprint(discovery.AuthCodeMax, MaxRequestBytes)

// FuzzParseSet: any …/set message either becomes a request for a known
// operation or is refused with a message that never quotes the payload (a
// 2FA code travels on one of these topics).
func FuzzParseSet(f *testing.F) {
	top := topicsRoot("b2m")
	seeds := []struct{ topic, payload string }{
		{"b2m/4321/alarm/set", "ARM_AWAY"},
		{"b2m/4321/555/motion_detection/set", "ON"},
		{"b2m/4321/owl-555/snapshot/set", "PRESS"},
		{"b2m/bridge/auth_code/set", "123456"},
		{"b2m/bridge/auth_submit/set", "PRESS"},
		{"b2m/4321/555/record/set", "press"},
		{"b2m/x/y/z/set", ""},
		{"other/4321/alarm/set", "DISARM"},
	}
	for _, s := range seeds {
		f.Add(s.topic, []byte(s.payload))
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		r, err := parseSet(top, topic, payload)
		if err != nil {
			msg := errorMessage(err)
			if msg == "" || len(msg) > 4*maxQuoted+200 {
				t.Fatalf("refusal message %q", msg)
			}
			// A code-like payload (digits) never comes back in the message.
			if p := strings.TrimSpace(string(payload)); len(p) >= 4 && strings.Trim(p, "0123456789") == "" &&
				strings.Contains(msg, p) && !strings.Contains(fmt.Sprintf("%q", topic), p) && !strings.Contains(refusalTexts, p) {
				t.Fatalf("refusal quotes the payload: %q", msg)
			}
			return
		}
		if _, known := opFields[r.op]; !known && r.op != discovery.BridgeAuthCode {
			t.Fatalf("accepted op %q", r.op)
		}
		if r.respond {
			t.Fatal("a …/set command asks for a response")
		}
		if r.node != "" && !validNode(r.node) {
			t.Fatalf("accepted node %q", r.node)
		}
	})
}

// FuzzCheckMP4: an accepted file starts with ftyp, holds media data and is
// at least minClipBytes long; nothing panics.
func FuzzCheckMP4(f *testing.F) {
	box := func(typ string, body []byte) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
		return append(append(b, typ...), body...)
	}
	good := append(box("ftyp", []byte("isom\x00\x00\x02\x00isomiso2avc1mp41")), box("mdat", make([]byte, 64))...)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(append(box("ftyp", nil), 0, 0, 0, 1, 'm', 'd', 'a', 't', 0, 0, 0, 0, 0, 0, 0, 16))
	f.Add([]byte(`{"message":"Media not found","code":700}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkMP4(bytes.NewReader(data)) != nil {
			return
		}
		if len(data) < minClipBytes || string(data[4:8]) != "ftyp" || !bytes.Contains(data, []byte("mdat")) {
			t.Fatalf("accepted %d bytes starting %q", len(data), data[:min(len(data), 16)])
		}
	})
}

// FuzzCheckJPEG: an accepted picture has the JPEG start marker, an end
// marker near its end and a sane size.
func FuzzCheckJPEG(f *testing.F) {
	f.Add(append(append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, make([]byte, 300)...), 0xFF, 0xD9))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xD9})
	f.Add([]byte(`{"message":"Media not found","code":700}`))
	f.Fuzz(func(t *testing.T, img []byte) {
		if checkJPEG(img) != nil {
			return
		}
		if len(img) < minThumbnailBytes || !isJPEG(img) || !bytes.Contains(img[len(img)-min(len(img), 64):], []byte{0xFF, 0xD9}) {
			t.Fatalf("accepted %d bytes", len(img))
		}
	})
}

// FuzzStateFiles: whatever the state directory holds (media cursor,
// discovery ledger, thumbnail index), the bridge starts, never moves its
// media cursor past now, and publishes valid state.
func FuzzStateFiles(f *testing.F) {
	now := time.Now()
	media, _ := json.Marshal(mediaFile{Watermark: now.Add(-time.Hour), Seen: map[int64]time.Time{1: now},
		LastEvent: map[string]time.Time{"4321/555": now, "4321/camera/555": now.Add(time.Hour)}})
	ledger, _ := json.Marshal(ledgerFile{LayoutVersion: discovery.LayoutVersion, Topics: []string{"homeassistant/sensor/x/config"}})
	idx, _ := json.Marshal(map[string]string{"4321/555": "k", "4321/owl/888": "k2", "../../x": "y"})
	f.Add(media, ledger, idx)
	f.Add([]byte(`{"watermark":"9999-12-31T23:30:00-01:00"}`), []byte(`{"topics":[""]}`), []byte(`{"1/2/3/4":""}`))
	f.Add([]byte(`null`), []byte(`[]`), []byte(`"x"`))
	f.Add([]byte(`{"watermark":"2026-01-01T00:00:00Z","last_event":{"1/2":"0000-01-01T00:30:00+01:00"}}`), []byte{}, []byte{0xff})
	f.Fuzz(func(t *testing.T, mediaJSON, ledgerJSON, indexJSON []byte) {
		dir := t.TempDir()
		write := func(name string, data []byte) {
			if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write(mediaFileName, mediaJSON)
		write(ledgerFileName, ledgerJSON)
		write(filepath.Join(thumbDirName, thumbIndexName), indexJSON)
		c := &fakeCloud{hs: testHomescreen(), session: true}
		b, p := newUnitBridge(t, c, func(o *Options) { o.StateDir = dir })
		if b.media.store.watermark.After(time.Now().Add(maxClockSkew)) {
			t.Fatalf("media cursor starts at %s, past now", b.media.store.watermark)
		}
		if err := b.pollHomescreen(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, topic := range []string{b.topics.DeviceAttributes(4321, 555), b.topics.BridgeInfo()} {
			got, _ := p.last(topic)
			if !json.Valid([]byte(got)) {
				t.Fatalf("%s = %q", topic, got)
			}
		}
		if v, _ := p.last(b.topics.DeviceEntity(4321, 555, discovery.EntityLastEvent)); v != discovery.StateNone {
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				t.Fatalf("last_event = %q", v)
			}
		}
	})
}
