package blink

import (
	"maps"
	"time"
)

// Stats is the request accounting of a Client (bridge/info and metrics).
type Stats struct {
	// Requests counts HTTP attempts per endpoint template and status
	// ("GET /api/v3/accounts/{acct}/homescreen" → 200 → n). Status 0 means
	// no answer arrived (network error or timeout).
	Requests map[string]map[int]int
	// Total is the number of HTTP attempts since New.
	Total int
	// LastHour is the number of HTTP attempts in the last hour.
	LastHour int
	// CooldownUntil is the end of the current rate-limit cooldown (zero or
	// in the past when none is running).
	CooldownUntil time.Time
}

type stats struct {
	requests       map[string]map[int]int
	total          int
	recent         []time.Time // attempt times within the last hour, oldest first
	cooldownUntil  time.Time
	throttleStreak int // consecutive 429/403 answers without a 2xx in between
}

func (s *stats) init() { s.requests = make(map[string]map[int]int) }

func (s *stats) prune(now time.Time) {
	cut := now.Add(-time.Hour)
	i := 0
	for i < len(s.recent) && !s.recent[i].After(cut) {
		i++
	}
	if i > 0 {
		s.recent = append(s.recent[:0], s.recent[i:]...)
	}
}

// record counts one HTTP attempt and calls the OnRequest hook.
func (c *Client) record(endpoint string, status int, d time.Duration, err error) {
	now := c.now()
	c.mu.Lock()
	m := c.stats.requests[endpoint]
	if m == nil {
		m = make(map[int]int)
		c.stats.requests[endpoint] = m
	}
	m[status]++
	c.stats.total++
	c.stats.prune(now)
	c.stats.recent = append(c.stats.recent, now)
	c.mu.Unlock()

	ev := c.log.Debug().Str("endpoint", endpoint).Dur("duration", d)
	if err != nil {
		ev.Err(err).Msg("request failed")
	} else {
		ev.Int("status", status).Msg("request")
	}
	if c.onRequest != nil {
		c.onRequest(RequestInfo{Endpoint: endpoint, Status: status, Duration: d, Err: err})
	}
}

// Stats returns a copy of the request accounting.
func (c *Client) Stats() Stats {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.prune(now)
	req := make(map[string]map[int]int, len(c.stats.requests))
	for k, v := range c.stats.requests {
		req[k] = maps.Clone(v)
	}
	return Stats{
		Requests:      req,
		Total:         c.stats.total,
		LastHour:      len(c.stats.recent),
		CooldownUntil: c.stats.cooldownUntil,
	}
}
