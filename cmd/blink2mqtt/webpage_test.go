package main

import (
	"bytes"
	"encoding/json"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// loggedAddr waits for the JSON log line with msg and returns its field, the
// address a listener on port 0 was given.
func loggedAddr(t *testing.T, logs *syncBuffer, msg, field string) string {
	t.Helper()
	var line map[string]any
	if err := json.Unmarshal([]byte(logs.WaitFor(t, `"message":"`+msg)), &line); err != nil {
		t.Fatalf("the %q log line: %v", msg, err)
	}
	addr, _ := line[field].(string)
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "0" {
		t.Fatalf("the %q log line has %s %q", msg, field, addr)
	}
	return addr
}

// webClient is a browser without a script: cookies, basic auth, and a
// record of everything the daemon answered.
type webClient struct {
	t        *testing.T
	base     string
	password string
	http     *http.Client

	mu   sync.Mutex
	seen strings.Builder
}

func newWebClient(t *testing.T, addr, password string) *webClient {
	jar, _ := cookiejar.New(nil)
	return &webClient{t: t, base: "http://" + addr + "/", password: password, http: &http.Client{Jar: jar}}
}

func (c *webClient) do(method, path string, form url.Values, accept string) (int, http.Header, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if c.password != "" {
		req.SetBasicAuth("me", c.password)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	c.mu.Lock()
	for k, v := range resp.Header {
		c.seen.WriteString(k + ": " + strings.Join(v, ",") + "\n")
	}
	c.seen.Write(b)
	c.mu.Unlock()
	return resp.StatusCode, resp.Header, string(b)
}

var pageCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// post sends a form as the page's script does and returns the answer.
func (c *webClient) post(action string, form url.Values) (int, string) {
	c.t.Helper()
	_, _, page := c.do(http.MethodGet, "", nil, "")
	m := pageCSRF.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("the page offers no form:\n%s", page)
	}
	form.Set("csrf", m[1])
	code, _, body := c.do(http.MethodPost, action, form, "application/json")
	var a struct {
		OK      bool   `json:"ok"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		c.t.Fatalf("POST %s answered %d %q: %v", action, code, body, err)
	}
	return code, a.Message
}

// TestDaemonWebLoginTwoFactor is the add-on user's first start: no token
// and no credentials configured; the page (behind HTTP_PASSWORD) logs in
// with what was typed, a wrong code is retried in the same login, the
// bridge polls and the page shows every device with its picture; logging
// out drops the session. No secret reaches a log line, an MQTT payload or
// an HTTP answer.
func TestDaemonWebLoginTwoFactor(t *testing.T) {
	t.Parallel()
	const code, httpPass = "583920", "page-secret-Pw"
	fake := blinkfake.New(t, blinkfake.Config{TwoFactor: true, Code: code, TwoFactorChannel: "email"})
	rec, env := daemonEnvWithBroker(t, fake, "#")
	delete(env, "BLINK_EMAIL")
	delete(env, "BLINK_PASSWORD")
	env["HTTP_LISTEN"], env["HTTP_PASSWORD"] = "127.0.0.1:0", httpPass
	var out, logs syncBuffer
	stop := startRun(t, []string{"run"}, env, &out, &logs)
	addr := loggedAddr(t, &logs, httpServingMsg, "addr")
	rec.WaitFor(t, "blink2mqtt/bridge/auth", mqtttest.Contains(`"reauth_required"`))
	logs.WaitFor(t, "web page enabled", "HTTP_PASSWORD needed")

	if status, _, _ := newWebClient(t, addr, "").do(http.MethodGet, "", nil, ""); status != http.StatusUnauthorized {
		t.Errorf("the page without HTTP_PASSWORD = %d, want 401", status)
	}
	for _, path := range []string{"healthz", "metrics"} {
		if status, _, _ := newWebClient(t, addr, "").do(http.MethodGet, path, nil, ""); status == http.StatusUnauthorized || status == http.StatusNotFound {
			t.Errorf("/%s without HTTP_PASSWORD = %d, want it open", path, status)
		}
	}
	c := newWebClient(t, addr, httpPass)
	if status, _, page := c.do(http.MethodGet, "", nil, ""); status != http.StatusOK || !strings.Contains(page, "Not logged in") {
		t.Fatalf("GET / = %d:\n%s", status, page)
	}

	cfg := fake.Config()
	mark := rec.Mark()
	status, msg := c.post("login", url.Values{"email": {cfg.Email}, "password": {cfg.Password}})
	if status != http.StatusOK || !strings.Contains(msg, "by e-mail") {
		t.Fatalf("login = %d %q, want ok naming where the code went", status, msg)
	}
	rec.WaitForAfter(t, mark, "blink2mqtt/bridge/auth", mqtttest.Contains(`"code_required"`))
	if status, msg := c.post("verify", url.Values{"code": {"000000"}}); status != http.StatusBadRequest || !strings.Contains(msg, "not accepted") {
		t.Fatalf("wrong code = %d %q", status, msg)
	}
	if status, msg := c.post("verify", url.Values{"code": {code}}); status != http.StatusOK {
		t.Fatalf("right code = %d %q", status, msg)
	}
	rec.WaitForAfter(t, mark, "blink2mqtt/bridge/auth", mqtttest.Contains(`"state":"ok"`))
	if n := fake.CodesSent(); n != 1 {
		t.Errorf("codes sent = %d, want 1", n)
	}
	tokens := savedTokens(t, env["STATE_DIR"])

	// The bridge polls and fetches every picture; the page shows them.
	for _, d := range fake.Devices() {
		rec.WaitForAfter(t, mark, "blink2mqtt/"+itoa(d.NetworkID)+"/"+itoa(d.ID)+"/thumbnail", mqtttest.Any)
	}
	_, _, page := c.do(http.MethodGet, "", nil, "")
	for _, d := range fake.Devices() {
		if !strings.Contains(page, ">"+d.Name+"<") {
			t.Errorf("the page lacks device %q", d.Name)
		}
	}
	srcs := regexp.MustCompile(`<img class="thumb" src="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(srcs) != len(fake.Devices()) {
		t.Fatalf("%d pictures on the page, want %d", len(srcs), len(fake.Devices()))
	}
	for _, src := range srcs {
		status, hdr, img := c.do(http.MethodGet, strings.ReplaceAll(src[1], "&amp;", "&"), nil, "")
		cfg, err := jpeg.DecodeConfig(bytes.NewReader([]byte(img)))
		if status != http.StatusOK || hdr.Get("Content-Type") != "image/jpeg" || err != nil || cfg.Width == 0 {
			t.Errorf("%s = %d %s, decodes: %v", src[1], status, hdr.Get("Content-Type"), err)
		}
	}

	mark = rec.Mark()
	if status, msg := c.post("logout", url.Values{}); status != http.StatusOK {
		t.Fatalf("logout = %d %q", status, msg)
	}
	rec.WaitForAfter(t, mark, "blink2mqtt/bridge/auth", mqtttest.Contains(`"reauth_required"`))
	if after := savedTokens(t, env["STATE_DIR"]); len(after) != 0 {
		t.Errorf("tokens left after logout: %d", len(after))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}

	var everything strings.Builder
	everything.WriteString(logs.String() + out.String() + c.seen.String())
	for _, m := range rec.Messages() {
		everything.WriteString(m.Topic + " " + string(m.Payload) + "\n")
	}
	for _, s := range append([]string{cfg.Password, code, httpPass}, tokens...) {
		if i := strings.Index(everything.String(), s); i >= 0 {
			t.Errorf("a secret (%d chars) appears in logs, MQTT or HTTP answers after %q", len(s), everything.String()[max(0, i-80):i])
		}
	}
}

// savedTokens returns the token values in STATE_DIR's token file.
func savedTokens(t *testing.T, stateDir string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(stateDir, tokenFileName))
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	if err := json.Unmarshal(raw, &tok); err != nil {
		t.Fatal(err)
	}
	var out []string
	for k, v := range tok {
		if s, ok := v.(string); ok && strings.HasSuffix(k, "_token") && s != "" {
			out = append(out, s)
		}
	}
	return out
}

