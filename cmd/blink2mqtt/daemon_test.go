package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// syncBuffer is a bytes.Buffer safe for the daemon's logger and the test,
// which can wait for text to arrive.
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitFor waits until a line containing every one of subs has been
// written, and fails the test after mqtttest.DefaultTimeout.
func (s *syncBuffer) WaitFor(t *testing.T, subs ...string) string {
	t.Helper()
	timeout := time.After(mqtttest.DefaultTimeout)
	for {
		s.mu.Lock()
		text := s.b.String()
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		changed := s.changed
		s.mu.Unlock()
		for _, line := range strings.Split(text, "\n") {
			if containsAll(line, subs) {
				return line
			}
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("no line with %q within %s:\n%s", subs, mqtttest.DefaultTimeout, text)
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// startRun runs `blink2mqtt <args>` with the environment env in the
// background; the returned function stops it and returns its error, failing
// the test when it takes over 5 s.
func startRun(t *testing.T, args []string, env map[string]string, stdout, stderr *syncBuffer) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, mapLookup(env), strings.NewReader(""), stdout, stderr) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Errorf("blink2mqtt %v did not stop within 5 s of SIGTERM", args)
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

func isAlarmTopic(m mqtttest.Message) bool {
	parts := strings.Split(m.Topic, "/")
	return len(parts) == 3 && parts[0] == "blink2mqtt" && parts[2] == "alarm"
}

// TestDemoArmsOverMQTT is the newcomer's path from the README: run the demo,
// see the account, arm a system with one publish, watch arming → armed_away.
func TestDemoArmsOverMQTT(t *testing.T) {
	t.Parallel()
	broker := mqtttest.StartBroker(t)
	rec := mqtttest.NewRecorder(t, broker.URL(), "blink2mqtt/#", "homeassistant/#")
	var out, errOut syncBuffer
	stop := startRun(t, []string{"demo", "--broker", broker.URL(), "--motion-every", "0", "--log-level", "warn"}, nil, &out, &errOut)

	rec.WaitFor(t, "blink2mqtt/bridge/state", mqtttest.Equals("online"))
	hint := regexp.MustCompile(`-t '(blink2mqtt/[0-9]+/alarm)/set' -m ARM_AWAY`).FindStringSubmatch(out.String())
	if hint == nil {
		t.Fatalf("demo instructions do not show how to arm a system:\n%s", out.String())
	}
	alarm := rec.WaitMatch(t, 0, "the alarm state of "+hint[1], func(m mqtttest.Message) bool {
		return m.Topic == hint[1]
	})
	if string(alarm.Payload) != "disarmed" {
		t.Fatalf("the demo suggests arming %s, which is %q", alarm.Topic, alarm.Payload)
	}
	rec.WaitMatch(t, 0, "a discovery config", func(m mqtttest.Message) bool {
		return strings.HasPrefix(m.Topic, "homeassistant/alarm_control_panel/")
	})
	if !strings.Contains(out.String(), "mosquitto_sub -h ") {
		t.Errorf("demo instructions lack the mosquitto_sub line:\n%s", out.String())
	}

	mark := rec.Mark()
	rec.Publish(t, alarm.Topic+"/set", []byte("ARM_AWAY"), false)
	rec.WaitForAfter(t, mark, alarm.Topic, mqtttest.Equals("arming"))
	rec.WaitForAfter(t, mark, alarm.Topic, mqtttest.Equals("armed_away"))

	mark = rec.Mark()
	if err := stop(); err != nil {
		t.Fatalf("demo returned %v", err)
	}
	// The broker has "offline" before the demo returns; the recorder hears
	// it a moment later, which under load is after stop returned.
	rec.WaitForAfter(t, mark, "blink2mqtt/bridge/state", mqtttest.Equals("offline"))
}

// daemonStateDir is a fresh path for a daemon's STATE_DIR, removed when the
// test ends. Not t.TempDir: bridge.Run can return while paho still runs its
// OnConnect handler, which may save the discovery ledger a moment later, and
// t.TempDir's cleanup fails the test when a file appears during removal.
func daemonStateDir(t *testing.T) string {
	t.Helper()
	parent, err := os.MkdirTemp("", "blink2mqtt-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if os.RemoveAll(parent) != nil {
			_ = os.RemoveAll(parent) // a late ledger write raced the first pass
		}
	})
	return filepath.Join(parent, "state")
}

