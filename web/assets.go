package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"time"
)

//go:embed assets
var assetFS embed.FS

// asset is one static file.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// assets are the page template and the static files, read once.
type assets struct {
	page    *template.Template
	files   map[string]asset
	version string // changes with any file
}

// loadAssets parses the embedded files; they are part of the binary, so a
// failure is a bug the tests catch.
func loadAssets() *assets {
	a := &assets{
		page:  template.Must(template.New("page.html").Funcs(templateFuncs).ParseFS(assetFS, "assets/page.html")),
		files: map[string]asset{},
	}
	all := sha256.New()
	for name, ctype := range map[string]string{
		"app.js":    "text/javascript; charset=utf-8",
		"style.css": "text/css; charset=utf-8",
		"icon.svg":  "image/svg+xml",
	} {
		body, err := assetFS.ReadFile("assets/" + name)
		if err != nil {
			panic("web: embedded asset missing: " + name)
		}
		sum := sha256.Sum256(body)
		a.files[name] = asset{body: body, ctype: ctype, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		all.Write(sum[:])
	}
	a.version = base64.RawURLEncoding.EncodeToString(all.Sum(nil)[:9])
	return a
}

// serve answers one static file. A URL with the current version may be
// cached for good; others are revalidated by ETag.
func (a *assets) serve(w http.ResponseWriter, r *http.Request, name string) {
	f, ok := a.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("ETag", f.etag)
	if r.URL.Query().Get("v") == a.version {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}

// thumbnail answers a device picture: thumb/<network>/<family>/<id>.jpg.
func (h *Handler) thumbnail(w http.ResponseWriter, r *http.Request, rest string) {
	k, ok := parseThumbPath(rest)
	if !ok || h.opts.Thumbnails == nil {
		http.NotFound(w, r)
		return
	}
	img, ok := h.opts.Thumbnails.Thumbnail(k)
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "image/jpeg")
	if r.URL.Query().Get("v") != "" {
		hd.Set("Cache-Control", "private, max-age=86400") // a new picture gets a new v
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(img))
}
