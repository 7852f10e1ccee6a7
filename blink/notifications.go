package blink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
)

// notificationsTmpl is the account's push-notification preferences (GET to
// read, POST {"notifications": {flag: bool}} to change; synchronous).
const notificationsTmpl = "/api/v1/accounts/{acct}/notifications/configuration"

// maxNotificationFlags bounds the flags kept from one answer (Blink sends
// about 17).
const maxNotificationFlags = 64

// notificationNameRE is what a flag name must look like to be kept: it
// becomes part of topics and entity ids downstream.
var notificationNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,47}$`)

// ValidNotificationName reports whether name can be a notification flag.
func ValidNotificationName(name string) bool { return notificationNameRE.MatchString(name) }

// NotificationFlag is one of the account's notification preferences (for
// the Blink app's push messages: low battery, motion, offline, …).
type NotificationFlag struct {
	Name string `json:"name"`
	On   bool   `json:"on"`
}

// decodeNotifications reads {"notifications": {flag: bool, …}} (a flat
// object of flags is tolerated). Flags with unusable names are dropped;
// the rest come sorted by name, at most maxNotificationFlags.
func decodeNotifications(op string, body []byte) ([]NotificationFlag, error) {
	var obj map[string]json.RawMessage
	if err := decodeJSON(op, body, &obj); err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, &DecodeError{Op: op, Err: errors.New("not a JSON object")}
	}
	if raw, ok := obj["notifications"]; ok {
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(raw, &inner); err != nil {
			return nil, &DecodeError{Op: op, Err: jsonErr(err)}
		}
		obj = inner
	}
	out := make([]NotificationFlag, 0, min(len(obj), maxNotificationFlags))
	for name, raw := range obj {
		w := wireOf(raw)
		if !ValidNotificationName(name) || w != wireBool && w != wireNumber && w != wireString {
			continue
		}
		var b flexBool
		if json.Unmarshal(raw, &b) != nil {
			continue
		}
		out = append(out, NotificationFlag{Name: name, On: b.v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(out) > maxNotificationFlags {
		out = out[:maxNotificationFlags]
	}
	return out, nil
}

// Notifications reads the account's notification flags.
func (c *Client) Notifications(ctx context.Context) ([]NotificationFlag, error) {
	acct, err := c.accountID()
	if err != nil {
		return nil, err
	}
	cl, resp, err := c.get(ctx, notificationsTmpl, ids{acct: acct}, nil)
	if err != nil {
		return nil, err
	}
	return decodeNotifications(cl.op(), resp.body)
}

// SetNotifications changes notification flags; the others keep their
// value. Blink answers at once ("Client Notification Configure Update
// Successful").
func (c *Client) SetNotifications(ctx context.Context, flags []NotificationFlag) error {
	if len(flags) == 0 || len(flags) > maxNotificationFlags {
		return fmt.Errorf("blink: SetNotifications: %d flags, want 1 to %d", len(flags), maxNotificationFlags)
	}
	set := make(map[string]bool, len(flags))
	for _, f := range flags {
		if !ValidNotificationName(f.Name) {
			return fmt.Errorf("blink: SetNotifications: %q is not a notification flag", cleanText(f.Name, 48))
		}
		set[f.Name] = f.On
	}
	acct, err := c.accountID()
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{"notifications": set})
	if err != nil {
		return fmt.Errorf("blink: SetNotifications: %w", err)
	}
	cl := &call{method: http.MethodPost, tmpl: notificationsTmpl, path: fill(notificationsTmpl, ids{acct: acct}),
		body: body, auth: true, prof: profREST, redirect: redirectSameOrigin}
	resp, err := c.do(ctx, cl)
	if err != nil {
		return err
	}
	return syncAnswerErr(cl.op(), resp, 0)
}
