package bridge

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// Cloud is what the bridge needs from the Blink client. *blink.Client
// implements it; tests use small fakes. Every method may block on the
// client's shared rate limiter and must honour ctx.
type Cloud interface {
	// Homescreen returns the whole account state in one call.
	Homescreen(ctx context.Context) (*blink.Homescreen, error)
	// MediaChanged returns media items changed since since, oldest first.
	MediaChanged(ctx context.Context, since time.Time) ([]blink.Media, error)
	// Arm and Disarm return once Blink reports the command complete or failed.
	Arm(ctx context.Context, networkID int64) (*blink.CommandResult, error)
	Disarm(ctx context.Context, networkID int64) (*blink.CommandResult, error)
	SetMotionDetection(ctx context.Context, d blink.DeviceRef, enabled bool) (*blink.CommandResult, error)
	RequestThumbnail(ctx context.Context, d blink.DeviceRef) (*blink.CommandResult, error)
	RecordClip(ctx context.Context, d blink.DeviceRef) (*blink.CommandResult, error)
	// Download fetches a server path (thumbnail, clip) up to maxBytes.
	Download(ctx context.Context, path string, maxBytes int64) ([]byte, string, error)
	// HasSession reports whether a refresh token is present.
	HasSession() bool
	// Session is the non-secret session (account id, tier) for bridge/info.
	Session() blink.SessionInfo
	// Stats is the request accounting (calls in the last hour, cooldown).
	Stats() blink.Stats
}

var _ Cloud = (*blink.Client)(nil)

// tokenReloader is implemented by clients that can re-read their token
// store; the bridge uses it to notice a login made with the CLI while it
// waits in reauth_required.
type tokenReloader interface {
	ReloadTokens() (changed bool, err error)
}

// clipDownloader is implemented by clients that can stream a download
// (*blink.Client); others download into memory.
type clipDownloader interface {
	DownloadTo(ctx context.Context, path string, w io.Writer, maxBytes int64) (int64, error)
}

// cloudGate is the one way every part calls Blink. It notes, once and in
// one place, what an answer says about the session: a refused login
// (onAuthLost) and a rate limit (onCooldown, with its end).
type cloudGate struct {
	Cloud
	onAuthLost func()
	onCooldown func(until time.Time)
}

// note reports err's meaning for the session and returns it unchanged.
func (g *cloudGate) note(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, blink.ErrReauthRequired) && g.onAuthLost != nil {
		g.onAuthLost()
	}
	if until, ok := rateLimitedUntil(err); ok && g.onCooldown != nil {
		g.onCooldown(until)
	}
	return err
}

func (g *cloudGate) Homescreen(ctx context.Context) (*blink.Homescreen, error) {
	hs, err := g.Cloud.Homescreen(ctx)
	return hs, g.note(err)
}

func (g *cloudGate) MediaChanged(ctx context.Context, since time.Time) ([]blink.Media, error) {
	m, err := g.Cloud.MediaChanged(ctx, since)
	return m, g.note(err)
}

func (g *cloudGate) Arm(ctx context.Context, net int64) (*blink.CommandResult, error) {
	r, err := g.Cloud.Arm(ctx, net)
	return r, g.note(err)
}

func (g *cloudGate) Disarm(ctx context.Context, net int64) (*blink.CommandResult, error) {
	r, err := g.Cloud.Disarm(ctx, net)
	return r, g.note(err)
}

func (g *cloudGate) SetMotionDetection(ctx context.Context, d blink.DeviceRef, on bool) (*blink.CommandResult, error) {
	r, err := g.Cloud.SetMotionDetection(ctx, d, on)
	return r, g.note(err)
}

func (g *cloudGate) RequestThumbnail(ctx context.Context, d blink.DeviceRef) (*blink.CommandResult, error) {
	r, err := g.Cloud.RequestThumbnail(ctx, d)
	return r, g.note(err)
}

func (g *cloudGate) RecordClip(ctx context.Context, d blink.DeviceRef) (*blink.CommandResult, error) {
	r, err := g.Cloud.RecordClip(ctx, d)
	return r, g.note(err)
}

func (g *cloudGate) Download(ctx context.Context, path string, maxBytes int64) ([]byte, string, error) {
	b, ct, err := g.Cloud.Download(ctx, path, maxBytes)
	return b, ct, g.note(err)
}

// DownloadTo streams when the client can, and buffers otherwise.
func (g *cloudGate) DownloadTo(ctx context.Context, path string, w io.Writer, maxBytes int64) (int64, error) {
	if d, ok := g.Cloud.(clipDownloader); ok {
		n, err := d.DownloadTo(ctx, path, w, maxBytes)
		return n, g.note(err)
	}
	data, _, err := g.Download(ctx, path, maxBytes)
	if err != nil {
		return 0, err
	}
	n, err := w.Write(data)
	return int64(n), err
}

// ReloadTokens re-reads the token store when the client can.
func (g *cloudGate) ReloadTokens() (bool, error) {
	if r, ok := g.Cloud.(tokenReloader); ok {
		return r.ReloadTokens()
	}
	return false, nil
}

func rateLimitedUntil(err error) (time.Time, bool) {
	var rl *blink.RateLimitError
	if errors.As(err, &rl) {
		return rl.Until, !rl.Until.IsZero()
	}
	return time.Time{}, false
}
