package blink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// wireSecrets are what must never reach a server other than the one a call
// was meant for: the suite's secrets and the form fields that carry them.
var wireSecrets = []string{
	testAccess, testRefresh, testPassword, testCSRF, testCode, testAuthCode, testCookie,
	"Bearer ", "refresh_token=", "password=", "csrf-token=", "2fa_code=", "code_verifier=",
}

// recorder is a server that is not Blink: it records every request and
// every secret that reached it.
type recorder struct {
	mu    sync.Mutex
	hits  int
	leaks []string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var dump strings.Builder
	fmt.Fprintf(&dump, "%s %s\n", r.Method, r.URL)
	for k, vs := range r.Header {
		fmt.Fprintf(&dump, "%s: %s\n", k, strings.Join(vs, ", "))
	}
	dump.Write(body)
	rc.mu.Lock()
	rc.hits++
	for _, s := range wireSecrets {
		if strings.Contains(dump.String(), s) {
			rc.leaks = append(rc.leaks, fmt.Sprintf("%q in %s %s", s, r.Method, r.URL.Path))
		}
	}
	if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" {
		rc.leaks = append(rc.leaks, "credential header in "+r.Method+" "+r.URL.Path)
	}
	rc.mu.Unlock()
	switch r.URL.Path {
	case "/landing.jpg":
		w.Header().Set("Content-Type", "image/jpeg")
		io.WriteString(w, "cdn-jpeg")
	case "/auth.jpg":
		writeJSON(w, http.StatusUnauthorized, `{"message":"Unauthorized Access","code":101}`)
	case "/loop":
		http.Redirect(w, r, "/loop", http.StatusFound)
	default:
		writeJSON(w, http.StatusOK, `{"access_token":"stolen","tier":"u011","account_id":1001}`)
	}
}

func (rc *recorder) result() (int, []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.hits, append([]string(nil), rc.leaks...)
}

// redirectingBlink is a Blink host (OAuth and REST on one origin) that
// answers the request redirectFrom ("METHOD /path", "?" appended for a
// request with a query) with a redirect to location.
type redirectingBlink struct {
	redirectFrom string
	code         int
	location     string
	cnt          counter
}

