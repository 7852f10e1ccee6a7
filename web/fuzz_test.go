package web

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

// FuzzParseForms: any form body either yields values inside the bounds or
// an error that does not quote it; nothing panics.
func FuzzParseForms(f *testing.F) {
	for _, seed := range []string{
		url.Values{"email": {testEmail}, "password": {testPassword}}.Encode(),
		url.Values{"email": {" a@b "}, "password": {" spaced pw "}, "replace": {"1"}}.Encode(),
		url.Values{"code": {"123 456"}}.Encode(),
		url.Values{"code": {"12-34-56"}}.Encode(),
		"email=%00@x&password=%ff",
		"code=١٢٣٤٥٦", // Arabic-Indic digits are not ASCII digits
		"email=a%40b%40c&password=x",
		"code=" + strings.Repeat("9", 100),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		v, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		if lf, err := parseLoginForm(v); err == nil {
			pw := lf.password.Reveal()
			if lf.email == "" || len(lf.email) > maxEmailLen || strings.Count(lf.email, "@") != 1 || hasControl(lf.email) ||
				lf.email != strings.TrimSpace(lf.email) || !utf8.ValidString(lf.email) {
				t.Fatalf("accepted e-mail %q", lf.email)
			}
			if pw == "" || len(pw) > maxPasswordLen || hasControl(pw) || !utf8.ValidString(pw) {
				t.Fatalf("accepted password of %d bytes", len(pw))
			}
		} else if strings.Contains(err.Error(), v.Get("password")) && v.Get("password") != "" && len(v.Get("password")) > 3 {
			t.Fatalf("error %q quotes the password", err)
		}
		if code, err := parseCode(v); err == nil {
			c := code.Reveal()
			if len(c) < minCodeLen || len(c) > maxCodeLen || strings.Trim(c, "0123456789") != "" {
				t.Fatalf("accepted code %q", c)
			}
		}
	})
}

// FuzzAccess: whatever a request says about itself, only the configured
// Supervisor peer with a well-formed ingress header is trusted as ingress,
// only the right password opens the page otherwise, and headers naming the
// Supervisor count for nothing.
func FuzzAccess(f *testing.F) {
	f.Add(ingressPeer, "/api/hassio_ingress/Ab-9_x", "", "")
	f.Add("[::ffff:172.30.32.2]:1", "/api/hassio_ingress/x", "", "172.30.32.2")
	f.Add(lanAddr, "/api/hassio_ingress/x", "Basic YW55b25lOmh0dHAtU0VDUkVULXBhc3M=", "172.30.32.2")
	f.Add("172.30.32.2", "/x", "Basic !!!", "")
	f.Add("garbage", "", "Bearer x", "for=172.30.32.2")
	trusted := netip.MustParseAddr("172.30.32.2")
	a := newAccess(testHTTPPass, true, trusted, time.Now)
	f.Fuzz(func(t *testing.T, remote, ingressPath, authorization, forwarded string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Ingress-Path", ingressPath)
		r.Header.Set("Authorization", authorization)
		r.Header.Set("X-Forwarded-For", forwarded)
		w := httptest.NewRecorder()
		a.mu.Lock()
		a.failures = 0 // the guessing bound is tested elsewhere
		a.mu.Unlock()
		v, ok := a.admit(w, r, zerolog.Nop())
		switch {
		case !ok:
			if w.Code != http.StatusUnauthorized && w.Code != http.StatusTooManyRequests {
				t.Fatalf("refused with %d", w.Code)
			}
		case v.via == "ingress":
			peer, err := netip.ParseAddrPort(remote)
			if err != nil || peer.Addr().Unmap() != trusted || !validIngressPath(ingressPath) {
				t.Fatalf("trusted as ingress: peer %q, header %q", remote, ingressPath)
			}
		case v.via == "password":
			if _, pass, has := r.BasicAuth(); !has || pass != testHTTPPass {
				t.Fatalf("admitted with the password from %q", authorization)
			}
		default:
			t.Fatalf("admitted as %+v with a password configured", v)
		}
	})
}

// FuzzThumbPath: only canonical picture paths of cameras, Minis and
// doorbells are accepted.
func FuzzThumbPath(f *testing.F) {
	for _, p := range []string{"410000000/camera/630000000.jpg", "1/owl/2.jpg", "1/doorbell/3.jpg", "1/sync_module/2.jpg",
		"1/2.jpg", "../../etc/passwd", "1/camera/02.jpg", "1/camera/-2.jpg", "1/camera/2.jpg.jpg"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		k, ok := parseThumbPath(p)
		if !ok {
			return
		}
		if !k.Family.Valid() || k.Network <= 0 || k.ID <= 0 || k.String()+".jpg" != p {
			t.Fatalf("accepted %q as %+v", p, k)
		}
	})
}
