package blink

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// lvFake answers live-view starts with a body, and records every request.
type lvFake struct {
	mu     sync.Mutex
	start  func() (int, string)
	status func() (int, string)
	reqs   []string // "METHOD path body"
}

func (f *lvFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	f.reqs = append(f.reqs, r.Method+" "+r.URL.Path+" "+string(b))
	switch {
	case strings.HasSuffix(r.URL.Path, "/liveview"):
		code, body := f.start()
		writeJSON(w, code, body)
	case r.Method == http.MethodGet:
		code, body := f.status()
		if body == "" {
			w.WriteHeader(code)
			return
		}
		writeJSON(w, code, body)
	default:
		writeJSON(w, 200, `{"message":"Command 1055540110 set to :done","code":902}`)
	}
}

func (f *lvFake) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reqs...)
}

func lvAnswer(code int, body string) func() (int, string) {
	return func() (int, string) { return code, body }
}

func TestStartLiveviewPerFamily(t *testing.T) {
	const body = `{"intent":"liveview","motion_event_start_time":null}`
	tests := []struct {
		family Family
		path   string
	}{
		{FamilyCamera, "/u011/api/v6/accounts/1001/networks/4321/cameras/555/liveview"},
		{FamilyOwl, "/u011/api/v2/accounts/1001/networks/4321/owls/555/liveview"},
		{FamilyDoorbell, "/u011/api/v2/accounts/1001/networks/4321/doorbells/555/liveview"},
	}
	for _, tc := range tests {
		t.Run(string(tc.family), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &lvFake{start: lvAnswer(200, string(mustFixture(t, "liveview.json")))}
				c, _ := newBubbleClient(t, f)
				lv, err := c.StartLiveview(t.Context(), DeviceRef{Family: tc.family, NetworkID: 4321, ID: 555})
				if err != nil {
					t.Fatal(err)
				}
				if got := f.requests(); len(got) != 1 || got[0] != "POST "+tc.path+" "+body {
					t.Errorf("requests %q, want one POST %s %s", got, tc.path, body)
				}
				if lv.CommandID != 1055540110 || lv.NetworkID != 4321 || lv.Target.Addr() != "203.0.113.7:443" ||
					lv.Duration != 300*time.Second || lv.ContinueInterval != 300*time.Second ||
					lv.PollingInterval != 15*time.Second || lv.Type != "lv" {
					t.Errorf("live view = %+v", lv)
				}
			})
		})
	}
}

// TestStartLiveviewRefusals: what cannot be played or started is a clear
// error at once, and a session Blink started anyway is ended.
func TestStartLiveviewRefusals(t *testing.T) {
	rtsps := string(mustFixture(t, "liveview_rtsps.json"))
	tests := []struct {
		name     string
		start    func() (int, string)
		wantErr  error
		wantDone bool
	}{
		{name: "older camera offers rtsps", start: lvAnswer(200, rtsps), wantErr: ErrLiveviewUnsupported, wantDone: true},
		{name: "bad immis URL", start: lvAnswer(200, `{"command_id":9,"server":"immis://203.0.113.7:443/NoSeparator?client_id=1"}`),
			wantErr: ErrDecode, wantDone: true},
		{name: "no server", start: lvAnswer(200, `{"command_id":9,"duration":300}`), wantErr: ErrDecode, wantDone: true},
		{name: "busy network answers at once", start: lvAnswer(409, `{"message":"System is busy, please wait","code":307}`), wantErr: ErrBusy},
		{name: "busy in a 200 body", start: lvAnswer(200, `{"message":"System is busy","code":307}`), wantErr: ErrBusy},
		{name: "device of another family", start: lvAnswer(200, `{"message":"Camera not found","code":500}`), wantErr: ErrNotFound},
		{name: "no command id", start: lvAnswer(200, `{"message":"Live view unavailable","code":1111}`), wantErr: ErrCommandFailed},
		{name: "not JSON", start: lvAnswer(200, `<html>`), wantErr: ErrDecode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &lvFake{start: tc.start}
				c, _ := newBubbleClient(t, f)
				_, err := c.StartLiveview(t.Context(), DeviceRef{Family: FamilyCamera, NetworkID: 4321, ID: 555})
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("StartLiveview = %v, want %v", err, tc.wantErr)
				}
				for _, secret := range []string{"NIE5YSJGOOOn", "client_id", "NoSeparator", "abcdefghijklmnop"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error %q quotes the answer (%s)", err, secret)
					}
				}
				reqs := f.requests()
				done := len(reqs) == 2 && strings.HasPrefix(reqs[1], "POST /u011/network/4321/command/") &&
					strings.HasSuffix(reqs[1], "/done/ ")
				if done != tc.wantDone || !tc.wantDone && len(reqs) != 1 {
					t.Errorf("requests %q; want the start %s", reqs, map[bool]string{true: "and a done", false: "only"}[tc.wantDone])
				}
			})
		})
	}
}

