package immis

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

// unhex turns a spaced hex dump into bytes.
func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHeaderGolden: the header byte for byte, written out by hand from the
// layout (magic, serial, client id, 01 08, token, connection id, trailer).
func TestHeaderGolden(t *testing.T) {
	// Field by field, so each part of the layout is visible.
	magic := "00000028"
	token := "00000000" + strings.Repeat("00", 64)
	trailer := "00000001"
	golden := []struct {
		name, url, serial string
		serialField       string // length + 16 bytes
		clientID          string
		connField         string // length + 16 bytes
	}{
		{"16-byte serial, 10-byte connection id",
			"immis://203.0.113.7:443/AbCdEfGhIj__IMDS_G8T1940000000XYZ?client_id=606199", "G8T1940000000XYZ",
			"00000010 4738 5431 3934 3030 3030 3030 3058 595a", "00093ff7",
			"00000010 4162 4364 4566 4768 496a 0000 0000 0000"},
		{"short serial is padded",
			"immis://h/Ab__X?client_id=1", "ABC",
			"00000003 414243 00000000000000000000000000", "00000001",
			"00000010 4162 0000 0000 0000 0000 0000 0000 0000"},
		{"no serial",
			"immis://h/Ab__X?client_id=4294967295", "",
			"00000000 00000000000000000000000000000000", "ffffffff",
			"00000010 4162 0000 0000 0000 0000 0000 0000 0000"},
		{"long serial and connection id are cut at 16",
			"immis://h/0123456789abcdefXYZ__X?client_id=256", "SERIAL-0123456789-TOO-LONG",
			"00000010 5345 5249 414c 2d30 3132 3334 3536 3738", "00000100",
			"00000010 3031 3233 3435 3637 3839 6162 6364 6566"},
	}
	for _, g := range golden {
		t.Run(g.name, func(t *testing.T) {
			tg, err := ParseTarget(g.url)
			if err != nil {
				t.Fatal(err)
			}
			want := unhex(t, magic+g.serialField+g.clientID+"0108"+token+g.connField+trailer)
			if len(want) != HeaderSize {
				t.Fatalf("the golden header is %d bytes, not %d: fix the test", len(want), HeaderSize)
			}
			got := Header(g.serial, tg)
			if !bytes.Equal(got, want) {
				t.Errorf("header:\n got %x\nwant %x", got, want)
			}
		})
	}
}
