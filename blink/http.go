package blink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Request headers. REST calls look like the app build
// blinkpy switched to after Blink's Jan 2024 406 wave; the OAuth web steps
// look like Safari on an iPhone and the token endpoint like the iOS app.
const (
	restUserAgent  = "27.0ANDROID_28373244"
	restAppBuild   = "ANDROID_28373244"
	restLocale     = "en_US"
	webUserAgent   = "Mozilla/5.0 (iPhone; CPU iPhone OS 26_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/26.1 Mobile/15E148 Safari/604.1"
	webAccept      = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	webAcceptLang  = "en-US,en;q=0.9"
	tokenUserAgent = "Blink/2511191620 CFNetwork/3860.200.71 Darwin/25.1.0"
)

// profile picks the header set of a request.
type profile int

const (
	profREST  profile = iota // REST API: app headers, bearer
	profWeb                  // OAuth authorize/sign-in/2FA pages: Safari
	profToken                // OAuth /oauth/token: CFNetwork
)

// call is one logical API call. The pipeline in do turns it into one or more
// HTTP attempts.
type call struct {
	method string
	tmpl   string // path template, e.g. "/network/{net}/command/{cmd}": stats key and error Op
	base   string // base URL; empty = REST base of the session tier
	path   string // expanded path (may carry a query for downloads)
	query  url.Values
	body   []byte
	ctype  string
	prof   profile
	auth   bool   // session bearer; refreshed before expiry and once after a 401
	token  Secret // explicit bearer (login's tier_info); never refreshed
	client *http.Client
	header http.Header // extra headers (Origin, Referer)
	// redirect decides what a 3xx answer means; the zero value refuses it.
	redirect redirectPolicy
	// raw hands non-2xx answers (other than 429, REST 403 and 5xx) back to
	// the caller instead of turning them into a StatusError (OAuth steps).
	raw      bool
	timeout  time.Duration // per attempt; default defaultCallTimeout
	maxBytes int64         // body cap; default maxJSONBody
	// sink consumes a 2xx body instead of buffering it (DownloadTo).
	sink func(*http.Response) error
}

func (cl *call) op() string { return cl.method + " " + cl.tmpl }

// response is a buffered answer.
type response struct {
	status int
	header http.Header
	body   []byte
	// foreign: a followed redirect left the call's origin (a media CDN), so
	// the answer says nothing about Blink's token or throttle.
	foreign bool
}

// netError is a failure to get an answer (dial, TLS, timeout, reset). It
// never carries a URL: url.Error is unwrapped before it gets here.
type netError struct {
	op  string
	err error
}

func (e *netError) Error() string   { return e.op + ": " + e.err.Error() }
func (e *netError) Unwrap() []error { return []error{ErrUnreachable, e.err} }

