package blinkfake_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

func TestFaults(t *testing.T) {
	hsPath := func(s *blinkfake.Server) string { return fmt.Sprintf("/api/v3/accounts/%d/homescreen", s.AccountID()) }
	tests := []struct {
		name  string
		fault blinkfake.Fault
		// calls: statuses of three homescreen requests in a row
		want  []int
		check func(t *testing.T, r resp)
	}{
		{"5xx burst of two", blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Status: 503, Count: 2}, []int{503, 503, 200},
			func(t *testing.T, r resp) {
				if !bytes.Contains(r.body, []byte("503")) {
					t.Errorf("body %s", r.body)
				}
			}},
		{"429 with Retry-After", blinkfake.Fault{Endpoint: "rest", Status: 429, RetryAfter: 90 * time.Second}, []int{429, 200, 200},
			func(t *testing.T, r resp) {
				if r.header.Get("Retry-After") != "90" {
					t.Errorf("Retry-After = %q", r.header.Get("Retry-After"))
				}
			}},
		{"401 default body", blinkfake.Fault{Endpoint: "*", Status: 401}, []int{401, 200, 200},
			func(t *testing.T, r resp) {
				if string(r.body) != `{"message":"Unauthorized Access","code":101}` {
					t.Errorf("body %s", r.body)
				}
			}},
		{"raw body", blinkfake.Fault{Endpoint: "home*", Status: 500, Body: "oops, plain"}, []int{500, 200, 200},
			func(t *testing.T, r resp) {
				if string(r.body) != "oops, plain" || r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
					t.Errorf("body %q type %q", r.body, r.header.Get("Content-Type"))
				}
			}},
		{"forever until cleared", blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Status: 502, Count: -1}, []int{502, 502, 502}, nil},
		{"other endpoint untouched", blinkfake.Fault{Endpoint: "media", Status: 500, Count: -1}, []int{200, 200, 200}, nil},
		{"malformed", blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Malformed: true}, []int{200, 200, 200},
			func(t *testing.T, r resp) {
				if json.Valid(r.body) {
					t.Errorf("body is valid JSON: %s", r.body)
				}
			}},
		{"truncated", blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Truncate: true}, []int{200, 200, 200},
			func(t *testing.T, r resp) {
				if json.Valid(r.body) || len(r.body) < 100 || r.header.Get("Content-Length") != strconv.Itoa(len(r.body)) {
					t.Errorf("truncated body: %d bytes, Content-Length %s, valid %v", len(r.body), r.header.Get("Content-Length"), json.Valid(r.body))
				}
			}},
		{"redirect", blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Status: 307, Location: "https://cdn.example.com/x"}, []int{307, 200, 200},
			func(t *testing.T, r resp) {
				if r.header.Get("Location") != "https://cdn.example.com/x" {
					t.Errorf("Location = %q", r.header.Get("Location"))
				}
			}},
		{"409 busy default", blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Status: 409}, []int{409, 200, 200},
			func(t *testing.T, r resp) {
				if !bytes.Contains(r.body, []byte(`"code":307`)) {
					t.Errorf("body %s", r.body)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := authed(t, blinkfake.Config{})
			srv.Inject(tc.fault)
			for i, want := range tc.want {
				r := c.rest("GET", hsPath(srv), nil)
				if r.status != want {
					t.Errorf("call %d: status %d, want %d", i+1, r.status, want)
				}
				if i == 0 && tc.check != nil {
					tc.check(t, r)
				}
			}
			if got := srv.Count(blinkfake.EpHomescreen); got != len(tc.want) {
				t.Errorf("Count = %d, want %d (faulted requests count too)", got, len(tc.want))
			}
			srv.ClearFaults()
			if r := c.rest("GET", hsPath(srv), nil); r.status != 200 {
				t.Errorf("after ClearFaults: %d", r.status)
			}
		})
	}
}

func TestFaultPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		hits    []string
		misses  []string
	}{
		{blinkfake.EpSignin, []string{"signin"}, []string{"signin_page"}},
		{blinkfake.EpOwlConfig, []string{"owl_config"}, []string{"owl_config_set"}},
		{"media", []string{"media_changed", "media_clip", "media_thumbnail"}, []string{"homescreen"}},
		{"command", []string{"command_status", "command_done"}, []string{"camera_clip"}},
		{"*_clip", []string{"camera_clip", "owl_clip", "doorbell_clip"}, []string{"media_changed"}},
		{"oauth", []string{"token", "signin_page"}, []string{"homescreen"}},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			for _, name := range append(tc.hits, tc.misses...) {
				want := slices.Contains(tc.hits, name)
				if got := blinkfake.FaultMatches(tc.pattern, name); got != want {
					t.Errorf("FaultMatches(%q, %q) = %v, want %v", tc.pattern, name, got, want)
				}
			}
		})
	}
}

func TestFaultDrop(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{})
	srv.Inject(blinkfake.Fault{Endpoint: blinkfake.EpMediaChanged, Drop: true})
	req, _ := http.NewRequest("GET", srv.RESTBase(srv.Config().Tier)+fmt.Sprintf("/api/v1/accounts/%d/media/changed", srv.AccountID()), nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("dropped request answered %d", res.StatusCode)
	}
	if st, _ := c.mediaChanged(""); st != 200 {
		t.Errorf("after the drop: %d", st)
	}
}

func TestFaultOnOAuth(t *testing.T) {
	srv := blinkfake.New(t, blinkfake.Config{})
	srv.Inject(blinkfake.Fault{Endpoint: blinkfake.EpToken, Status: 503, Count: 1})
	c := newRaw(t, srv)
	c.start()
	c.signin(srv.Config().Email, srv.Config().Password)
	code := c.code()
	if r := c.exchange(code, c.verif, hardwareID); r.status != 503 {
		t.Fatalf("faulted token: %d", r.status)
	}
	// the fault answered instead of the fake: the code was not consumed
	if r := c.exchange(code, c.verif, hardwareID); r.status != 200 {
		t.Errorf("token after fault: %d %s", r.status, r.body)
	}
	if srv.Count(blinkfake.EpToken) != 2 || srv.Logins() != 1 {
		t.Errorf("token count %d, logins %d", srv.Count(blinkfake.EpToken), srv.Logins())
	}
}

func TestFaultDelay(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{})
	const delay = 80 * time.Millisecond
	srv.Inject(blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Delay: delay})
	start := time.Now()
	r := c.rest("GET", fmt.Sprintf("/api/v3/accounts/%d/homescreen", srv.AccountID()), nil)
	if el := time.Since(start); r.status != 200 || el < delay {
		t.Errorf("status %d after %v, want 200 after ≥ %v", r.status, el, delay)
	}

	// a delayed request gives up when the client does
	srv.Inject(blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Delay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.RESTBase(srv.Config().Tier)+fmt.Sprintf("/api/v3/accounts/%d/homescreen", srv.AccountID()), nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	errc := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		errc <- err
	}()
	waitCounted(t, srv, blinkfake.EpHomescreen, 2)
	cancel()
	if err := <-errc; err == nil {
		t.Error("cancelled request succeeded")
	}
}

func TestFaultSkipAndHold(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{})
	path := fmt.Sprintf("/api/v3/accounts/%d/homescreen", srv.AccountID())
	srv.Inject(blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Status: 503, Skip: 2})
	var got []int
	for range 4 {
		got = append(got, c.rest("GET", path, nil).status)
	}
	if want := []int{200, 200, 503, 200}; !slices.Equal(got, want) {
		t.Errorf("statuses %v, want %v (two let through, then the fault once)", got, want)
	}

	hold := make(chan struct{})
	srv.Inject(blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Hold: hold})
	answered := make(chan int, 1)
	go func() { answered <- c.rest("GET", path, nil).status }()
	waitCounted(t, srv, blinkfake.EpHomescreen, 5)
	select {
	case st := <-answered:
		t.Fatalf("held request answered %d before the release", st)
	default:
	}
	close(hold)
	if st := <-answered; st != 200 {
		t.Errorf("released request: %d, want the fake's 200", st)
	}
}

