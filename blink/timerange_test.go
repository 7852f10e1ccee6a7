package blink

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// marshalsInUTC reports whether t is zero or survives the encoders the bridge
// uses on every time it publishes.
func marshalsInUTC(t time.Time) bool {
	if t.IsZero() {
		return true
	}
	if _, err := json.Marshal(t.UTC()); err != nil {
		return false
	}
	_, err := t.UTC().MarshalText()
	return err == nil
}

func TestOutOfRangeTimesAreAbsent(t *testing.T) {
	tests := []struct {
		name string
		in   string // a JSON value
		want time.Time
	}{
		{"RFC 3339 year 9999 with a negative offset is year 10000 in UTC", `"9999-12-31T23:30:00-01:00"`, time.Time{}},
		{"RFC 3339 fraction, year 10000 in UTC", `"9999-12-31T23:59:59.999999999-00:01"`, time.Time{}},
		{"compact offset, year 10000 in UTC", `"9999-12-31T23:30:00-0100"`, time.Time{}},
		{"millisecond compact offset, year 10000 in UTC", `"9999-12-31T23:30:00.000-0100"`, time.Time{}},
		{"space layout with offset, year 10000 in UTC", `"9999-12-31 23:30:00 -0100"`, time.Time{}},
		{"space layout with colon offset, year 10000 in UTC", `"9999-12-31 23:30:00-01:00"`, time.Time{}},
		{"year 0 with a positive offset is year -1 in UTC", `"0000-01-01T00:30:00+01:00"`, time.Time{}},
		{"year 0 in UTC", `"0000-06-01T00:00:00Z"`, time.Time{}},
		{"year 0 without a zone", `"0000-06-01 00:00:00"`, time.Time{}},
		{"year 1 with a positive offset is year 0 in UTC", `"0001-01-01T00:30:00+01:00"`, time.Time{}},
		{"negative epoch seconds", `-62135596801`, time.Time{}},
		{"absurd epoch (microseconds)", `253402300800000000`, time.Time{}},
		{"absurd epoch as a string", `"9223372036854775807"`, time.Time{}},
		{"last second of year 9999 in UTC is kept", `"9999-12-31T23:59:59+00:00"`, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"year 9999 in UTC with a negative offset is kept", `"9999-12-31T22:30:00-01:00"`, time.Date(9999, 12, 31, 23, 30, 0, 0, time.UTC)},
		{"year 1 in UTC is kept", `"0001-01-01T01:00:00Z"`, time.Date(1, 1, 1, 1, 0, 0, 0, time.UTC)},
		{"largest epoch millis accepted", `100000000000000`, time.UnixMilli(1e14).UTC()},
		{"ordinary time with an offset", `"2026-03-01T18:00:00+01:00"`, time.Date(2026, 3, 1, 17, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ft flexTime
			if err := json.Unmarshal([]byte(tc.in), &ft); err != nil {
				t.Fatalf("Unmarshal(%s): %v", tc.in, err)
			}
			if !ft.v.Equal(tc.want) {
				t.Errorf("decoded %s as %s, want %s", tc.in, ft.v, tc.want)
			}
			if !marshalsInUTC(ft.v) {
				t.Errorf("decoded %s as %s, which cannot be marshalled in UTC", tc.in, ft.v)
			}
			if !ft.v.IsZero() && ft.v.Location() != time.UTC {
				t.Errorf("decoded time %s is not in UTC", ft.v)
			}
		})
	}
}

// TestDecodedModelsWithOddTimesMarshal decodes every model whose times come
// from Blink with out-of-range values in each time field: each such time is
// absent and the whole model marshals (the bridge's state marshalling).
func TestDecodedModelsWithOddTimesMarshal(t *testing.T) {
	tests := []struct {
		name   string
		decode func() (any, []time.Time, error)
	}{
		{"homescreen", func() (any, []time.Time, error) {
			hs, err := decodeHomescreen("GET /hs", mustFixture(t, "homescreen_odd_times.json"))
			if err != nil {
				return nil, nil, err
			}
			var ts []time.Time
			for _, n := range hs.Networks {
				ts = append(ts, n.UpdatedAt)
			}
			for _, s := range hs.SyncModules {
				ts = append(ts, s.LastHeartbeat, s.UpdatedAt)
			}
			for _, d := range hs.Devices {
				ts = append(ts, d.UpdatedAt)
				if d.Signals != nil {
					ts = append(ts, d.Signals.UpdatedAt)
				}
			}
			if len(ts) != 7 {
				t.Errorf("homescreen fixture gave %d times, want 7", len(ts))
			}
			return hs, ts, nil
		}},
		{"media page", func() (any, []time.Time, error) {
			items, _, err := decodeMediaPage("GET /m", mustFixture(t, "media_odd_times.json"))
			var ts []time.Time
			for _, m := range items {
				ts = append(ts, m.CreatedAt, m.UpdatedAt)
			}
			if len(ts) != 4 {
				t.Errorf("media fixture gave %d times, want 4", len(ts))
			}
			return items, ts, err
		}},
		{"camera config signals", func() (any, []time.Time, error) {
			cc, err := decodeCameraConfig("GET /c", []byte(`{"camera":[{"id":555}],"signals":{"updated_at":"9999-12-31T23:30:00-01:00"}}`))
			if err != nil {
				return nil, nil, err
			}
			return cc, []time.Time{cc.Signals.UpdatedAt}, nil
		}},
		{"token file expires_at", func() (any, []time.Time, error) {
			p := filepath.Join(t.TempDir(), "tokens.json")
			if err := os.WriteFile(p, []byte(`{"version":1,"refresh_token":"r","expires_at":"9999-12-31T23:30:00-01:00"}`), 0o600); err != nil {
				t.Fatal(err)
			}
			tok, err := FileTokenStore{Path: p}.Load()
			return map[string]time.Time{"expires_at": tok.ExpiresAt.UTC()}, []time.Time{tok.ExpiresAt}, err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, ts, err := tc.decode()
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			for i, tm := range ts {
				if !tm.IsZero() {
					t.Errorf("time %d = %s, want absent (zero)", i, tm)
				}
			}
			if _, err := json.Marshal(v); err != nil {
				t.Errorf("decoded model does not marshal: %v", err)
			}
		})
	}
}

func TestTokenExpiryBounded(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	c := &Client{now: func() time.Time { return now }}
	tests := []struct {
		name string
		body string
		want time.Duration
	}{
		{"Blink's four hours", `{"access_token":"a","expires_in":14400}`, 4 * time.Hour},
		{"missing is blinkpy's hour", `{"access_token":"a"}`, time.Hour},
		{"zero", `{"access_token":"a","expires_in":0}`, time.Hour},
		{"negative", `{"access_token":"a","expires_in":-14400}`, time.Hour},
		{"a week is capped", `{"access_token":"a","expires_in":604800}`, maxTokenLife},
		{"overflowing nanoseconds into a positive value", `{"access_token":"a","expires_in":20000000000}`, maxTokenLife},
		{"overflowing nanoseconds into a negative value", `{"access_token":"a","expires_in":10000000000}`, maxTokenLife},
		{"largest int64", `{"access_token":"a","expires_in":"9223372036854775807"}`, maxTokenLife},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := decodeTokenResponse("POST /oauth/token", []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.expiry(tr).Sub(now); got != tc.want {
				t.Errorf("token life = %s, want %s", got, tc.want)
			}
		})
	}
}
