package blink

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Cooldown after a 429/403 that carried no Retry-After: 60 s, doubling per
// consecutive throttle, at most 30 min (Blink rarely sends one). A Retry-After is
// honoured up to maxRetryAfter.
const (
	baseCooldown  = 60 * time.Second
	maxCooldown   = 30 * time.Minute
	maxRetryAfter = time.Hour
)

// cooldownErr fails fast while a rate-limit cooldown is running.
func (c *Client) cooldownErr(op string) error {
	now := c.now()
	c.mu.Lock()
	until := c.stats.cooldownUntil
	c.mu.Unlock()
	if now.Before(until) {
		return &RateLimitError{Op: op, RetryAfter: until.Sub(now), Until: until}
	}
	return nil
}

// startCooldown records a throttle answer and returns the error for it.
func (c *Client) startCooldown(op string, h http.Header) error {
	now := c.now()
	d, ok := parseRetryAfter(h.Get("Retry-After"), now)
	c.mu.Lock()
	c.stats.throttleStreak++
	if !ok {
		d = baseCooldown << min(c.stats.throttleStreak-1, 8)
		d = min(d, maxCooldown)
	}
	until := now.Add(d)
	if until.After(c.stats.cooldownUntil) {
		c.stats.cooldownUntil = until
	}
	c.mu.Unlock()
	c.log.Warn().Str("endpoint", op).Dur("cooldown", d).Time("until", until).Msg("Blink throttled us; pausing all calls")
	return &RateLimitError{Op: op, RetryAfter: d, Until: until}
}

func (c *Client) clearThrottleStreak() {
	c.mu.Lock()
	c.stats.throttleStreak = 0
	c.mu.Unlock()
}

// parseRetryAfter reads delta-seconds or an HTTP date, capped at maxRetryAfter.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		d = time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = max(t.Sub(now), 0)
	} else {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}
