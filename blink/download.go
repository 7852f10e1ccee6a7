package blink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// defaultMaxDownload caps a download when the caller passes maxBytes <= 0.
const defaultMaxDownload = 64 << 20

// ThumbnailPath returns the server path of a device's latest still from its
// homescreen thumbnail, which comes in three forms: a bare epoch becomes the
// v3 media URL; a v3 URL ending in "&ext=" is used as-is; any other path
// gets ".jpg" appended (legacy paths). An absolute URL is reduced to its path and query,
// so the bearer token only ever goes to the configured REST host. It returns
// "" when the device has no thumbnail.
func ThumbnailPath(accountID int64, d Device) string {
	t := strings.TrimSpace(d.Thumbnail)
	if t == "" {
		return ""
	}
	if isDigits(t) {
		typ := d.Type
		if typ == "" {
			typ = string(d.Family)
		}
		return fmt.Sprintf("/api/v3/media/accounts/%d/networks/%d/%s/%d/thumbnail/thumbnail.jpg?ts=%s&ext=",
			accountID, d.NetworkID, url.PathEscape(typ), d.ID, t)
	}
	p, ok := serverPath(t)
	if !ok {
		return ""
	}
	if strings.HasSuffix(p, "&ext=") {
		return p
	}
	path, query, hasQuery := strings.Cut(p, "?")
	if !strings.HasSuffix(strings.ToLower(path), ".jpg") {
		path += ".jpg"
	}
	if hasQuery {
		return path + "?" + query
	}
	return path
}

// MediaThumbnailPath normalises a media item's thumbnail path: the
// "/api/v2/accounts/{acct}/media/thumb/{id}" form gets ".jpg" appended
// (Blink serves it only so); other forms are returned unchanged.
func MediaThumbnailPath(p string) string {
	sp, ok := serverPath(strings.TrimSpace(p))
	if !ok {
		return ""
	}
	path, query, hasQuery := strings.Cut(sp, "?")
	i := strings.LastIndex(path, "/thumb/")
	if i < 0 {
		return sp
	}
	last := path[i+len("/thumb/"):]
	if last == "" || strings.Contains(last, "/") || strings.Contains(last, ".") {
		return sp
	}
	path += ".jpg"
	if hasQuery {
		return path + "?" + query
	}
	return path
}

// serverPath reduces s to a server-relative path ("/…"), dropping scheme and
// host of an absolute http(s) URL. ok is false for anything else.
func serverPath(s string) (string, bool) {
	if strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") {
		return s, true
	}
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return "", false
		}
		p := u.EscapedPath()
		if p == "" {
			p = "/"
		}
		if strings.HasPrefix(p, "//") {
			return "", false
		}
		if u.RawQuery != "" || u.ForceQuery {
			p += "?" + u.RawQuery
		}
		return p, true
	}
	return "", false
}

func isDigits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// downloadCall builds the call for a media or thumbnail path.
func (c *Client) downloadCall(path string, maxBytes int64) (*call, error) {
	p, ok := serverPath(strings.TrimSpace(path))
	if !ok {
		return nil, fmt.Errorf("blink: download: %q is not a server path", truncate(path, 80))
	}
	if maxBytes <= 0 {
		maxBytes = defaultMaxDownload
	}
	return &call{
		method: http.MethodGet, tmpl: pathTemplate(p), path: p, auth: true, prof: profREST,
		timeout: defaultDownloadTimeout, maxBytes: maxBytes, redirect: redirectMedia,
	}, nil
}

// Download fetches a media clip or thumbnail path (from Media.Clip,
// MediaThumbnailPath or ThumbnailPath) into memory, at most maxBytes (<= 0:
// 64 MiB). It returns the body and its content type.
func (c *Client) Download(ctx context.Context, path string, maxBytes int64) ([]byte, string, error) {
	if _, err := c.accountID(); err != nil {
		return nil, "", err
	}
	cl, err := c.downloadCall(path, maxBytes)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.do(ctx, cl)
	if err != nil {
		return nil, "", err
	}
	ct := resp.header.Get("Content-Type")
	if err := jsonInsteadOfMedia(cl.op(), resp, ct); err != nil {
		return nil, "", err
	}
	return resp.body, ct, nil
}

