package blink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestThumbnailPath(t *testing.T) {
	const acct = 1001
	tests := []struct {
		name string
		dev  Device
		want string
	}{
		{"v3 URL used as-is",
			Device{ID: 555, NetworkID: 4321, Type: "catalina", Thumbnail: "/api/v3/media/accounts/1001/networks/4321/catalina/555/thumbnail/thumbnail.jpg?ts=1772384712&ext="},
			"/api/v3/media/accounts/1001/networks/4321/catalina/555/thumbnail/thumbnail.jpg?ts=1772384712&ext="},
		{"bare epoch builds v3 with the device type",
			Device{ID: 556, NetworkID: 4321, Type: "xt2", Family: FamilyCamera, Thumbnail: "1772380800"},
			"/api/v3/media/accounts/1001/networks/4321/xt2/556/thumbnail/thumbnail.jpg?ts=1772380800&ext="},
		{"bare epoch for an owl",
			Device{ID: 888, NetworkID: 4400, Type: "owl", Family: FamilyOwl, Thumbnail: "1772383200"},
			"/api/v3/media/accounts/1001/networks/4400/owl/888/thumbnail/thumbnail.jpg?ts=1772383200&ext="},
		{"bare epoch without type falls back to the family",
			Device{ID: 999, NetworkID: 4321, Family: FamilyDoorbell, Thumbnail: "1772377200"},
			"/api/v3/media/accounts/1001/networks/4321/doorbell/999/thumbnail/thumbnail.jpg?ts=1772377200&ext="},
		{"legacy camera path gets .jpg",
			Device{Thumbnail: "/media/production/account/1001/network/4500/camera/557/clip_Ab12Cd_2020_10_02__00_28AM"},
			"/media/production/account/1001/network/4500/camera/557/clip_Ab12Cd_2020_10_02__00_28AM.jpg"},
		{"legacy owl path gets .jpg",
			Device{Thumbnail: "/media/e006/account/1001/network/4600/owl/889/thumbnail/fw_9.63__Ab12Cd_2022_02_22__16_58PM"},
			"/media/e006/account/1001/network/4600/owl/889/thumbnail/fw_9.63__Ab12Cd_2022_02_22__16_58PM.jpg"},
		{"already .jpg is kept",
			Device{Thumbnail: "/media/x/thumb.jpg"}, "/media/x/thumb.jpg"},
		{"v3 URL with another query keeps it after .jpg",
			Device{Thumbnail: "/api/v3/media/accounts/1/networks/2/owl/3/thumbnail/thumbnail.jpg?ts=5"},
			"/api/v3/media/accounts/1/networks/2/owl/3/thumbnail/thumbnail.jpg?ts=5"},
		{"absolute URL reduced to its path",
			Device{Thumbnail: "https://rest-u011.immedia-semi.com/api/v3/media/accounts/1001/networks/4321/lotus/999/thumbnail/thumbnail.jpg?ts=1772377200&ext="},
			"/api/v3/media/accounts/1001/networks/4321/lotus/999/thumbnail/thumbnail.jpg?ts=1772377200&ext="},
		{"empty", Device{}, ""},
		{"garbage", Device{Thumbnail: "not a path"}, ""},
		{"protocol-relative is refused", Device{Thumbnail: "//evil.example/x"}, ""},
		{"negative epoch is not an epoch", Device{Thumbnail: "-5"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ThumbnailPath(acct, tc.dev); got != tc.want {
				t.Errorf("ThumbnailPath =\n %q\nwant\n %q", got, tc.want)
			}
		})
	}
}

