package blink

import (
	"context"
	"math/rand/v2"
	"time"
)

// Retries of 5xx and network errors inside one call: short, a few tries
// (never a storm against Blink); the caller's poll loop is the long-term retry.
const (
	maxRetryDelay = 8 * time.Second
	// maxServerRetryAfter: a 5xx asking for a longer pause is not retried inside the call.
	maxServerRetryAfter = 30 * time.Second
)

// backoffDelay is exponential with "equal jitter": half the step fixed, half random.
func backoffDelay(base time.Duration, attempt int, limit time.Duration) time.Duration {
	d := base << min(attempt-1, 20)
	if d <= 0 || d > limit {
		d = limit
	}
	half := d / 2
	return half + rand.N(half+1)
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