// DownloadTo streams a download into w and returns the bytes written, also
// on error (w then holds a partial body: write to a temporary file). More
// than maxBytes (<= 0: 64 MiB) fails with ErrTooLarge after maxBytes were
// written; a body cut short fails with io.ErrUnexpectedEOF.
func (c *Client) DownloadTo(ctx context.Context, path string, w io.Writer, maxBytes int64) (int64, error) {
	if _, err := c.accountID(); err != nil {
		return 0, err
	}
	cl, err := c.downloadCall(path, maxBytes)
	if err != nil {
		return 0, err
	}
	return c.stream(ctx, cl, w)
}

// stream runs a download call, copying a 2xx body into w (at most
// cl.maxBytes); a JSON error body where media was expected fails as
// jsonInsteadOfMedia says.
func (c *Client) stream(ctx context.Context, cl *call, w io.Writer) (int64, error) {
	limit := cl.maxBytes
	var written int64
	cl.sink = func(res *http.Response) error {
		if ct := res.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/json") {
			b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
			r := &response{status: res.StatusCode, header: res.Header, body: b}
			if err := jsonInsteadOfMedia(cl.op(), r, ct); err != nil {
				return err
			}
			k, err := w.Write(b)
			written = int64(k)
			return err
		}
		n, err := io.Copy(w, io.LimitReader(res.Body, limit))
		written = n
		if err != nil {
			return fmt.Errorf("%s: after %d bytes: %w", cl.op(), n, sanitize(err))
		}
		var one [1]byte
		if k, _ := res.Body.Read(one[:]); k > 0 {
			return fmt.Errorf("%s: %w: more than %d bytes", cl.op(), ErrTooLarge, limit)
		}
		return nil
	}
	if _, err := c.do(ctx, cl); err != nil {
		return written, err
	}
	return written, nil
}

// jsonInsteadOfMedia catches a 2xx JSON error body where media was expected,
// such as {"message":"Media not found","code":700}.
func jsonInsteadOfMedia(op string, r *response, ct string) error {
	if !strings.HasPrefix(ct, "application/json") {
		return nil
	}
	var body struct {
		Code flexInt `json:"code"`
	}
	if json.Unmarshal(r.body, &body) != nil || body.Code.v == 0 {
		return nil
	}
	return newStatusError(op, r, nil)
}

// pathTemplate turns a concrete download path into a key for Stats, metrics
// labels and error ops. Blink's paths are outside data, so the keys come from
// a fixed set: numeric segments become {id}, API versions and the words of
// Blink's media paths stay, anything else (device types, file names) becomes
// {name}, and segments past maxTemplateSegs become one "…".
func pathTemplate(p string) string {
	path, _, _ := strings.Cut(p, "?")
	segs := strings.SplitN(path, "/", maxTemplateSegs+1)
	if len(segs) > maxTemplateSegs {
		segs[maxTemplateSegs] = "…"
	}
	for i, s := range segs[:min(len(segs), maxTemplateSegs)] {
		switch {
		case s == "" || isVersion(s) || mediaPathWord(s):
		case isDigits(s):
			segs[i] = "{id}"
		default:
			segs[i] = "{name}"
		}
	}
	return strings.Join(segs, "/")
}

// maxTemplateSegs bounds a download key; Blink's media paths have up to 11 segments.
const maxTemplateSegs = 12

// mediaPathWord reports whether s is one of the fixed words of Blink's media
// and thumbnail paths.
func mediaPathWord(s string) bool {
	switch s {
	case "api", "media", "production", "accounts", "account", "networks", "network",
		"camera", "cameras", "owl", "owls", "doorbell", "doorbells", "clip", "thumb", "thumbnail", "thumbnail.jpg":
		return true
	}
	return false
}

func isVersion(s string) bool {
	return len(s) >= 2 && len(s) <= 3 && s[0] == 'v' && isDigits(s[1:])
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