func TestMediaThumbnailPath(t *testing.T) {
	for in, want := range map[string]string{
		"/api/v2/accounts/1001/media/thumb/3123456789":                                    "/api/v2/accounts/1001/media/thumb/3123456789.jpg",
		"/api/v2/accounts/1001/media/thumb/3123456789.jpg":                                "/api/v2/accounts/1001/media/thumb/3123456789.jpg",
		"/api/v2/accounts/1001/media/thumb/3123456789?x=1":                                "/api/v2/accounts/1001/media/thumb/3123456789.jpg?x=1",
		"/api/v3/media/accounts/1001/networks/4400/owl/888/thumbnail/3123456791.jpg?ext=": "/api/v3/media/accounts/1001/networks/4400/owl/888/thumbnail/3123456791.jpg?ext=",
		"https://rest-u011.immedia-semi.com/api/v2/accounts/1001/media/thumb/3123456789":  "/api/v2/accounts/1001/media/thumb/3123456789.jpg",
		"":        "",
		"thumb/1": "",
	} {
		if got := MediaThumbnailPath(in); got != want {
			t.Errorf("MediaThumbnailPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func downloadServer(t *testing.T) (*Client, *counter) {
	var cnt counter
	c, _, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cnt.add(r)
		if r.Header.Get("Authorization") != "Bearer "+testAccess {
			writeJSON(w, 401, `{"message":"Unauthorized Access","code":101}`)
			return
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/clip/3123456789.mp4"):
			w.Header().Set("Content-Type", "video/mp4")
			w.Write(bytes.Repeat([]byte{0x47}, 10_000))
		case strings.HasSuffix(r.URL.Path, "/thumbnail/thumbnail.jpg"):
			if r.URL.Query().Get("ts") == "" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "image/jpeg")
			w.Write([]byte("\xff\xd8\xff\xe0 jpeg"))
		case strings.HasSuffix(r.URL.Path, "/clip/404.mp4"):
			writeJSON(w, 200, `{"message":"Media not found","code":700}`)
		default:
			http.NotFound(w, r)
		}
	}))
	return c, &cnt
}

