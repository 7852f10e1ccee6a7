package bridge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// Defaults for zero Options fields.
const (
	DefaultPollInterval      = 30 * time.Second
	DefaultMediaPollInterval = 15 * time.Second
	DefaultHoldTime          = 30 * time.Second
	DefaultCommandSpacing    = 5 * time.Second
	DefaultInfoInterval      = 5 * time.Minute
	DefaultQueueSize         = 64
	DefaultLiveviewIdle      = 15 * time.Second
	// DefaultPollBackoffBase and DefaultPollBackoffMax bound the backoff
	// after failed polls (what Blink tolerates: start at 30–60 s, cap at
	// 15–30 min).
	DefaultPollBackoffBase = 30 * time.Second
	DefaultPollBackoffMax  = 15 * time.Minute
	// MaxRequestBytes is the largest request payload the bridge reads.
	MaxRequestBytes = 64 << 10
)

// Options configure a Bridge. Zero durations take the Default* values.
type Options struct {
	// Cloud is the Blink client (required).
	Cloud Cloud
	// Auth runs interactive logins (2FA over MQTT). Nil: auth/verify and
	// auth/login answer that no login is pending.
	Auth Authenticator

	MQTT MQTTOptions
	// Topics is the topic layout; Topics.Root "" means "blink2mqtt".
	Topics discovery.Topics

	// Discovery publishes Home Assistant discovery when true; when false the
	// bridge publishes none and removes what its ledger holds.
	Discovery bool
	// DiscoveryPrefix is HA's discovery prefix ("" → "homeassistant"); HA's
	// birth topic is <prefix>/status.
	DiscoveryPrefix string
	// BridgeName is the bridge device's name in HA ("" → discovery default).
	BridgeName string

	PollInterval      time.Duration // homescreen
	MediaPollInterval time.Duration // media/changed
	// HoldTime is how long motion stays ON after a new clip.
	HoldTime time.Duration
	// CommandSpacing is the least time between two commands to one network.
	CommandSpacing time.Duration
	// InfoInterval is how often the slowly changing counters (API calls,
	// last poll) in bridge/info are refreshed when nothing else changed.
	InfoInterval time.Duration
	// QueueSize bounds the request queue and each network's command queue.
	QueueSize int

	// PollBackoffBase is the first wait after a failed poll (default 30 s);
	// it doubles per consecutive failure up to PollBackoffMax (default
	// 15 min). Neither is ever shorter than the poll's own interval.
	PollBackoffBase time.Duration
	PollBackoffMax  time.Duration

	// MediaDir, when set, is where new clips are saved as
	// <MediaDir>/<network_id>/<device_id>/<created_at>_<media_id>.mp4; the
	// event on <root>/events then carries the local path in "clip".
	MediaDir string
	// MediaRetention deletes saved clips older than this (0: keep).
	MediaRetention time.Duration
	// MediaMaxBytes deletes the oldest saved clips while all of them
	// together are larger than this (0: no limit).
	MediaMaxBytes int64

	// LocalStorageOff never touches the USB storage of Sync Module 2s
	// (LOCAL_STORAGE=off). Otherwise every armed network whose sync module
	// reports local storage "active" is watched (localstorage.go).
	LocalStorageOff bool
	// LocalStorageInterval is the longest time between the starts of two
	// checks of such a network's storage (default 60 s).
	LocalStorageInterval time.Duration
	// RTSPListen, when set ("host:port"), serves every camera, Mini and
	// doorbell as rtsp://<host>:<port>/<network_id>/<device_id> (the
	// device's topic node), over TCP and over UDP on the first even port
	// above it and the next (:8554 → 8556, 8557). Live views start on
	// demand and need a Cloud that can stream (*blink.Client).
	RTSPListen string
	// RTSPUsername and RTSPPassword, when set, are required of readers.
	RTSPUsername string
	RTSPPassword blink.Secret
	// LiveviewIdle is how long a live view stays up after its last reader
	// left (default 15 s).
	LiveviewIdle time.Duration

	// StateDir holds the media watermark and the discovery ledger (required).
	StateDir string
	Logger   zerolog.Logger
	// Now is the clock for timestamps in payloads (default time.Now).
	// Timers always use the time package, so tests use testing/synctest.
	Now func() time.Time
	// Version is blink2mqtt's version, shown in bridge/info and discovery.
	Version string
	// OnEvent, when set, is called synchronously for metrics; keep it fast.
	OnEvent func(Event)

	// refreshFloor overrides the package's refreshFloor for tests that poll
	// with refresh requests (negative: none).
	refreshFloor time.Duration
	// localRetryBase overrides localRetryBase (tests); localNoTrigger
	// checks USB storage only by the clock (the figure without the trigger).
	localRetryBase time.Duration
	localNoTrigger bool
	// settingsInterval, settingsSpacing and settingsFloor override the
	// settings part's timing for tests (0: the defaults in settings.go).
	settingsInterval, settingsSpacing, settingsFloor time.Duration
}

