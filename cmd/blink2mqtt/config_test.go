package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/bridge"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(mapLookup(nil))
	if err != nil {
		t.Fatalf("loadConfig with an empty environment: %v", err)
	}
	if cfg.PollInterval.String() != "30s" || cfg.MediaPollInterval.String() != "15s" {
		t.Errorf("intervals = %s/%s, want 30s/15s", cfg.PollInterval, cfg.MediaPollInterval)
	}
	if cfg.MQTTURL != "mqtt://localhost:1883" || cfg.MQTTTopic != "blink2mqtt" || !cfg.HADiscovery ||
		cfg.HADiscoveryPrefix != "homeassistant" || cfg.StateDir != "./data" || cfg.LogFormat != "auto" {
		t.Errorf("defaults differ from the README's configuration table: %+v", cfg)
	}
	if cfg.LocalStorage != "auto" || cfg.LocalStorageInterval.String() != "1m0s" {
		t.Errorf("local storage = %q every %s, want auto every 60s", cfg.LocalStorage, cfg.LocalStorageInterval)
	}
	if cfg.BlinkRESTURL != "https://rest-{tier}.immedia-semi.com" || cfg.BlinkOAuthURL != "https://api.oauth.blink.com" {
		t.Errorf("Blink URLs = %q, %q", cfg.BlinkOAuthURL, cfg.BlinkRESTURL)
	}
	if want := bridge.DefaultClientID("blink2mqtt"); cfg.MQTTClientID != want {
		t.Errorf("client id = %q, want the derived %q", cfg.MQTTClientID, want)
	}
}

