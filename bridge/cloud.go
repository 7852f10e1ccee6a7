package bridge

import (
	"context"
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