// MQTTOptions configure the broker connection.
type MQTTOptions struct {
	// URL is mqtt://, mqtts://, ws:// or wss:// host:port.
	URL      string
	Username string
	Password blink.Secret
	// CAFile, CertFile and KeyFile are PEM files for TLS trust and a client
	// certificate (cert and key together).
	CAFile, CertFile, KeyFile string
	// ClientID must be stable and unique per instance; "" derives one from
	// the host name and topic root (≤ 23 characters).
	ClientID string
	// KeepAlive (default 30 s) and MaxReconnectInterval (default 30 s);
	// ConnectRetryInterval (default 5 s) paces the first connection.
	KeepAlive            time.Duration
	MaxReconnectInterval time.Duration
	ConnectRetryInterval time.Duration
}

// Authenticator runs the interactive Blink login for the bridge. The bridge
// calls it from its own goroutine, never from an MQTT handler, and reports
// its result on auth/verify and auth/login. An implementation reports state
// changes back with Bridge.SetAuthState.
type Authenticator interface {
	// SubmitCode hands a 2FA code to the pending login; ErrNoLoginPending
	// when there is none, blink.ErrInvalidCode when Blink refused it.
	SubmitCode(ctx context.Context, code blink.Secret) error
	// StartLogin begins a new login on purpose (auth/login). It refuses
	// with a *LoginRefusedError while a login waits for its code (unless
	// req.Replace) or inside the cooldown after the last code-sending
	// sign-in, so a flood of requests never becomes a flood of SMS codes.
	StartLogin(ctx context.Context, req LoginRequest) error
}

// LoginRequest is an auth/login request.
type LoginRequest struct {
	// Replace starts over while a login waits for its code; it never skips
	// the cooldown.
	Replace bool
}

// LoginRefusedError is a login that was not started, and why.
type LoginRefusedError struct {
	Reason string
	// RetryAt is when a new login will be accepted; zero when that depends
	// on the person (a code is pending).
	RetryAt time.Time
}

func (e *LoginRefusedError) Error() string {
	if e.RetryAt.IsZero() {
		return "login not started: " + e.Reason
	}
	return "login not started: " + e.Reason + "; try again after " + e.RetryAt.UTC().Format(time.RFC3339)
}

// ErrNoLoginPending answers a 2FA code when no login waits for one.
var ErrNoLoginPending = errors.New("no login pending")

// EventKind says what an Event reports.
type EventKind string

// Event kinds for Options.OnEvent.
const (
	EventPoll    EventKind = "poll"    // Name: "homescreen", "media" or "local_storage"; Err, Duration
	EventCommand EventKind = "command" // Name: the op; Err, Duration
	EventPublish EventKind = "publish" // Count: state messages published by one sync
	EventMQTT    EventKind = "mqtt"    // Name: "connected" (Count: connections so far, 1 = first) or "lost"; Err
	EventMedia   EventKind = "media"   // one per new media item; Name: its event type (motion, liveview, snapshot)
	// EventMQTTConnectFailed is one failed connection attempt; Err says why.
	EventMQTTConnectFailed EventKind = "mqtt_connect_failed"
	EventBadInput          EventKind = "bad_input" // Name: the op or topic kind
	EventAuthState         EventKind = "auth"      // Name: the new AuthState
	// EventLiveStarted is a live view that streams; Name: the device
	// family, Duration: from the first reader to the first video.
	EventLiveStarted EventKind = "live_started"
	// EventLiveEnded is a live view that ended; Name: why (LiveEndReasons),
	// Duration: how long it streamed. Every started one ends once.
	EventLiveEnded EventKind = "live_ended"
	// EventLiveFailed is a live view that could not start; Name: why
	// (LiveFailReasons), Err.
	EventLiveFailed EventKind = "live_failed"
	// EventLiveBytes reports relayed video; Count: MPEG-TS bytes received
	// from Blink since the last one.
	EventLiveBytes EventKind = "live_bytes"
)