// TestLoadConfigErrorsNameTheVariable: every refusal line names the
// variable, the value and what the variable accepts.
func TestLoadConfigErrorsNameTheVariable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string // exact error text
	}{
		{"poll floor", map[string]string{"POLL_INTERVAL": "10s"},
			"POLL_INTERVAL: 10s is under the 15s floor (faster polling gets Blink accounts locked)"},
		{"media floor", map[string]string{"MEDIA_POLL_INTERVAL": "5s"},
			"MEDIA_POLL_INTERVAL: 5s is under the 15s floor (faster polling gets Blink accounts locked)"},
		{"bad duration", map[string]string{"POLL_INTERVAL": "thirty"},
			`POLL_INTERVAL: "thirty" is not a duration like 30s, 5m or 1h`},
		{"bad bool", map[string]string{"HA_DISCOVERY": "maybe"},
			`HA_DISCOVERY: "maybe" is not true or false`},
		{"bad number", map[string]string{"BLINK_RATE_LIMIT": "fast"},
			`BLINK_RATE_LIMIT: "fast" is not a number`},
		{"NaN rate", map[string]string{"BLINK_RATE_LIMIT": "NaN"},
			`BLINK_RATE_LIMIT: "NaN" is not a number`},
		{"bad integer", map[string]string{"MEDIA_MAX_BYTES": "1GB"},
			`MEDIA_MAX_BYTES: "1GB" is not a whole number`},
		{"unknown scheme", map[string]string{"MQTT_URL": "http://broker:1883"},
			`MQTT_URL: unknown scheme "http" (use mqtt://, mqtts://, ws:// or wss://)`},
		{"not a url", map[string]string{"MQTT_URL": "broker"},
			`MQTT_URL: "broker" is not a broker URL like mqtt://host:1883`},
		{"bad url with a password", map[string]string{"MQTT_URL": "mqtt://me:s3cr%zzet@"},
			`MQTT_URL: "mqtt://[redacted]@" is not a broker URL like mqtt://host:1883`},
		{"user info but no host", map[string]string{"MQTT_URL": "mqtt://bob:s3cret@"},
			`MQTT_URL: "mqtt://[redacted]@" is not a broker URL like mqtt://host:1883`},
		{"missing CA file", map[string]string{"MQTT_CA_FILE": "/nonexistent/ca.pem"},
			"MQTT_CA_FILE: stat /nonexistent/ca.pem: no such file or directory"},
		{"missing password file", map[string]string{"BLINK_PASSWORD_FILE": "/nonexistent/pw"},
			"BLINK_PASSWORD_FILE: open /nonexistent/pw: no such file or directory"},
		{"client id too long", map[string]string{"MQTT_CLIENT_ID": "blink2mqtt-0123456789abcdef"},
			`MQTT_CLIENT_ID: "blink2mqtt-0123456789abcdef" is longer than 23 characters`},
		{"wildcard root", map[string]string{"MQTT_TOPIC": "blink/#"},
			`MQTT_TOPIC: "blink/#" is not a usable topic root (no +, #, leading or trailing /)`},
		{"log level", map[string]string{"LOG_LEVEL": "loud"},
			`LOG_LEVEL: "loud" is not one of trace, debug, info, warn, error`},
		{"log format", map[string]string{"LOG_FORMAT": "xml"},
			`LOG_FORMAT: "xml" is not one of auto, console, json`},
		{"local storage", map[string]string{"LOCAL_STORAGE": "on"},
			`LOCAL_STORAGE: "on" is not one of auto, off`},
		{"local storage floor", map[string]string{"LOCAL_STORAGE_INTERVAL": "10s"},
			"LOCAL_STORAGE_INTERVAL: 10s is under the 30s floor (each check costs about 4 Blink requests and occupies the sync module)"},
		{"local storage interval not a duration", map[string]string{"LOCAL_STORAGE_INTERVAL": "often"},
			`LOCAL_STORAGE_INTERVAL: "often" is not a duration like 30s, 5m or 1h`},
		{"long value is cut", map[string]string{"LOG_FORMAT": strings.Repeat("x", 100)},
			`LOG_FORMAT: "` + strings.Repeat("x", 64) + `"… is not one of auto, console, json`},
		{"line break stays escaped", map[string]string{"LOG_LEVEL": "info\nSTATE_DIR: fine"},
			`LOG_LEVEL: "info\nSTATE_DIR: fine" is not one of trace, debug, info, warn, error`},
		{"two problems at once", map[string]string{"POLL_INTERVAL": "1s", "LOG_FORMAT": "xml"},
			"POLL_INTERVAL: 1s is under the 15s floor (faster polling gets Blink accounts locked)\nLOG_FORMAT: \"xml\" is not one of auto, console, json"},
		{"parse and range problems in one block", map[string]string{"LOG_LEVEL": "loud", "HA_DISCOVERY": "maybe", "POLL_INTERVAL": "thirty", "MEDIA_POLL_INTERVAL": "1s"},
			"HA_DISCOVERY: \"maybe\" is not true or false\n" +
				"POLL_INTERVAL: \"thirty\" is not a duration like 30s, 5m or 1h\n" +
				"LOG_LEVEL: \"loud\" is not one of trace, debug, info, warn, error\n" +
				"MEDIA_POLL_INTERVAL: 1s is under the 15s floor (faster polling gets Blink accounts locked)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(mapLookup(tc.env))
			if err == nil {
				t.Fatalf("loadConfig accepted %v", tc.env)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %q\nwant %q", err.Error(), tc.want)
			}
		})
	}
}

// TestConfigErrorsReachStderrAsOneBlock: what a user sees for two bad
// variables: every line with the program's name, exit status 1.
func TestConfigErrorsReachStderrAsOneBlock(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	env := map[string]string{"LOG_LEVEL": "loud", "HA_DISCOVERY": "maybe", "MQTT_PASSWORD": "pw-in-env-4711"}
	code := exitCode(run(context.Background(), []string{"config"}, mapLookup(env), nil, &out, &errOut), &errOut)
	want := "blink2mqtt: HA_DISCOVERY: \"maybe\" is not true or false\n" +
		"blink2mqtt: LOG_LEVEL: \"loud\" is not one of trace, debug, info, warn, error\n"
	if code != 1 || errOut.String() != want || out.Len() != 0 {
		t.Errorf("exit %d\nstderr:\n%s\nwant:\n%s\nstdout: %q", code, errOut.String(), want, out.String())
	}
}

