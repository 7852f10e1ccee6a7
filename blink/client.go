package blink

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/blink2mqtt/blink2mqtt/blink/immis"
)

// Defaults for Options fields left zero.
const (
	DefaultOAuthURL            = "https://api.oauth.blink.com"
	DefaultRESTURL             = "https://rest-{tier}.immedia-semi.com"
	DefaultCommandPollInterval = time.Second
	DefaultCommandTimeout      = 2 * time.Minute
	DefaultBusyRetryFor        = 60 * time.Second
	DefaultMaxRetries          = 3

	// defaultCallTimeout bounds one HTTP attempt of an API call; downloads get
	// defaultDownloadTimeout (blinkpy uses the same 10 s / 90 s).
	defaultCallTimeout     = 10 * time.Second
	defaultDownloadTimeout = 90 * time.Second
	// maxJSONBody caps a JSON response; a homescreen of 500 devices is ~1 MiB.
	maxJSONBody = 16 << 20
	// refreshMargin: refresh the access token before a call when less remains.
	refreshMargin = 60 * time.Second
	// maxMediaPages bounds one MediaChanged walk.
	maxMediaPages = 10
	prodTier      = "prod"
)

// Options configures a Client. Store is required; everything else has a default.
type Options struct {
	// OAuthURL is the OAuth host, default DefaultOAuthURL.
	OAuthURL string
	// RESTURL is the REST host template, default DefaultRESTURL. "{tier}" is
	// replaced by the account tier ("prod" for tier_info); a value without
	// "{tier}" is used as-is for every tier.
	RESTURL string
	// HTTPClient is optional; its Timeout should be zero or generous, because
	// every call gets its own deadline from its context. Its CheckRedirect is
	// not used: the client decides per call which redirects it follows.
	HTTPClient *http.Client
	// Limiter is the one limiter every request waits on (nil → 1 rps, burst 3).
	Limiter *rate.Limiter
	// Store persists tokens and the hardware id. Required.
	Store  TokenStore
	Logger zerolog.Logger
	// Now is the clock for token expiry and cooldowns (nil → time.Now).
	Now func() time.Time
	// OnRequest, when set, is called after every HTTP attempt (metrics), on
	// the calling goroutine: it must be quick and must not block.
	OnRequest func(RequestInfo)
	// CommandPollInterval is the gap between command status polls (default 1 s).
	CommandPollInterval time.Duration
	// CommandTimeout bounds the wait for one command (default 2 min).
	CommandTimeout time.Duration
	// BusyRetryFor is how long a command submit is retried on 409 busy (default 60 s).
	BusyRetryFor time.Duration
	// MaxRetries is the number of retries for 5xx and network errors per call
	// (default 3; negative means none).
	MaxRetries int
	// Immis tunes live-view streams (OpenLiveview); the zero value does
	// what Blink's apps do.
	Immis immis.Options
}

// RequestInfo describes one HTTP attempt for the OnRequest hook. It carries
// no URL, header or body, so it is safe to log.
type RequestInfo struct {
	Endpoint string // method and path template, e.g. "GET /api/v3/accounts/{acct}/homescreen"
	Status   int    // HTTP status; 0 when no response arrived
	Duration time.Duration
	Err      error // transport error, nil when a response arrived
}

// SessionInfo is the non-secret part of the session.
type SessionInfo struct {
	LoggedIn   bool // a refresh token is present and was not refused
	AccountID  int64
	UserID     int64
	ClientID   int64
	Tier       string
	ExpiresAt  time.Time
	HardwareID string
}

// Client talks to Blink's cloud. It is safe for concurrent use; every request
// goes through one pipeline (rate limiter, cooldown, bearer token, refresh,
// retries, accounting).
type Client struct {
	oauthURL   string
	restTmpl   string
	http       *http.Client
	limiter    *rate.Limiter
	store      TokenStore
	log        zerolog.Logger
	now        func() time.Time
	onRequest  func(RequestInfo)
	pollEvery  time.Duration
	cmdTimeout time.Duration
	busyFor    time.Duration
	maxRetries int
	immis      immis.Options
	// retryBase is the first backoff step for 5xx/network retries.
	retryBase time.Duration
	// busyBase is the first backoff step for 409 busy retries.
	busyBase time.Duration

	// refreshSem (capacity 1) serialises refreshes so concurrent callers share one.
	refreshSem chan struct{}
	// saveMu orders writes to the store, so the last write holds the newest tokens.
	saveMu sync.Mutex

	mu      sync.Mutex
	tokens  Tokens
	refused bool // the refresh token was refused; only a new login helps
	stats   stats
}

