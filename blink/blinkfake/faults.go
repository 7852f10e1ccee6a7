package blinkfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// Endpoint names for Count, Counts and Fault.Endpoint.
const (
	// OAuth host.
	EpAuthorize  = "authorize"   // GET /oauth/v2/authorize (start, and code after sign-in)
	EpSigninPage = "signin_page" // GET /oauth/v2/signin
	EpSignin     = "signin"      // POST /oauth/v2/signin
	EpVerify     = "2fa_verify"  // POST /oauth/v2/2fa/verify
	EpToken      = "token"       // POST /oauth/token (both grants)
	EpOAuthOther = "oauth_other" // anything else on the OAuth host (404)

	// REST host.
	EpTierInfo          = "tier_info"           // GET /api/v1/users/tier_info
	EpHomescreen        = "homescreen"          // GET /api/v3|v4/accounts/{a}/homescreen
	EpMediaChanged      = "media_changed"       // GET /api/v1/accounts/{a}/media/changed
	EpMediaThumbnail    = "media_thumbnail"     // GET a media item's thumbnail (.jpg)
	EpMediaClip         = "media_clip"          // GET a media item's clip (.mp4)
	EpMediaDelete       = "media_delete"        // POST /api/v1/accounts/{a}/media/delete
	EpDeviceThumbnail   = "device_thumbnail"    // GET …/{type}/{dev}/thumbnail/thumbnail.jpg (homescreen URL)
	EpArm               = "arm"                 // POST …/networks/{n}/state/arm
	EpDisarm            = "disarm"              // POST …/networks/{n}/state/disarm
	EpNetworkUpdate     = "network_update"      // POST /network/{n}/update
	EpCommandStatus     = "command_status"      // GET /network/{n}/command/{cmd}
	EpCommandDone       = "command_done"        // POST /network/{n}/command/{cmd}/done/
	EpCommandUpdate     = "command_update"      // POST /network/{n}/command/{cmd}/update/ (extends a live view)
	EpCameraEnable      = "camera_enable"       // POST /network/{n}/camera/{c}/enable
	EpCameraDisable     = "camera_disable"      // POST /network/{n}/camera/{c}/disable
	EpCameraThumbnail   = "camera_thumbnail"    // POST /network/{n}/camera/{c}/thumbnail
	EpCameraClip        = "camera_clip"         // POST /network/{n}/camera/{c}/clip
	EpCameraConfig      = "camera_config"       // GET /network/{n}/camera/{c}/config
	EpCameraUpdate      = "camera_update"       // POST /network/{n}/camera/{c}/update (settings)
	EpCameraSignals     = "camera_signals"      // GET /network/{n}/camera/{c}/signals
	EpOwlConfig         = "owl_config"          // GET …/owls/{c}/config
	EpOwlConfigSet      = "owl_config_set"      // POST …/owls/{c}/config {"enabled":bool} and settings
	EpOwlThumbnail      = "owl_thumbnail"       // POST …/owls/{c}/thumbnail
	EpOwlClip           = "owl_clip"            // POST …/owls/{c}/clip
	EpDoorbellEnable    = "doorbell_enable"     // POST …/doorbells/{c}/enable
	EpDoorbellDisable   = "doorbell_disable"    // POST …/doorbells/{c}/disable
	EpDoorbellThumbnail = "doorbell_thumbnail"  // POST …/doorbells/{c}/thumbnail
	EpDoorbellClip      = "doorbell_clip"       // POST …/doorbells/{c}/clip
	EpDoorbellConfig    = "doorbell_config"     // GET …/doorbells/{c}/config
	EpDoorbellConfigSet = "doorbell_config_set" // POST …/doorbells/{c}/config {"enabled":bool} and settings
	EpPrograms          = "programs"            // GET /api/v1/networks/{n}/programs
	EpProgramEnable     = "program_enable"      // POST /api/v1/networks/{n}/programs/{p}/enable
	EpProgramDisable    = "program_disable"     // POST /api/v1/networks/{n}/programs/{p}/disable
	EpNotifications     = "notifications"       // GET /api/v1/accounts/{a}/notifications/configuration
	EpNotificationsSet  = "notifications_set"   // POST /api/v1/accounts/{a}/notifications/configuration
	EpCameraLiveview    = "camera_liveview"     // POST /api/v6/accounts/{a}/networks/{n}/cameras/{c}/liveview
	EpOwlLiveview       = "owl_liveview"        // POST /api/v2/accounts/{a}/networks/{n}/owls/{c}/liveview
	EpDoorbellLiveview  = "doorbell_liveview"   // POST /api/v2/accounts/{a}/networks/{n}/doorbells/{c}/liveview
	EpLegacyLogin       = "legacy_login"        // POST /api/v4|v5/account/login (426, retired)

	// Local storage, under /api/v1/accounts/{a}/networks/{n}/sync_modules/{sm}/local_storage/.
	EpLocalManifestRequest = "local_manifest_request" // POST manifest/request
	EpLocalManifest        = "local_manifest"         // GET manifest/request/{id}
	EpLocalClipRequest     = "local_clip_request"     // POST manifest/{m}/clip/request/{c} (upload)
	EpLocalClip            = "local_clip"             // GET manifest/{m}/clip/request/{c} (the MP4)
	EpLocalClipDelete      = "local_clip_delete"      // POST manifest/{m}/clip/delete/{c}
	EpLocalStatus          = "local_status"           // GET status
	EpRESTOther            = "rest_other"             // anything else on the REST host (404)
)

