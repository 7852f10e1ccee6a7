// Package blinkfake is a stateful fake of Blink's cloud: the OAuth host
// (authorization code + PKCE login with optional 2FA, token refresh) and the
// REST host (homescreen, media/changed, commands, configs, live view,
// downloads) as DEVELOPERS.md's "Blink API notes" describe them. It serves
// its own JSON, independent of package blink's decoders, so tests against it
// check the client rather than echo it.
//
// It is used by unit tests, the bridge's end-to-end tests, benchmarks and the
// daemon's demo mode, so it works with a nil testing.TB (Start), bounds its
// memory (media, commands, sessions, tokens) and is safe for concurrent use.
// It owns only its two plain net/http servers on 127.0.0.1 and does not
// import package testing, so the demo binary links no test code.
//
// # Hosts
//
// OAuthURL serves /oauth/v2/authorize, /oauth/v2/signin (GET page with the
// oauth-args CSRF script, POST credentials), /oauth/v2/2fa/verify and
// /oauth/token. One REST listener acts as every tier: the tier is the first
// path segment, so RESTURL returns "http://127.0.0.1:PORT/{tier}" for the
// client's template. tier_info answers under "/prod" (and the account's
// tier); anything else under another tier is 404 {"message":"Not Found"}.
// Every REST call needs a live bearer token (else 401 code 101).
//
// # Account
//
// A zero Config gives networks "Home" (armed) and "Cabin" with a sync module
// and three cameras each (catalina/xt2), doorbell "Front Door" on Home, and a
// standalone Mini "Living Room" on its own network. Config.Networks ×
// DevicesPerNetwork (+ StandaloneNetworks) generates a deterministic mix;
// Config.Account sets it explicitly. Generated ids never collide; an
// explicit account may give devices of different families one id, as Blink
// numbers each family on its own. Devices are then named by a blink.DeviceRef
// (TriggerMotionOn, DeviceAt, …): the id-only methods refuse a shared id.
//
// # Local storage
//
// A sync module with LocalStorageStatus "active" (generated ones say
// "unavailable") keeps clips on its USB storage: motion on its network goes
// there, not into media/changed (see localstorage.go), unless the network
// has a Subscription. LocalClips, AddLocalClip and RebuildLocalManifest
// control it; Config.LocalManifestNotReady delays its manifests.
//
// # Commands
//
// A command completes on its CommandPolls-th status poll (default 2) or
// after CommandDelay on the clock (unpolled, after CommandLifetime, default
// 10 s), and only then changes homescreen (armed, enabled, thumbnail ts and
// updated_at; clips add a media item). One command
// per network at a time: another gets 409 {"message":"System is busy, please
// wait","code":307}. Arm/disarm with no motion-enabled device answers 200
// code 304 and changes the state at once. FailNextCommand, StallNextCommand,
// offline devices and offline sync modules make commands fail or hang.
//
// # Settings, schedules, notifications
//
// Each device's config reports the settings fields of Device.Config (the
// family's usual set when nil); POST …/camera/{c}/update and the Mini's and
// doorbell's POST …/config check each value as Blink does (400 with a
// message naming the field and its range; Minis and doorbells record at
// most 30 s) and apply it when their config_set command completes.
// Networks with a sync module have a "Nights" program by default
// (GET/POST …/networks/{n}/programs…, synchronous); the account has
// Blink's 17 notification flags. SetDeviceConfigOn, SetProgram and
// SetNotification change them at once, as a person in the Blink app does.
//
// # Live view
//
// A live-view start (per family) answers with an immis:// URL on a TLS
// listener on 127.0.0.1, started with the first live view. It checks the
// client's 122-byte header field by field (ImmisRejected says why one was
// refused), then streams testdata/liveview.ts — H.264 and AAC in MPEG-TS,
// looped with timestamps moving on — in real time as framed video, and
// counts the client's keepalive and latency-stats frames (Liveviews). The
// live view occupies its network (409 to other commands) until
// …/command/{id}/done/, or until LiveviewDuration passes without an
// …/update/ (extensions stop at 90 minutes); a device that is offline
// never joins and the live view fails. InjectImmis breaks a stream
// (oversized or truncated frame, dropped connection, foreign frames,
// silence).
//
// # Faults and inspection
//
// Inject a Fault (status, Retry-After, raw body, delay, truncated or
// malformed body, dropped connection) for endpoints named by the Ep…
// constants; Count/Counts/Total count every request by those names.
//
//	srv := blinkfake.New(t, blinkfake.Config{TwoFactor: true})
//	// point the client at srv.OAuthURL() and srv.RESTURL(); log in with
//	// srv.Config().Email, .Password and .Code
//	srv.TriggerMotion(srv.Devices()[0].ID, "pir")
//	srv.Inject(blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Status: 503, Count: 2})
//	if srv.Count(blinkfake.EpHomescreen) > 3 { … }
package blinkfake

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// Config describes the fake account and how the fake behaves. The zero value
// is a small account (see Account) without 2FA.
type Config struct {
	Email    string // default "user@example.com" (compared case-insensitively)
	Password string // default "correct horse battery staple"
	// TwoFactor makes sign-in ask for Code (412, or 202 JSON with Use202).
	TwoFactor        bool
	Code             string // default "123456"
	TwoFactorChannel string // "sms" (default) or "email"
	Use202           bool
	// SigninStatus is the answer to a right password without 2FA: a
	// redirect to authorize with 302 (default) or 303.
	SigninStatus int

	Tier      string // default "u011"; any [a-z0-9]{3,4}
	AccountID int64  // default 10001001
	UserID    int64  // default 20002002 (homescreen User-Id header)
	ClientID  int64  // default 30003003 (homescreen Client-Id header)

	// Networks × DevicesPerNetwork devices behind sync modules, plus
	// StandaloneNetworks networks holding one Mini or doorbell each; families
	// cycle catalina, xt2, owl, lotus. UnknownTypes turns every seventh device
	// into a "sedona" camera; LegacyThumbnails gives every fifth camera or
	// Mini a pre-2022 thumbnail path. All zero (and Account nil) → the
	// default account.
	Networks           int
	DevicesPerNetwork  int
	StandaloneNetworks int
	UnknownTypes       bool
	LegacyThumbnails   bool
	// Account, when non-nil, is used instead of generating one.
	Account *Account

	AccessTokenTTL time.Duration // default 4h (expires_in 14400)

	// MotionRequiresArmed makes TriggerMotion record nothing (zero Media)
	// unless the device's network is armed and its motion detection is
	// enabled, as Blink does; off, every trigger records.
	MotionRequiresArmed bool

	// A command completes on its CommandPolls-th status poll (default 2;
	// 1 = the first poll already says complete) or, when CommandDelay > 0,
	// once CommandDelay has passed on the clock — whichever comes first.
	CommandPolls int
	CommandDelay time.Duration
	// CommandLifetime (default 10 s) ends a command nobody polls to the
	// end: once it has passed on the clock the command completes as if
	// polled, as Blink's sync module carries a command out whether anyone
	// asks or not — a client that stopped mid-command does not leave its
	// network busy for good. StallNextCommand's command hangs regardless;
	// live views keep their own duration.
	CommandLifetime time.Duration

	MediaPageSize int // media/changed page size ("limit"), default 25
	MaxMedia      int // media items kept (oldest dropped), default 1000; likewise clips per USB storage

	// LocalManifestNotReady is how many reads of a local-storage manifest
	// answer 200 text/plain ("being built") after its request completed;
	// before that they answer 400 text/plain.
	LocalManifestNotReady int

	// MaxRequestsPerMinute > 0 limits each host per clock minute: OAuth
	// answers 429 with Retry-After, REST answers 403.
	MaxRequestsPerMinute int
	// LockoutAfter > 0 locks the account after that many wrong passwords:
	// sign-in and token answer 429 for LockoutFor (default 1h).
	LockoutAfter int
	LockoutFor   time.Duration

	// LiveviewDuration is how long a live view runs without an extension
	// (default 300 s, Blink's "duration"); a live view nobody connects to
	// lapses after it too.
	LiveviewDuration time.Duration

	// WrongFamilyStatus is the HTTP status of {"message":"Camera not found",
	// "code":500} (a device id on another family's endpoint). Default 500.
	WrongFamilyStatus int

	Now func() time.Time // default time.Now
}