// daemonEnvWithBroker starts a broker with a recorder on filter and returns
// the recorder and the environment of a daemon using fake and that broker.
func daemonEnvWithBroker(t *testing.T, fake *blinkfake.Server, filter string) (*mqtttest.Recorder, map[string]string) {
	t.Helper()
	broker := mqtttest.StartBroker(t)
	return mqtttest.NewRecorder(t, broker.URL(), filter), daemonEnv(fake, broker.URL(), daemonStateDir(t))
}

// daemonEnv is an environment that points the daemon at the fake cloud and a
// broker.
func daemonEnv(fake *blinkfake.Server, brokerURL, stateDir string) map[string]string {
	return map[string]string{
		"BLINK_EMAIL":      fake.Config().Email,
		"BLINK_PASSWORD":   fake.Config().Password,
		"BLINK_OAUTH_URL":  fake.OAuthURL(),
		"BLINK_REST_URL":   fake.RESTURL(),
		"BLINK_RATE_LIMIT": "10",
		"MQTT_URL":         brokerURL,
		"STATE_DIR":        stateDir,
		"LOG_FORMAT":       "json",
		"LOG_LEVEL":        "debug",
		"COMMAND_SPACING":  "0s",
	}
}

// TestDaemonLoginOverMQTTAndNoSecretsAnywhere is the headless path: no
// token, credentials set, Blink asks for a code, a wrong code then the right
// one over MQTT; then a restart reuses the token without logging in. Every
// log line and MQTT payload of both runs is searched for secrets.
func TestDaemonLoginOverMQTTAndNoSecretsAnywhere(t *testing.T) {
	t.Parallel()
	const code = "864209"
	fake := blinkfake.New(t, blinkfake.Config{TwoFactor: true, Use202: true, Code: code})
	rec, env := daemonEnvWithBroker(t, fake, "#")
	stateDir := env["STATE_DIR"]

	var out, logs syncBuffer
	stop := startRun(t, []string{"run"}, env, &out, &logs)
	rec.WaitFor(t, "blink2mqtt/bridge/state", mqtttest.Equals("online"))
	rec.WaitFor(t, "blink2mqtt/bridge/auth", mqtttest.Contains(`"code_required"`))

	mark := rec.Mark()
	rec.Publish(t, "blink2mqtt/bridge/request/auth/verify", []byte(`{"code":"000000","transaction":"t-wrong"}`), false)
	resp := rec.WaitForAfter(t, mark, "blink2mqtt/bridge/response/auth/verify", mqtttest.Contains("t-wrong"))
	if !strings.Contains(string(resp.Payload), `"status":"error"`) {
		t.Errorf("wrong code answered %s, want an error", resp.Payload)
	}
	mark = rec.Mark()
	rec.Publish(t, "blink2mqtt/bridge/request/auth/verify", []byte(`{"code":"`+code+`","transaction":"t-right"}`), false)
	resp = rec.WaitForAfter(t, mark, "blink2mqtt/bridge/response/auth/verify", mqtttest.Contains("t-right"))
	if !strings.Contains(string(resp.Payload), `"status":"ok"`) {
		t.Fatalf("right code answered %s, want ok", resp.Payload)
	}
	rec.WaitForAfter(t, mark, "blink2mqtt/bridge/auth", mqtttest.Contains(`"state":"ok"`))
	rec.WaitMatch(t, mark, "state after login", isAlarmTopic)
	if n := fake.CodesSent(); n != 1 {
		t.Errorf("codes sent = %d, want exactly 1", n)
	}
	if err := stop(); err != nil {
		t.Fatalf("daemon returned %v", err)
	}
	logins := fake.Logins()

	// Restart with the saved token: no login at all.
	var out2, logs2 syncBuffer
	mark = rec.Mark()
	stop2 := startRun(t, []string{"run"}, env, &out2, &logs2)
	rec.WaitForAfter(t, mark, "blink2mqtt/bridge/state", mqtttest.Equals("online"))
	rec.WaitForAfter(t, mark, "blink2mqtt/bridge/info", mqtttest.Contains(`"last_successful_poll"`))
	if err := stop2(); err != nil {
		t.Fatalf("second run returned %v", err)
	}
	if fake.Logins() != logins {
		t.Errorf("restart logged in again: %d logins, want %d", fake.Logins(), logins)
	}

	secrets := []string{fake.Config().Password, code}
	raw, err := os.ReadFile(filepath.Join(stateDir, tokenFileName))
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	if err := json.Unmarshal(raw, &tok); err != nil {
		t.Fatal(err)
	}
	for k, v := range tok {
		if s, ok := v.(string); ok && strings.Contains(strings.ToLower(k), "token") && len(s) > 8 {
			secrets = append(secrets, s)
		}
	}
	if len(secrets) < 4 {
		t.Fatalf("found %d secrets to look for; the token file should hold an access and a refresh token: %s", len(secrets), raw)
	}
	var everything strings.Builder
	everything.WriteString(logs.String() + logs2.String() + out.String() + out2.String())
	for _, m := range rec.Messages() {
		if strings.HasPrefix(m.Topic, "blink2mqtt/bridge/request/") {
			continue // the test's own requests carry the code on purpose
		}
		everything.WriteString(m.Topic + " " + string(m.Payload) + "\n")
	}
	for _, s := range secrets {
		if i := strings.Index(everything.String(), s); i >= 0 {
			ctx := everything.String()[max(0, i-80):i]
			t.Errorf("a secret (%d chars) appears in logs or MQTT after %q", len(s), ctx)
		}
	}
}