// Fault is an injected misbehaviour for requests to matching endpoints.
//
// Endpoint matches an endpoint name (Ep…) exactly; besides, "*" matches
// everything, "oauth" and "rest" a whole host, a family prefix such as
// "media" every name starting "media_" (likewise "camera", "owl",
// "doorbell", "command", "local"), and globs like "*_clip" work.
//
// Skip lets that many matching requests pass before the fault applies (a
// fault on the second authorize, say). A matching request first waits Delay
// (real time) and until Hold is closed (a test sees it arrive with WaitFor
// and Count, then releases it). Then, with Status set, the fault answers
// instead of the fake (Body, or a Blink-like default body for the status;
// RetryAfter as a Retry-After header) and no state changes.
// Without Status the fake answers normally. Truncate cuts the body in half
// (Content-Length matches the cut body); Malformed replaces it with invalid
// JSON. The request is counted either way.
type Fault struct {
	Endpoint   string
	Status     int
	RetryAfter time.Duration
	Body       string
	Count      int // requests it applies to: 0 → 1, negative → until ClearFaults
	Delay      time.Duration
	Truncate   bool
	Malformed  bool
	// Drop closes the connection without an answer (a network error).
	Drop bool
	// Location is sent as the Location header: with a 3xx Status the fault
	// is a redirect, for example to a server that must never see a token.
	Location string
	Skip     int             // matching requests let through first
	Hold     <-chan struct{} // nil, or held until closed
}

// malformedBody is what a Malformed fault sends: JSON cut mid-object, then junk.
const malformedBody = `{"message":"OK","code":103,"networks":[{"id":` + "\x00<html>oops"

// Inject adds a fault; faults are tried in the order injected.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Count == 0 {
		f.Count = 1
	}
	if f.Endpoint == "" {
		f.Endpoint = "*"
	}
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// PendingFaults is how many injected faults have uses left.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults)
}

