package blink

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// cmdFake answers one command submission and its status polls.
type cmdFake struct {
	mu       sync.Mutex
	busy     int // answer 409 to this many submissions first
	submit   string
	poll     func(n int) (int, string) // n counts from 1
	polls    int
	submits  int
	paths    []string // "METHOD path body" of every submission
	pollTime []time.Time
}

func (f *cmdFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/command/") {
		f.polls++
		f.pollTime = append(f.pollTime, time.Now())
		status, body := f.poll(f.polls)
		if body == "" {
			w.WriteHeader(status)
			return
		}
		writeJSON(w, status, body)
		return
	}
	if r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	b, _ := io.ReadAll(r.Body)
	f.submits++
	f.paths = append(f.paths, r.Method+" "+r.URL.Path+" "+string(b))
	if f.busy > 0 {
		f.busy--
		writeJSON(w, 409, `{"message":"System is busy, please wait","code":307}`)
		return
	}
	body := f.submit
	if body == "" {
		body = `{"id":77,"network_id":4321,"command":"arm","state":"new"}`
	}
	writeJSON(w, 200, body)
}

func running(int) (int, string) {
	return 200, `{"complete":false,"status":0,"status_msg":"Command succeeded","status_code":908}`
}

func completeAt(k int) func(int) (int, string) {
	return func(n int) (int, string) {
		if n < k {
			return running(n)
		}
		return 200, `{"complete":true,"status":0,"status_msg":"Command succeeded","status_code":908,"media_id":555001}`
	}
}

func TestCommandWaitSemantics(t *testing.T) {
	tests := []struct {
		name      string
		poll      func(int) (int, string)
		wantErr   error
		wantCode  int
		wantPolls int
		wantMedia int64
	}{
		{name: "complete on third poll", poll: completeAt(3), wantPolls: 3, wantMedia: 555001},
		{name: "523 after running", poll: func(n int) (int, string) {
			if n < 2 {
				return running(n)
			}
			return 200, `{"complete":true,"status":1,"status_msg":"Live view failed","status_code":523}`
		}, wantErr: ErrCommandFailed, wantCode: 523, wantPolls: 2},
		{name: "non-908 while incomplete fails at once", poll: func(int) (int, string) {
			return 200, `{"complete":false,"status":0,"status_msg":"Command succeeded","status_code":999}`
		}, wantErr: ErrCommandFailed, wantCode: 999, wantPolls: 1},
		{name: "status_msg ignored on success", poll: func(int) (int, string) {
			return 200, `{"complete":true,"status":0,"status_msg":"Command failed","status_code":"908"}`
		}, wantPolls: 1},
		{name: "body without status_code is a failure", poll: func(int) (int, string) {
			return 200, `{"complete":true,"status":0,"status_msg":"Command succeeded"}`
		}, wantErr: ErrCommandFailed, wantCode: 0, wantPolls: 1},
		{name: "empty bodies keep polling", poll: func(n int) (int, string) {
			switch n {
			case 1:
				return 200, ""
			case 2:
				return 200, "null"
			}
			return completeAt(3)(n)
		}, wantPolls: 3, wantMedia: 555001},
		{name: "malformed status is a decode error", poll: func(int) (int, string) {
			return 200, `{"complete":tru`
		}, wantErr: ErrDecode, wantPolls: 1},
		{name: "never completes", poll: running, wantErr: ErrCommandTimeout, wantPolls: 120},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &cmdFake{poll: tc.poll}
				c, _ := newBubbleClient(t, f)
				start := time.Now()
				res, err := c.Arm(t.Context(), 4321)
				noteErr(err)
				if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				var ce *CommandError
				if errors.Is(tc.wantErr, ErrCommandFailed) {
					if !errors.As(err, &ce) || ce.Code != tc.wantCode || ce.CommandID != 77 || ce.NetworkID != 4321 {
						t.Errorf("CommandError = %+v, want code %d for command 77 on 4321", ce, tc.wantCode)
					}
				}
				if f.polls != tc.wantPolls && !(tc.wantErr == ErrCommandTimeout && f.polls == tc.wantPolls+1) {
					t.Errorf("polls = %d, want %d", f.polls, tc.wantPolls)
				}
				// Polls are one CommandPollInterval apart.
				for i := 1; i < len(f.pollTime); i++ {
					if d := f.pollTime[i].Sub(f.pollTime[i-1]); d != DefaultCommandPollInterval {
						t.Fatalf("gap between polls %d and %d = %s", i, i+1, d)
					}
				}
				if tc.wantErr == ErrCommandTimeout {
					if d := time.Since(start); d != DefaultCommandTimeout {
						t.Errorf("gave up after %s, want %s", d, DefaultCommandTimeout)
					}
				}
				if err == nil && (res.Command.ID != 77 || res.MediaID != tc.wantMedia || res.Warning != "") {
					t.Errorf("result = %+v", res)
				}
			})
		})
	}
}

func TestCommandCanceledByCallerIsNotTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := newBubbleClient(t, &cmdFake{poll: running})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err := c.Arm(ctx, 4321)
		if errors.Is(noteErr(err), ErrCommandTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the caller's deadline", err)
		}
	})
}

func TestCommandOptionsShortenTimeoutAndPoll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &cmdFake{poll: running}
		c, _ := newBubbleClient(t, f, func(o *Options) {
			o.CommandTimeout = 10 * time.Second
			o.CommandPollInterval = 2 * time.Second
		})
		start := time.Now()
		_, err := c.WaitCommand(t.Context(), 4321, 77)
		if !errors.Is(noteErr(err), ErrCommandTimeout) {
			t.Fatalf("err = %v", err)
		}
		// Polls at 0, 2, 4, 6, 8 s, and maybe one at 10 s when the poll timer
		// and the deadline fire in the same instant.
		if time.Since(start) != 10*time.Second || f.polls < 5 || f.polls > 6 {
			t.Errorf("elapsed %s with %d polls, want 10s and 5-6", time.Since(start), f.polls)
		}
	})
}

func TestCommandBusyRetried(t *testing.T) {
	t.Run("recovers", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &cmdFake{busy: 3, poll: completeAt(1)}
			c, _ := newBubbleClient(t, f)
			start := time.Now()
			if _, err := c.Arm(t.Context(), 4321); err != nil {
				t.Fatal(noteErr(err))
			}
			if f.submits != 4 {
				t.Errorf("submits = %d, want 4", f.submits)
			}
			// Backoff starts around 2 s; three waits stay well under BusyRetryFor.
			if d := time.Since(start); d < 3*time.Second || d > 30*time.Second {
				t.Errorf("recovered after %s", d)
			}
		})
	})
	t.Run("gives up after BusyRetryFor", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := &cmdFake{busy: 1 << 30, poll: completeAt(1)}
			c, _ := newBubbleClient(t, f)
			start := time.Now()
			_, err := c.Arm(t.Context(), 4321)
			if !errors.Is(noteErr(err), ErrBusy) {
				t.Fatalf("err = %v, want ErrBusy", err)
			}
			if d := time.Since(start); d > DefaultBusyRetryFor || d < DefaultBusyRetryFor-15*time.Second {
				t.Errorf("gave up after %s, want just under %s", d, DefaultBusyRetryFor)
			}
			if f.polls != 0 {
				t.Errorf("polled %d times for a command that never started", f.polls)
			}
		})
	})
}

func TestArmNoCamerasEnabledIsSuccessWithWarning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &cmdFake{submit: `{"message":"No Cameras Enabled for Motion","code":304}`, poll: running}
		c, _ := newBubbleClient(t, f)
		res, err := c.Disarm(t.Context(), 4321)
		if err != nil {
			t.Fatal(noteErr(err))
		}
		if res.Warning != "No Cameras Enabled for Motion" {
			t.Errorf("Warning = %q", res.Warning)
		}
		if f.polls != 0 {
			t.Errorf("polled %d times", f.polls)
		}
		if !strings.HasPrefix(f.paths[0], "POST /u011/api/v1/accounts/1001/networks/4321/state/disarm ") {
			t.Errorf("path = %q", f.paths[0])
		}
	})
}

func TestLiveviewCommandIDAndFullForm(t *testing.T) {
	for _, body := range []string{
		`{"command_id":77,"network_id":4321}`,
		`{"id":77,"created_at":"2026-03-01T17:20:01+00:00","command":"thumbnail","state_condition":"new","network_id":4321,"camera_id":555,"stage_cs_db":null}`,
	} {
		a, err := decodeCommand("POST /x", []byte(body))
		if err != nil || a.cmd.ID != 77 || a.cmd.NetworkID != 4321 {
			t.Errorf("decodeCommand(%s) = %+v, %v", body, a, err)
		}
	}
}

