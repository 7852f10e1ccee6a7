package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// tripwire is a listener that reports any connection: every address the
// program could dial (broker, Blink) points at it.
func tripwire(t *testing.T) (addr string, connected <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan struct{}, 1)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	return ln.Addr().String(), ch
}

// TestCommandLine: help and version print and exit 0, a bad command line
// prints usage on stderr and exits 2; none of them starts the daemon,
// connects anywhere or creates STATE_DIR.
func TestCommandLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string // substring; "" = stdout must be empty
		wantStderr string // substring; "" = stderr must be empty
	}{
		{"--help", []string{"--help"}, 0, "usage: blink2mqtt [command] [flags]", ""},
		{"-h", []string{"-h"}, 0, "usage: blink2mqtt [command] [flags]", ""},
		{"help", []string{"help"}, 0, "commands:", ""},
		{"--version", []string{"--version"}, 0, "blink2mqtt ", ""},
		{"-v", []string{"-v"}, 0, "blink2mqtt ", ""},
		{"version", []string{"version"}, 0, "blink2mqtt ", ""},
		{"run --help", []string{"run", "--help"}, 0, "usage: blink2mqtt run\n\nRuns the bridge", ""},
		{"demo --help", []string{"demo", "--help"}, 0, "-duration duration", ""},
		{"demo -h", []string{"demo", "-h"}, 0, "-motion-every", ""},
		{"login --help", []string{"login", "--help"}, 0, "-code string", ""},
		{"config --help", []string{"config", "--help"}, 0, "usage: blink2mqtt config", ""},
		{"healthcheck --help", []string{"healthcheck", "--help"}, 0, "usage: blink2mqtt healthcheck", ""},
		{"version --help", []string{"version", "--help"}, 0, "usage: blink2mqtt version", ""},
		{"help demo", []string{"help", "demo"}, 0, "-broker string", ""},
		{"unknown flag", []string{"--bogus"}, 2, "", "blink2mqtt: unknown flag \"--bogus\""},
		{"unknown short flag", []string{"-x"}, 2, "", "usage: blink2mqtt [command]"},
		{"unknown command", []string{"frobnicate"}, 2, "", "blink2mqtt: unknown command \"frobnicate\""},
		{"help for an unknown command", []string{"help", "frobnicate"}, 2, "", "unknown command"},
		{"run with an unknown flag", []string{"run", "--bogus"}, 2, "", "blink2mqtt: run: flag provided but not defined: -bogus"},
		{"run with an argument", []string{"run", "now"}, 2, "", "blink2mqtt: run: unexpected argument \"now\""},
		{"demo with an unknown flag", []string{"demo", "--nope"}, 2, "", "usage: blink2mqtt demo [flags]"},
		{"demo with a bad duration", []string{"demo", "--duration", "soon"}, 2, "", "invalid value \"soon\" for flag -duration"},
		{"demo with a bad level", []string{"demo", "--log-level", "loud"}, 2, "", "demo: --log-level: \"loud\" is not one of trace"},
		{"login with an unknown flag", []string{"login", "--pasword", "x"}, 2, "", "usage: blink2mqtt login [flags]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr, connected := tripwire(t)
			stateDir := filepath.Join(t.TempDir(), "data")
			env := map[string]string{
				"STATE_DIR":       stateDir,
				"MQTT_URL":        "mqtt://" + addr,
				"BLINK_OAUTH_URL": "http://" + addr,
				"BLINK_REST_URL":  "http://" + addr,
				"BLINK_EMAIL":     "me@example.com",
				"BLINK_PASSWORD":  "pw",
				"LOG_FORMAT":      "json",
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var stdout, stderr syncBuffer
			done := make(chan error, 1)
			go func() { done <- run(ctx, tc.args, mapLookup(env), strings.NewReader(""), &stdout, &stderr) }()
			var err error
			select {
			case err = <-done:
			case <-connected:
				cancel()
				<-done
				t.Fatalf("blink2mqtt %s connected to the network", strings.Join(tc.args, " "))
			case <-time.After(10 * time.Second):
				t.Fatalf("blink2mqtt %s still runs after 10 s", strings.Join(tc.args, " "))
			}
			code := exitCode(err, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (err %v)", code, tc.wantCode, err)
			}
			for _, c := range []struct {
				name string
				got  string
				want string
			}{{"stdout", stdout.String(), tc.wantStdout}, {"stderr", stderr.String(), tc.wantStderr}} {
				if c.want == "" && c.got != "" {
					t.Errorf("%s should be empty:\n%s", c.name, c.got)
				}
				if !strings.Contains(c.got, c.want) {
					t.Errorf("%s lacks %q:\n%s", c.name, c.want, c.got)
				}
			}
			if _, err := os.Stat(stateDir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("STATE_DIR was created (%v)", err)
			}
			select {
			case <-connected:
				t.Errorf("blink2mqtt %s connected to the network", strings.Join(tc.args, " "))
			default:
			}
		})
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		wantCode   int
		wantStderr string
	}{
		{"success", nil, 0, ""},
		{"usage error", &usageError{`unknown command "x"`}, 2, "blink2mqtt: unknown command \"x\"\n"},
		{"wrapped usage error", fmt.Errorf("parsing: %w", &usageError{"bad"}), 2, "blink2mqtt: parsing: bad\n"},
		{"failure", errors.New("STATE_DIR: /data is not a directory"), 1, "blink2mqtt: STATE_DIR: /data is not a directory\n"},
		{"one block, each line with the name", errors.New("A: one\nB: two"), 1, "blink2mqtt: A: one\nblink2mqtt: B: two\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var stderr bytes.Buffer
			if code := exitCode(tc.err, &stderr); code != tc.wantCode || stderr.String() != tc.wantStderr {
				t.Errorf("exitCode = %d, stderr %q; want %d, %q", code, stderr.String(), tc.wantCode, tc.wantStderr)
			}
		})
	}
}

// TestSubcommandFlagsStillWork: flags after a command reach it.
func TestSubcommandFlagsStillWork(t *testing.T) {
	t.Parallel()
	t.Run("login --code", func(t *testing.T) {
		t.Parallel()
		fake := blinkfake.New(t, blinkfake.Config{TwoFactor: true, Code: "975310"})
		env, _ := loginEnv(t, fake, true)
		var out bytes.Buffer
		// Standard input is empty: the code can only come from the flag.
		if err := run(context.Background(), []string{"login", "--code", "975310"}, mapLookup(env), strings.NewReader(""), &out, &out); err != nil {
			t.Fatalf("login --code: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), "Logged in") {
			t.Errorf("output:\n%s", out.String())
		}
	})
	t.Run("demo --duration", func(t *testing.T) {
		t.Parallel()
		broker := mqtttest.StartBroker(t)
		var out, errOut syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- run(context.Background(), []string{"demo", "--duration", "300ms", "--broker", broker.URL(), "--motion-every", "0"},
				mapLookup(nil), nil, &out, &errOut)
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo --duration returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("demo --duration 300ms still runs after 15 s")
		}
	})
}
