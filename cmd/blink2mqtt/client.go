package main

import (
	"net/http"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/internal/metrics"
)

// newBlinkClient builds the one Blink client of the process, with the one
// shared rate limiter (BLINK_RATE_LIMIT per second, small burst).
func newBlinkClient(cfg *Config, log zerolog.Logger, m *metrics.Metrics) (*blink.Client, error) {
	opts := blink.Options{
		OAuthURL: cfg.BlinkOAuthURL,
		RESTURL:  cfg.BlinkRESTURL,
		Limiter:  rate.NewLimiter(rate.Limit(cfg.BlinkRateLimit), 3),
		Store:    &blink.FileTokenStore{Path: filepath.Join(cfg.StateDir, tokenFileName)},
		Logger:   log,
	}
	if m != nil {
		opts.OnRequest = requestHook(m)
	}
	c, err := blink.New(opts)
	if err != nil {
		return nil, err
	}
	if m != nil {
		m.WatchCooldown(func() time.Time { return c.Stats().CooldownUntil })
	}
	return c, nil
}

// requestHook turns the Blink client's per-request reports into metrics.
func requestHook(m *metrics.Metrics) func(blink.RequestInfo) {
	return func(ri blink.RequestInfo) {
		m.BlinkRequest(ri.Endpoint, ri.Status, ri.Duration)
		if ri.Status == http.StatusTooManyRequests || ri.Status == http.StatusForbidden {
			m.RateLimited()
		}
	}
}