var tierRe = regexp.MustCompile(`^[a-z0-9]{3,4}$`)

func (c Config) withDefaults() (Config, error) {
	if c.Email == "" {
		c.Email = "user@example.com"
	}
	if c.Password == "" {
		c.Password = "correct horse battery staple"
	}
	if c.Code == "" {
		c.Code = "123456"
	}
	if c.TwoFactorChannel == "" {
		c.TwoFactorChannel = "sms"
	}
	if c.SigninStatus == 0 {
		c.SigninStatus = http.StatusFound
	}
	if c.SigninStatus != http.StatusFound && c.SigninStatus != http.StatusSeeOther {
		return c, fmt.Errorf("blinkfake: SigninStatus %d is not 302 or 303", c.SigninStatus)
	}
	if c.Tier == "" {
		c.Tier = "u011"
	}
	if !tierRe.MatchString(c.Tier) {
		return c, fmt.Errorf("blinkfake: tier %q is not [a-z0-9]{3,4}", c.Tier)
	}
	if c.AccountID == 0 {
		c.AccountID = 10_001_001
	}
	if c.UserID == 0 {
		c.UserID = 20_002_002
	}
	if c.ClientID == 0 {
		c.ClientID = 30_003_003
	}
	if c.AccessTokenTTL <= 0 {
		c.AccessTokenTTL = 4 * time.Hour
	}
	if c.CommandPolls <= 0 {
		c.CommandPolls = 2
	}
	if c.CommandLifetime <= 0 {
		c.CommandLifetime = 10 * time.Second
	}
	if c.MediaPageSize <= 0 {
		c.MediaPageSize = 25
	}
	if c.MaxMedia <= 0 {
		c.MaxMedia = 1000
	}
	if c.LockoutFor <= 0 {
		c.LockoutFor = time.Hour
	}
	if c.LiveviewDuration <= 0 {
		c.LiveviewDuration = 300 * time.Second
	}
	if c.WrongFamilyStatus == 0 {
		c.WrongFamilyStatus = http.StatusInternalServerError
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Networks < 0 || c.DevicesPerNetwork < 0 || c.StandaloneNetworks < 0 {
		return c, errors.New("blinkfake: negative account size")
	}
	return c, nil
}

// Server is the running fake: two HTTP servers sharing one account state.
type Server struct {
	tb     TB
	cfg    Config
	oauth  *localServer
	rest   *localServer
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex
	networks map[int64]*Network
	netOrder []int64
	devices  map[devKey]*Device
	devOrder []devKey
	ids      map[int64]bool
	netSeq   int64
	devSeq   int64
	progSeq  int64
	notify   map[string]bool // notification flags; replaced, never changed

	media    []*Media // ascending by ID
	mediaSeq int64
	purgeID  int64

	usbs   map[int64]*usbStore // network id → its sync module's USB storage
	usbSeq int64

	commands  map[int64]*command
	cmdOrder  []int64
	cmdSeq    int64
	inFlight  map[int64]*command // network id → running command
	failNext  []failSpec
	stallNext int

	immis          *immisServer // nil until the first live view
	immisFaults    []ImmisFault
	immisRejected  int
	immisRejectWhy string

	sessions map[string]*session
	codes    map[string]*authCode
	access   map[string]time.Time // access token → expiry
	refresh  map[string]bool
	issued   []string // secrets handed out, newest last (Secrets)

	counts      map[string]int
	total       int
	logins      int
	codesSent   int
	faults      []*Fault
	badSignins  int
	lockedUntil time.Time
	oauthWin    window
	restWin     window

	images imageCache

	answered map[string]int
	reqLog   []Request
	reqNext  int
	changed  chan struct{} // closed and replaced on every change (WaitFor)
}

// New starts a fake with cfg. With a non-nil tb, a bad Config fails the test
// and Close is registered with tb.Cleanup; with a nil tb a bad Config panics
// (use Start to get an error instead).
func New(tb TB, cfg Config) *Server {
	if tb != nil {
		tb.Helper()
	}
	s, err := start(tb, cfg)
	if err != nil {
		if tb != nil {
			tb.Fatal(err)
		}
		panic(err)
	}
	if tb != nil {
		tb.Cleanup(s.Close)
	}
	return s
}

// Start is New for callers without a TB (demo mode): the caller must Close
// the server.
func Start(cfg Config) (*Server, error) { return start(nil, cfg) }

func start(tb TB, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		tb:       tb,
		cfg:      cfg,
		closed:   make(chan struct{}),
		networks: map[int64]*Network{},
		devices:  map[devKey]*Device{},
		ids:      map[int64]bool{},
		netSeq:   firstNetworkID,
		devSeq:   firstDeviceID,
		progSeq:  firstProgramID,
		mediaSeq: firstMediaID,
		purgeID:  firstMediaID - 1,
		commands: map[int64]*command{},
		cmdSeq:   firstCommandID,
		inFlight: map[int64]*command{},
		sessions: map[string]*session{},
		codes:    map[string]*authCode{},
		access:   map[string]time.Time{},
		refresh:  map[string]bool{},
		counts:   map[string]int{},
		answered: map[string]int{},
	}
	var acct Account
	switch {
	case cfg.Account != nil:
		acct = *cfg.Account
	case cfg.Networks == 0 && cfg.DevicesPerNetwork == 0 && cfg.StandaloneNetworks == 0:
		acct = defaultAccount()
	default:
		acct = generateAccount(cfg)
	}
	if err := s.load(acct); err != nil {
		return nil, err
	}
	if s.oauth, err = serveLocal(s.OAuthHandler()); err != nil {
		return nil, err
	}
	if s.rest, err = serveLocal(s.RESTHandler()); err != nil {
		s.oauth.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) load(a Account) error {
	now := s.now()
	for _, n := range a.Networks {
		n := cloneNetwork(&n)
		if n.ID != 0 && s.ids[n.ID] {
			return fmt.Errorf("blinkfake: duplicate id %d", n.ID)
		}
		if n.ID != 0 {
			s.ids[n.ID] = true
		}
		s.fillNetwork(&n, now)
		s.ids[n.ID] = true
		if n.SyncModule != nil {
			s.ids[n.SyncModule.ID] = true
		}
		s.fillPrograms(n.Programs)
		s.networks[n.ID] = &n
		s.netOrder = append(s.netOrder, n.ID)
	}
	for _, d := range a.Devices {
		if _, err := s.addDevice(d, now); err != nil {
			return err
		}
	}
	s.notify = maps.Clone(a.Notifications)
	if s.notify == nil {
		s.notify = defaultNotifications()
	}
	return nil
}

// Close shuts both servers down; requests held by a Delay fault end at once.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.oauth.Close()
		s.rest.Close()
		s.mu.Lock()
		is := s.immis
		s.mu.Unlock()
		if is != nil {
			is.close()
		}
	})
}