func TestDelayEndsOnClose(t *testing.T) {
	srv, err := blinkfake.Start(blinkfake.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tok, _, _ := srv.IssueTokens()
	srv.Inject(blinkfake.Fault{Endpoint: "*", Delay: time.Hour})
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequest("GET", srv.RESTBase(srv.Config().Tier)+"/api/v1/users/tier_info", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		if res, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}()
	waitCounted(t, srv, blinkfake.EpTierInfo, 1)
	srv.Close() // must not wait an hour
	<-done
}

func TestRateLimit(t *testing.T) {
	clock := newClock()
	srv, c := authed(t, blinkfake.Config{Now: clock.Now, MaxRequestsPerMinute: 3})
	path := fmt.Sprintf("/api/v3/accounts/%d/homescreen", srv.AccountID())
	var got []int
	for range 5 {
		got = append(got, c.rest("GET", path, nil).status)
	}
	if fmt.Sprint(got) != "[200 200 200 403 403]" {
		t.Errorf("REST statuses %v", got)
	}
	// OAuth has its own window and answers 429 with Retry-After
	clock.Add(10 * time.Second)
	for range 3 {
		c.do("GET", srv.OAuthURL()+"/oauth/v2/signin", nil, nil)
	}
	r := c.do("GET", srv.OAuthURL()+"/oauth/v2/signin", nil, nil)
	if r.status != 429 || r.header.Get("Retry-After") != "60" {
		t.Errorf("OAuth over limit: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	clock.Add(time.Minute)
	if r := c.rest("GET", path, nil); r.status != 200 {
		t.Errorf("next minute: %d", r.status)
	}
}

func TestLockout(t *testing.T) {
	clock := newClock()
	srv := blinkfake.New(t, blinkfake.Config{Now: clock.Now, LockoutAfter: 2, LockoutFor: 30 * time.Minute})
	c := newRaw(t, srv)
	c.start()
	cfg := srv.Config()
	for i := range 2 {
		if r := c.signin(cfg.Email, "wrong"); r.status != 401 {
			t.Fatalf("wrong password %d: %d", i, r.status)
		}
	}
	r := c.signin(cfg.Email, cfg.Password)
	if r.status != 429 || r.header.Get("Retry-After") != "1800" {
		t.Errorf("locked sign-in: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	clock.Add(30 * time.Minute)
	if r := c.signin(cfg.Email, cfg.Password); r.status != http.StatusFound {
		t.Errorf("after lockout: %d %s", r.status, r.body)
	}
	srv.Lockout(time.Hour)
	if r := c.refresh("whatever"); r.status != 429 {
		t.Errorf("token while locked: %d", r.status)
	}
	srv.Lockout(0)
	if r := c.refresh("whatever"); r.status != 401 {
		t.Errorf("token after unlock: %d", r.status)
	}
}

func TestDeviceControl(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{CommandPolls: 1})
	cam := srv.DevicesOf(blink.FamilyCamera)[0]
	home, _ := srv.Network(cam.NetworkID)

	if err := srv.SetDeviceStatus(cam.ID, "offline"); err != nil {
		t.Fatal(err)
	}
	if got := c.homescreen().device(cam.ID).Status; got != "offline" {
		t.Errorf("status %q", got)
	}
	_, o := c.post(fmt.Sprintf("/network/%d/camera/%d/thumbnail", cam.NetworkID, cam.ID), nil)
	if s := c.poll(cam.NetworkID, o.ID); s.StatusCode == 908 {
		t.Errorf("snapshot of an offline camera succeeded: %+v", s)
	}
	if err := srv.SetDeviceStatus(cam.ID, "online"); err != nil {
		t.Fatal(err)
	}
	if got := c.homescreen().device(cam.ID).Status; got != "done" {
		t.Errorf("camera back online: status %q, want done", got)
	}
	if err := srv.SetDeviceStatus(home.SyncModule.ID, "offline"); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetDeviceStatus(1, "offline"); err == nil {
		t.Error("unknown id accepted")
	}

	added, err := srv.AddDevice(blinkfake.Device{NetworkID: home.ID, Family: blink.FamilyCamera, Type: "sedona", Name: "Attic"})
	if err != nil || added.ID == 0 {
		t.Fatalf("AddDevice: %+v %v", added, err)
	}
	if d := c.homescreen().device(added.ID); d.Name != "Attic" || d.Type != "sedona" || d.Signals == nil {
		t.Errorf("added device on homescreen: %+v", d)
	}
	if _, err := srv.AddDevice(blinkfake.Device{NetworkID: 42}); err == nil {
		t.Error("device on unknown network accepted")
	}
	if err := srv.RemoveDevice(added.ID); err != nil {
		t.Fatal(err)
	}
	if d := c.homescreen().device(added.ID); d.ID != 0 {
		t.Error("removed device still on homescreen")
	}
	r := c.rest("POST", fmt.Sprintf("/network/%d/camera/%d/enable", home.ID, added.ID), nil)
	if r.status != 500 || !bytes.Contains(r.body, []byte("Camera not found")) {
		t.Errorf("command to removed device: %d %s", r.status, r.body)
	}
}

func TestCommandDelayOnClock(t *testing.T) {
	clock := newClock()
	srv, c := authed(t, blinkfake.Config{Now: clock.Now, CommandPolls: 1000, CommandDelay: 5 * time.Second})
	n := srv.Networks()[1]
	_, o := c.post(fmt.Sprintf("/api/v1/accounts/%d/networks/%d/state/arm", srv.AccountID(), n.ID), nil)
	if s := c.poll(n.ID, o.ID); s.Complete {
		t.Fatal("complete before the delay")
	}
	clock.Add(5 * time.Second)
	// no poll needed: homescreen already shows the result
	if !c.homescreen().armed(n.ID) {
		t.Error("not armed after CommandDelay")
	}
	if at := srv.CommandCompletedAt(o.ID); !at.Equal(clock.Now()) {
		t.Errorf("CommandCompletedAt = %v, want %v", at, clock.Now())
	}
}

// TestUnpolledCommandEnds: a client that submits a command and goes away
// (a restart mid-command) leaves its network busy only for CommandLifetime;
// then the command is done, its effect shows and the next one is taken.
// A stalled command hangs regardless.
func TestUnpolledCommandEnds(t *testing.T) {
	clock := newClock()
	srv, c := authed(t, blinkfake.Config{Now: clock.Now, CommandPolls: 1000})
	n := srv.Networks()[1]
	arm := fmt.Sprintf("/api/v1/accounts/%d/networks/%d/state/arm", srv.AccountID(), n.ID)
	r, first := c.post(arm, nil)
	if r.status != http.StatusOK {
		t.Fatalf("arm: %d %s", r.status, r.body)
	}
	clock.Add(srv.Config().CommandLifetime - time.Second)
	if r, _ := c.post(arm, nil); r.status != http.StatusConflict {
		t.Fatalf("second command before the lifetime: %d, want 409", r.status)
	}
	clock.Add(time.Second)
	if !c.homescreen().armed(n.ID) {
		t.Error("the unpolled arm did not take effect after CommandLifetime")
	}
	if r, _ := c.post(arm, nil); r.status != http.StatusOK {
		t.Fatalf("after the lifetime: %d %s", r.status, r.body)
	}
	if got, _ := srv.Command(first.ID); got.State != "done" || got.Polls != 0 {
		t.Errorf("abandoned command = %+v, want done without polls", got)
	}

	srv.StallNextCommand()
	clock.Add(srv.Config().CommandLifetime) // ends the one just taken
	_, stalled := c.post(arm, nil)
	clock.Add(10 * srv.Config().CommandLifetime)
	if r, _ := c.post(arm, nil); r.status != http.StatusConflict {
		t.Errorf("behind a stalled command: %d, want 409", r.status)
	}
	if got, _ := srv.Command(stalled.ID); got.State != "running" {
		t.Errorf("stalled command = %+v, want running", got)
	}
}

func TestMediaCap(t *testing.T) {
	srv, c := authed(t, blinkfake.Config{MaxMedia: 5, MediaPageSize: 100})
	d := srv.Devices()[0]
	var first blinkfake.Media
	for i := range 12 {
		m := srv.TriggerMotion(d.ID, "liveview")
		if i == 0 {
			first = m
		}
	}
	if n := len(srv.Media()); n != 5 {
		t.Errorf("%d media kept, want 5", n)
	}
	_, p := c.mediaChanged("")
	if len(p.Media) != 5 {
		t.Errorf("feed has %d", len(p.Media))
	}
	if r := c.rest("GET", first.Clip, nil); r.status != 404 {
		t.Errorf("purged clip: %d", r.status)
	}
}

// waitCounted waits until the fake has counted n requests to endpoint; a
// request held by a Delay fault is counted before it is answered.
func waitCounted(t *testing.T, srv *blinkfake.Server, endpoint string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.WaitFor(ctx, func() bool { return srv.Count(endpoint) >= n }); err != nil {
		t.Fatalf("%s never reached %d requests: %v", endpoint, n, err)
	}
}
