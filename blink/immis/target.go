// Package immis is a client for Blink's live-view transport, the immis://
// URL a live-view start answers with: a TLS connection to exactly the host
// and port that URL names, a fixed 122-byte header from the client, then
// framed MPEG-TS from the server while the client sends keepalive and
// latency-stats frames. It owns that one connection and nothing else: it
// knows nothing of Blink's REST API, of tokens or of RTSP.
//
// Blink's live-view servers present certificates that do not match the IP
// address the URL names, so the connection skips certificate verification,
// as every known client does; it is pinned to the host the API just named
// and never follows anything elsewhere.
package immis

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ErrBadURL is a live-view URL that is not a usable immis:// URL. The error
// says which part is wrong and never quotes the URL, whose path and query
// name the session.
var ErrBadURL = errors.New("immis: bad live-view URL")

// maxConnIDLen bounds the connection id taken from a URL; the header
// carries 16 bytes of it.
const maxConnIDLen = 64

// Target is where a live view streams from: the host and port of an
// immis:// URL, its connection id (the last path segment before "__") and
// the numeric client id of its query. String shows host and port only.
type Target struct {
	host     string
	port     string
	connID   string
	clientID uint32
}

// ParseTarget parses and checks an immis:// URL such as
// "immis://203.0.113.7:443/AbCdEfGhIj__IMDS_G8T1940000000XYZ?client_id=606199".
// A missing port means 443.
func ParseTarget(raw string) (Target, error) {
	bad := func(format string, args ...any) (Target, error) {
		return Target{}, fmt.Errorf("%w: %s", ErrBadURL, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL")
	}
	if !strings.EqualFold(u.Scheme, "immis") {
		return bad("scheme %q is not immis", cut(u.Scheme, 16))
	}
	t := Target{host: u.Hostname(), port: u.Port()}
	if t.host == "" || strings.ContainsAny(t.host, " /") {
		return bad("no host")
	}
	if t.port == "" {
		t.port = "443"
	}
	if p, err := strconv.Atoi(t.port); err != nil || p < 1 || p > 65535 {
		return bad("port is not a number from 1 to 65535")
	}
	last := u.Path[strings.LastIndexByte(u.Path, '/')+1:]
	id, _, found := strings.Cut(last, "__")
	switch {
	case !found || id == "":
		return bad("no connection id in the path")
	case len(id) > maxConnIDLen || !printableASCII(id):
		return bad("the connection id is not short printable ASCII")
	}
	t.connID = id
	cid := u.Query().Get("client_id")
	n, err := strconv.ParseUint(cid, 10, 32)
	if err != nil || n == 0 {
		return bad("client_id is missing or not a positive 32-bit number")
	}
	t.clientID = uint32(n)
	return t, nil
}

// Addr is host:port, what Dial connects to.
func (t Target) Addr() string { return net.JoinHostPort(t.host, t.port) }

// Host is the host the URL named.
func (t Target) Host() string { return t.host }

// String is "immis://host:port": the connection and client ids name the
// session and are left out.
func (t Target) String() string { return "immis://" + t.Addr() }

// GoString keeps %#v as quiet as %v.
func (t Target) GoString() string { return t.String() }

// IsZero reports whether t came from no URL.
func (t Target) IsZero() bool { return t.host == "" }

func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// cut shortens text from outside for an error message.
func cut(s string, n int) string {
	if len(s) > n || !printableASCII(s) {
		return "(unprintable or long)"
	}
	return s
}