// OAuthURL is the OAuth host's base URL (for blink.Options.OAuthURL).
func (s *Server) OAuthURL() string { return s.oauth.url }

// RESTURL is the REST template "http://127.0.0.1:PORT/{tier}" (for
// blink.Options.RESTURL).
func (s *Server) RESTURL() string { return s.rest.url + "/{tier}" }

// RESTBase is the REST base URL for one tier, e.g. RESTBase("prod").
func (s *Server) RESTBase(tier string) string { return s.rest.url + "/" + tier }

// Config returns the effective configuration (defaults filled in).
func (s *Server) Config() Config { return s.cfg }

// AccountID is the account's id.
func (s *Server) AccountID() int64 { return s.cfg.AccountID }

func (s *Server) now() time.Time { return s.cfg.Now() }

func (s *Server) usedID(id int64) bool { return s.ids[id] }

func (s *Server) nextNetworkID() int64 {
	for s.ids[s.netSeq] {
		s.netSeq++
	}
	s.ids[s.netSeq] = true
	return s.netSeq
}

func (s *Server) nextDeviceID() int64 {
	for s.ids[s.devSeq] {
		s.devSeq++
	}
	s.ids[s.devSeq] = true
	return s.devSeq
}

// errorf reports a misuse of the control API to the test, if any.
func (s *Server) errorf(format string, args ...any) {
	if s.tb != nil {
		s.tb.Helper()
		s.tb.Errorf(format, args...)
	}
}

