package metrics

import (
	"slices"
	"strconv"
	"strings"

	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// Every label value comes from a fixed set (the tables below are never
// modified), whatever the daemon is fed: an
// op name comes from an MQTT topic anyone can publish to, a download path
// from Blink's data, a status from the network. Each unknown value maps to
// one catch-all, so the number of series stays bounded.
const (
	// Unknown replaces an op, event type, poll kind or auth state outside its set.
	Unknown = "unknown"
	// Other replaces an HTTP status, endpoint or outcome outside its set.
	Other = "other"
)

// ops are the request ops (and command sources) a label may name: the
// request ops of the outside contract, plus "set" for …/set commands and
// "retained" for ignored retained commands.
var ops = []string{
	"arm", "disarm", "snapshot", "motion_detection", "record", "refresh",
	"auth/verify", "auth/login", "rediscover",
	"program", "settings", "notifications",
	"set", "retained",
}

// eventTypes are the types of media events, as in their event entity.
var eventTypes = []string{discovery.EventMotion, discovery.EventSnapshot, discovery.EventLiveview, discovery.EventDoorbell}

// pollKinds are the kinds of polls.
var pollKinds = []string{"homescreen", "media", "local_storage", "settings"}

// liveEndReasons and liveFailReasons are why a live view ended or could
// not start (the bridge's LiveEndReasons and LiveFailReasons).
var (
	liveEndReasons  = []string{"idle", "blink_ended", "stream_error", "shutdown"}
	liveFailReasons = []string{"offline", "busy", "unsupported", "blink_auth", "rate_limited", "timeout", "no_video", "blink_error", "shutdown"}
)

// outcomes are the outcomes of commands.
var outcomes = []string{"ok", "error"}

// statuses are the HTTP statuses kept as themselves; 0 means no answer.
var statuses = []int{0, 200, 201, 202, 204, 301, 302, 303, 304, 307, 308,
	400, 401, 403, 404, 405, 406, 408, 409, 410, 413, 422, 426, 429,
	500, 502, 503, 504}

// endpoints are the Blink endpoint templates (method and path, as the blink
// client reports them) kept as themselves.
var endpoints = []string{
	"GET /oauth/v2/authorize",
	"POST /oauth/v2/signin",
	"GET /oauth/v2/signin",
	"POST /oauth/v2/2fa/verify",
	"POST /oauth/token",
	"GET /api/v1/users/tier_info",
	"GET /api/v3/accounts/{acct}/homescreen",
	"GET /api/v1/accounts/{acct}/media/changed",
	"POST /api/v1/accounts/{acct}/networks/{net}/state/arm",
	"POST /api/v1/accounts/{acct}/networks/{net}/state/disarm",
	"GET /network/{net}/command/{cmd}",
	"GET /network/{net}/camera/{cam}/config",
	"GET /api/v1/accounts/{acct}/networks/{net}/owls/{cam}/config",
	"POST /api/v1/accounts/{acct}/networks/{net}/owls/{cam}/config",
	"GET /api/v1/accounts/{acct}/networks/{net}/doorbells/{cam}/config",
	"POST /network/{net}/camera/{cam}/enable",
	"POST /network/{net}/camera/{cam}/disable",
	"POST /network/{net}/camera/{cam}/thumbnail",
	"POST /network/{net}/camera/{cam}/clip",
	"POST /api/v1/accounts/{acct}/networks/{net}/owls/{cam}/thumbnail",
	"POST /api/v1/accounts/{acct}/networks/{net}/owls/{cam}/clip",
	"POST /api/v1/accounts/{acct}/networks/{net}/doorbells/{cam}/enable",
	"POST /api/v1/accounts/{acct}/networks/{net}/doorbells/{cam}/disable",
	"POST /api/v1/accounts/{acct}/networks/{net}/doorbells/{cam}/thumbnail",
	"POST /api/v1/accounts/{acct}/networks/{net}/doorbells/{cam}/clip",
	"POST /api/v1/accounts/{acct}/networks/{net}/sync_modules/{sm}/local_storage/manifest/request",
	"GET /api/v1/accounts/{acct}/networks/{net}/sync_modules/{sm}/local_storage/manifest/request/{cmd}",
	"POST /api/v1/accounts/{acct}/networks/{net}/sync_modules/{sm}/local_storage/manifest/{manifest}/clip/request/{clip}",
	"GET /api/v1/accounts/{acct}/networks/{net}/sync_modules/{sm}/local_storage/manifest/{manifest}/clip/request/{clip}",
	"POST /api/v1/accounts/{acct}/networks/{net}/sync_modules/{sm}/local_storage/manifest/{manifest}/clip/delete/{clip}",
	"GET /api/v1/accounts/{acct}/networks/{net}/sync_modules/{sm}/local_storage/status",
	"POST /network/{net}/camera/{cam}/update",
	"POST /api/v1/accounts/{acct}/networks/{net}/doorbells/{cam}/config",
	"GET /api/v1/networks/{net}/programs",
	"POST /api/v1/networks/{net}/programs/{prog}/enable",
	"POST /api/v1/networks/{net}/programs/{prog}/disable",
	"GET /api/v1/accounts/{acct}/notifications/configuration",
	"POST /api/v1/accounts/{acct}/notifications/configuration",
	"POST /api/v6/accounts/{acct}/networks/{net}/cameras/{cam}/liveview",
	"POST /api/v2/accounts/{acct}/networks/{net}/owls/{cam}/liveview",
	"POST /api/v2/accounts/{acct}/networks/{net}/doorbells/{cam}/liveview",
	"POST /network/{net}/command/{cmd}/update/",
	"POST /network/{net}/command/{cmd}/done/",
}

// Download endpoints: their paths come from Blink's data, so they are
// reported by kind, not by path.
const (
	EndpointClipDownload      = "GET (clip download)"
	EndpointThumbnailDownload = "GET (thumbnail download)"
)

// oneOf returns v when it is in set, else fallback.
func oneOf(v string, set []string, fallback string) string {
	if slices.Contains(set, v) {
		return v
	}
	return fallback
}

// statusLabel is the status as a label value.
func statusLabel(status int) string {
	if slices.Contains(statuses, status) {
		return strconv.Itoa(status)
	}
	return Other
}

// endpointLabel is the endpoint as a label value: a known template, a
// download kind, or Other.
func endpointLabel(endpoint string) string {
	if slices.Contains(endpoints, endpoint) {
		return endpoint
	}
	method, path, _ := strings.Cut(endpoint, " ")
	if method != "GET" {
		return Other
	}
	path, _, _ = strings.Cut(strings.ToLower(path), "?")
	switch {
	case strings.HasSuffix(path, ".mp4") || strings.Contains(path, "/media/clip/"):
		return EndpointClipDownload
	case strings.HasSuffix(path, ".jpg") || strings.HasSuffix(path, ".jpeg") ||
		strings.Contains(path, "/thumb/") || strings.Contains(path, "/thumbnail"):
		return EndpointThumbnailDownload
	}
	return Other
}
