package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// chromium returns the path of a Chromium or Chrome, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH (Debian: apt-get install chromium); skipping the browser test")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and returns
// a context for its first tab.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser for the context's lifetime: no
	// deadline here, the steps bring their own.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// basicAuth sends the page's password with every request of the tab, as a
// browser does once the person typed it into its prompt.
func basicAuth(password string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return chromedp.Void{}, err
		}
		auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("me:"+password))
		_, err := cdp.Call(ctx, t, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}})
		return chromedp.Void{}, err
	}
}

// step runs actions with a deadline and fails the test with what.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// await polls a JavaScript expression in the page until it is truthy.
func await(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[any](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('main').innerText`))
		t.Fatalf("waiting for %s: %v\npage:\n%s", what, err, text)
	}
}

// TestWebPageInBrowser drives the page in a real headless Chromium against
// a running bridge on the fake account: every device with a picture that
// really rendered, an event arriving without a reload, then log out and
// log in through the forms with a wrong and then the right 2FA code, and
// the auth state turning ok. Screenshots are saved as test artifacts; with
// -update the first one becomes docs/web.png.
func TestWebPageInBrowser(t *testing.T) {
	ctx := newBrowser(t)
	const code, httpPass = "246810", "browser-Pw-1"
	fake := blinkfake.New(t, blinkfake.Config{TwoFactor: true, Code: code})
	rec, env := daemonEnvWithBroker(t, fake, "blink2mqtt/#")
	var cliOut bytes.Buffer // a session from the terminal, as most installs start
	if err := run(context.Background(), []string{"login", "--code", code}, mapLookup(env), strings.NewReader(""), &cliOut, &cliOut); err != nil {
		t.Fatalf("login: %v\n%s", err, cliOut.String())
	}
	env["HTTP_LISTEN"], env["HTTP_PASSWORD"] = "127.0.0.1:0", httpPass
	var out, logs syncBuffer
	startRun(t, []string{"run"}, env, &out, &logs)
	addr := loggedAddr(t, &logs, httpServingMsg, "addr")
	rec.WaitFor(t, "blink2mqtt/bridge/auth", mqtttest.Contains(`"state":"ok"`))
	devices := fake.Devices()
	for _, d := range devices { // the bridge has every picture before the page asks
		rec.WaitFor(t, "blink2mqtt/"+itoa(d.NetworkID)+"/"+itoa(d.ID)+"/thumbnail", mqtttest.Any)
	}

	started := time.Now()
	step(t, ctx, "open the page", basicAuth(httpPass), chromedp.Navigate("http://"+addr+"/"))
	loaded := time.Since(started)
	await(t, ctx, "every device with a picture that rendered", `(() => {
		const imgs = [...document.querySelectorAll('#systems img.thumb')];
		return document.querySelectorAll('#systems .device').length === `+itoa(int64(len(devices)))+` &&
			imgs.length === `+itoa(int64(len(devices)))+` && imgs.every(i => i.complete && i.naturalWidth > 0);
	})()`)
	allShown := time.Since(started)
	names, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#systems .device .name')].map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devices {
		if !contains(names, d.Name) {
			t.Errorf("the page does not show %q (shows %v)", d.Name, names)
		}
	}
	fcp, _ := chromedp.Run(ctx, chromedp.Poll[float64](`(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime`,
		chromedp.WithPollingTimeout(5*time.Second)))
	loadEnd, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.getEntriesByType('navigation')[0].loadEventEnd`))
	sizes, _ := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`(() => {
		const out = {html: performance.getEntriesByType('navigation')[0].decodedBodySize};
		for (const r of performance.getEntriesByType('resource')) {
			const kind = r.name.includes('/thumb/') ? 'pictures' : r.name.split('?')[0].split('/').pop();
			out[kind] = (out[kind] || 0) + r.decodedBodySize;
		}
		return out;
	})()`))
	t.Logf("navigation returned after %s; first contentful paint %.0f ms, load event (pictures included) %.0f ms; all %d pictures checked rendered %s after navigation; bytes: %v",
		loaded.Round(time.Millisecond), fcp, loadEnd, len(devices), allShown.Round(time.Millisecond), sizes)

	// A new clip appears without a reload.
	step(t, ctx, "mark the document", chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
	cam := devices[0]
	fake.TriggerMotion(cam.ID, "pir")
	rec.Publish(t, "blink2mqtt/bridge/request/refresh", []byte(`{}`), false)
	await(t, ctx, "the clip in the last events", `window.notReloaded === true && [...document.querySelectorAll('#events td')].some(td => td.textContent === `+jsString(cam.Name)+`)`)
	shot := screenshot(t, ctx, "status.png")
	if *update {
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "web.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Log out, then log in through the forms.
	mark := rec.Mark()
	step(t, ctx, "log out", chromedp.Click(chromedp.CSS(`#forms form[action="logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#forms input[name="email"]`)))
	rec.WaitForAfter(t, mark, "blink2mqtt/bridge/auth", mqtttest.Contains(`"reauth_required"`))
	cfg := fake.Config()
	step(t, ctx, "sign in",
		chromedp.SetValue(chromedp.CSS(`#forms input[name="email"]`), cfg.Email),
		chromedp.SetValue(chromedp.CSS(`#forms input[name="password"]`), cfg.Password),
		chromedp.Click(chromedp.CSS(`#forms form[action="login"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#forms input[name="code"]`)))
	await(t, ctx, "where the code went", `document.getElementById('message').textContent.includes('by SMS')`)
	step(t, ctx, "a wrong code",
		chromedp.SetValue(chromedp.CSS(`#forms input[name="code"]`), "000000"),
		chromedp.Click(chromedp.CSS(`#forms form[action="verify"] button`)))
	await(t, ctx, "the wrong code refused", `document.getElementById('message').textContent.includes('not accepted') && document.querySelector('#forms input[name="code"]') !== null`)
	screenshot(t, ctx, "wrong-code.png")
	step(t, ctx, "the right code",
		chromedp.SetValue(chromedp.CSS(`#forms input[name="code"]`), code),
		chromedp.Click(chromedp.CSS(`#forms form[action="verify"] button`)))
	await(t, ctx, "the login ok", `document.querySelector('#auth .badge').textContent === 'Logged in' && document.querySelector('#forms form[action="logout"]') !== null && window.notReloaded === true`)
	rec.WaitForAfter(t, mark, "blink2mqtt/bridge/auth", mqtttest.Contains(`"state":"ok"`))
	screenshot(t, ctx, "logged-in.png")
	if n := fake.CodesSent(); n != 2 {
		t.Errorf("codes sent = %d, want 2 (the terminal login and the page's)", n)
	}
}

// screenshot saves the whole page as a test artifact and returns it.
func screenshot(t *testing.T, ctx context.Context, name string) []byte {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	return png
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