func TestExtendAndEndLiveview(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &lvFake{}
		c, _ := newBubbleClient(t, f)
		if err := c.ExtendLiveview(t.Context(), 4321, 1055540110); err != nil {
			t.Fatal(err)
		}
		if err := c.EndLiveview(t.Context(), 4321, 1055540110); err != nil {
			t.Fatal(err)
		}
		want := []string{"POST /u011/network/4321/command/1055540110/update/ ", "POST /u011/network/4321/command/1055540110/done/ "}
		if got := f.requests(); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("requests %q, want %q", got, want)
		}
		if err := c.EndLiveview(t.Context(), 0, 5); err == nil {
			t.Error("EndLiveview of network 0 was sent")
		}
	})
}

func TestLiveviewAlive(t *testing.T) {
	running := string(mustFixture(t, "command_status_liveview.json"))
	tests := []struct {
		name   string
		status func() (int, string)
		alive  bool
	}{
		{"streaming (complete but running)", lvAnswer(200, running), true},
		{"new", lvAnswer(200, strings.Replace(running, `"running"`, `"new"`, 1)), true},
		{"done", lvAnswer(200, strings.Replace(running, `"running"`, `"done"`, 1)), false},
		{"error", lvAnswer(200, strings.Replace(running, `"running"`, `"error"`, 1)), false},
		{"failed status code", lvAnswer(200, `{"complete":true,"status":1,"status_code":523,"status_msg":"Live view failed"}`), false},
		{"other command listed only", lvAnswer(200, `{"complete":false,"status_code":908,"commands":[{"id":1,"state_condition":"done"}]}`), true},
		{"empty body", lvAnswer(200, ""), true},
		{"forgotten", lvAnswer(404, `{"message":"Command not found","code":404}`), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, _ := newBubbleClient(t, &lvFake{status: tc.status})
				alive, err := c.LiveviewAlive(t.Context(), 4321, 1055540110)
				if err != nil || alive != tc.alive {
					t.Errorf("LiveviewAlive = %v, %v; want %v", alive, err, tc.alive)
				}
			})
		})
	}
}

// TestDecodeLiveviewTimings: odd numbers from Blink are bounded.
func TestDecodeLiveviewTimings(t *testing.T) {
	d := DeviceRef{Family: FamilyCamera, NetworkID: 4321, ID: 555}
	const srv = `"server":"immis://h/Ab__C?client_id=1"`
	tests := []struct {
		name               string
		body               string
		dur, cont, polling time.Duration
	}{
		{"absent", `{"command_id":1,` + srv + `}`, 300 * time.Second, 300 * time.Second, 15 * time.Second},
		{"strings", `{"command_id":"1",` + srv + `,"duration":"600","continue_interval":"240","polling_interval":"10"}`,
			600 * time.Second, 240 * time.Second, 10 * time.Second},
		{"tiny", `{"command_id":1,` + srv + `,"duration":1,"continue_interval":1,"polling_interval":1}`,
			30 * time.Second, 30 * time.Second, 5 * time.Second},
		{"huge", `{"command_id":1,` + srv + `,"duration":99999999999999,"continue_interval":99999999999,"polling_interval":86400}`,
			2 * time.Hour, 2 * time.Hour, time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lv, err := decodeLiveview("POST /x", []byte(tc.body), d)
			if err != nil {
				t.Fatal(err)
			}
			if lv.Duration != tc.dur || lv.ContinueInterval != tc.cont || lv.PollingInterval != tc.polling {
				t.Errorf("got %s/%s/%s, want %s/%s/%s", lv.Duration, lv.ContinueInterval, lv.PollingInterval, tc.dur, tc.cont, tc.polling)
			}
		})
	}
}

func FuzzDecodeLiveview(f *testing.F) {
	addFixtures(f, "liveview.json", "liveview_rtsps.json")
	f.Add([]byte(`{"command_id":1,"server":"immis://[::1]:0/__?client_id=-1"}`))
	f.Add([]byte(`{"id":"7","server":7,"duration":null}`))
	d := DeviceRef{Family: FamilyOwl, NetworkID: 4321, ID: 555}
	f.Fuzz(func(t *testing.T, body []byte) {
		lv, err := decodeLiveview("POST /lv", body, d)
		if err == nil {
			if lv.CommandID <= 0 || lv.Target.IsZero() {
				t.Fatalf("accepted without a command or target: %+v", lv)
			}
		}
		if lv != nil {
			if lv.Duration < minLiveviewDuration || lv.Duration > maxLiveviewDuration ||
				lv.PollingInterval < minLiveviewPoll || lv.PollingInterval > maxLiveviewPoll ||
				lv.ContinueInterval < minLiveviewDuration || lv.ContinueInterval > lv.Duration {
				t.Fatalf("timings out of bounds: %+v", lv)
			}
		}
	})
}

func FuzzDecodeLiveviewAlive(f *testing.F) {
	addFixtures(f, "command_status_liveview.json", "command_status_running.json", "command_status_failed.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = decodeLiveviewAlive("GET /s", body, 1055540110)
	})
}