func TestDeviceCommandEndpointsPerFamily(t *testing.T) {
	type want struct{ path, body string }
	tests := []struct {
		family Family
		motion [2]want // off, on
		thumb  want
		clip   want
	}{
		{FamilyCamera,
			[2]want{{"/u011/network/4321/camera/555/disable", ""}, {"/u011/network/4321/camera/555/enable", ""}},
			want{"/u011/network/4321/camera/555/thumbnail", ""}, want{"/u011/network/4321/camera/555/clip", ""}},
		{FamilyOwl,
			[2]want{{"/u011/api/v1/accounts/1001/networks/4321/owls/555/config", `{"enabled":false}`}, {"/u011/api/v1/accounts/1001/networks/4321/owls/555/config", `{"enabled":true}`}},
			want{"/u011/api/v1/accounts/1001/networks/4321/owls/555/thumbnail", ""}, want{"/u011/api/v1/accounts/1001/networks/4321/owls/555/clip", ""}},
		{FamilyDoorbell,
			[2]want{{"/u011/api/v1/accounts/1001/networks/4321/doorbells/555/disable", ""}, {"/u011/api/v1/accounts/1001/networks/4321/doorbells/555/enable", ""}},
			want{"/u011/api/v1/accounts/1001/networks/4321/doorbells/555/thumbnail", ""}, want{"/u011/api/v1/accounts/1001/networks/4321/doorbells/555/clip", ""}},
	}
	for _, tc := range tests {
		t.Run(string(tc.family), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := &cmdFake{poll: completeAt(1)}
				c, _ := newBubbleClient(t, f)
				d := DeviceRef{Family: tc.family, NetworkID: 4321, ID: 555}
				ops := []struct {
					name string
					run  func() (*CommandResult, error)
					want want
				}{
					{"motion off", func() (*CommandResult, error) { return c.SetMotionDetection(t.Context(), d, false) }, tc.motion[0]},
					{"motion on", func() (*CommandResult, error) { return c.SetMotionDetection(t.Context(), d, true) }, tc.motion[1]},
					{"thumbnail", func() (*CommandResult, error) { return c.RequestThumbnail(t.Context(), d) }, tc.thumb},
					{"clip", func() (*CommandResult, error) { return c.RecordClip(t.Context(), d) }, tc.clip},
				}
				for i, op := range ops {
					if _, err := op.run(); err != nil {
						t.Fatalf("%s: %v", op.name, noteErr(err))
					}
					if got, want := f.paths[i], "POST "+op.want.path+" "+op.want.body; got != want {
						t.Errorf("%s: sent %q, want %q", op.name, got, want)
					}
				}
			})
		})
	}
}

func TestWrongFamilyNeverReachesTheNetwork(t *testing.T) {
	f := &cmdFake{poll: completeAt(1)}
	c, _, _ := newTestClient(t, f)
	bad := DeviceRef{Family: "siren", NetworkID: 1, ID: 2}
	owl := DeviceRef{Family: FamilyOwl, NetworkID: 1, ID: 2}
	cam := DeviceRef{Family: FamilyCamera, NetworkID: 1, ID: 2}
	checks := []error{}
	_, err := c.SetMotionDetection(t.Context(), bad, true)
	checks = append(checks, err)
	_, err = c.RecordClip(t.Context(), DeviceRef{})
	checks = append(checks, err)
	_, err = c.CameraConfig(t.Context(), owl)
	checks = append(checks, err)
	_, err = c.OwlConfig(t.Context(), cam)
	checks = append(checks, err)
	_, err = c.DoorbellConfig(t.Context(), owl)
	checks = append(checks, err)
	for i, err := range checks {
		if !errors.Is(noteErr(err), ErrWrongFamily) {
			t.Errorf("check %d: err = %v, want ErrWrongFamily", i, err)
		}
	}
	if f.submits+f.polls != 0 {
		t.Errorf("%d requests reached the server", f.submits+f.polls)
	}
}

// TestFamilyRoutesAreComplete: every family has a path for every endpoint,
// each names its device, and no path is shared by two families.
func TestFamilyRoutesAreComplete(t *testing.T) {
	owner := map[string]Family{}
	for _, f := range []Family{FamilyCamera, FamilyOwl, FamilyDoorbell} {
		for e := range numEndpoints {
			t.Run(string(f)+"/"+e.String(), func(t *testing.T) {
				r, err := routeFor(f, e)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(r.tmpl, "{net}") || !strings.Contains(r.tmpl, "{cam}") {
					t.Errorf("%s does not name the network and the device", r.tmpl)
				}
				if o, ok := owner[r.tmpl]; ok && o != f {
					t.Errorf("%s serves %s and %s", r.tmpl, o, f)
				}
				owner[r.tmpl] = f
			})
		}
	}
	if _, err := routeFor("siren", epConfig); !errors.Is(err, ErrWrongFamily) {
		t.Errorf("unknown family: %v, want ErrWrongFamily", err)
	}
	if _, err := routeFor(FamilyCamera, numEndpoints); !errors.Is(err, ErrWrongFamily) {
		t.Errorf("unknown endpoint: %v, want ErrWrongFamily", err)
	}
}
