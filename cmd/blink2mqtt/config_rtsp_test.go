package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRTSPConfig: the live-view variables load, their bad values are
// refused on one line each, and the password (or its file) is never shown.
func TestRTSPConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "rtsp-pw")
	if err := os.WriteFile(pwFile, []byte("rtsp-file-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // exact error text; "" = loads
		check   func(*testing.T, *Config)
	}{
		{name: "off by default", env: nil, check: func(t *testing.T, c *Config) {
			if c.RTSPListen != "" || c.LiveviewIdle != 15*time.Second {
				t.Errorf("RTSP_LISTEN %q, LIVEVIEW_IDLE %s; want off and 15s", c.RTSPListen, c.LiveviewIdle)
			}
		}},
		{name: "on with credentials from a file", env: map[string]string{
			"RTSP_LISTEN": ":8554", "RTSP_USERNAME": "viewer", "RTSP_PASSWORD_FILE": pwFile, "LIVEVIEW_IDLE": "1m"},
			check: func(t *testing.T, c *Config) {
				if c.RTSPListen != ":8554" || c.RTSPUsername != "viewer" || c.RTSPPassword.Reveal() != "rtsp-file-pw" || c.LiveviewIdle != time.Minute {
					t.Errorf("got %q %q %s", c.RTSPListen, c.RTSPUsername, c.LiveviewIdle)
				}
			}},
		{name: "address without a port", env: map[string]string{"RTSP_LISTEN": "8554"},
			wantErr: `RTSP_LISTEN: "8554" is not an address like :8554 or 127.0.0.1:8554`},
		{name: "port out of range", env: map[string]string{"RTSP_LISTEN": ":65535"},
			wantErr: `RTSP_LISTEN: port "65535" is not a number from 0 to 65533 (UDP takes the two ports after it)`},
		{name: "password without a user", env: map[string]string{"RTSP_PASSWORD": "x"},
			wantErr: "RTSP_USERNAME: RTSP_USERNAME and RTSP_PASSWORD (or RTSP_PASSWORD_FILE) go together"},
		{name: "user without a password", env: map[string]string{"RTSP_USERNAME": "viewer"},
			wantErr: "RTSP_USERNAME: RTSP_USERNAME and RTSP_PASSWORD (or RTSP_PASSWORD_FILE) go together"},
		{name: "missing password file", env: map[string]string{"RTSP_USERNAME": "v", "RTSP_PASSWORD_FILE": "/nonexistent/pw"},
			wantErr: "RTSP_PASSWORD_FILE: open /nonexistent/pw: no such file or directory"},
		{name: "idle zero", env: map[string]string{"LIVEVIEW_IDLE": "0s"},
			wantErr: "LIVEVIEW_IDLE: 0s must be above 0 and at most 10m0s (a live view drains a battery camera)"},
		{name: "idle too long", env: map[string]string{"LIVEVIEW_IDLE": "1h"},
			wantErr: "LIVEVIEW_IDLE: 1h0m0s must be above 0 and at most 10m0s (a live view drains a battery camera)"},
		{name: "idle not a duration", env: map[string]string{"LIVEVIEW_IDLE": "soon"},
			wantErr: `LIVEVIEW_IDLE: "soon" is not a duration like 30s, 5m or 1h`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := loadConfig(mapLookup(tc.env))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error:\n got %v\nwant %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, cfg)
		})
	}

	var out bytes.Buffer
	env := map[string]string{"RTSP_LISTEN": ":8554", "RTSP_USERNAME": "viewer", "RTSP_PASSWORD": "rtsp-env-pw"}
	if err := run(context.Background(), []string{"config"}, mapLookup(env), nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); strings.Contains(s, "rtsp-env-pw") || !strings.Contains(s, "RTSP_PASSWORD=[redacted]") ||
		!strings.Contains(s, "RTSP_LISTEN=:8554") || !strings.Contains(s, "LIVEVIEW_IDLE=15s") {
		t.Errorf("config output:\n%s", s)
	}
}