// TestDaemonRevokedRefreshThenLoginOverMQTT: Blink refuses the refresh
// token; the bridge stays online, pauses polling, marks devices unavailable
// and says reauth_required. A login started over MQTT (auth/login + the code)
// resumes polling without a restart.
func TestDaemonRevokedRefreshThenLoginOverMQTT(t *testing.T) {
	t.Parallel()
	const code = "135790"
	fake := blinkfake.New(t, blinkfake.Config{TwoFactor: true, Code: code})
	rec, env := daemonEnvWithBroker(t, fake, "blink2mqtt/#")

	// The first session comes from the CLI: the daemon's own login pacing
	// (one code-sending sign-in per 5 minutes) then allows auth/login below.
	var cliOut bytes.Buffer
	if err := run(context.Background(), []string{"login", "--code", code}, mapLookup(env), strings.NewReader(""), &cliOut, &cliOut); err != nil {
		t.Fatalf("login: %v\n%s", err, cliOut.String())
	}
	var out, logs syncBuffer
	startRun(t, []string{"run"}, env, &out, &logs)
	rec.WaitFor(t, "blink2mqtt/bridge/auth", mqtttest.Contains(`"state":"ok"`))
	avail := rec.WaitMatch(t, 0, "a device availability", func(m mqtttest.Message) bool {
		return strings.Count(m.Topic, "/") == 3 && strings.HasSuffix(m.Topic, "/availability") && string(m.Payload) == "online"
	})

	fake.RevokeRefreshTokens()
	fake.ExpireAccessTokens()
	mark := rec.Mark()
	rec.Publish(t, "blink2mqtt/bridge/request/refresh", []byte(`{}`), false)
	rec.WaitForAfter(t, mark, "blink2mqtt/bridge/auth", mqtttest.Contains(`"reauth_required"`))
	rec.WaitForAfter(t, mark, avail.Topic, mqtttest.Equals("offline"))
	if m, _ := rec.Last("blink2mqtt/bridge/state"); string(m.Payload) != "online" {
		t.Errorf("bridge/state = %q while logged out, want online", m.Payload)
	}
	if !strings.Contains(logs.String(), "blink2mqtt login") {
		t.Errorf("no log line says how to log in again:\n%s", logs.String())
	}
	codesBefore := fake.CodesSent()

	mark = rec.Mark()
	rec.Publish(t, "blink2mqtt/bridge/request/auth/login", []byte(`{"transaction":7}`), false)
	rec.WaitForAfter(t, mark, "blink2mqtt/bridge/auth", mqtttest.Contains(`"code_required"`))
	rec.Publish(t, "blink2mqtt/bridge/request/auth/verify", []byte(`{"code":"`+code+`"}`), false)
	rec.WaitForAfter(t, mark, "blink2mqtt/bridge/auth", mqtttest.Contains(`"state":"ok"`))
	rec.WaitForAfter(t, mark, avail.Topic, mqtttest.Equals("online"))
	if got := fake.CodesSent() - codesBefore; got != 1 {
		t.Errorf("codes sent for the MQTT login = %d, want 1", got)
	}
}

