package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/bridge"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// pageData is everything the page template shows.
type pageData struct {
	Assets    string // the assets' version, for cache-busting URLs
	Version   string
	Connected bool
	Account   string
	LastPoll  time.Time
	Requests  int
	Cooldown  time.Time

	Auth      bridge.AuthStatus
	AuthLabel string
	AuthClass string // ok, wait, bad: the badge colour
	NextStep  string
	// Mode is which form the page offers: login, code or logout.
	Mode      string
	CanChange bool
	Hint      string
	Email     string
	CSRF      string
	Message   string
	MessageOK bool

	Systems []bridge.SystemStatus
	Events  []eventView
	// Pictures: camera pictures are shown only to a visitor who gave the
	// password or came through ingress — with the page open on a LAN,
	// pictures of a home are not for anyone who finds the port.
	Pictures bool
}

// eventView is one line of the recent events.
type eventView struct {
	When   time.Time
	Device string
	System string
	Type   string
}

// page renders the page for v with an optional form outcome. A GET that
// matches the ETag of what it would send gets 304, so the page's refresh
// costs little while nothing changes.
func (h *Handler) page(w http.ResponseWriter, r *http.Request, v visitor, f flash, status int) {
	s := h.opts.Status.Status()
	d := pageData{
		Assets: h.assets.version, Version: s.Version, Connected: s.MQTTConnected,
		LastPoll: s.LastPoll, Requests: s.RequestsLastHour, Cooldown: s.CooldownUntil,
		Auth: s.Auth, NextStep: s.NextStep, CanChange: v.canChange && h.opts.Login != nil, Hint: v.hint,
		Message: f.msg, MessageOK: f.ok, Systems: s.Systems,
		Pictures: v.via != "",
	}
	if s.AccountID != 0 {
		d.Account = strconv.FormatInt(s.AccountID, 10)
		if s.Tier != "" {
			d.Account += " (tier " + s.Tier + ")"
		}
	}
	d.AuthLabel, d.AuthClass, d.Mode = authWords(s.Auth.State)
	if d.CanChange {
		d.CSRF = h.csrf.token(w, r)
		d.Email = h.opts.Email
		switch d.Mode {
		case "code":
			d.NextStep = "Type the code Blink sent into the form below."
		case "login":
			d.NextStep = "Log in below with the e-mail address and password of your Blink account."
		}
	} else if d.Hint == "" {
		d.Hint = "Logging in is not available on this page."
	}
	names := map[int64]string{}
	for _, sys := range s.Systems {
		names[sys.ID] = sys.Name
	}
	for _, e := range s.Events {
		when := e.CreatedAt
		if when.IsZero() {
			when = e.PublishedAt
		}
		d.Events = append(d.Events, eventView{When: when, Device: e.DeviceName, System: names[e.NetworkID], Type: e.Type})
	}

	var buf bytes.Buffer
	if err := h.assets.page.Execute(&buf, d); err != nil {
		h.log.Error().Err(err).Msg("cannot render the page")
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	if status == http.StatusOK && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		sum := sha256.Sum256(buf.Bytes())
		etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
		hd.Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// authWords are the label, badge class and form of a login state.
func authWords(s bridge.AuthState) (label, class, mode string) {
	switch s {
	case bridge.AuthOK:
		return "Logged in", "ok", "logout"
	case bridge.AuthCodeRequired:
		return "Waiting for the 2FA code", "wait", "code"
	case bridge.AuthReauthRequired:
		return "Not logged in", "bad", "login"
	}
	return "Login failed", "bad", "login"
}

// templateFuncs are the helpers the page template uses.
var templateFuncs = template.FuncMap{
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"utc": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") + " UTC" },
	"thumb": func(d bridge.DeviceStatus) string {
		return "thumb/" + d.Key.String() + ".jpg?v=" + d.Thumbnail
	},
	"alarm": func(state string) string {
		switch state {
		case discovery.ArmedAway:
			return "Armed"
		case discovery.Disarmed:
			return "Disarmed"
		case discovery.Arming:
			return "Arming…"
		case discovery.Disarming:
			return "Disarming…"
		}
		return state
	},
	"family": func(f blink.Family) string {
		switch f {
		case blink.FamilyCamera:
			return "Camera"
		case blink.FamilyOwl:
			return "Mini"
		case blink.FamilyDoorbell:
			return "Doorbell"
		}
		return string(f)
	},
	"fahrenheitToCelsius": func(f int) string {
		return strconv.FormatFloat(float64(f-32)*5/9, 'f', 0, 64)
	},
}
