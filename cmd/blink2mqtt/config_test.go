package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// clearEnv unsets every variable the Config reads, so the host's environment
// cannot leak into a test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range configKeys() {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	clearEnv(t)
	cfg, err := loadConfig()
	if err != nil {
		t.Fatalf("loadConfig with an empty environment: %v", err)
	}
	if cfg.PollInterval.String() != "30s" || cfg.MediaPollInterval.String() != "15s" {
		t.Errorf("intervals = %s/%s, want 30s/15s", cfg.PollInterval, cfg.MediaPollInterval)
	}
	if cfg.MQTTURL != "mqtt://localhost:1883" || cfg.MQTTTopic != "blink2mqtt" || !cfg.HADiscovery ||
		cfg.HADiscoveryPrefix != "homeassistant" || cfg.StateDir != "./data" || cfg.LogFormat != "auto" {
		t.Errorf("defaults differ from contract.md §1: %+v", cfg)
	}
	if cfg.BlinkRESTURL != "https://rest-{tier}.immedia-semi.com" || cfg.BlinkOAuthURL != "https://api.oauth.blink.com" {
		t.Errorf("Blink URLs = %q, %q", cfg.BlinkOAuthURL, cfg.BlinkRESTURL)
	}
}

func TestLoadConfigErrorsNameTheVariable(t *testing.T) {
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
			`POLL_INTERVAL: cannot use "thirty": time: invalid duration "thirty"`},
		{"bad bool", map[string]string{"HA_DISCOVERY": "yes"},
			`HA_DISCOVERY: cannot use "yes": invalid syntax`},
		{"unknown scheme", map[string]string{"MQTT_URL": "http://broker:1883"},
			`MQTT_URL: unknown scheme "http" (use mqtt://, mqtts://, ws:// or wss://)`},
		{"not a url", map[string]string{"MQTT_URL": "broker"},
			`MQTT_URL: "broker" is not a broker URL like mqtt://host:1883`},
		{"missing CA file", map[string]string{"MQTT_CA_FILE": "/nonexistent/ca.pem"},
			"MQTT_CA_FILE: stat /nonexistent/ca.pem: no such file or directory"},
		{"missing password file", map[string]string{"BLINK_PASSWORD_FILE": "/nonexistent/pw"},
			"BLINK_PASSWORD_FILE: open /nonexistent/pw: no such file or directory"},
		{"client id too long", map[string]string{"MQTT_CLIENT_ID": "blink2mqtt-0123456789abcdef"},
			`MQTT_CLIENT_ID: "blink2mqtt-0123456789abcdef" is longer than 23 characters`},
		{"wildcard root", map[string]string{"MQTT_TOPIC": "blink/#"},
			`MQTT_TOPIC: "blink/#" is not a usable topic root (no +, #, leading or trailing /)`},
		{"log level", map[string]string{"LOG_LEVEL": "loud"},
			`LOG_LEVEL: cannot use "loud": Unknown Level String: 'loud', defaulting to NoLevel`},
		{"log format", map[string]string{"LOG_FORMAT": "xml"},
			`LOG_FORMAT: "xml" is not auto, console or json`},
		{"two problems at once", map[string]string{"POLL_INTERVAL": "1s", "LOG_FORMAT": "xml"},
			"POLL_INTERVAL: 1s is under the 15s floor (faster polling gets Blink accounts locked)\nLOG_FORMAT: \"xml\" is not auto, console or json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := loadConfig()
			if err == nil {
				t.Fatalf("loadConfig accepted %v", tc.env)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %q\nwant %q", err.Error(), tc.want)
			}
		})
	}
}

func TestEmptyVariableMeansDefault(t *testing.T) {
	clearEnv(t)
	t.Setenv("POLL_INTERVAL", "")
	t.Setenv("HA_DISCOVERY", " ")
	cfg, err := loadConfig()
	if err != nil {
		t.Fatalf("an empty variable should fall back to the default: %v", err)
	}
	if cfg.PollInterval.String() != "30s" || !cfg.HADiscovery {
		t.Errorf("got %s / %v, want the defaults", cfg.PollInterval, cfg.HADiscovery)
	}
}

func TestPasswordFilesAndConfigRedaction(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("hunter2-blink\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BLINK_EMAIL", "me@example.com")
	t.Setenv("BLINK_PASSWORD_FILE", pw)
	t.Setenv("MQTT_PASSWORD", "mqtt-secret-pw")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"config"}, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, secret := range []string{"hunter2-blink", "mqtt-secret-pw"} {
		if strings.Contains(s, secret) {
			t.Errorf("config output shows a secret:\n%s", s)
		}
	}
	for _, line := range []string{"BLINK_PASSWORD=[redacted]", "MQTT_PASSWORD=[redacted]", "BLINK_EMAIL=me@example.com", "POLL_INTERVAL=30s"} {
		if !strings.Contains(s, line) {
			t.Errorf("config output lacks %q:\n%s", line, s)
		}
	}
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BlinkPassword.Reveal() != "hunter2-blink" {
		t.Errorf("password from file = %q (trailing newline must be trimmed)", cfg.BlinkPassword.Reveal())
	}
}

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
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"frobnicate"}, nil, &out, &out)
	if err == nil || err.Error() != `unknown command "frobnicate"` {
		t.Fatalf("err = %v", err)
	}
}
