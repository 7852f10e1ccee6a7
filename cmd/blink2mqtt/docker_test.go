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
}
