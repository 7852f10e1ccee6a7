package blink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// OAuth client constants of the iOS app, which Blink's login requires.
const (
	oauthClientID    = "ios"
	oauthScope       = "client"
	oauthRedirectURI = "immedia-blink://applinks.blink.com/signin/callback"
	tokenTmpl        = "/oauth/token"
	// defaultTokenLife is blinkpy's fallback when expires_in is missing.
	defaultTokenLife = time.Hour
	// maxTokenLife caps expires_in (Blink sends 4 h): an absurd value would
	// overflow time.Duration or stop proactive refreshes; a shorter life only
	// costs an early refresh.
	maxTokenLife = 24 * time.Hour
)

// tokenResponse is the JSON of POST /oauth/token.
type tokenResponse struct {
	AccessToken  string  `json:"access_token"`
	RefreshToken string  `json:"refresh_token"`
	ExpiresIn    flexInt `json:"expires_in"`
}

func decodeTokenResponse(op string, body []byte) (tokenResponse, error) {
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return tr, &DecodeError{Op: op, Err: jsonErr(err)}
	}
	if tr.AccessToken == "" {
		return tr, &DecodeError{Op: op, Err: errors.New("no access_token in token response")}
	}
	return tr, nil
}

func (c *Client) expiry(tr tokenResponse) time.Time {
	secs := tr.ExpiresIn.v
	life := defaultTokenLife
	switch {
	case secs > int64(maxTokenLife/time.Second):
		life = maxTokenLife
	case secs > 0:
		life = time.Duration(secs) * time.Second
	}
	return c.now().Add(life)
}

// fresh reports whether t's access token has more than refreshMargin left.
// An unknown expiry counts as fresh; a 401 will tell.
func (c *Client) fresh(t Tokens) bool {
	if t.AccessToken.IsZero() {
		return false
	}
	return t.ExpiresAt.IsZero() || c.now().Add(refreshMargin).Before(t.ExpiresAt)
}

// validToken returns tokens whose access token is usable, refreshing first
// when less than a minute of life remains.
func (c *Client) validToken(ctx context.Context) (Tokens, error) {
	c.mu.Lock()
	t, refused := c.tokens, c.refused
	c.mu.Unlock()
	if refused {
		return Tokens{}, ErrReauthRequired
	}
	if c.fresh(t) {
		return t, nil
	}
	return c.refresh(ctx, t.AccessToken)
}

// refresh exchanges the refresh token for a new access token. stale is the
// access token the caller saw fail or expire: when another caller already
// replaced it, that result is shared instead of refreshing again.
func (c *Client) refresh(ctx context.Context, stale Secret) (Tokens, error) {
	select {
	case c.refreshSem <- struct{}{}:
	case <-ctx.Done():
		return Tokens{}, fmt.Errorf("blink: refresh token: %w", ctx.Err())
	}
	defer func() { <-c.refreshSem }()

	c.mu.Lock()
	t, refused := c.tokens, c.refused
	c.mu.Unlock()
	switch {
	case refused:
		return Tokens{}, ErrReauthRequired
	case t.AccessToken != stale && c.fresh(t):
		return t, nil
	case t.RefreshToken.IsZero():
		return Tokens{}, ErrReauthRequired
	}

	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {t.RefreshToken.Reveal()},
		"client_id":     {oauthClientID},
		"scope":         {oauthScope},
		"hardware_id":   {t.HardwareID},
	}
	cl := &call{
		method: http.MethodPost, tmpl: tokenTmpl, base: c.oauthURL, path: tokenTmpl,
		body: []byte(form.Encode()), ctype: "application/x-www-form-urlencoded",
		prof: profToken, raw: true, redirect: redirectRefuse, // the body carries the refresh token
	}
	resp, err := c.do(ctx, cl)
	if err != nil {
		return Tokens{}, fmt.Errorf("blink: refresh token: %w", err)
	}
	switch resp.status {
	case http.StatusOK:
	case http.StatusBadRequest, http.StatusUnauthorized:
		c.mu.Lock()
		c.refused = true
		c.mu.Unlock()
		se := newStatusError(cl.op(), resp, ErrReauthRequired)
		c.log.Error().Int("status", resp.status).Str("reason", se.Message).
			Msg("Blink refused the refresh token; a new login is required")
		return Tokens{}, se
	default:
		return Tokens{}, fmt.Errorf("blink: refresh token: %w", newStatusError(cl.op(), resp, nil))
	}
	tr, err := decodeTokenResponse(cl.op(), resp.body)
	if err != nil {
		return Tokens{}, err
	}

	c.mu.Lock()
	nt := c.tokens
	if nt.RefreshToken != t.RefreshToken {
		// A login or ReloadTokens replaced the session meanwhile; it wins.
		c.mu.Unlock()
		return nt, nil
	}
	nt.AccessToken = Secret(tr.AccessToken)
	if tr.RefreshToken != "" {
		nt.RefreshToken = Secret(tr.RefreshToken)
	}
	nt.ExpiresAt = c.expiry(tr)
	c.tokens = nt
	c.mu.Unlock()

	if err := c.persist(); err != nil {
		// The session still works in memory; a restart would need the newest
		// refresh token, so make this loud.
		c.log.Error().Err(err).Msg("cannot persist refreshed tokens")
	}
	c.log.Info().Time("expires_at", nt.ExpiresAt).Bool("rotated", tr.RefreshToken != "").Msg("access token refreshed")
	return nt, nil
}