// do runs one logical call: cooldown check, token, limiter, attempt,
// classification, retries. Every attempt has a deadline (the context's or
// cl.timeout, whichever is sooner).
func (c *Client) do(ctx context.Context, cl *call) (*response, error) {
	op := cl.op()
	refreshed := false
	retries := 0
	for {
		if err := c.cooldownErr(op); err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		base, bearer := cl.base, cl.token
		if cl.auth {
			t, err := c.validToken(ctx)
			if err != nil {
				return nil, err
			}
			bearer = t.AccessToken
			if base == "" {
				base = c.restBase(t.Tier)
			}
		}
		if base == "" {
			base = c.restBase(c.snapshot().Tier)
		}
		if err := c.limiter.Wait(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w", op, ctx.Err())
			}
			return nil, fmt.Errorf("%s: rate limiter wait exceeds the deadline: %w", op, context.DeadlineExceeded)
		}
		if err := c.cooldownErr(op); err != nil {
			return nil, err // throttled while we waited for the limiter
		}
		resp, err := c.attempt(ctx, cl, base, bearer)
		if err != nil {
			var ne *netError
			if errors.As(err, &ne) && ctx.Err() == nil && retries < c.maxRetries {
				retries++
				c.log.Debug().Str("endpoint", op).Int("retry", retries).Err(err).Msg("network error, retrying")
				if err := sleepCtx(ctx, backoffDelay(c.retryBase, retries, maxRetryDelay)); err != nil {
					return nil, fmt.Errorf("%s: %w", op, err)
				}
				continue
			}
			return nil, err
		}
		s := resp.status
		switch {
		case s == http.StatusUnauthorized && cl.auth && !refreshed && !resp.foreign:
			refreshed = true
			c.log.Debug().Str("endpoint", op).Msg("access token refused, refreshing once")
			if _, err := c.refresh(ctx, bearer); err != nil {
				return nil, err
			}
			continue
		case !resp.foreign && (s == http.StatusTooManyRequests || (s == http.StatusForbidden && cl.prof == profREST)):
			return nil, c.startCooldown(op, resp.header)
		case s >= 500:
			se := newStatusError(op, resp, nil)
			if se.kind == ErrNotFound {
				return nil, se // "Camera not found" arrives as code 500: retrying cannot help
			}
			se.kind = ErrUnreachable
			wait := backoffDelay(c.retryBase, retries+1, maxRetryDelay)
			if ra, ok := parseRetryAfter(resp.header.Get("Retry-After"), c.now()); ok {
				if ra > maxServerRetryAfter {
					return nil, se // a maintenance window: the caller's next cycle retries
				}
				wait = max(wait, ra)
			}
			if retries < c.maxRetries {
				retries++
				c.log.Debug().Str("endpoint", op).Int("status", s).Int("retry", retries).Dur("wait", wait).Msg("server error, retrying")
				if err := sleepCtx(ctx, wait); err != nil {
					return nil, fmt.Errorf("%s: %w", op, err)
				}
				continue
			}
			return nil, se
		}
		if s < 300 {
			c.clearThrottleStreak()
		}
		if s < 400 || cl.raw {
			return resp, nil
		}
		return nil, newStatusError(op, resp, nil)
	}
}

// attempt sends one HTTP request and reads (or streams) the answer.
func (c *Client) attempt(ctx context.Context, cl *call, base string, bearer Secret) (*response, error) {
	op := cl.op()
	timeout := cl.timeout
	if timeout <= 0 {
		timeout = defaultCallTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	u := base + cl.path
	if len(cl.query) > 0 {
		sep := "?"
		if strings.Contains(cl.path, "?") {
			sep = "&"
		}
		u += sep + cl.query.Encode()
	}
	var body io.Reader
	if cl.body != nil {
		body = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(actx, cl.method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s: build request: %w", op, sanitize(err))
	}
	setHeaders(req, cl, bearer)

	hc := cl.client
	if hc == nil {
		hc = c.http
	}
	hc = withPolicy(hc, op, cl.redirect, req.URL)
	start := time.Now()
	res, err := hc.Do(req)
	var re *RedirectError
	if errors.As(err, &re) {
		c.record(op, re.Code, time.Since(start), nil)
		c.log.Warn().Str("endpoint", op).Int("status", re.Code).Str("target", re.Target).Str("reason", re.Reason).
			Msg("Blink answered with a redirect the client does not follow")
		return nil, re
	}
	if err != nil {
		c.record(op, 0, time.Since(start), sanitize(err))
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", op, ctx.Err())
		}
		if actx.Err() != nil {
			return nil, &netError{op: op, err: fmt.Errorf("no answer within %s: %w", timeout, context.DeadlineExceeded)}
		}
		return nil, &netError{op: op, err: sanitize(err)}
	}
	defer res.Body.Close()
	c.record(op, res.StatusCode, time.Since(start), nil)

	out := &response{status: res.StatusCode, header: res.Header}
	if res.Request != nil && res.Request.URL != nil {
		out.foreign = origin(res.Request.URL) != origin(req.URL)
	}
	if cl.sink != nil && res.StatusCode >= 200 && res.StatusCode < 300 {
		if err := cl.sink(res); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w", op, ctx.Err())
			}
			return nil, err
		}
		return out, nil
	}
	limit := cl.maxBytes
	if limit <= 0 {
		limit = maxJSONBody
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", op, ctx.Err())
		}
		if actx.Err() != nil {
			return nil, &netError{op: op, err: fmt.Errorf("body not complete within %s: %w", timeout, context.DeadlineExceeded)}
		}
		return nil, &DecodeError{Op: op, Err: fmt.Errorf("truncated body: %w", sanitize(err))}
	}
	if int64(len(b)) > limit {
		return nil, &DecodeError{Op: op, Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)}
	}
	out.body = b
	return out, nil
}