// New builds a Client and loads the saved session from opts.Store. With no
// saved tokens the client still works for BeginLogin; API calls then return
// ErrReauthRequired. A hardware id is generated and saved on first use.
func New(opts Options) (*Client, error) {
	if opts.Store == nil {
		return nil, errors.New("blink: Options.Store is required")
	}
	c := &Client{
		oauthURL:   strings.TrimRight(opts.OAuthURL, "/"),
		restTmpl:   strings.TrimRight(opts.RESTURL, "/"),
		http:       opts.HTTPClient,
		limiter:    opts.Limiter,
		store:      opts.Store,
		log:        opts.Logger.With().Str("component", "blink").Logger(),
		now:        opts.Now,
		onRequest:  opts.OnRequest,
		pollEvery:  opts.CommandPollInterval,
		cmdTimeout: opts.CommandTimeout,
		busyFor:    opts.BusyRetryFor,
		maxRetries: opts.MaxRetries,
		immis:      opts.Immis,
		retryBase:  500 * time.Millisecond,
		busyBase:   2 * time.Second,
		refreshSem: make(chan struct{}, 1),
	}
	if c.oauthURL == "" {
		c.oauthURL = DefaultOAuthURL
	}
	if c.restTmpl == "" {
		c.restTmpl = DefaultRESTURL
	}
	for _, u := range []string{c.oauthURL, strings.ReplaceAll(c.restTmpl, "{tier}", prodTier)} {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("blink: invalid base URL %q", u)
		}
	}
	if c.http == nil {
		c.http = &http.Client{Transport: defaultTransport()}
	}
	if c.limiter == nil {
		c.limiter = rate.NewLimiter(1, 3)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.pollEvery <= 0 {
		c.pollEvery = DefaultCommandPollInterval
	}
	if c.cmdTimeout <= 0 {
		c.cmdTimeout = DefaultCommandTimeout
	}
	if c.busyFor <= 0 {
		c.busyFor = DefaultBusyRetryFor
	}
	switch {
	case c.maxRetries == 0:
		c.maxRetries = DefaultMaxRetries
	case c.maxRetries < 0:
		c.maxRetries = 0
	}
	c.stats.init()

	t, err := c.store.Load()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		t = Tokens{}
	case err != nil:
		return nil, fmt.Errorf("blink: load tokens: %w", err)
	}
	if t.Tier != "" && !validTier(t.Tier) {
		return nil, fmt.Errorf("blink: saved tier %q is not a Blink tier code", t.Tier)
	}
	if t.HardwareID == "" {
		t.HardwareID = newHardwareID()
		if err := c.store.Save(t); err != nil {
			return nil, fmt.Errorf("blink: save new hardware id: %w", err)
		}
	}
	c.tokens = t
	return c, nil
}

func defaultTransport() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSHandshakeTimeout = 10 * time.Second
	tr.ResponseHeaderTimeout = 15 * time.Second
	tr.IdleConnTimeout = 90 * time.Second
	tr.MaxIdleConnsPerHost = 4
	return tr
}

// HasSession reports whether a refresh token is present and has not been refused.
func (c *Client) HasSession() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.tokens.RefreshToken.IsZero() && !c.refused
}

// Session returns the non-secret session facts.
func (c *Client) Session() SessionInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tokens
	return SessionInfo{
		LoggedIn:   !t.RefreshToken.IsZero() && !c.refused,
		AccountID:  t.AccountID,
		UserID:     t.UserID,
		ClientID:   t.ClientID,
		Tier:       t.Tier,
		ExpiresAt:  t.ExpiresAt,
		HardwareID: t.HardwareID,
	}
}

// ReloadTokens re-reads the store, for example after `blink2mqtt login` wrote
// a new session. changed reports whether the session differs from before.
func (c *Client) ReloadTokens() (changed bool, err error) {
	t, err := c.store.Load()
	if err != nil {
		return false, fmt.Errorf("blink: reload tokens: %w", err)
	}
	if t.Tier != "" && !validTier(t.Tier) {
		return false, fmt.Errorf("blink: reload tokens: tier %q is not a Blink tier code", t.Tier)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.tokens
	changed = old.AccessToken != t.AccessToken || old.RefreshToken != t.RefreshToken ||
		old.Tier != t.Tier || old.AccountID != t.AccountID || old.HardwareID != t.HardwareID
	if t.HardwareID == "" {
		t.HardwareID = old.HardwareID
	}
	c.tokens = t
	if changed {
		c.refused = false
	}
	return changed, nil
}

// restBase returns the REST base URL for a tier. Tiers are checked with
// validTier when they enter the client, so a hostile value can never turn
// "rest-{tier}.immedia-semi.com" into another host.
func (c *Client) restBase(tier string) string {
	if tier == "" || !validTier(tier) {
		tier = prodTier
	}
	return strings.ReplaceAll(c.restTmpl, "{tier}", tier)
}

// validTier accepts Blink's tier codes: "prod", "u011", "e006", "prde", … .
func validTier(t string) bool {
	if len(t) < 2 || len(t) > 8 {
		return false
	}
	for i := 0; i < len(t); i++ {
		if (t[i] < 'a' || t[i] > 'z') && (t[i] < '0' || t[i] > '9') {
			return false
		}
	}
	return true
}

// persist writes the current tokens. The snapshot is taken under saveMu, so
// whichever persist runs last writes the newest state.
func (c *Client) persist() error {
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	return c.store.Save(c.snapshot())
}

// snapshot returns a copy of the current tokens.
func (c *Client) snapshot() Tokens {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens
}