// TestHTTPPasswordConfig: HTTP_PASSWORD comes from the variable or a file
// (newline trimmed), is redacted by `config`, and a missing file stops
// start-up naming the variable.
func TestHTTPPasswordConfig(t *testing.T) {
	t.Parallel()
	pw := filepath.Join(t.TempDir(), "http_pw")
	if err := os.WriteFile(pw, []byte("from-file-SECRET\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		env      map[string]string
		want     string
		ingress  bool
		wantLine string
	}{
		{"variable", map[string]string{"HTTP_PASSWORD": "from-env-SECRET"}, "from-env-SECRET", false, "HTTP_PASSWORD=[redacted]"},
		{"file", map[string]string{"HTTP_PASSWORD_FILE": pw, "HTTP_INGRESS": "true"}, "from-file-SECRET", true, "HTTP_PASSWORD=[redacted]"},
		{"none", map[string]string{}, "", false, "HTTP_INGRESS=false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := loadConfig(mapLookup(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.HTTPPassword.Reveal() != tc.want || cfg.HTTPIngress != tc.ingress {
				t.Errorf("HTTP_PASSWORD %q, HTTP_INGRESS %v; want %q, %v", cfg.HTTPPassword.Reveal(), cfg.HTTPIngress, tc.want, tc.ingress)
			}
			var out bytes.Buffer
			if err := run(t.Context(), []string{"config"}, mapLookup(tc.env), nil, &out, &out); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), "SECRET") || !strings.Contains(out.String(), tc.wantLine) {
				t.Errorf("config output:\n%s", out.String())
			}
		})
	}
	_, err := loadConfig(mapLookup(map[string]string{"HTTP_PASSWORD_FILE": pw + ".missing"}))
	if err == nil || !strings.HasPrefix(err.Error(), "HTTP_PASSWORD_FILE: ") {
		t.Errorf("missing password file: %v", err)
	}
}
