package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/bridge"
)

// healthStatus is what /healthz judges: the bridge fills it in.
type healthStatus struct {
	MQTTConnected bool
	AuthState     string    // ok, code_required, reauth_required, error
	LastPoll      time.Time // last successful homescreen poll
}

type healthCheck struct {
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

type healthReport struct {
	Status string                 `json:"status"` // "ok" or "fail"
	Checks map[string]healthCheck `json:"checks"`
}

// evaluateHealth applies the /healthz rules: MQTT connected, auth ok, and a
// successful poll younger than three poll intervals.
func evaluateHealth(s healthStatus, now time.Time, pollInterval time.Duration) healthReport {
	r := healthReport{Status: "ok", Checks: map[string]healthCheck{}}
	add := func(name string, ok bool, detail string) {
		r.Checks[name] = healthCheck{OK: ok, Detail: detail}
		if !ok {
			r.Status = "fail"
		}
	}
	if s.MQTTConnected {
		add("mqtt", true, "connected")
	} else {
		add("mqtt", false, "not connected to the broker")
	}
	add("auth", s.AuthState == "ok", "auth state "+s.AuthState)
	maxAge := 3 * pollInterval
	switch {
	case s.LastPoll.IsZero():
		add("poll", false, "no successful poll yet")
	case now.Sub(s.LastPoll) > maxAge:
		add("poll", false, fmt.Sprintf("last successful poll %s ago (limit %s)", now.Sub(s.LastPoll).Round(time.Second), maxAge))
	default:
		add("poll", true, fmt.Sprintf("last successful poll %s ago", now.Sub(s.LastPoll).Round(time.Second)))
	}
	return r
}

// healthHandler serves /healthz: 200 when every check passes, 503 otherwise,
// with a JSON body naming each check.
func healthHandler(status func() healthStatus, pollInterval time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r := evaluateHealth(status(), time.Now(), pollInterval)
		w.Header().Set("Content-Type", "application/json")
		if r.Status != "ok" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(r)
	})
}

// httpServingMsg is the log line that names the address HTTP_LISTEN bound.
const httpServingMsg = "serving the web page, /healthz and /metrics"

// listenHTTP binds HTTP_LISTEN. The daemon binds before it starts anything
// else, so a taken or bad address stops it with a clear error instead of a
// bridge that runs without its page and /healthz (and a Docker healthcheck
// that asks whoever holds the port).
func listenHTTP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("HTTP_LISTEN %s: %w", addr, err)
	}
	return ln, nil
}

// serveHTTP serves the page, /healthz and /metrics on ln until ctx ends.
func serveHTTP(ctx context.Context, ln net.Listener, mux http.Handler, log zerolog.Logger) error {
	// A request body (the page's forms) is read within ReadTimeout; idle
	// keep-alive connections of the page's refresh are closed after a while.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info().Str("addr", ln.Addr().String()).Msg(httpServingMsg)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

// healthURL turns HTTP_LISTEN (":8080", "0.0.0.0:8080", "host:8080") into the
// URL the healthcheck subcommand asks; wildcard hosts become loopback.
func healthURL(listen string) (string, error) {
	addr, err := localAddr(listen)
	if err != nil {
		return "", fmt.Errorf("HTTP_LISTEN: %w", err)
	}
	return "http://" + addr + "/healthz", nil
}

// localAddr is a listen address as this machine reaches it: one that
// listens on every address (":8080", "0.0.0.0:8080", "[::]:8080") is
// reached on loopback.
func localAddr(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// runHealthcheck asks /healthz and fails unless it answers 200.
func runHealthcheck(ctx context.Context, lookup lookupFunc, stdout io.Writer) error {
	cfg, err := loadConfig(lookup)
	if err != nil {
		return err
	}
	if cfg.HTTPListen == "" {
		return errors.New("HTTP_LISTEN is not set, so there is no /healthz to ask")
	}
	u, err := healthURL(cfg.HTTPListen)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 4*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	stdout.Write(body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s", resp.Status)
	}
	return nil
}

// bridgeHealth adapts the bridge's view to the /healthz rules.
func bridgeHealth(b *bridge.Bridge) healthStatus {
	h := b.Health()
	return healthStatus{MQTTConnected: h.MQTTConnected, AuthState: string(h.Auth), LastPoll: h.LastPoll}
}
