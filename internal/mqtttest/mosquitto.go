package mqtttest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mosquitto is a real Mosquitto broker started by a test on a free loopback
// port. Stop kills it (like a crash); Start brings it back on the same port.
type Mosquitto struct {
	tb      testing.TB // reports a broker that does not exit
	bin     string
	cfgPath string
	port    int
	logPath string

	mu  sync.Mutex
	cmd *exec.Cmd
	// exited is closed when the current process has been reaped.
	exited chan struct{}
}

// FindMosquitto returns the mosquitto binary from PATH or /usr/sbin.
func FindMosquitto() (string, error) {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("mosquitto not found in PATH or /usr/sbin")
}

// StartMosquitto starts Mosquitto listening on 127.0.0.1:<free port> with
// anonymous access and no persistence, and kills it when the test ends. The
// test is skipped when Mosquitto is not installed.
//
// A free port can be taken by another listener before Mosquitto binds it
// (tests run in parallel); then Mosquitto exits at start and another port is
// tried.
func StartMosquitto(t testing.TB) *Mosquitto {
	t.Helper()
	bin, err := FindMosquitto()
	if err != nil {
		t.Skipf("mosquitto not installed: %v (install the mosquitto package to run this test)", err)
	}
	dir := t.TempDir()
	m := &Mosquitto{
		tb:      t,
		bin:     bin,
		cfgPath: filepath.Join(dir, "mosquitto.conf"),
		logPath: filepath.Join(dir, "mosquitto.log"),
	}
	t.Cleanup(m.Stop)
	for attempt := 1; ; attempt++ {
		if m.port, err = freePort(); err != nil {
			t.Fatalf("mqtttest: free port: %v", err)
		}
		cfg := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", m.port)
		if err := os.WriteFile(m.cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatalf("mqtttest: write mosquitto config: %v", err)
		}
		err := m.start()
		if err == nil {
			return m
		}
		if !errors.Is(err, errPortTaken) || attempt == 5 {
			t.Fatal(err)
		}
	}
}

// Addr is the broker's host:port.
func (m *Mosquitto) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port)) }

// URL is the broker's address as an mqtt:// URL.
func (m *Mosquitto) URL() string { return "mqtt://" + m.Addr() }

// Start launches the broker again on its port and waits until it runs. It
// does nothing while the broker runs.
func (m *Mosquitto) Start(t testing.TB) {
	t.Helper()
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
}

// errPortTaken: Mosquitto exited at start because its port was in use.
var errPortTaken = errors.New("mqtttest: mosquitto's port is taken")

// start launches Mosquitto and waits until it says it runs (its listener is
// bound then) and its port accepts connections. A port that only accepts
// connections may belong to another listener.
func (m *Mosquitto) start() error {
	m.mu.Lock()
	if m.cmd != nil {
		m.mu.Unlock()
		return nil
	}
	logf, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		m.mu.Unlock()
		return fmt.Errorf("mqtttest: mosquitto log: %w", err)
	}
	logStart, _ := logf.Seek(0, io.SeekEnd) // this run's lines follow
	cmd := exec.Command(m.bin, "-c", m.cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		m.mu.Unlock()
		_ = logf.Close()
		return fmt.Errorf("mqtttest: start mosquitto: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		_ = logf.Close()
		close(exited)
	}()
	m.cmd, m.exited = cmd, exited
	m.mu.Unlock()

	runLog := func() string {
		b, _ := os.ReadFile(m.logPath)
		if int64(len(b)) < logStart {
			return ""
		}
		return string(b[logStart:])
	}
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if strings.Contains(runLog(), " running") {
			if c, err := net.DialTimeout("tcp", m.Addr(), time.Second); err == nil {
				_ = c.Close()
				return nil
			}
		}
		select {
		case <-exited:
			m.mu.Lock()
			m.cmd = nil
			m.mu.Unlock()
			log := runLog()
			if strings.Contains(log, "Address already in use") {
				return fmt.Errorf("%w: %s", errPortTaken, log)
			}
			return fmt.Errorf("mqtttest: mosquitto exited at start:\n%s", log)
		case <-deadline.C:
			return fmt.Errorf("mqtttest: mosquitto did not open %s within 10s:\n%s", m.Addr(), runLog())
		case <-tick.C:
		}
	}
}

// Stop kills the broker (SIGKILL, like a crash) and waits for it to exit;
// the test fails when it has not exited within 10 s. It is safe to call
// when the broker is not running.
func (m *Mosquitto) Stop() {
	m.mu.Lock()
	cmd, exited := m.cmd, m.exited
	m.cmd = nil
	m.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case <-exited:
	case <-timer.C:
		m.tb.Errorf("mqtttest: mosquitto (pid %d) still running 10s after SIGKILL", cmd.Process.Pid)
	}
}

// freePort is a loopback port nothing listens on right now (a variable so
// that a test can hand out a taken one).
var freePort = func() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
