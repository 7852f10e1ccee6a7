package immis

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		addr     string
		connID   string
		clientID uint32
		wantErr  string // part of the error; "" = valid
	}{
		{name: "Blink's shape", raw: "immis://203.0.113.7:443/AbCdEfGhIj__IMDS_G8T1940000000XYZ?client_id=606199",
			addr: "203.0.113.7:443", connID: "AbCdEfGhIj", clientID: 606199},
		{name: "no port means 443", raw: "immis://203.0.113.7/AbCdEfGhIj__IMDS_X?client_id=1",
			addr: "203.0.113.7:443", connID: "AbCdEfGhIj", clientID: 1},
		{name: "upper-case scheme, more query", raw: "IMMIS://lv.example:8443/a/b/Xy__Z?foo=1&client_id=4294967295",
			addr: "lv.example:8443", connID: "Xy", clientID: 4294967295},
		{name: "IPv6 host", raw: "immis://[2001:db8::7]:443/Ab__C?client_id=9", addr: "[2001:db8::7]:443", connID: "Ab", clientID: 9},
		{name: "rtsps is not immis", raw: "rtsps://lv2-app-prod.immedia-semi.com:443/Ab__C?client_id=1&blinkRTSP=true", wantErr: "scheme"},
		{name: "not a URL", raw: "immis://%zz", wantErr: "not a URL"},
		{name: "no host", raw: "immis:///Ab__C?client_id=1", wantErr: "no host"},
		{name: "port not a number", raw: "immis://h:99999/Ab__C?client_id=1", wantErr: "port"},
		{name: "no connection id", raw: "immis://h:443/AbCdEf?client_id=1", wantErr: "connection id"},
		{name: "empty connection id", raw: "immis://h:443/__IMDS_X?client_id=1", wantErr: "connection id"},
		{name: "connection id with a space", raw: "immis://h:443/Ab%20Cd__X?client_id=1", wantErr: "connection id"},
		{name: "no client id", raw: "immis://h:443/Ab__C", wantErr: "client_id"},
		{name: "client id zero", raw: "immis://h:443/Ab__C?client_id=0", wantErr: "client_id"},
		{name: "client id too big", raw: "immis://h:443/Ab__C?client_id=4294967296", wantErr: "client_id"},
		{name: "client id not a number", raw: "immis://h:443/Ab__C?client_id=12ab", wantErr: "client_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTarget(tc.raw)
			if tc.wantErr != "" {
				if !errors.Is(err, ErrBadURL) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseTarget = %v, want ErrBadURL mentioning %q", err, tc.wantErr)
				}
				for _, secret := range []string{"AbCdEf", "client_id=", "IMDS"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q quotes the URL (%q)", err, secret)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTarget: %v", err)
			}
			if got.Addr() != tc.addr || got.connID != tc.connID || got.clientID != tc.clientID {
				t.Errorf("got addr %s, connection %q, client %d; want %s, %q, %d",
					got.Addr(), got.connID, got.clientID, tc.addr, tc.connID, tc.clientID)
			}
		})
	}
}

// TestTargetPrintsNoSessionIDs: %v, %+v, %#v and String show host and
// port only.
func TestTargetPrintsNoSessionIDs(t *testing.T) {
	tg, err := ParseTarget("immis://203.0.113.7:443/AbCdEfGhIj__IMDS_SERIAL?client_id=606199")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{tg.String(), sprintf("%v", tg), sprintf("%+v", tg), sprintf("%#v", tg)} {
		if s != "immis://203.0.113.7:443" {
			t.Errorf("printed as %q", s)
		}
	}
}