func setHeaders(req *http.Request, cl *call, bearer Secret) {
	h := req.Header
	switch cl.prof {
	case profREST:
		h.Set("User-Agent", restUserAgent)
		h.Set("APP-BUILD", restAppBuild)
		h.Set("LOCALE", restLocale)
		h.Set("Accept", "application/json")
	case profWeb:
		h.Set("User-Agent", webUserAgent)
		h.Set("Accept", webAccept)
		h.Set("Accept-Language", webAcceptLang)
	case profToken:
		h.Set("User-Agent", tokenUserAgent)
		h.Set("Accept", "application/json")
		h.Set("Accept-Language", webAcceptLang)
	}
	if cl.body != nil {
		ct := cl.ctype
		if ct == "" {
			ct = "application/json"
		}
		h.Set("Content-Type", ct)
	}
	if !bearer.IsZero() {
		h.Set("Authorization", "Bearer "+bearer.Reveal())
	}
	for k, vs := range cl.header {
		h[k] = vs
	}
}

// sanitize drops the URL from a *url.Error so no query string (or anything
// else of the request line) can reach a log line or an error string.
func sanitize(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return sanitize(ue.Err)
	}
	return err
}

// newStatusError classifies a non-2xx answer. kind overrides the sentinel
// picked from the status code and Blink's code.
func newStatusError(op string, r *response, kind error) *StatusError {
	e := &StatusError{Op: op, Code: r.status}
	var body struct {
		Code    flexInt    `json:"code"`
		Message flexString `json:"message"`
		Error   flexString `json:"error"`
		Desc    flexString `json:"error_description"`
	}
	if json.Unmarshal(r.body, &body) == nil {
		e.APICode = int(body.Code.v)
		switch {
		case body.Message.v != "":
			e.Message = body.Message.v
		case body.Desc.v != "":
			e.Message = body.Desc.v
		case body.Error.v != "":
			e.Message = body.Error.v
		}
		e.Message = cleanText(e.Message, maxMessage)
	}
	switch {
	case kind != nil:
		e.kind = kind
	case codeKind(e.APICode, e.Message) != nil:
		e.kind = codeKind(e.APICode, e.Message)
	case r.status == http.StatusUnauthorized:
		e.kind = ErrUnauthorized
	case r.status == http.StatusNotFound:
		e.kind = ErrNotFound
	case r.status == http.StatusNotAcceptable:
		e.kind = ErrNotAcceptable
	case r.status == http.StatusConflict:
		e.kind = ErrBusy
	case r.status == http.StatusTooManyRequests:
		e.kind = ErrRateLimited
	}
	return e
}

// codeKind maps Blink's body "code"/"message" to a sentinel, or nil.
func codeKind(code int, message string) error {
	switch {
	case code == 700 || code == 1630 || strings.Contains(strings.ToLower(message), "not found"):
		return ErrNotFound
	case code == 101:
		return ErrUnauthorized
	case code == codeBusy:
		return ErrBusy
	}
	return nil
}

// ids are the values of a path template's placeholders.
type ids struct {
	acct, net, cam, cmd, sm, prog int64
	// manifest and clip are local-storage ids, which Blink sends as
	// strings; only ids that pass validLocalID reach a path.
	manifest, clip string
}

// fill replaces {acct}, {net}, {cam}, {cmd}, {sm}, {prog}, {manifest} and {clip} in tmpl.
func fill(tmpl string, v ids) string {
	r := strings.NewReplacer(
		"{acct}", strconv.FormatInt(v.acct, 10),
		"{net}", strconv.FormatInt(v.net, 10),
		"{cam}", strconv.FormatInt(v.cam, 10),
		"{cmd}", strconv.FormatInt(v.cmd, 10),
		"{sm}", strconv.FormatInt(v.sm, 10),
		"{prog}", strconv.FormatInt(v.prog, 10),
		"{manifest}", v.manifest,
		"{clip}", v.clip,
	)
	return r.Replace(tmpl)
}
