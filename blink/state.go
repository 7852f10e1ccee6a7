package blink

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"
)

// Read-only endpoints of the account (device configs are in familyRoutes).
const (
	homescreenTmpl   = "/api/v3/accounts/{acct}/homescreen"
	mediaChangedTmpl = "/api/v1/accounts/{acct}/media/changed"
	// sinceLayout is blinkpy's form of media/changed's "since".
	sinceLayout = "2006-01-02T15:04:05+0000"
)

// accountID returns the session's account id, or ErrReauthRequired without a session.
func (c *Client) accountID() (int64, error) {
	t := c.snapshot()
	if t.AccountID == 0 || t.RefreshToken.IsZero() && t.AccessToken.IsZero() {
		return 0, ErrReauthRequired
	}
	return t.AccountID, nil
}

// get runs an authenticated GET of tmpl and returns the body.
func (c *Client) get(ctx context.Context, tmpl string, v ids, q url.Values) (*call, *response, error) {
	cl := &call{method: http.MethodGet, tmpl: tmpl, path: fill(tmpl, v), query: q, auth: true, prof: profREST, redirect: redirectSameOrigin}
	resp, err := c.do(ctx, cl)
	return cl, resp, err
}

// Homescreen fetches the account state (networks, sync modules, devices).
func (c *Client) Homescreen(ctx context.Context) (*Homescreen, error) {
	acct, err := c.accountID()
	if err != nil {
		return nil, err
	}
	cl, resp, err := c.get(ctx, homescreenTmpl, ids{acct: acct}, nil)
	if err != nil {
		return nil, err
	}
	hs, err := decodeHomescreen(cl.op(), resp.body)
	if err != nil {
		return nil, err
	}
	if hs.AccountID == 0 {
		hs.AccountID = acct
	}
	c.noteClientIDs(resp.header)
	return hs, nil
}

// noteClientIDs keeps the Client-Id/User-Id headers of homescreen;
// OAuth token answers do not carry them.
func (c *Client) noteClientIDs(h http.Header) {
	cid, _ := strconv.ParseInt(h.Get("Client-Id"), 10, 64)
	uid, _ := strconv.ParseInt(h.Get("User-Id"), 10, 64)
	c.mu.Lock()
	t := c.tokens
	changed := (cid != 0 && cid != t.ClientID) || (uid != 0 && uid != t.UserID)
	if changed {
		if cid != 0 {
			t.ClientID = cid
		}
		if uid != 0 {
			t.UserID = uid
		}
		c.tokens = t
	}
	c.mu.Unlock()
	if changed {
		if err := c.persist(); err != nil {
			c.log.Warn().Err(err).Msg("cannot persist client and user id")
		}
	}
}

// MediaChanged reads the media/changed feed: every page until an empty one
// (at most maxMediaPages), de-duplicated by id (the newest change wins),
// deleted items skipped, sorted by CreatedAt ascending. It does not filter by
// since — Blink returns older clips too, so the caller keeps its own watermark.
func (c *Client) MediaChanged(ctx context.Context, since time.Time) ([]Media, error) {
	acct, err := c.accountID()
	if err != nil {
		return nil, err
	}
	if since.IsZero() || since.Before(time.Unix(0, 0)) {
		since = time.Unix(0, 0)
	}
	sinceStr := since.UTC().Format(sinceLayout)
	seen := make(map[int64]bool)
	var out []Media
	for page := 1; page <= maxMediaPages; page++ {
		q := url.Values{"since": {sinceStr}, "page": {strconv.Itoa(page)}}
		cl, resp, err := c.get(ctx, mediaChangedTmpl, ids{acct: acct}, q)
		if err != nil {
			return nil, fmt.Errorf("%w (page %d)", err, page)
		}
		items, limit, err := decodeMediaPage(cl.op(), resp.body)
		if err != nil {
			return nil, err
		}
		if len(items) == 0 {
			break
		}
		for _, m := range items {
			if seen[m.ID] {
				continue
			}
			seen[m.ID] = true
			if !m.Deleted {
				out = append(out, m)
			}
		}
		if limit > 0 && len(items) < limit {
			break // a short page is the last one; saves a call
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// CameraConfig reads a sync-module camera's config and signals.
func (c *Client) CameraConfig(ctx context.Context, d DeviceRef) (*CameraConfig, error) {
	return deviceConfig(ctx, c, d, FamilyCamera, decodeCameraConfig)
}

// OwlConfig reads a Mini's config.
func (c *Client) OwlConfig(ctx context.Context, d DeviceRef) (*OwlConfig, error) {
	return deviceConfig(ctx, c, d, FamilyOwl, decodeOwlConfig)
}

// DoorbellConfig reads a doorbell's config, its only source of telemetry.
func (c *Client) DoorbellConfig(ctx context.Context, d DeviceRef) (*DoorbellConfig, error) {
	return deviceConfig(ctx, c, d, FamilyDoorbell, decodeDoorbellConfig)
}

// deviceConfig GETs d's config endpoint, which must be of family want (each
// family's config has its own shape), and decodes it.
func deviceConfig[T any](ctx context.Context, c *Client, d DeviceRef, want Family, decode func(op string, body []byte) (*T, error)) (*T, error) {
	if d.Family != want {
		return nil, fmt.Errorf("blink: %s config of a %q device: %w", want, d.Family, ErrWrongFamily)
	}
	r, err := routeFor(d.Family, epConfig)
	if err != nil {
		return nil, err
	}
	acct, err := c.accountID()
	if err != nil {
		return nil, err
	}
	cl, resp, err := c.get(ctx, r.tmpl, ids{acct: acct, net: d.NetworkID, cam: d.ID}, nil)
	if err != nil {
		return nil, err
	}
	return decode(cl.op(), resp.body)
}