// endpointNames are the Ep… names; a pattern equal to one matches only it
// (so "signin" does not also hit "signin_page").
var endpointNames = map[string]bool{
	EpAuthorize: true, EpSigninPage: true, EpSignin: true, EpVerify: true, EpToken: true, EpOAuthOther: true,
	EpTierInfo: true, EpHomescreen: true, EpMediaChanged: true, EpMediaThumbnail: true, EpMediaClip: true,
	EpMediaDelete: true, EpDeviceThumbnail: true, EpArm: true, EpDisarm: true, EpNetworkUpdate: true,
	EpCommandStatus: true, EpCommandDone: true, EpCommandUpdate: true, EpCameraEnable: true, EpCameraDisable: true,
	EpCameraThumbnail: true, EpCameraClip: true, EpCameraConfig: true, EpCameraSignals: true,
	EpOwlConfig: true, EpOwlConfigSet: true, EpOwlThumbnail: true, EpOwlClip: true,
	EpDoorbellEnable: true, EpDoorbellDisable: true, EpDoorbellThumbnail: true, EpDoorbellClip: true,
	EpDoorbellConfig: true, EpDoorbellConfigSet: true, EpCameraLiveview: true, EpOwlLiveview: true,
	EpDoorbellLiveview: true, EpLegacyLogin: true, EpRESTOther: true,
	EpLocalManifestRequest: true, EpLocalManifest: true, EpLocalClipRequest: true, EpLocalClip: true,
	EpLocalClipDelete: true, EpLocalStatus: true,
	EpCameraUpdate: true, EpPrograms: true, EpProgramEnable: true, EpProgramDisable: true,
	EpNotifications: true, EpNotificationsSet: true,
}

func faultMatches(pattern, name, host string) bool {
	switch {
	case pattern == "*" || pattern == host || pattern == name:
		return true
	case endpointNames[pattern]:
		return false
	case strings.HasPrefix(name, pattern+"_"):
		return true
	}
	ok, _ := path.Match(pattern, name)
	return ok
}

// takeFault returns the first matching fault and uses it up. Caller holds mu.
func (s *Server) takeFault(name, host string) *Fault {
	for i, f := range s.faults {
		if !faultMatches(f.Endpoint, name, host) {
			continue
		}
		if f.Skip > 0 {
			f.Skip-- // this request passes this fault; a later one may still match
			continue
		}
		c := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return &c
	}
	return nil
}

type window struct {
	start time.Time
	n     int
}

// hit counts one request; false with the wait when over max per minute.
func (w *window) hit(now time.Time, limit int) (bool, time.Duration) {
	if now.Sub(w.start) >= time.Minute || now.Before(w.start) {
		w.start, w.n = now, 0
	}
	w.n++
	if w.n > limit {
		return false, w.start.Add(time.Minute).Sub(now)
	}
	return true, 0
}

func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}

type route struct {
	name string
	h    http.HandlerFunc
}

const maxBody = 1 << 20

// serve is the shared edge of both hosts: count, rate limit, faults, recover.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, host string, rt route) {
	rec := &statusRecorder{ResponseWriter: w}
	w = rec
	entry := Request{Time: s.now(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Endpoint: rt.name, UserAgent: r.UserAgent(), Origin: r.Header.Get("Origin"),
		Referer: r.Referer(), AppBuild: r.Header.Get("APP-BUILD")}
	defer func() {
		entry.Status = rec.status
		s.logRequest(entry)
	}()
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.errorf("blinkfake: %s handler panicked: %v\n%s", rt.name, v, debug.Stack())
			writeJSON(w, http.StatusInternalServerError, map[string]any{"message": "Internal Server Error"})
		}
	}()
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)

	s.mu.Lock()
	s.counts[rt.name]++
	s.total++
	s.notifyLocked()
	limited, wait := false, time.Duration(0)
	if limit := s.cfg.MaxRequestsPerMinute; limit > 0 {
		win := &s.restWin
		if host == "oauth" {
			win = &s.oauthWin
		}
		ok, d := win.hit(s.now(), limit)
		limited, wait = !ok, d
	}
	var f *Fault
	if !limited {
		f = s.takeFault(rt.name, host)
	}
	s.mu.Unlock()

	if limited {
		if host == "oauth" {
			w.Header().Set("Retry-After", retryAfterSeconds(wait))
			writeText(w, http.StatusTooManyRequests, "Too Many Requests")
			return
		}
		writeHTML(w, http.StatusForbidden, "<html><body><h1>403 Forbidden</h1></body></html>")
		return
	}
	if f == nil {
		rt.h(w, r)
		return
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		if !await(s, r, t.C) {
			return
		}
	}
	if f.Hold != nil && !await(s, r, f.Hold) {
		return
	}
	if f.Drop {
		panic(http.ErrAbortHandler)
	}
	if f.Status == 0 && !f.Truncate && !f.Malformed {
		rt.h(w, r)
		return
	}
	buf := &bufferedWriter{header: http.Header{}, status: http.StatusOK}
	if f.Status != 0 {
		s.faultResponse(buf, f, host)
	} else {
		rt.h(buf, r)
	}
	body := buf.body.Bytes()
	if f.Malformed {
		body = []byte(malformedBody)
	}
	if f.Truncate {
		body = body[:len(body)/2]
	}
	for k, v := range buf.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(buf.status)
	_, _ = w.Write(body)
}