// ---- control ----

// AddNetwork adds a network (with a sync module unless SyncModule is nil).
func (s *Server) AddNetwork(n Network) (Network, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	n = cloneNetwork(&n)
	if n.ID != 0 && s.ids[n.ID] {
		return Network{}, fmt.Errorf("blinkfake: duplicate id %d", n.ID)
	}
	if n.ID != 0 {
		s.ids[n.ID] = true
	}
	s.fillNetwork(&n, s.now())
	if n.SyncModule != nil {
		s.ids[n.SyncModule.ID] = true
	}
	s.fillPrograms(n.Programs)
	s.networks[n.ID] = &n
	s.netOrder = append(s.netOrder, n.ID)
	return cloneNetwork(&n), nil
}

// SetArmed changes a network's armed state directly (no command).
func (s *Server) SetArmed(networkID int64, armed bool) error {
	return s.withNetwork(networkID, func(n *Network) error {
		n.Armed = armed
		n.UpdatedAt = s.now().Truncate(time.Second)
		return nil
	})
}

// withNetwork runs f on a network under the lock and wakes waiters.
func (s *Server) withNetwork(networkID int64, f func(*Network) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	n, ok := s.networks[networkID]
	if !ok {
		return fmt.Errorf("blinkfake: no network %d", networkID)
	}
	return f(n)
}

// DeleteMedia flags a media item deleted (it reappears in the changed feed).
func (s *Server) DeleteMedia(id int64) error {
	return s.touchMedia(id, func(m *Media) { m.Deleted = true })
}

