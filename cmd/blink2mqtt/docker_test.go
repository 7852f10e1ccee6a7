package main

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDockerfileBuildLine builds the binary with the exact `go build` line of
// the Dockerfile (no Docker engine runs here) and checks that the result is
// static, stamped with the version and runs.
func TestDockerfileBuildLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole binary; skipped with -short")
	}
	f, err := os.Open(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var line string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "RUN CGO_ENABLED=0 go build") {
			line = strings.TrimPrefix(l, "RUN ")
		}
	}
	if line == "" {
		t.Fatal("Dockerfile has no `RUN CGO_ENABLED=0 go build` line")
	}
	for _, want := range []string{"-trimpath", "-X main.version=${VERSION}", "./cmd/blink2mqtt"} {
		if !strings.Contains(line, want) {
			t.Errorf("build line lacks %q: %s", want, line)
		}
	}
	out := filepath.Join(t.TempDir(), "blink2mqtt")
	line = strings.ReplaceAll(line, "${VERSION}", "v9.9.9-test")
	line = strings.ReplaceAll(line, "/out/blink2mqtt", out)
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = filepath.Join("..", "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", line, err, b)
	}
	ef, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has a program interpreter: it is not static")
		}
	}
	b, err := exec.Command(out, "version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(b)) != "blink2mqtt v9.9.9-test" {
		t.Errorf("version output = %q, %v", b, err)
	}

	// main's exit status, from a working directory where ./data would
	// appear if the daemon started, with the broker at a tripwire.
	addr, connected := tripwire(t)
	for _, tc := range []struct {
		args     []string
		wantCode int
	}{
		{[]string{"--help"}, 0}, {[]string{"-v"}, 0}, {[]string{"demo", "--help"}, 0},
		{[]string{"--bogus"}, 2}, {[]string{"frobnicate"}, 2}, {[]string{"run", "--bogus"}, 2},
		{[]string{"config"}, 1}, // LOG_LEVEL below is bad
	} {
		wd := t.TempDir()
		cmd := exec.Command(out, tc.args...)
		cmd.Dir = wd
		cmd.Env = []string{"MQTT_URL=mqtt://" + addr, "LOG_LEVEL=loud"}
		b, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.wantCode {
			t.Errorf("blink2mqtt %v exited %d, want %d:\n%s", tc.args, code, tc.wantCode, b)
		}
		if _, err := os.Stat(filepath.Join(wd, "data")); err == nil {
			t.Errorf("blink2mqtt %v created ./data", tc.args)
		}
	}
	select {
	case <-connected:
		t.Error("a help, version or bad command line connected to the broker")
	default:
	}
}

// dockerfileLine returns the Dockerfile's one line starting with prefix.
func dockerfileLine(t *testing.T, prefix string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, prefix) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("Dockerfile has %d lines starting with %q, want 1: %q", len(found), prefix, found)
	}
	return found[0]
}

// TestDockerfileDataDir runs the Dockerfile's line that makes /data and
// checks the image gets it 0700 and owned by the non-root user: COPY keeps
// the modes of a source directory's entries, so /data must be one.
func TestDockerfileDataDir(t *testing.T) {
	t.Parallel()
	run := strings.TrimPrefix(dockerfileLine(t, "RUN mkdir -p /out/rootfs"), "RUN ")
	root := t.TempDir()
	cmd := exec.Command("sh", "-c", strings.ReplaceAll(run, "/out/", root+"/out/"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", run, err, b)
	}
	if got := modeOf(t, filepath.Join(root, "out", "rootfs", "data")); got != 0o700 {
		t.Errorf("/data is made with mode %04o, want 0700", got)
	}
	cp := dockerfileLine(t, "COPY --from=build --chown=65532:65532")
	if !strings.HasSuffix(cp, " /out/rootfs/ /") {
		t.Errorf("/data must arrive as an entry of the copied directory (its mode kept): %s", cp)
	}
	if user := dockerfileLine(t, "USER "); user != "USER 65532:65532" {
		t.Errorf("the image runs as %q, not the owner of /data", user)
	}
}
