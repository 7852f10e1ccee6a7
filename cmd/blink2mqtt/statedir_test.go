package main

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// mustMode creates path (a directory when dir) with exactly mode perm,
// whatever the umask.
func mustMode(t *testing.T, path string, dir bool, perm os.FileMode) {
	t.Helper()
	var err error
	if dir {
		err = os.Mkdir(path, perm)
	} else {
		err = os.WriteFile(path, []byte("{}"), perm)
	}
	if err == nil {
		err = os.Chmod(path, perm)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func modeOf(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestTightenStateDir(t *testing.T) {
	t.Parallel()
	eperm := func(string, os.FileMode) error { return &fs.PathError{Op: "chmod", Path: "x", Err: syscall.EPERM} }
	tests := []struct {
		name      string
		build     func(t *testing.T, dir string) // nil: the directory does not exist yet
		chmod     func(string, os.FileMode) error
		wantModes map[string]os.FileMode // relative to dir; "." is dir
		wantLog   string                 // "" = no log line
		wantErr   string
	}{
		{name: "created private", wantModes: map[string]os.FileMode{".": 0o700}},
		{name: "docker volume: 0755 with a 0644 token", build: func(t *testing.T, dir string) {
			mustMode(t, dir, true, 0o755)
			mustMode(t, filepath.Join(dir, tokenFileName), false, 0o644)
			mustMode(t, filepath.Join(dir, "media.json"), false, 0o640)
			mustMode(t, filepath.Join(dir, "mine.json"), false, 0o600)
		},
			wantModes: map[string]os.FileMode{".": 0o700, tokenFileName: 0o600, "media.json": 0o600, "mine.json": 0o600},
			wantLog:   "0755→0700, ",
		},
		{name: "owner bits are kept", build: func(t *testing.T, dir string) {
			mustMode(t, dir, true, 0o777)
			mustMode(t, filepath.Join(dir, "run.sh"), false, 0o755)
		},
			wantModes: map[string]os.FileMode{".": 0o700, "run.sh": 0o700},
			wantLog:   "run.sh 0755→0700",
		},
		{name: "already private: nothing to say", build: func(t *testing.T, dir string) {
			mustMode(t, dir, true, 0o700)
			mustMode(t, filepath.Join(dir, tokenFileName), false, 0o600)
		},
			wantModes: map[string]os.FileMode{".": 0o700, tokenFileName: 0o600},
		},
		{name: "not ours: refused with a line that says what to do", build: func(t *testing.T, dir string) {
			mustMode(t, dir, true, 0o755)
		},
			chmod:   eperm,
			wantErr: "has mode 0755 (others could read the Blink token) and blink2mqtt, running as uid",
		},
		{name: "a token not ours: refused", build: func(t *testing.T, dir string) {
			mustMode(t, dir, true, 0o700)
			mustMode(t, filepath.Join(dir, tokenFileName), false, 0o644)
		},
			chmod:   eperm,
			wantErr: tokenFileName + " has mode 0644",
		},
		{name: "not a directory", build: func(t *testing.T, dir string) {
			mustMode(t, dir, false, 0o600)
		},
			wantErr: "not a directory",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			if tc.build != nil {
				tc.build(t, dir)
			}
			chmod := tc.chmod
			if chmod == nil {
				chmod = os.Chmod
			}
			var logs bytes.Buffer
			err := tightenStateDir(dir, chmod, zerolog.New(&logs))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.HasPrefix(err.Error(), "STATE_DIR: ") {
					t.Fatalf("err = %v, want one starting with STATE_DIR: and containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("the refusal is not one line: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			for rel, want := range tc.wantModes {
				if got := modeOf(t, filepath.Join(dir, rel)); got != want {
					t.Errorf("%s: mode %04o, want %04o", rel, got, want)
				}
			}
			lines := strings.Count(logs.String(), "\n")
			switch {
			case tc.wantLog == "" && lines != 0:
				t.Errorf("logged although nothing changed: %s", logs.String())
			case tc.wantLog != "" && (lines != 1 || !strings.Contains(logs.String(), tc.wantLog)):
				t.Errorf("want one log line containing %q, got:\n%s", tc.wantLog, logs.String())
			}
		})
	}
}

// TestDaemonStartsOnDockerStyleStateDir: the Docker image's first start. Its
// /data is a 0755 directory owned by the user the daemon runs as, here with
// a 0644 token inside (an old image, a copied volume); the daemon makes
// both private, says so once, and runs with the token.
func TestDaemonStartsOnDockerStyleStateDir(t *testing.T) {
	t.Parallel()
	fake := blinkfake.New(t, blinkfake.Config{})
	env, loginDir := loginEnv(t, fake, true)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"login"}, mapLookup(env), strings.NewReader(""), &out, &out); err != nil {
		t.Fatalf("login: %v\n%s", err, out.String())
	}
	token, err := os.ReadFile(filepath.Join(loginDir, tokenFileName))
	if err != nil {
		t.Fatal(err)
	}
	logins := fake.Logins()

	data := daemonStateDir(t)
	mustMode(t, data, true, 0o755) // RUN mkdir -p /out/data, as the old Dockerfile did
	if err := os.WriteFile(filepath.Join(data, tokenFileName), token, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(data, tokenFileName), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(data); err != nil || fi.Sys().(*syscall.Stat_t).Uid != uint32(os.Geteuid()) {
		t.Fatalf("the test directory should belong to the running user: %v", err)
	}

	broker := mqtttest.StartBroker(t)
	rec := mqtttest.NewBrokerRecorder(t, broker, "blink2mqtt/#")
	denv := daemonEnv(fake, broker.URL(), data)
	delete(denv, "BLINK_PASSWORD") // the token must do
	var stdout, logs syncBuffer
	stop := startRun(t, []string{"run"}, denv, &stdout, &logs)
	rec.WaitFor(t, "blink2mqtt/bridge/state", mqtttest.Equals("online"))
	rec.WaitFor(t, "blink2mqtt/bridge/info", mqtttest.Contains(`"last_successful_poll":"2`))
	if err := stop(); err != nil {
		t.Fatalf("daemon returned %v\n%s", err, logs.String())
	}
	if got := modeOf(t, data); got != 0o700 {
		t.Errorf("STATE_DIR mode %04o after start, want 0700", got)
	}
	if got := modeOf(t, filepath.Join(data, tokenFileName)); got != 0o600 {
		t.Errorf("token mode %04o after start, want 0600", got)
	}
	if n := strings.Count(logs.String(), "made it private"); n != 1 {
		t.Errorf("%d log lines about the modes, want 1:\n%s", n, logs.String())
	}
	if fake.Logins() != logins {
		t.Errorf("the daemon logged in again instead of using the token")
	}
}

// TestStateDirRefusalIsOneClearLine: what cannot be fixed stops start-up
// with one line naming STATE_DIR.
func TestStateDirRefusalIsOneClearLine(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "data")
	mustMode(t, file, false, 0o600)
	var out, errOut bytes.Buffer
	env := map[string]string{"STATE_DIR": file, "MQTT_URL": "mqtt://127.0.0.1:1", "LOG_FORMAT": "json"}
	code := exitCode(run(context.Background(), []string{"run"}, mapLookup(env), nil, &out, &errOut), &errOut)
	if code != 1 || !strings.HasPrefix(errOut.String(), "blink2mqtt: STATE_DIR: ") || !strings.HasSuffix(errOut.String(), file+": not a directory\n") ||
		strings.Count(errOut.String(), "\n") != 1 {
		t.Errorf("exit %d, stderr:\n%s", code, errOut.String())
	}
}