// MarkWatched flags a media item watched (it reappears in the changed feed).
func (s *Server) MarkWatched(id int64) error {
	return s.touchMedia(id, func(m *Media) { m.Watched = true })
}

func (s *Server) touchMedia(id int64, f func(*Media)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	m := s.findMedia(id)
	if m == nil {
		return fmt.Errorf("blinkfake: no media %d", id)
	}
	f(m)
	m.UpdatedAt = s.now().Truncate(time.Second)
	return nil
}

// ExpireAccessTokens makes every access token issued so far answer 401
// (code 101); refresh tokens keep working.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	past := s.now().Add(-time.Second)
	for k := range s.access {
		s.access[k] = past
	}
}

// RevokeRefreshTokens makes every refresh token issued so far answer 401
// invalid_grant (as when the device is removed in the Blink app).
func (s *Server) RevokeRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	clear(s.refresh)
}

// Lockout locks the account's sign-in and token endpoints (429) for d.
// Lockout(0) unlocks.
func (s *Server) Lockout(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.badSignins = 0
	if d <= 0 {
		s.lockedUntil = time.Time{}
		return
	}
	s.lockedUntil = s.now().Add(d)
}

// FailNextCommand makes the next submitted command finish (when it would
// have completed) with complete:true, status 1 and this status_code and
// status_msg, e.g. FailNextCommand(523, "Live view failed"). It changes no state.
func (s *Server) FailNextCommand(code int, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, failSpec{code: code, msg: msg})
}

// StallNextCommand makes the next submitted command never complete; its
// network stays busy (409) until the command is ended with
// POST /network/{n}/command/{cmd}/done/.
func (s *Server) StallNextCommand() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stallNext++
}

// ---- inspection ----

// Count is how many requests the named endpoint (the Ep… constants) got,
// including ones answered by a fault, rate limit or auth error.
func (s *Server) Count(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[endpoint]
}

// Counts is a copy of every endpoint's request count.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		m[k] = v
	}
	return m
}

// Total is the number of requests to both hosts.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// ResetCounts zeroes the request counts (not Logins or CodesSent).
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.counts)
	clear(s.answered)
	s.total = 0
}

// Logins is the number of successful authorization-code token exchanges.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// CodesSent is the number of 2FA codes "sent" (sign-ins that asked for one).
func (s *Server) CodesSent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codesSent
}

// Network returns a snapshot of a network.
func (s *Server) Network(id int64) (Network, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
	n, ok := s.networks[id]
	if !ok {
		return Network{}, false
	}
	return cloneNetwork(n), true
}

// Networks returns snapshots of every network in account order.
func (s *Server) Networks() []Network {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
	out := make([]Network, 0, len(s.netOrder))
	for _, id := range s.netOrder {
		out = append(out, cloneNetwork(s.networks[id]))
	}
	return out
}

// Devices returns snapshots of every device in account order.
func (s *Server) Devices() []Device {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
	out := make([]Device, 0, len(s.devOrder))
	for _, k := range s.devOrder {
		out = append(out, *s.devices[k])
	}
	return out
}

// DevicesOf returns the devices of one family.
func (s *Server) DevicesOf(f blink.Family) []Device {
	return slices.DeleteFunc(s.Devices(), func(d Device) bool { return d.Family != f })
}

// Media returns the stored media items, oldest first.
func (s *Server) Media() []Media {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Media, len(s.media))
	for i, m := range s.media {
		out[i] = *m
	}
	return out
}

// CommandCompletedAt is when a command completed or failed (clock time);
// zero while it runs or when the id is unknown.
func (s *Server) CommandCompletedAt(cmdID int64) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
	if c, ok := s.commands[cmdID]; ok {
		return c.completedAt
	}
	return time.Time{}
}

// Command returns a snapshot of a command submitted to the fake.
func (s *Server) Command(cmdID int64) (CommandInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
	c, ok := s.commands[cmdID]
	if !ok {
		return CommandInfo{}, false
	}
	return c.info(), true
}

// Commands returns snapshots of the remembered commands (the newest 1000),
// oldest first.
func (s *Server) Commands() []CommandInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
	out := make([]CommandInfo, 0, len(s.cmdOrder))
	for _, id := range s.cmdOrder {
		out = append(out, s.commands[id].info())
	}
	return out
}

// HomescreenJSON is the body GET …/homescreen would return now, for decoder
// benchmarks and fuzz seeds that need no HTTP.
func (s *Server) HomescreenJSON() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
	return marshal(s.homescreen())
}