func TestEmptyVariableMeansDefault(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(mapLookup(map[string]string{"POLL_INTERVAL": "", "HA_DISCOVERY": " ", "LOG_LEVEL": "\t"}))
	if err != nil {
		t.Fatalf("an empty variable should fall back to the default: %v", err)
	}
	if cfg.PollInterval.String() != "30s" || !cfg.HADiscovery || cfg.LogLevel.String() != "info" {
		t.Errorf("got %s / %v / %s, want the defaults", cfg.PollInterval, cfg.HADiscovery, cfg.LogLevel)
	}
}

func TestValuesAreParsedLeniently(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(mapLookup(map[string]string{
		"HA_DISCOVERY": "FALSE", "LOG_LEVEL": "Debug", "POLL_INTERVAL": " 1m ", "BLINK_RATE_LIMIT": "0.5",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HADiscovery || cfg.LogLevel.String() != "debug" || cfg.PollInterval.String() != "1m0s" || cfg.BlinkRateLimit != 0.5 {
		t.Errorf("got %v %s %s %v", cfg.HADiscovery, cfg.LogLevel, cfg.PollInterval, cfg.BlinkRateLimit)
	}
}

// TestLoadConfigLeavesTheEnvironmentAlone: the loader reads through the
// lookup it is given; the process environment is neither read nor changed.
func TestLoadConfigLeavesTheEnvironmentAlone(t *testing.T) {
	t.Setenv("POLL_INTERVAL", "")
	t.Setenv("LOG_LEVEL", "loud")
	if _, err := loadConfig(mapLookup(nil)); err != nil {
		t.Fatalf("the process environment leaked into loadConfig: %v", err)
	}
	if v, ok := os.LookupEnv("POLL_INTERVAL"); !ok || v != "" {
		t.Errorf("POLL_INTERVAL = %q, %v after loadConfig; the loader must not unset variables", v, ok)
	}
	if _, err := loadConfig(os.LookupEnv); err == nil || !strings.Contains(err.Error(), "LOG_LEVEL") {
		t.Errorf("loadConfig(os.LookupEnv) = %v, want the LOG_LEVEL error", err)
	}
}

func TestPasswordFilesAndConfigRedaction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("hunter2-blink\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BLINK_EMAIL": "me@example.com", "BLINK_PASSWORD_FILE": pw, "MQTT_PASSWORD": "mqtt-secret-pw"}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"config"}, mapLookup(env), nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, secret := range []string{"hunter2-blink", "mqtt-secret-pw"} {
		if strings.Contains(s, secret) {
			t.Errorf("config output shows a secret:\n%s", s)
		}
	}
	for _, line := range []string{"BLINK_PASSWORD=[redacted]", "MQTT_PASSWORD=[redacted]", "BLINK_EMAIL=me@example.com", "POLL_INTERVAL=30s",
		"MQTT_CLIENT_ID=" + bridge.DefaultClientID("blink2mqtt")} {
		if !strings.Contains(s, line) {
			t.Errorf("config output lacks %q:\n%s", line, s)
		}
	}
	cfg, err := loadConfig(mapLookup(env))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BlinkPassword.Reveal() != "hunter2-blink" {
		t.Errorf("password from file = %q (trailing newline must be trimmed)", cfg.BlinkPassword.Reveal())
	}
}

// TestMQTTURLUserInfo: user info in MQTT_URL becomes the broker
// credentials unless MQTT_USERNAME is set, percent-decoded; the URL passed
// on and printed never holds it.
func TestMQTTURLUserInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		env                map[string]string
		wantURL, wantUser  string
		wantPass, wantNote string // wantNote: a line of `config` output
	}{
		{"user and password", map[string]string{"MQTT_URL": "mqtt://bob:pa55-w0rd@broker:1883"},
			"mqtt://broker:1883", "bob", "pa55-w0rd", "MQTT_USERNAME=bob # from MQTT_URL"},
		{"percent-encoded", map[string]string{"MQTT_URL": "mqtts://b%40b:p%3Aa%2F5%40s@broker:8883"},
			"mqtts://broker:8883", "b@b", "p:a/5@s", "MQTT_PASSWORD=[redacted] # from MQTT_URL"},
		{"user only", map[string]string{"MQTT_URL": "ws://bob@broker:9001/mqtt"},
			"ws://broker:9001/mqtt", "bob", "", "MQTT_URL=ws://broker:9001/mqtt # user info moved to MQTT_USERNAME/MQTT_PASSWORD"},
		{"explicit password wins", map[string]string{"MQTT_URL": "mqtt://bob:pa55-w0rd@broker", "MQTT_PASSWORD": "explicit-pw"},
			"mqtt://broker", "bob", "explicit-pw", "MQTT_PASSWORD=[redacted] # from MQTT_PASSWORD(_FILE), not MQTT_URL"},
		{"explicit user wins", map[string]string{"MQTT_URL": "mqtt://bob:pa55-w0rd@broker", "MQTT_USERNAME": "alice", "MQTT_PASSWORD": "alice-pw"},
			"mqtt://broker", "alice", "alice-pw", "MQTT_URL=mqtt://broker # its user info is ignored: MQTT_USERNAME is set"},
		{"explicit user without password drops the URL's", map[string]string{"MQTT_URL": "mqtt://bob:pa55-w0rd@broker", "MQTT_USERNAME": "alice"},
			"mqtt://broker", "alice", "", "MQTT_USERNAME=alice"},
		{"no user info", map[string]string{"MQTT_URL": "mqtt://broker:1883", "MQTT_USERNAME": "alice"},
			"mqtt://broker:1883", "alice", "", "MQTT_URL=mqtt://broker:1883\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := loadConfig(mapLookup(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MQTTURL != tc.wantURL || cfg.MQTTUsername != tc.wantUser || cfg.MQTTPassword.Reveal() != tc.wantPass {
				t.Errorf("url, user, password = %q, %q, %q; want %q, %q, %q",
					cfg.MQTTURL, cfg.MQTTUsername, cfg.MQTTPassword.Reveal(), tc.wantURL, tc.wantUser, tc.wantPass)
			}
			var out bytes.Buffer
			if err := run(context.Background(), []string{"config"}, mapLookup(tc.env), nil, &out, &out); err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{"pa55-w0rd", "p:a/5@s", "p%3Aa", "explicit-pw", "alice-pw"} {
				if strings.Contains(out.String(), secret) {
					t.Errorf("config output shows the password %q:\n%s", secret, out.String())
				}
			}
			if !strings.Contains(squeeze(out.String()), tc.wantNote) {
				t.Errorf("config output lacks %q:\n%s", tc.wantNote, out.String())
			}
		})
	}
}

// squeeze turns the tabwriter's column padding into single spaces.
func squeeze(s string) string { return regexp.MustCompile(` {2,}`).ReplaceAllString(s, " ") }

// TestExampleEnv keeps config.example.env in step with the Config struct.
func TestExampleEnv(t *testing.T) {
	var buf bytes.Buffer
	if err := writeExampleEnv(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "config.example.env")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./cmd/blink2mqtt -run TestExampleEnv -update)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("config.example.env is stale; run: go test ./cmd/blink2mqtt -run TestExampleEnv -update")
	}
	for _, k := range configKeys() {
		if !bytes.Contains(want, []byte(k+"=")) {
			t.Errorf("config.example.env lacks %s", k)
		}
	}
	// The example's defaults must load as they are.
	env := map[string]string{}
	for _, line := range strings.Split(string(want), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(k, "#") {
			env[k] = v
		}
	}
	if _, err := loadConfig(mapLookup(env)); err != nil {
		t.Errorf("config.example.env does not load: %v", err)
	}
}
