package main

import (
	"path/filepath"

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
		opts.OnRequest = func(ri blink.RequestInfo) { m.BlinkRequest(ri.Endpoint, ri.Status, ri.Duration) }
	}
	return blink.New(opts)
}
