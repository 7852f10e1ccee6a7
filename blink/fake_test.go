package blink_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"golang.org/x/time/rate"
)

const fakeEmail = "owner@example.com"

func fakeConfig(cfg blinkfake.Config) blinkfake.Config {
	cfg.Email = fakeEmail
	cfg.Password = blink.TestPassword
	cfg.Code = blink.TestCode
	if cfg.CommandPolls == 0 {
		cfg.CommandPolls = 2
	}
	return cfg
}

// newClient builds a client against srv with store (nil → empty memory
// store), adjusted by tweaks.
func newClient(t *testing.T, srv *blinkfake.Server, store blink.TokenStore, tweaks ...func(*blink.Options)) *blink.Client {
	t.Helper()
	if store == nil {
		store = &blink.MemoryTokenStore{}
	}
	o := blink.Options{
		OAuthURL:            srv.OAuthURL(),
		RESTURL:             srv.RESTURL(),
		Limiter:             rate.NewLimiter(rate.Inf, 1),
		Store:               store,
		Logger:              blink.SuiteLogger(t),
		CommandPollInterval: 10 * time.Millisecond,
		CommandTimeout:      10 * time.Second,
		BusyRetryFor:        10 * time.Second,
	}
	for _, f := range tweaks {
		f(&o)
	}
	c, err := blink.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// loggedIn starts a fake and a client holding tokens the fake issued,
// adjusted by tweaks.
func loggedIn(t *testing.T, cfg blinkfake.Config, tweaks ...func(*blink.Options)) (*blinkfake.Server, *blink.Client) {
	t.Helper()
	srv := blinkfake.New(t, fakeConfig(cfg))
	at, rt, exp := srv.IssueTokens()
	store := &blink.MemoryTokenStore{}
	_ = store.Save(blink.Tokens{
		AccessToken: blink.Secret(at), RefreshToken: blink.Secret(rt), ExpiresAt: exp,
		Tier: srv.Config().Tier, AccountID: srv.AccountID(), HardwareID: "6F1C2B3A-4D5E-4F60-8172-93A4B5C6D7E8",
	})
	return srv, newClient(t, srv, store, tweaks...)
}

func TestFakeOperationsPerFamily(t *testing.T) {
	srv, c := loggedIn(t, blinkfake.Config{Networks: 2, DevicesPerNetwork: 4, StandaloneNetworks: 2})
	hs, err := c.Homescreen(t.Context())
	if err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	seen := map[blink.Family]bool{}
	for _, d := range hs.Devices {
		if seen[d.Family] {
			continue
		}
		seen[d.Family] = true
		t.Run(string(d.Family)+"/"+d.Type, func(t *testing.T) {
			ref := d.Ref()
			ctx := t.Context()
			before, _ := srv.Device(d.ID)

			if _, err := c.SetMotionDetection(ctx, ref, !d.Enabled); err != nil {
				t.Fatalf("SetMotionDetection: %v", blink.NoteErr(err))
			}
			if got, _ := srv.Device(d.ID); got.Enabled == d.Enabled {
				t.Errorf("fake still has enabled=%v", got.Enabled)
			}
			if _, err := c.RequestThumbnail(ctx, ref); err != nil {
				t.Fatalf("RequestThumbnail: %v", blink.NoteErr(err))
			}
			if got, _ := srv.Device(d.ID); got.ThumbnailTS == before.ThumbnailTS {
				t.Errorf("thumbnail ts unchanged (%d)", got.ThumbnailTS)
			}
			if _, err := c.RecordClip(ctx, ref); err != nil {
				t.Fatalf("RecordClip: %v", blink.NoteErr(err))
			}
			switch d.Family {
			case blink.FamilyCamera:
				cfg, err := c.CameraConfig(ctx, ref)
				if err != nil || cfg.Name != d.Name {
					t.Errorf("CameraConfig = %+v, %v", cfg, blink.NoteErr(err))
				}
			case blink.FamilyOwl:
				cfg, err := c.OwlConfig(ctx, ref)
				if err != nil || cfg.Name != d.Name {
					t.Errorf("OwlConfig = %+v, %v", cfg, blink.NoteErr(err))
				}
			case blink.FamilyDoorbell:
				cfg, err := c.DoorbellConfig(ctx, ref)
				if err != nil || cfg.TemperatureF == nil {
					t.Errorf("DoorbellConfig = %+v, %v", cfg, blink.NoteErr(err))
				}
			}
			// The new still is downloadable at the path homescreen now shows.
			hs2, err := c.Homescreen(ctx)
			if err != nil {
				t.Fatal(blink.NoteErr(err))
			}
			for _, d2 := range hs2.Devices {
				if d2.ID != d.ID {
					continue
				}
				img, ct, err := c.Download(ctx, blink.ThumbnailPath(hs2.AccountID, d2), 1<<20)
				if err != nil || len(img) == 0 || ct != "image/jpeg" {
					t.Errorf("thumbnail download: %d bytes, %q, %v", len(img), ct, blink.NoteErr(err))
				}
			}
		})
	}
	for _, f := range []blink.Family{blink.FamilyCamera, blink.FamilyOwl, blink.FamilyDoorbell} {
		if !seen[f] {
			t.Errorf("the fake account has no %s", f)
		}
	}
}

func TestFakeArmDisarm(t *testing.T) {
	srv, c := loggedIn(t, blinkfake.Config{})
	for _, n := range srv.Networks() {
		want := !n.Armed
		var err error
		if want {
			_, err = c.Arm(t.Context(), n.ID)
		} else {
			_, err = c.Disarm(t.Context(), n.ID)
		}
		if err != nil {
			t.Fatalf("network %d: %v", n.ID, blink.NoteErr(err))
		}
		hs, err := c.Homescreen(t.Context())
		if err != nil {
			t.Fatal(blink.NoteErr(err))
		}
		for _, hn := range hs.Networks {
			if hn.ID == n.ID && hn.Armed != want {
				t.Errorf("network %d armed = %v, want %v", n.ID, hn.Armed, want)
			}
		}
	}
}

func TestFakeMotionAndDownloads(t *testing.T) {
	srv, c := loggedIn(t, blinkfake.Config{})
	since := time.Now().Add(-time.Minute)
	var want []int64
	for _, d := range srv.Devices()[:3] {
		want = append(want, srv.TriggerMotion(d.ID, "pir").ID)
	}
	got, err := c.MediaChanged(t.Context(), since)
	if err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	ids := map[int64]blink.Media{}
	for i, m := range got {
		ids[m.ID] = m
		if i > 0 && got[i-1].CreatedAt.After(m.CreatedAt) {
			t.Error("media not sorted by CreatedAt")
		}
	}
	for _, id := range want {
		m, ok := ids[id]
		if !ok {
			t.Fatalf("media %d missing from %v", id, got)
		}
		var buf bytes.Buffer
		n, err := c.DownloadTo(t.Context(), m.Clip, &buf, 50<<20)
		if err != nil || n == 0 {
			t.Errorf("clip %d: %d bytes, %v", id, n, blink.NoteErr(err))
		}
		img, _, err := c.Download(t.Context(), blink.MediaThumbnailPath(m.Thumbnail), 5<<20)
		if err != nil || len(img) == 0 {
			t.Errorf("thumbnail %d: %d bytes, %v", id, len(img), blink.NoteErr(err))
		}
	}
	if err := srv.DeleteMedia(want[0]); err != nil {
		t.Fatal(err)
	}
	got, err = c.MediaChanged(t.Context(), since)
	if err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	for _, m := range got {
		if m.ID == want[0] {
			t.Error("deleted media still listed")
		}
	}
}

func TestFakeFaults(t *testing.T) {
	t.Run("expired access token refreshes transparently", func(t *testing.T) {
		srv, c := loggedIn(t, blinkfake.Config{})
		srv.ExpireAccessTokens()
		if _, err := c.Homescreen(t.Context()); err != nil {
			t.Fatal(blink.NoteErr(err))
		}
		if srv.Count(blinkfake.EpToken) != 1 || srv.Count(blinkfake.EpHomescreen) != 2 {
			t.Errorf("counts = %v", srv.Counts())
		}
	})
	t.Run("revoked refresh token needs a new login", func(t *testing.T) {
		srv, c := loggedIn(t, blinkfake.Config{})
		srv.RevokeRefreshTokens()
		srv.ExpireAccessTokens()
		_, err := c.Homescreen(t.Context())
		if !errors.Is(blink.NoteErr(err), blink.ErrReauthRequired) {
			t.Fatalf("err = %v", err)
		}
		if c.HasSession() {
			t.Error("HasSession after revocation")
		}
	})
	t.Run("429 with Retry-After starts a cooldown", func(t *testing.T) {
		srv, c := loggedIn(t, blinkfake.Config{})
		srv.Inject(blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Status: 429, RetryAfter: 90 * time.Second})
		_, err := c.Homescreen(t.Context())
		var rl *blink.RateLimitError
		if !errors.As(blink.NoteErr(err), &rl) || rl.RetryAfter != 90*time.Second {
			t.Fatalf("err = %v", err)
		}
		total := srv.Total()
		if _, err := c.MediaChanged(t.Context(), time.Time{}); !errors.Is(blink.NoteErr(err), blink.ErrRateLimited) || srv.Total() != total {
			t.Errorf("during cooldown: %v, %d new requests", err, srv.Total()-total)
		}
	})
	t.Run("5xx burst recovers", func(t *testing.T) {
		srv, c := loggedIn(t, blinkfake.Config{})
		srv.Inject(blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Status: 503, Count: 2})
		if _, err := c.Homescreen(t.Context()); err != nil {
			t.Fatal(blink.NoteErr(err))
		}
		if srv.Count(blinkfake.EpHomescreen) != 3 {
			t.Errorf("homescreen calls = %d", srv.Count(blinkfake.EpHomescreen))
		}
	})
	for _, f := range []blinkfake.Fault{
		{Endpoint: blinkfake.EpHomescreen, Malformed: true},
		{Endpoint: blinkfake.EpHomescreen, Truncate: true},
	} {
		t.Run("decode error", func(t *testing.T) {
			srv, c := loggedIn(t, blinkfake.Config{})
			srv.Inject(f)
			_, err := c.Homescreen(t.Context())
			var de *blink.DecodeError
			if !errors.As(blink.NoteErr(err), &de) {
				t.Fatalf("err = %v, want *DecodeError", err)
			}
		})
	}
	t.Run("command failure 523", func(t *testing.T) {
		srv, c := loggedIn(t, blinkfake.Config{})
		srv.FailNextCommand(523, "Live view failed")
		_, err := c.Arm(t.Context(), srv.Networks()[0].ID)
		var ce *blink.CommandError
		if !errors.As(blink.NoteErr(err), &ce) || ce.Code != 523 {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("stalled command times out", func(t *testing.T) {
		srv, c := loggedIn(t, blinkfake.Config{})
		srv.StallNextCommand()
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		_, err := c.Arm(ctx, srv.Networks()[0].ID)
		if !errors.Is(blink.NoteErr(err), context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("second command on a busy network is retried", func(t *testing.T) {
		srv, c := loggedIn(t, blinkfake.Config{CommandPolls: 5})
		net := srv.Networks()[0].ID
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Go(func() {
				if i == 0 {
					_, errs[i] = c.Arm(t.Context(), net)
				} else {
					_, errs[i] = c.Disarm(t.Context(), net)
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("command %d: %v", i, blink.NoteErr(err))
			}
		}
	})
}

func TestFakeRequestBudget(t *testing.T) {
	srv, c := loggedIn(t, blinkfake.Config{Networks: 3, DevicesPerNetwork: 5})
	srv.ResetCounts()
	if _, err := c.Homescreen(t.Context()); err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	if _, err := c.MediaChanged(t.Context(), time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(blink.NoteErr(err))
	}
	if srv.Total() != 2 {
		t.Errorf("one poll cycle took %d requests (%v), want 2", srv.Total(), srv.Counts())
	}
	st := c.Stats()
	if st.Total != 2 || st.LastHour != 2 {
		t.Errorf("Stats = %+v", st)
	}
}

// TestFakeRedirectsKeepCredentialsHome redirects the fake's token and media
// endpoints to another server on this machine: a refresh is refused without
// sending the refresh token, a clip comes from the CDN without the bearer.
func TestFakeRedirectsKeepCredentialsHome(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization")+" body="+string(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "video/mp4")
		io.WriteString(w, "cdn-clip")
	}))
	defer cdn.Close()

	srv, c := loggedIn(t, blinkfake.Config{})
	m := srv.TriggerMotion(srv.Devices()[0].ID, "pir")
	srv.Inject(blinkfake.Fault{Endpoint: blinkfake.EpMediaClip, Status: http.StatusFound, Location: cdn.URL + "/clip.mp4?sig=1"})
	body, _, err := c.Download(t.Context(), m.Clip, 0)
	if err != nil || string(body) != "cdn-clip" {
		t.Fatalf("clip via CDN: %q, %v", body, blink.NoteErr(err))
	}

	srv.ExpireAccessTokens()
	srv.Inject(blinkfake.Fault{Endpoint: blinkfake.EpToken, Status: http.StatusTemporaryRedirect, Location: cdn.URL + "/oauth/token"})
	_, err = c.Homescreen(t.Context())
	var re *blink.RedirectError
	if !errors.As(blink.NoteErr(err), &re) || !errors.Is(err, blink.ErrRedirectRefused) || re.Op != "POST /oauth/token" {
		t.Fatalf("refresh redirected elsewhere: %v, want a *RedirectError for the token endpoint", err)
	}
	if !c.HasSession() {
		t.Error("a refused redirect dropped the session")
	}

	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "GET /clip.mp4 auth= body=" {
		t.Errorf("the other server saw %q, want one GET of the clip without credentials", seen)
	}
}

// TestFakeLocalStorage runs every local-storage call against the fake:
// a busy sync module and a manifest still being built are typed errors the
// caller retries; the clip arrives whole after its upload; a rebuild makes
// the old ids answer not found.
func TestFakeLocalStorage(t *testing.T) {
	acct := &blinkfake.Account{
		Networks: []blinkfake.Network{{ID: 5001, Name: "Home", Armed: true,
			SyncModule: &blinkfake.SyncModule{ID: 7001, LocalStorageStatus: "active"}}},
		Devices: []blinkfake.Device{{ID: 6001, NetworkID: 5001, Name: "Back Door", Enabled: true}},
	}
	srv, c := loggedIn(t, blinkfake.Config{Account: acct, LocalManifestNotReady: 1})
	ctx := t.Context()
	sm := blink.SyncModuleRef{NetworkID: 5001, ID: 7001}
	srv.TriggerMotion(6001, "pir")

	srv.Inject(blinkfake.Fault{Endpoint: blinkfake.EpLocalManifestRequest, Status: http.StatusConflict})
	req, err := c.RequestLocalManifest(ctx, sm)
	if err != nil {
		t.Fatalf("RequestLocalManifest after one 409: %v", blink.NoteErr(err))
	}
	if _, err := c.LocalManifest(ctx, sm, req); !errors.Is(blink.NoteErr(err), blink.ErrNotReady) {
		t.Fatalf("first read: %v, want ErrNotReady", err)
	}
	m, err := c.LocalManifest(ctx, sm, req)
	if err != nil || len(m.Clips) != 1 || m.Clips[0].CameraName != "BackDoor" {
		t.Fatalf("LocalManifest = %+v, %v", m, blink.NoteErr(err))
	}
	clip := m.Clips[0]
	if _, err := c.DownloadLocalClip(ctx, sm, m.ID, clip.ID, io.Discard, 0); !errors.Is(blink.NoteErr(err), blink.ErrNotFound) {
		t.Fatalf("download before upload: %v, want ErrNotFound (code 700)", err)
	}
	if err := c.RequestLocalClip(ctx, sm, m.ID, clip.ID); err != nil {
		t.Fatalf("RequestLocalClip: %v", blink.NoteErr(err))
	}
	var buf bytes.Buffer
	if _, err := c.DownloadLocalClip(ctx, sm, m.ID, clip.ID, &buf, 0); err != nil ||
		!bytes.Equal(buf.Bytes(), blinkfake.LocalClipMP4(srv.LocalClips(5001)[0])) {
		t.Fatalf("DownloadLocalClip: %d bytes, %v", buf.Len(), blink.NoteErr(err))
	}
	if st, err := c.LocalStorageStatus(ctx, sm); err != nil || st.Status != "active" {
		t.Errorf("LocalStorageStatus = %+v, %v", st, blink.NoteErr(err))
	}
	if err := srv.RebuildLocalManifest(5001); err != nil {
		t.Fatal(err)
	}
	if err := c.RequestLocalClip(ctx, sm, m.ID, clip.ID); !errors.Is(blink.NoteErr(err), blink.ErrNotFound) {
		t.Errorf("upload by ids from before a rebuild: %v, want ErrNotFound", err)
	}
	if err := c.DeleteLocalClip(ctx, sm, strconv.FormatInt(srv.LocalManifestID(5001), 10),
		strconv.FormatInt(srv.LocalClips(5001)[0].ID, 10)); err != nil {
		t.Fatalf("DeleteLocalClip: %v", blink.NoteErr(err))
	}
	if n := len(srv.LocalClips(5001)); n != 0 {
		t.Errorf("%d clips after delete", n)
	}
}