// Event is one thing the bridge did, for metrics.
type Event struct {
	Kind     EventKind
	Name     string
	Err      error
	Duration time.Duration
	Count    int
}

func (o *Options) setDefaults() {
	if o.Topics.Root == "" {
		o.Topics.Root = "blink2mqtt"
	}
	if o.DiscoveryPrefix == "" {
		o.DiscoveryPrefix = discovery.DefaultPrefix
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.MediaPollInterval <= 0 {
		o.MediaPollInterval = DefaultMediaPollInterval
	}
	if o.HoldTime <= 0 {
		o.HoldTime = DefaultHoldTime
	}
	if o.CommandSpacing <= 0 {
		o.CommandSpacing = DefaultCommandSpacing
	}
	if o.InfoInterval <= 0 {
		o.InfoInterval = DefaultInfoInterval
	}
	if o.LocalStorageInterval <= 0 {
		o.LocalStorageInterval = DefaultLocalStorageInterval
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.LiveviewIdle <= 0 {
		o.LiveviewIdle = DefaultLiveviewIdle
	}
	if o.PollBackoffBase <= 0 {
		o.PollBackoffBase = DefaultPollBackoffBase
	}
	if o.PollBackoffMax <= 0 {
		o.PollBackoffMax = DefaultPollBackoffMax
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.refreshFloor == 0:
		o.refreshFloor = refreshFloor
	case o.refreshFloor < 0:
		o.refreshFloor = 0
	}
	if o.MQTT.ClientID == "" {
		o.MQTT.ClientID = DefaultClientID(o.Topics.Root)
	}
	if o.MQTT.KeepAlive <= 0 {
		o.MQTT.KeepAlive = 30 * time.Second
	}
	if o.MQTT.MaxReconnectInterval <= 0 {
		o.MQTT.MaxReconnectInterval = 30 * time.Second
	}
	if o.MQTT.ConnectRetryInterval <= 0 {
		o.MQTT.ConnectRetryInterval = 5 * time.Second
	}
}

func (o *Options) validate() error {
	var errs []error
	if o.Cloud == nil {
		errs = append(errs, errors.New("bridge: Options.Cloud is required"))
	}
	if o.StateDir == "" {
		errs = append(errs, errors.New("bridge: Options.StateDir is required"))
	}
	if o.MQTT.URL == "" {
		errs = append(errs, errors.New("bridge: Options.MQTT.URL is required"))
	} else if _, err := brokerURL(o.MQTT.URL); err != nil {
		errs = append(errs, err)
	}
	if len(o.MQTT.ClientID) > 23 {
		errs = append(errs, fmt.Errorf("bridge: MQTT client id %q is longer than 23 characters", o.MQTT.ClientID))
	}
	if (o.MQTT.CertFile == "") != (o.MQTT.KeyFile == "") {
		errs = append(errs, errors.New("bridge: MQTT certificate and key files go together"))
	}
	if o.RTSPListen != "" {
		if _, _, err := net.SplitHostPort(o.RTSPListen); err != nil {
			errs = append(errs, fmt.Errorf("bridge: RTSP address %q: %w", o.RTSPListen, err))
		}
		if _, ok := o.Cloud.(liveCloud); o.Cloud != nil && !ok {
			errs = append(errs, errors.New("bridge: the Cloud cannot stream live views; RTSP needs *blink.Client"))
		}
	}
	if (o.RTSPUsername == "") != o.RTSPPassword.IsZero() {
		errs = append(errs, errors.New("bridge: RTSP user name and password go together"))
	}
	if err := (discovery.Options{Prefix: o.DiscoveryPrefix, Topics: o.Topics}).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("bridge: %w", err))
	}
	return errors.Join(errs...)
}

// DefaultClientID is the stable MQTT client id used when none is configured:
// "blink2mqtt-" and 8 hex digits of a hash of the host name and topic root.
func DefaultClientID(root string) string {
	host, _ := os.Hostname()
	sum := sha256.Sum256([]byte(host + "\x00" + root))
	return "blink2mqtt-" + hex.EncodeToString(sum[:4])
}
