package blink

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

var testSM = SyncModuleRef{NetworkID: 4321, ID: 777}

func TestDecodeLocalManifest(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UTC()
	}
	tests := []struct {
		name      string
		status    int
		body      []byte
		want      *LocalManifest
		wantErr   error
		wantTyped bool // a *DecodeError (not ErrNotReady)
	}{
		{"the shape public clients document", 200, mustFixture(t, "local_manifest.json"), &LocalManifest{
			ID: "4321", Version: "1.0", Clips: []LocalClip{
				{ID: "866333964", CameraName: "BackDoor", CreatedAt: at("2026-03-01T21:11:50Z"), Size: 234},
				{ID: "1568781420", CameraName: "FrontDoor", CreatedAt: at("2026-03-01T21:11:22Z"), Size: 430},
				{ID: "1289590916", CameraName: "BackDoor", CreatedAt: at("2026-03-01T18:12:26Z"), Size: 425},
			}}, nil, false},
		{"numbers for strings, nulls, unsafe ids, odd times", 200, mustFixture(t, "local_manifest_odd.json"), &LocalManifest{
			ID: "98765", Version: "1", Dropped: 3, Clips: []LocalClip{
				{ID: "866333965", CameraName: "Yard", CreatedAt: time.Unix(1772399510, 0).UTC(), Size: 234},
				{ID: "42", Size: -1},
				{ID: "43", CameraName: "Porch", Size: -1},
			}}, nil, false},
		{"empty manifest", 200, []byte(`{"version":"1.0","manifest_id":"7","clips":[]}`), &LocalManifest{ID: "7", Version: "1.0", Clips: []LocalClip{}}, nil, false},
		{"plain text while building", 200, mustFixture(t, "local_manifest_not_ready.txt"), nil, ErrNotReady, false},
		{"empty body", 200, nil, nil, ErrNotReady, false},
		{"JSON without clips", 200, []byte(`{"manifest_id":"7"}`), nil, ErrNotReady, false},
		{"JSON message without manifest id", 200, []byte(`{"message":"Manifest is being built","code":1}`), nil, ErrNotReady, false},
		{"clips not a list", 200, []byte(`{"manifest_id":"7","clips":{"id":"1"}}`), nil, ErrDecode, true},
		{"manifest id a path cannot carry", 200, []byte(`{"manifest_id":"a/b","clips":[]}`), nil, ErrDecode, true},
		{"cut-off JSON", 200, []byte(`{"manifest_id":"7","clips":[{"id":"1"`), nil, ErrDecode, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeLocalManifest("GET /m", tc.status, tc.body)
			noteErr(err)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				var de *DecodeError
				if errors.As(err, &de) != tc.wantTyped {
					t.Fatalf("err = %#v: DecodeError %v, want %v", err, !tc.wantTyped, tc.wantTyped)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if got.ID != tc.want.ID || got.Version != tc.want.Version || got.Dropped != tc.want.Dropped || len(got.Clips) != len(tc.want.Clips) {
				t.Fatalf("manifest = %+v, want %+v", got, tc.want)
			}
			for i, c := range got.Clips {
				if w := tc.want.Clips[i]; c.ID != w.ID || c.CameraName != w.CameraName || !c.CreatedAt.Equal(w.CreatedAt) || c.Size != w.Size {
					t.Errorf("clip %d = %+v, want %+v", i, c, w)
				}
			}
		})
	}
}

func TestValidLocalID(t *testing.T) {
	for s, want := range map[string]bool{
		"866333964": true, "abc-DEF_9": true, "": false, "a/b": false, "..": false, "1 2": false,
		"%2e": false, "ü": false, strings.Repeat("1", maxLocalID): true, strings.Repeat("1", maxLocalID+1): false,
	} {
		if got := validLocalID(s); got != want {
			t.Errorf("validLocalID(%q) = %v, want %v", s, got, want)
		}
	}
}

// localFake answers the local-storage endpoints of one sync module.
type localFake struct {
	mu       sync.Mutex
	manifest []func(w http.ResponseWriter) // answers to successive manifest GETs (last repeats)
	gets     int
	paths    []string
}