func TestDownload(t *testing.T) {
	c, cnt := downloadServer(t)
	body, ct, err := c.Download(t.Context(), "/api/v2/accounts/1001/media/clip/3123456789.mp4", 1<<20)
	if err != nil || len(body) != 10_000 || ct != "video/mp4" {
		t.Fatalf("clip: %d bytes, %q, %v", len(body), ct, noteErr(err))
	}
	p := ThumbnailPath(1001, Device{ID: 555, NetworkID: 4321, Type: "catalina", Thumbnail: "1772384712"})
	body, ct, err = c.Download(t.Context(), p, 0)
	if err != nil || ct != "image/jpeg" || !bytes.HasPrefix(body, []byte("\xff\xd8")) {
		t.Fatalf("thumbnail: %q, %q, %v", body, ct, noteErr(err))
	}
	_, _, err = c.Download(t.Context(), "/api/v2/accounts/1001/media/clip/3123456789.mp4", 9_999)
	if !errors.Is(noteErr(err), ErrTooLarge) {
		t.Errorf("over the cap: %v, want ErrTooLarge", err)
	}
	_, _, err = c.Download(t.Context(), "/api/v2/accounts/1001/media/clip/404.mp4", 0)
	var se *StatusError
	if !errors.Is(noteErr(err), ErrNotFound) || !errors.As(err, &se) || se.APICode != 700 {
		t.Errorf("media not found as 200 JSON: %v", err)
	}
	// An absolute URL is reduced to its path: the bearer only goes to the REST host.
	_, _, err = c.Download(t.Context(), "https://evil.example/steal", 0)
	if !errors.Is(noteErr(err), ErrNotFound) {
		t.Errorf("absolute URL: %v, want the REST host's 404", err)
	}
	_, _, err = c.Download(t.Context(), "relative/path", 0)
	if err == nil {
		t.Error("relative path was accepted")
	}
	st := c.Stats().Requests
	if st["GET /api/{name}/accounts/{id}/media/clip/{name}"] == nil && st["GET /api/v2/accounts/{id}/media/clip/{name}"] == nil {
		t.Errorf("download stats keys = %v", keys(st))
	}
	if cnt.total() != 5 || cnt.get("GET /u011/steal") != 1 {
		t.Errorf("requests = %d, want 5 (the relative path never left)", cnt.total())
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDownloadTo(t *testing.T) {
	c, _ := downloadServer(t)
	var buf bytes.Buffer
	n, err := c.DownloadTo(t.Context(), "/api/v2/accounts/1001/media/clip/3123456789.mp4", &buf, 0)
	if err != nil || n != 10_000 || buf.Len() != 10_000 {
		t.Fatalf("n=%d len=%d err=%v", n, buf.Len(), noteErr(err))
	}
	buf.Reset()
	n, err = c.DownloadTo(t.Context(), "/api/v2/accounts/1001/media/clip/3123456789.mp4", &buf, 4096)
	if !errors.Is(noteErr(err), ErrTooLarge) || n != 0 && buf.Len() > 4096 {
		t.Errorf("over the cap: n=%d len=%d err=%v", n, buf.Len(), err)
	}
	buf.Reset()
	_, err = c.DownloadTo(t.Context(), "/api/v2/accounts/1001/media/clip/404.mp4", &buf, 0)
	if !errors.Is(noteErr(err), ErrNotFound) || buf.Len() != 0 {
		t.Errorf("not found: %v, wrote %d bytes", err, buf.Len())
	}
	_, err = c.DownloadTo(t.Context(), "/nothing/here.mp4", &buf, 0)
	if !errors.Is(noteErr(err), ErrNotFound) {
		t.Errorf("404: %v", err)
	}
}

func TestPathTemplate(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"v2 clip", "/api/v2/accounts/1001/media/clip/3123456789.mp4", "/api/v2/accounts/{id}/media/clip/{name}"},
		{"v3 thumbnail", "/api/v3/media/accounts/1001/networks/4321/catalina/555/thumbnail/thumbnail.jpg?ts=1", "/api/v3/media/accounts/{id}/networks/{id}/{name}/{id}/thumbnail/thumbnail.jpg"},
		{"legacy clip", "/media/production/account/1/network/2/camera/3/clip_Ab12Cd_2020_10_02__00_28AM.jpg", "/media/production/account/{id}/network/{id}/camera/{id}/{name}"},
		{"lowercase file name", "/api/v2/accounts/1001/media/clip/abcdefgh.mp4", "/api/v2/accounts/{id}/media/clip/{name}"},
		{"control characters", "/api/v2/accounts/1001/media/clip/a\nb", "/api/v2/accounts/{id}/media/clip/{name}"},
		{"not a version", "/api/v0001/x", "/api/{name}/{name}"},
		{"deep path", "/a" + strings.Repeat("/media", 40), "/{name}" + strings.Repeat("/media", 10) + "/…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := pathTemplate(tc.in); got != tc.want {
				t.Errorf("pathTemplate(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestDownloadKeysFromAFixedSet: whatever names Blink gives its files, the
// download endpoints (Stats keys, metrics labels) stay a handful.
func TestDownloadKeysFromAFixedSet(t *testing.T) {
	keys := make(map[string]bool)
	for i := range 2000 {
		name := strings.Map(func(r rune) rune { return 'a' + (r+rune(i))%26 }, fmt.Sprintf("%08d", i*7919))
		for _, p := range []string{
			"/api/v2/accounts/1001/media/clip/" + name + ".mp4",
			"/api/v3/media/accounts/1001/networks/4321/" + name + "/555/thumbnail/thumbnail.jpg?ts=1&ext=",
			"/media/production/account/1/network/2/camera/3/clip_" + name,
		} {
			keys[pathTemplate(p)] = true
		}
	}
	if len(keys) != 3 {
		t.Errorf("2000 file names gave %d download keys, want 3", len(keys))
	}
}

func TestTruncatedDownloadIsUnexpectedEOF(t *testing.T) {
	c, _, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("only twenty bytes..."))
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}))
	_, _, err := c.Download(t.Context(), "/api/v2/accounts/1001/media/clip/1.mp4", 0)
	if !errors.Is(noteErr(err), io.ErrUnexpectedEOF) {
		t.Errorf("Download: %v, want io.ErrUnexpectedEOF", err)
	}
	var buf bytes.Buffer
	n, err := c.DownloadTo(t.Context(), "/api/v2/accounts/1001/media/clip/1.mp4", &buf, 0)
	if !errors.Is(noteErr(err), io.ErrUnexpectedEOF) || n != 20 {
		t.Errorf("DownloadTo: n=%d %v, want 20 bytes and io.ErrUnexpectedEOF", n, err)
	}
}
