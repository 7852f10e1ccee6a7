// Package blink is the client for Blink's (Amazon) camera cloud: OAuth login
// with 2FA, token persistence and refresh, typed account state, motion
// clips, commands and downloads. It knows nothing of MQTT; the bridge package
// builds on it. The facts about Blink it relies on are in DEVELOPERS.md
// ("Blink API notes").
//
// # Logging in
//
// A Client needs a TokenStore; the session (tokens, tier, account id and the
// hardware id Blink knows this installation by) lives there, so a restart
// does not log in again. The client never starts a login by itself: a person
// does, once, and 2FA may need a code they type in later.
//
//	c, err := blink.New(blink.Options{Store: blink.FileTokenStore{Path: "data/tokens.json"}, Logger: log})
//	if !c.HasSession() {
//		l, err := c.BeginLogin(ctx, email, blink.Secret(password))
//		if err != nil { … }                      // ErrBadCredentials, ErrNotAcceptable, *RateLimitError, …
//		if l.CodeRequired() {
//			fmt.Println("code sent via", l.Challenge().Channel)
//			err = l.SubmitCode(ctx, blink.Secret(code)) // ErrInvalidCode → ask again, same l
//		}
//	}
//
// After that the client refreshes the access token itself (a minute before it
// expires, and once after a 401) and saves every new refresh token. When
// Blink refuses the refresh token, calls fail with ErrReauthRequired until a
// new login (or ReloadTokens after `blink2mqtt login` wrote a new file).
//
// # Polling
//
//	hs, err := c.Homescreen(ctx)           // networks (Armed), sync modules, devices
//	clips, err := c.MediaChanged(ctx, since) // motion clips, oldest first; filter by CreatedAt yourself
//	img, ctype, err := c.Download(ctx, blink.ThumbnailPath(hs.AccountID, hs.Devices[0]), 5<<20)
//
// Keep polls gentle (homescreen every 30–60 s, media every 15–30 s): every
// request waits on Options.Limiter, one limiter for the whole account.
//
// # Commands
//
// Commands submit and then wait until Blink reports them done:
//
//	res, err := c.Arm(ctx, networkID)
//	res, err = c.SetMotionDetection(ctx, dev.Ref(), true) // the device family picks the endpoint
//	var ce *blink.CommandError
//	switch {
//	case errors.As(err, &ce):                 // Blink said no (ce.Code, e.g. 523)
//	case errors.Is(err, blink.ErrBusy):       // still busy after Options.BusyRetryFor
//	case errors.Is(err, blink.ErrCommandTimeout):
//	case err == nil && res.Warning != "":     // e.g. "No Cameras Enabled for Motion"
//	}
//
// # Errors and throttling
//
// Every error from an HTTP answer wraps a sentinel from errors.go; decide with
// errors.Is/As, never by text. 429 (and 403 from the REST host) start a
// client-wide cooldown during which every call fails at once with
// *RateLimitError, without touching the network. 5xx and network errors are
// retried a few times with jittered backoff, then ErrUnreachable. Each HTTP
// attempt has a deadline: the context's, or 10 s (downloads 90 s).
//
// Passwords, tokens, codes and cookies are Secrets or stay inside the
// request; they never appear in a log line or an error string, and no secret
// is ever put in a URL.
//
// # Redirects
//
// Credentials only go to the origin (scheme, host and port) they belong to.
// REST calls and the OAuth pages follow a redirect only within their origin;
// token calls never follow one; the sign-in and 2FA posts and the final
// authorize take the 3xx itself as the answer. A download may follow up to
// three hops to a media CDN, never from https to plain http, and without the
// Authorization header or cookies once it leaves the REST origin. A refused
// redirect is a *RedirectError (ErrRedirectRefused) naming the endpoint.
package blink