// await waits for ch; false when the request or the fake ended first.
func await[T any](s *Server, r *http.Request, ch <-chan T) bool {
	select {
	case <-ch:
		return true
	case <-r.Context().Done():
	case <-s.closed:
	}
	return false
}

func (s *Server) faultResponse(w http.ResponseWriter, f *Fault, host string) {
	if f.Location != "" {
		w.Header().Set("Location", f.Location)
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", retryAfterSeconds(f.RetryAfter))
	}
	if f.Body != "" {
		ct := "text/plain; charset=utf-8"
		if b := strings.TrimSpace(f.Body); strings.HasPrefix(b, "{") || strings.HasPrefix(b, "[") {
			ct = "application/json"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(f.Body))
		return
	}
	switch f.Status {
	case http.StatusUnauthorized:
		if host == "oauth" {
			writeJSON(w, f.Status, oauthError("invalid_grant", "", "Invalid refresh token."))
			return
		}
		writeJSON(w, f.Status, apiError{Message: "Unauthorized Access", Code: 101})
	case http.StatusForbidden:
		writeHTML(w, f.Status, "<html><body><h1>403 Forbidden</h1></body></html>")
	case http.StatusNotAcceptable:
		writeText(w, f.Status, "Not Acceptable")
	case http.StatusConflict:
		writeJSON(w, f.Status, busyError)
	case http.StatusTooManyRequests:
		writeText(w, f.Status, "Too Many Requests")
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		writeHTML(w, f.Status, fmt.Sprintf("<html><body><h1>%d %s</h1>cloudflare</body></html>", f.Status, http.StatusText(f.Status)))
	default:
		writeJSON(w, f.Status, map[string]any{"message": http.StatusText(f.Status), "code": f.Status})
	}
}

// bufferedWriter captures a response so a fault can rewrite its body.
type bufferedWriter struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	if !b.wrote {
		b.status, b.wrote = code, true
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}

// ---- response helpers ----

type apiError struct {
	Message string `json:"message"`
	Code    int    `json:"code,omitempty"`
}

var (
	busyError         = apiError{Message: "System is busy, please wait", Code: 307}
	unauthorizedError = apiError{Message: "Unauthorized Access", Code: 101}
	notFoundError     = apiError{Message: "Not Found"}
	cameraNotFound    = apiError{Message: "Camera not found", Code: 500}
	mediaNotFound     = apiError{Message: "Media not found", Code: 700}
	invalidDeviceType = apiError{Message: "Invalid Device Type", Code: 1630}
)

type oauthErr struct {
	Error       string `json:"error"`
	Cause       string `json:"error_cause,omitempty"`
	Description string `json:"error_description"`
}

func oauthError(code, cause, desc string) oauthErr {
	return oauthErr{Error: code, Cause: cause, Description: desc}
}

// marshal is json.Marshal without HTML escaping: Blink sends "&" in
// thumbnail URLs as is, not as \u0026.
func marshal(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // the fake's own types always marshal
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b := marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeText(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(s))
}

func writeHTML(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(s))
}

func writeBytes(w http.ResponseWriter, contentType string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// FaultMatches reports whether a Fault.Endpoint pattern applies to an
// endpoint name.
func FaultMatches(pattern, endpoint string) bool {
	host := "rest"
	switch endpoint {
	case EpAuthorize, EpSigninPage, EpSignin, EpVerify, EpToken, EpOAuthOther:
		host = "oauth"
	}
	return faultMatches(pattern, endpoint, host)
}