func (f *localFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paths = append(f.paths, r.Method+" "+strings.TrimPrefix(r.URL.Path, "/u011"))
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && strings.Contains(p, "/command/"):
		writeJSON(w, 200, `{"complete":true,"status":0,"status_msg":"Command succeeded","status_code":908}`)
	case r.Method == http.MethodPost && strings.HasSuffix(p, "/local_storage/manifest/request"):
		writeJSON(w, 200, `{"id":9001,"network_id":4321}`)
	case r.Method == http.MethodGet && strings.Contains(p, "/local_storage/manifest/request/"):
		f.gets++
		f.manifest[min(f.gets, len(f.manifest))-1](w)
	case r.Method == http.MethodPost && strings.Contains(p, "/clip/"):
		writeJSON(w, 200, `{"id":9002,"network_id":4321}`)
	case r.Method == http.MethodGet && strings.Contains(p, "/clip/request/"):
		if strings.HasSuffix(p, "/missing") {
			writeJSON(w, 200, `{"message":"Media not found","code":700}`)
			return
		}
		w.Header().Set("Content-Type", "video/mp4")
		_, _ = w.Write([]byte("ftyp-and-mdat"))
	case r.Method == http.MethodGet && strings.HasSuffix(p, "/local_storage/status"):
		writeJSON(w, 200, `{"status":"active","capacity":"1000"}`)
	default:
		http.NotFound(w, r)
	}
}

func answer(status int, ctype, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func TestLocalStorageCalls(t *testing.T) {
	manifest := string(mustFixture(t, "local_manifest.json"))
	f := &localFake{manifest: []func(http.ResponseWriter){
		answer(400, "text/plain", "Manifest not ready"),
		answer(200, "text/plain; charset=utf-8", "not ready"),
		answer(409, "application/json", `{"message":"System is busy, please wait","code":307}`),
		answer(200, "application/json", manifest),
	}}
	c, _, _ := newTestClient(t, f)
	ctx := context.Background()

	id, err := c.RequestLocalManifest(ctx, testSM)
	if err != nil || id != 9001 {
		t.Fatalf("RequestLocalManifest = %d, %v; want 9001", id, err)
	}
	for i, want := range []error{ErrNotReady, ErrNotReady, ErrBusy} {
		if _, err := c.LocalManifest(ctx, testSM, id); !errors.Is(noteErr(err), want) {
			t.Fatalf("manifest GET %d: err = %v, want %v", i+1, err, want)
		}
	}
	m, err := c.LocalManifest(ctx, testSM, id)
	if err != nil || m.ID != "4321" || len(m.Clips) != 3 {
		t.Fatalf("LocalManifest = %+v, %v", m, err)
	}
	if err := c.RequestLocalClip(ctx, testSM, m.ID, m.Clips[0].ID); err != nil {
		t.Fatalf("RequestLocalClip: %v", err)
	}
	var buf bytes.Buffer
	if n, err := c.DownloadLocalClip(ctx, testSM, m.ID, m.Clips[0].ID, &buf, 0); err != nil || n != int64(buf.Len()) || buf.String() != "ftyp-and-mdat" {
		t.Fatalf("DownloadLocalClip = %d, %v, %q", n, err, buf.String())
	}
	_, err = c.DownloadLocalClip(ctx, testSM, m.ID, "missing", &bytes.Buffer{}, 0)
	var se *StatusError
	if !errors.As(noteErr(err), &se) || se.APICode != 700 || !errors.Is(err, ErrNotFound) {
		t.Fatalf("download before the upload: err = %v, want code 700", err)
	}
	if err := c.DeleteLocalClip(ctx, testSM, m.ID, m.Clips[0].ID); err != nil {
		t.Fatalf("DeleteLocalClip: %v", err)
	}
	st, err := c.LocalStorageStatus(ctx, testSM)
	if err != nil || st.Status != "active" {
		t.Fatalf("LocalStorageStatus = %+v, %v", st, err)
	}
	base := "/api/v1/accounts/1001/networks/4321/sync_modules/777/local_storage"
	want := []string{
		"POST " + base + "/manifest/request",
		"GET /network/4321/command/9001",
		"GET " + base + "/manifest/request/9001",
		"GET " + base + "/manifest/request/9001",
		"GET " + base + "/manifest/request/9001",
		"GET " + base + "/manifest/request/9001",
		"POST " + base + "/manifest/4321/clip/request/866333964",
		"GET /network/4321/command/9002",
		"GET " + base + "/manifest/4321/clip/request/866333964",
		"GET " + base + "/manifest/4321/clip/request/missing",
		"POST " + base + "/manifest/4321/clip/delete/866333964",
		"GET /network/4321/command/9002",
		"GET " + base + "/status",
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Join(f.paths, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(f.paths, "\n"), strings.Join(want, "\n"))
	}
	for _, tmpl := range []string{localManifestRequestTmpl, localManifestTmpl, localClipTmpl, localClipDeleteTmpl, localStatusTmpl} {
		if !strings.Contains(tmpl, "{sm}") {
			t.Errorf("template %s has no {sm}", tmpl)
		}
	}
}

// TestLocalStorageRefusesBadIDs: ids from Blink's data never reach a path
// unless they are plain letters and digits; nothing is sent for them.
func TestLocalStorageRefusesBadIDs(t *testing.T) {
	f := &localFake{}
	c, _, _ := newTestClient(t, f)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		sm       SyncModuleRef
		man, cid string
	}{
		{"clip id with a slash", testSM, "4321", "1/../../x"},
		{"manifest id with a dot", testSM, "43.21", "1"},
		{"empty clip id", testSM, "4321", ""},
		{"no sync module", SyncModuleRef{NetworkID: 4321}, "4321", "1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := noteErr(c.RequestLocalClip(ctx, tc.sm, tc.man, tc.cid)); err == nil {
				t.Error("RequestLocalClip accepted it")
			}
			if _, err := c.DownloadLocalClip(ctx, tc.sm, tc.man, tc.cid, &bytes.Buffer{}, 0); noteErr(err) == nil {
				t.Error("DownloadLocalClip accepted it")
			}
			if err := noteErr(c.DeleteLocalClip(ctx, tc.sm, tc.man, tc.cid)); err == nil {
				t.Error("DeleteLocalClip accepted it")
			}
		})
	}
	if _, err := c.LocalManifest(ctx, testSM, 0); noteErr(err) == nil {
		t.Error("LocalManifest accepted request id 0")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.paths) != 0 {
		t.Errorf("requests sent for bad ids: %v", f.paths)
	}
}