// TestDaemonPicksUpCLILogin: a daemon without token or credentials waits in
// reauth_required; `blink2mqtt login` in the same STATE_DIR resumes it.
func TestDaemonPicksUpCLILogin(t *testing.T) {
	t.Parallel()
	fake := blinkfake.New(t, blinkfake.Config{})
	rec, env := daemonEnvWithBroker(t, fake, "blink2mqtt/#")
	delete(env, "BLINK_PASSWORD")

	var out, logs syncBuffer
	startRun(t, []string{"run"}, env, &out, &logs)
	rec.WaitFor(t, "blink2mqtt/bridge/auth", mqtttest.Contains(`"reauth_required"`))
	if fake.Logins() != 0 {
		t.Fatalf("a daemon without credentials logged in")
	}

	loginEnv := maps.Clone(env)
	loginEnv["BLINK_PASSWORD"] = fake.Config().Password
	var cliOut bytes.Buffer
	if err := run(context.Background(), []string{"login"}, mapLookup(loginEnv), strings.NewReader(""), &cliOut, &cliOut); err != nil {
		t.Fatalf("login: %v\n%s", err, cliOut.String())
	}
	mark := rec.Mark()
	rec.WaitForAfter(t, mark, "blink2mqtt/bridge/auth", mqtttest.Contains(`"state":"ok"`))
	rec.WaitMatch(t, mark, "state after the CLI login", isAlarmTopic)
}

// TestDaemonHealthAndMetrics: HTTP_LISTEN serves /healthz (200 once MQTT is
// up, auth ok and a poll succeeded) and /metrics with Blink request counts;
// the healthcheck subcommand agrees.
func TestDaemonHealthAndMetrics(t *testing.T) {
	t.Parallel()
	fake := blinkfake.New(t, blinkfake.Config{})
	rec, env := daemonEnvWithBroker(t, fake, "blink2mqtt/#")
	env["HTTP_LISTEN"] = "127.0.0.1:0"

	var out, logs syncBuffer
	stop := startRun(t, []string{"run"}, env, &out, &logs)
	addr := loggedAddr(t, &logs, httpServingMsg, "addr")
	hcEnv := maps.Clone(env) // the healthcheck asks the address the daemon bound
	hcEnv["HTTP_LISTEN"] = addr
	rec.WaitFor(t, "blink2mqtt/bridge/info", mqtttest.Contains(`"last_successful_poll":"2`))

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %d %s", resp.StatusCode, body)
	}
	var hc bytes.Buffer
	if err := run(context.Background(), []string{"healthcheck"}, mapLookup(hcEnv), nil, &hc, &hc); err != nil {
		t.Errorf("healthcheck: %v (%s)", err, hc.String())
	}

	resp, err = http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`blink2mqtt_blink_requests_total{endpoint="GET /api/v3/accounts/{acct}/homescreen",status="200"}`,
		`blink2mqtt_mqtt_connected 1`,
		`blink2mqtt_auth_state{state="ok"} 1`,
		`blink2mqtt_poll_duration_seconds_count{kind="homescreen"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	stop()
	if err := run(context.Background(), []string{"healthcheck"}, mapLookup(hcEnv), nil, &hc, &hc); err == nil {
		t.Error("healthcheck passed with the daemon stopped")
	}
}