func (b *redirectingBlink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.cnt.add(r)
	key := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" && strings.HasPrefix(r.URL.Path, "/oauth/") {
		key += "?"
	}
	if key == b.redirectFrom {
		w.Header().Set("Location", b.location)
		w.WriteHeader(b.code)
		return
	}
	bearer := r.Header.Get("Authorization") == "Bearer "+testAccess
	switch key {
	case "GET /oauth/v2/authorize?":
		http.SetCookie(w, &http.Cookie{Name: "session", Value: testCookie, Path: "/"})
		http.Redirect(w, r, "/oauth/v2/signin", http.StatusFound)
	case "GET /oauth/v2/signin":
		fmt.Fprintf(w, `<script id="oauth-args" type="application/json">{"csrf-token":"%s"}</script>`, testCSRF)
	case "POST /oauth/v2/signin":
		writeJSON(w, http.StatusAccepted, `{"tsv_state":"sms","phone":"+49******12","next_time_in_secs":60}`)
	case "POST /oauth/v2/2fa/verify":
		writeJSON(w, http.StatusCreated, `{"status":"auth-completed"}`)
	case "GET /oauth/v2/authorize":
		http.Redirect(w, r, oauthRedirectURI+"?code="+testAuthCode+"&state=x", http.StatusFound)
	case "POST /oauth/token":
		writeJSON(w, http.StatusOK, `{"access_token":"`+testAccess+`","refresh_token":"`+testRefresh+`","expires_in":14400}`)
	case "GET /prod/api/v1/users/tier_info":
		if !bearer {
			writeJSON(w, http.StatusUnauthorized, `{"code":101}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"tier":"u011","account_id":1001}`)
	case "GET /u011/api/v3/accounts/1001/homescreen", "GET /landing.json":
		if !bearer {
			writeJSON(w, http.StatusUnauthorized, `{"code":101}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"account":{"id":1001},"networks":[{"id":4321,"name":"Home"}]}`)
	case "GET /u011/api/v2/accounts/1001/media/clip/1.mp4", "GET /landing.jpg":
		if !bearer {
			writeJSON(w, http.StatusUnauthorized, `{"code":101}`)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		io.WriteString(w, "origin-jpeg")
	default:
		http.NotFound(w, r)
	}
}

// loopbackTransport trusts the httptest certificate (valid for 127.0.0.1
// and *.example.com) and dials every host name on 127.0.0.1, so
// "cdn.example.com:port" is another host on this machine.
func loopbackTransport(srv *httptest.Server) *http.Transport {
	tr := srv.Client().Transport.(*http.Transport).Clone()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}
	return tr
}

func TestRedirectsNeverCarryCredentials(t *testing.T) {
	login := func(ctx context.Context, c *Client) error {
		l, err := c.BeginLogin(ctx, "me@example.com", testPassword)
		if err != nil {
			return err
		}
		if l.CodeRequired() {
			return l.SubmitCode(ctx, testCode)
		}
		return nil
	}
	homescreen := func(ctx context.Context, c *Client) error {
		_, err := c.Homescreen(ctx)
		return err
	}
	arm := func(ctx context.Context, c *Client) error {
		_, err := c.Arm(ctx, 4321)
		return err
	}
	download := func(want string) func(ctx context.Context, c *Client) error {
		return func(ctx context.Context, c *Client) error {
			body, _, err := c.Download(ctx, "/api/v2/accounts/1001/media/clip/1.mp4", 0)
			if err == nil && string(body) != want {
				return fmt.Errorf("downloaded %q, want %q", body, want)
			}
			return err
		}
	}
	const (
		homescreenPath = "GET /u011/api/v3/accounts/1001/homescreen"
		clipPath       = "GET /u011/api/v2/accounts/1001/media/clip/1.mp4"
	)
	tests := []struct {
		name    string
		from    string // the Blink request answered with a redirect
		code    int
		to      string // "port" (https, other port), "host" (https, other host), "http" (plain), "same" (the Blink origin), "raw" (path is the whole Location)
		path    string // path and query on the target
		expired bool   // the access token needs a refresh first
		run     func(context.Context, *Client) error
		want    error // nil: the call succeeds
		wantOp  string
		hits    int // requests the foreign server must see
	}{
		{"REST GET to another port of the same host", homescreenPath, http.StatusFound, "port", "/x?code=1", false, homescreen, ErrRedirectRefused, "GET " + homescreenTmpl, 0},
		{"REST GET from https to plain http", homescreenPath, http.StatusFound, "http", "/x", false, homescreen, ErrRedirectRefused, "GET " + homescreenTmpl, 0},
		{"REST GET to another host", homescreenPath, http.StatusMovedPermanently, "host", "/x", false, homescreen, ErrRedirectRefused, "GET " + homescreenTmpl, 0},
		{"REST GET within the origin is followed", homescreenPath, http.StatusFound, "same", "/landing.json", false, homescreen, nil, "", 0},
		{"command POST 307 with its body to another port", "POST /u011/api/v1/accounts/1001/networks/4321/state/arm", http.StatusTemporaryRedirect, "port", "/x", false, arm, ErrRedirectRefused, "POST " + armTmpl, 0},
		{"command POST 308 with its body to another host", "POST /u011/api/v1/accounts/1001/networks/4321/state/arm", http.StatusPermanentRedirect, "host", "/x", false, arm, ErrRedirectRefused, "POST " + armTmpl, 0},
		{"refresh POST 307 to another host", "POST /oauth/token", http.StatusTemporaryRedirect, "host", "/oauth/token", true, homescreen, ErrRedirectRefused, "POST " + tokenTmpl, 0},
		{"refresh POST 308 to another port", "POST /oauth/token", http.StatusPermanentRedirect, "port", "/oauth/token", true, homescreen, ErrRedirectRefused, "POST " + tokenTmpl, 0},
		{"refresh POST 307 within the origin is refused too", "POST /oauth/token", http.StatusTemporaryRedirect, "same", "/oauth/token2", true, homescreen, ErrRedirectRefused, "POST " + tokenTmpl, 0},
		{"authorize page to another port", "GET /oauth/v2/authorize?", http.StatusFound, "port", "/oauth/v2/signin", false, login, ErrRedirectRefused, "GET " + authorizeTmpl, 0},
		{"sign-in page (reached from authorize) from https to plain http", "GET /oauth/v2/signin", http.StatusFound, "http", "/oauth/v2/signin", false, login, ErrRedirectRefused, "GET " + authorizeTmpl, 0},
		{"sign-in POST 307 to another host is an answer, not followed", "POST /oauth/v2/signin", http.StatusTemporaryRedirect, "host", "/oauth/v2/signin", false, login, nil, "", 0},
		{"2FA verify 307 to another port is not followed", "POST /oauth/v2/2fa/verify", http.StatusTemporaryRedirect, "port", "/oauth/v2/2fa/verify", false, login, ErrInvalidCode, "POST " + verifyTmpl, 0},
		{"code exchange POST 307 to another host", "POST /oauth/token", http.StatusTemporaryRedirect, "host", "/oauth/token", false, login, ErrRedirectRefused, "POST " + tokenTmpl, 0},
		{"tier_info to another port", "GET /prod/api/v1/users/tier_info", http.StatusFound, "port", "/api/v1/users/tier_info", false, login, ErrRedirectRefused, "GET " + tierInfoTmpl, 0},
		{"unparsable location carrying a code", homescreenPath, http.StatusFound, "raw", oauthRedirectURI[:20] + " " + oauthRedirectURI[20:] + "?code=" + testAuthCode, false, homescreen, ErrRedirectRefused, "GET " + homescreenTmpl, 0},
		{"authorize for the code answering an unparsable location", "GET /oauth/v2/authorize", http.StatusFound, "raw", "immedia-blink://app links/cb?code=" + testAuthCode, false, login, ErrRedirectRefused, "GET " + authorizeTmpl, 0},
		{"download to a CDN on another host, without credentials", clipPath, http.StatusFound, "host", "/landing.jpg?sig=1", false, download("cdn-jpeg"), nil, "", 1},
		{"download to another port of the same host, without credentials", clipPath, http.StatusTemporaryRedirect, "port", "/landing.jpg", false, download("cdn-jpeg"), nil, "", 1},
		{"download to a CDN that wants a token fails without a refresh", clipPath, http.StatusFound, "host", "/auth.jpg", false, download(""), ErrUnauthorized, "", 1},
		{"download from https to plain http", clipPath, http.StatusFound, "http", "/landing.jpg", false, download(""), ErrRedirectRefused, "GET /api/v2/accounts/{id}/media/clip/{name}", 0},
		{"download within the origin keeps the token", clipPath, http.StatusFound, "same", "/landing.jpg", false, download("origin-jpeg"), nil, "", 0},
		{"download redirect loop stops after a few hops", clipPath, http.StatusFound, "host", "/loop", false, download(""), ErrRedirectRefused, "GET /api/v2/accounts/{id}/media/clip/{name}", maxMediaHops},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var foreignTLS, foreignPlain recorder
			tlsSrv := httptest.NewTLSServer(&foreignTLS)
			defer tlsSrv.Close()
			plainSrv := httptest.NewServer(&foreignPlain)
			defer plainSrv.Close()
			blink := &redirectingBlink{redirectFrom: tc.from, code: tc.code}
			base := httptest.NewTLSServer(blink)
			defer base.Close()
			foreign := &foreignTLS
			target := tc.path + "?marker=1"
			if strings.Contains(tc.path, "?") {
				target = tc.path + "&marker=1"
			}
			switch tc.to {
			case "port":
				blink.location = tlsSrv.URL + target
			case "host":
				blink.location = "https://cdn.example.com:" + strconv.Itoa(tlsSrv.Listener.Addr().(*net.TCPAddr).Port) + target
			case "http":
				blink.location = plainSrv.URL + target
				foreign = &foreignPlain
			case "same":
				blink.location = target
			case "raw":
				blink.location = tc.path
			}

			store := &MemoryTokenStore{}
			tok := sessionTokens(time.Now())
			if tc.expired {
				tok.ExpiresAt = time.Now().Add(-time.Hour)
			}
			_ = store.Save(tok)
			c, err := New(Options{
				OAuthURL: base.URL, RESTURL: base.URL + "/{tier}",
				HTTPClient: &http.Client{Transport: loopbackTransport(base)},
				Limiter:    rate.NewLimiter(rate.Inf, 1), Store: store, Logger: testLogger(t),
				MaxRetries: -1,
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err = noteErr(tc.run(ctx, c))

			switch {
			case tc.want == nil && err != nil:
				t.Errorf("call failed: %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if tc.want == ErrRedirectRefused {
				var re *RedirectError
				if !errors.As(err, &re) || re.Op != tc.wantOp || re.Code != tc.code {
					t.Errorf("err = %#v, want a *RedirectError for %q with HTTP %d", err, tc.wantOp, tc.code)
				}
				if err != nil && (strings.ContainsAny(err.Error(), "?\n") || strings.Contains(err.Error(), "marker") || strings.Contains(err.Error(), testAuthCode)) {
					t.Errorf("error %q shows the redirect's path or query", err)
				}
			}
			for name, rc := range map[string]*recorder{"https server": &foreignTLS, "plain http server": &foreignPlain} {
				hits, leaks := rc.result()
				for _, l := range leaks {
					t.Errorf("%s received a secret: %s", name, l)
				}
				want := 0
				if rc == foreign {
					want = tc.hits
				}
				if hits != want {
					t.Errorf("%s received %d requests, want %d", name, hits, want)
				}
			}
			if tc.want == ErrUnauthorized && blink.cnt.get("POST /oauth/token") != 0 {
				t.Error("a 401 from another origin refreshed the Blink token")
			}
		})
	}
}

// TestRedirectPolicyOrigins pins what counts as the same origin.
func TestRedirectPolicyOrigins(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"https://rest-u011.immedia-semi.com/a", "https://rest-u011.immedia-semi.com:443/b?c", true},
		{"https://REST-u011.immedia-semi.com/a", "https://rest-u011.immedia-semi.com/b", true},
		{"https://rest-u011.immedia-semi.com/a", "https://rest-u011.immedia-semi.com:8443/a", false},
		{"https://rest-u011.immedia-semi.com/a", "http://rest-u011.immedia-semi.com/a", false},
		{"https://rest-u011.immedia-semi.com/a", "https://rest-u011.immedia-semi.com.evil.example/a", false},
		{"https://api.oauth.blink.com/a", "immedia-blink://applinks.blink.com/signin/callback?code=x", false},
		{"http://127.0.0.1/a", "http://127.0.0.1:80/a", true},
	}
	for _, tc := range tests {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if got := origin(a) == origin(b); got != tc.same {
			t.Errorf("same origin(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