func FuzzDecodeLocalManifest(f *testing.F) {
	addFixtures(f, "local_manifest.json", "local_manifest_odd.json", "local_manifest_not_ready.txt")
	f.Add([]byte(`{"manifest_id":"1","clips":[{"id":"1","size":"x","created_at":"2026-03-01 21:11:50"}]}`))
	f.Add([]byte(`{"manifest_id":null,"clips":null}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := decodeLocalManifest("GET /m", 200, body)
		if err != nil {
			var de *DecodeError
			if errors.Is(err, ErrNotReady) {
				return // a StatusError; its message is Blink's "message" field, cleaned
			}
			if !errors.As(err, &de) || de.Op != "GET /m" {
				t.Fatalf("error is neither not-ready nor a *DecodeError naming the endpoint: %v", err)
			}
			if len(body) > 8 && strings.Contains(err.Error(), string(body)) {
				t.Fatal("error quotes the body")
			}
			return
		}
		if !validLocalID(m.ID) {
			t.Fatalf("manifest id %q kept", m.ID)
		}
		for _, c := range m.Clips {
			if !validLocalID(c.ID) {
				t.Fatalf("clip id %q kept", c.ID)
			}
			if c.Size < -1 {
				t.Fatalf("size %d", c.Size)
			}
			checkTimes(t, "clip", c.CreatedAt)
			if strings.ContainsAny(c.CameraName, "\n\x00") {
				t.Fatalf("camera name %q keeps control characters", c.CameraName)
			}
		}
	})
}
