package immis

import "encoding/binary"

// HeaderSize is the length of the header the client sends first.
const HeaderSize = 122

// Field sizes of the header: the serial and connection id are fixed
// 16-byte fields (zero padded, cut at 16), the token field 64 zero bytes.
const (
	serialField = 16
	tokenField  = 64
	connIDField = 16
)

// Header is the 122 bytes a client sends right after the TLS handshake:
// the magic 00 00 00 28; the device serial, length-prefixed in a 16-byte
// field; the numeric client id; 01 08; a 64-byte null token field with a
// zero length; the connection id, length-prefixed in a 16-byte field; the
// trailer 00 00 00 01. All numbers are big-endian.
func Header(serial string, t Target) []byte {
	b := make([]byte, 0, HeaderSize)
	b = append(b, 0x00, 0x00, 0x00, 0x28)
	s := []byte(serial)[:min(len(serial), serialField)]
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	b = append(b, s...)
	b = append(b, make([]byte, serialField-len(s))...)
	b = binary.BigEndian.AppendUint32(b, t.clientID)
	b = append(b, 0x01, 0x08)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = append(b, make([]byte, tokenField)...)
	// The field is always 16 bytes, and the known clients say so in its
	// length whatever the id's own length.
	b = binary.BigEndian.AppendUint32(b, connIDField)
	c := []byte(t.connID)[:min(len(t.connID), connIDField)]
	b = append(b, c...)
	b = append(b, make([]byte, connIDField-len(c))...)
	b = append(b, 0x00, 0x00, 0x00, 0x01)
	return b
}
