package blink

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Redirects. Go's http.Client re-sends Authorization to another port or
// scheme of the same host and re-sends a 307/308 body (a refresh token, a
// password) to any host, so the pipeline decides per call what a 3xx means.

// redirectPolicy is what the pipeline does when a call is answered with a redirect.
type redirectPolicy int

const (
	// redirectRefuse: a redirect fails the call with a *RedirectError. The
	// zero value, so a call that forgets to choose is safe (token calls).
	redirectRefuse redirectPolicy = iota
	// redirectAnswer: the 3xx itself is the answer and is handed back
	// unfollowed (sign-in POST, 2FA verify, authorize for the code).
	redirectAnswer
	// redirectSameOrigin: followed while it stays on the call's origin
	// (REST API, tier_info, the OAuth authorize and sign-in pages).
	redirectSameOrigin
	// redirectMedia: followed to a media CDN on any origin, never from https
	// to plain http; credentials go to the call's origin only (downloads).
	redirectMedia
)

// Hop limits: OAuth pages redirect once, a CDN may chain a few hops.
const (
	maxSameOriginHops = 5
	maxMediaHops      = 3
)

// ErrRedirectRefused: Blink answered with a redirect the client does not
// follow, because it leaves the host the call's credentials belong to, drops
// TLS, or exceeds the hop limit. Use errors.As with *RedirectError for details.
var ErrRedirectRefused = errors.New("blink: redirect refused")

// RedirectError is a redirect the client refused to follow. It names the
// endpoint and the target's scheme and host, never a path or query (which
// may carry an authorization code).
type RedirectError struct {
	Op     string // endpoint template, e.g. "POST /oauth/token"
	Code   int    // HTTP status of the redirect
	Target string // scheme://host[:port] of the Location
	Reason string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("%s: refused redirect (HTTP %d) to %s: %s", e.Op, e.Code, e.Target, e.Reason)
}

func (e *RedirectError) Unwrap() error { return ErrRedirectRefused }

// origin is the scheme://host:port a request goes to, with default ports
// made explicit so "https://h" and "https://h:443" compare equal.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// shownOrigin is a redirect target for an error message: scheme and host
// only, bounded and on one line.
func shownOrigin(u *url.URL) string {
	if u == nil {
		return "an unparsable location"
	}
	return cleanText(u.Scheme+"://"+u.Host, 100)
}

// check applies the policy to the upcoming hop req; via holds the requests
// already sent, via[0] being the call's own.
func (p redirectPolicy) check(op string, req *http.Request, via []*http.Request) error {
	code := 0
	if req.Response != nil {
		code = req.Response.StatusCode
	}
	refuse := func(reason string) error {
		return &RedirectError{Op: op, Code: code, Target: shownOrigin(req.URL), Reason: reason}
	}
	home := origin(via[0].URL)
	switch p {
	case redirectAnswer:
		return http.ErrUseLastResponse
	case redirectSameOrigin:
		if origin(req.URL) != home {
			return refuse("it leaves " + shownOrigin(via[0].URL))
		}
		if len(via) > maxSameOriginHops {
			return refuse("too many redirects")
		}
		return nil
	case redirectMedia:
		switch strings.ToLower(req.URL.Scheme) {
		case "https":
		case "http":
			for _, r := range via {
				if strings.EqualFold(r.URL.Scheme, "https") {
					return refuse("it drops TLS")
				}
			}
		default:
			return refuse("not an http(s) location")
		}
		if len(via) > maxMediaHops {
			return refuse("too many redirects")
		}
		if origin(req.URL) != home {
			// Go keeps these for another port or scheme of the same host.
			req.Header.Del("Authorization")
			req.Header.Del("Cookie")
			req.Header.Del("Referer")
		}
		return nil
	default:
		return refuse("this endpoint never redirects")
	}
}

// withPolicy returns a copy of hc that applies p to the redirects of one
// call and whose cookie jar (if any) only serves the call's origin.
func withPolicy(hc *http.Client, op string, p redirectPolicy, home *url.URL) *http.Client {
	c := *hc
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error { return p.check(op, req, via) }
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	c.Transport = locationGuard{rt: rt, op: op}
	if c.Jar != nil {
		c.Jar = originJar{jar: c.Jar, origin: origin(home)}
	}
	return &c
}

// originJar hands cookies only to, and takes cookies only from, one origin:
// a cookie jar scopes by domain, which spans ports and plain http.
type originJar struct {
	jar    http.CookieJar
	origin string
}

func (j originJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	if origin(u) == j.origin {
		j.jar.SetCookies(u, cookies)
	}
}

func (j originJar) Cookies(u *url.URL) []*http.Cookie {
	if origin(u) != j.origin {
		return nil
	}
	return j.jar.Cookies(u)
}

// locationGuard refuses a redirect whose Location is not a URL before
// http.Client sees it: the client's own error quotes the Location, which may
// carry an authorization code, and would count as a network error.
type locationGuard struct {
	rt http.RoundTripper
	op string
}

func (g locationGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := g.rt.RoundTrip(req)
	if err != nil || res.StatusCode < 300 || res.StatusCode >= 400 {
		return res, err
	}
	if loc := res.Header.Get("Location"); loc != "" {
		if _, err := req.URL.Parse(loc); err != nil {
			res.Body.Close()
			return nil, &RedirectError{Op: g.op, Code: res.StatusCode, Target: "a location that is not a URL", Reason: "unparsable"}
		}
	}
	return res, nil
}
