package blink

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Sync Module 2 local storage (a USB stick in the sync module). Blink keeps
// no list of these clips: the sync module builds a list (the manifest) when
// asked and uploads one clip to the cloud when asked, so every step is work
// for the sync module — it can answer 409 busy and competes with arm and
// disarm:
//
//  1. POST …/local_storage/manifest/request answers a command
//     ({"id", "network_id"}); its id is also the manifest request's id.
//  2. GET …/local_storage/manifest/request/{id} is the manifest; until the
//     sync module has built it, 400 or a text body (ErrNotReady).
//  3. POST …/manifest/{manifest}/clip/request/{clip} is a command that
//     uploads the clip.
//  4. GET …/manifest/{manifest}/clip/request/{clip} is the video/mp4; before
//     the upload finished, {"message":"Media not found","code":700}.
//
// Manifest ids change when the sync module rebuilds the manifest, and clip
// ids may change with them. Ids and sizes arrive as strings.
const (
	localBase                = "/api/v1/accounts/{acct}/networks/{net}/sync_modules/{sm}/local_storage"
	localManifestRequestTmpl = localBase + "/manifest/request"
	localManifestTmpl        = localBase + "/manifest/request/{cmd}"
	localClipTmpl            = localBase + "/manifest/{manifest}/clip/request/{clip}"
	localClipDeleteTmpl      = localBase + "/manifest/{manifest}/clip/delete/{clip}"
	localStatusTmpl          = localBase + "/status"

	// maxLocalID bounds a manifest or clip id (Blink's are about 10 digits).
	maxLocalID = 64
)

// SyncModuleRef addresses one sync module for local-storage calls.
type SyncModuleRef struct {
	NetworkID int64
	ID        int64
}

func (r SyncModuleRef) valid() bool { return r.NetworkID > 0 && r.ID > 0 }

// LocalManifest is the list of clips on a sync module's USB storage.
type LocalManifest struct {
	// ID names this build of the manifest; clip calls need it. It changes
	// when the sync module rebuilds the manifest.
	ID      string
	Version string
	// Clips are in Blink's order (newest first, as seen).
	Clips []LocalClip
	// Dropped counts entries left out: no id, or an id a path cannot carry.
	Dropped int
}

// LocalClip is one clip of a LocalManifest.
type LocalClip struct {
	// ID is the clip's id in this manifest (Blink's are digits; letters,
	// "-" and "_" pass too).
	ID string
	// CameraName is the camera's name with every non-alphanumeric
	// character removed ("Back Door" → "BackDoor").
	CameraName string
	// CreatedAt is zero when Blink sent no usable time.
	CreatedAt time.Time
	// Size is as Blink reports it (unit unknown); -1 when absent.
	Size int64
}

// LocalStorageStatus is GET …/local_storage/status.
type LocalStorageStatus struct {
	// Status is "active", "unavailable", … ("" when absent).
	Status string
}

// RequestLocalManifest asks the sync module to build its manifest and waits
// until Blink reports the command complete. It returns the manifest
// request's id for LocalManifest. 409 busy is retried like any command.
func (c *Client) RequestLocalManifest(ctx context.Context, sm SyncModuleRef) (int64, error) {
	if !sm.valid() {
		return 0, fmt.Errorf("blink: local manifest: invalid sync module %d on network %d", sm.ID, sm.NetworkID)
	}
	res, err := c.command(ctx, localManifestRequestTmpl, ids{net: sm.NetworkID, sm: sm.ID}, nil)
	if err != nil {
		return 0, err
	}
	if res.Command.ID <= 0 {
		return 0, &DecodeError{Op: "POST " + localManifestRequestTmpl, Err: fmt.Errorf("answer without a manifest request id")}
	}
	return res.Command.ID, nil
}

// LocalManifest reads the manifest a RequestLocalManifest asked for. While
// the sync module is still building it Blink answers 400 or a text body:
// that is an error wrapping ErrNotReady, to be retried with backoff.
func (c *Client) LocalManifest(ctx context.Context, sm SyncModuleRef, requestID int64) (*LocalManifest, error) {
	if !sm.valid() || requestID <= 0 {
		return nil, fmt.Errorf("blink: local manifest: invalid sync module %d on network %d or request %d", sm.ID, sm.NetworkID, requestID)
	}
	acct, err := c.accountID()
	if err != nil {
		return nil, err
	}
	cl := &call{method: http.MethodGet, tmpl: localManifestTmpl, path: fill(localManifestTmpl, ids{acct: acct, net: sm.NetworkID, sm: sm.ID, cmd: requestID}),
		auth: true, prof: profREST, redirect: redirectSameOrigin, raw: true}
	resp, err := c.do(ctx, cl)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.status == http.StatusBadRequest:
		return nil, newStatusError(cl.op(), resp, ErrNotReady)
	case resp.status >= 300:
		return nil, newStatusError(cl.op(), resp, nil)
	}
	return decodeLocalManifest(cl.op(), resp.status, resp.body)
}

// RequestLocalClip asks the sync module to upload one clip of manifest to
// the cloud and waits until Blink reports the command complete; then
// DownloadLocalClip can fetch it.
func (c *Client) RequestLocalClip(ctx context.Context, sm SyncModuleRef, manifestID, clipID string) error {
	v, err := localClipIDs(sm, manifestID, clipID)
	if err != nil {
		return err
	}
	_, err = c.command(ctx, localClipTmpl, v, nil)
	return err
}

// DownloadLocalClip streams an uploaded clip into w like DownloadTo (at
// most maxBytes, <= 0: 64 MiB). Before the upload finished Blink answers
// code 700 (ErrNotFound, StatusError.APICode 700): retry later.
func (c *Client) DownloadLocalClip(ctx context.Context, sm SyncModuleRef, manifestID, clipID string, w io.Writer, maxBytes int64) (int64, error) {
	v, err := localClipIDs(sm, manifestID, clipID)
	if err != nil {
		return 0, err
	}
	if v.acct, err = c.accountID(); err != nil {
		return 0, err
	}
	if maxBytes <= 0 {
		maxBytes = defaultMaxDownload
	}
	cl := &call{method: http.MethodGet, tmpl: localClipTmpl, path: fill(localClipTmpl, v), auth: true, prof: profREST,
		timeout: defaultDownloadTimeout, maxBytes: maxBytes, redirect: redirectMedia}
	return c.stream(ctx, cl, w)
}

// DeleteLocalClip deletes one clip from the USB storage. Blink may answer
// with a command (waited for) or at once.
func (c *Client) DeleteLocalClip(ctx context.Context, sm SyncModuleRef, manifestID, clipID string) error {
	v, err := localClipIDs(sm, manifestID, clipID)
	if err != nil {
		return err
	}
	_, err = c.command(ctx, localClipDeleteTmpl, v, nil)
	return err
}

// LocalStorageStatus reads the state of a sync module's USB storage. The
// homescreen carries the same status at no extra cost.
func (c *Client) LocalStorageStatus(ctx context.Context, sm SyncModuleRef) (*LocalStorageStatus, error) {
	if !sm.valid() {
		return nil, fmt.Errorf("blink: local storage status: invalid sync module %d on network %d", sm.ID, sm.NetworkID)
	}
	acct, err := c.accountID()
	if err != nil {
		return nil, err
	}
	cl, resp, err := c.get(ctx, localStatusTmpl, ids{acct: acct, net: sm.NetworkID, sm: sm.ID}, nil)
	if err != nil {
		return nil, err
	}
	var raw struct {
		Status      flexString `json:"status"`
		LocalStatus flexString `json:"local_storage_status"`
	}
	if err := decodeJSON(cl.op(), resp.body, &raw); err != nil {
		return nil, err
	}
	st := raw.LocalStatus.v
	if st == "" {
		st = raw.Status.v
	}
	return &LocalStorageStatus{Status: cleanText(st, 40)}, nil
}

// localClipIDs checks the ids of a clip call and returns its placeholders
// (account id left for the caller).
func localClipIDs(sm SyncModuleRef, manifestID, clipID string) (ids, error) {
	if !sm.valid() || !validLocalID(manifestID) || !validLocalID(clipID) {
		return ids{}, fmt.Errorf("blink: local clip: invalid sync module %d on network %d, manifest %q or clip %q",
			sm.ID, sm.NetworkID, truncate(manifestID, maxLocalID), truncate(clipID, maxLocalID))
	}
	return ids{net: sm.NetworkID, sm: sm.ID, manifest: manifestID, clip: clipID}, nil
}

// validLocalID reports whether a manifest or clip id can go into a path as
// it is: 1 to maxLocalID ASCII letters, digits, "-" or "_".
func validLocalID(s string) bool {
	if s == "" || len(s) > maxLocalID {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

type rawLocalManifest struct {
	Version    flexString      `json:"version"`
	ManifestID flexString      `json:"manifest_id"`
	Clips      *[]rawLocalClip `json:"clips"`
	Message    flexString      `json:"message"`
	Code       flexInt         `json:"code"`
}

type rawLocalClip struct {
	ID         flexString `json:"id"`
	Size       flexInt    `json:"size"`
	CameraName flexString `json:"camera_name"`
	CreatedAt  flexTime   `json:"created_at"`
}

// decodeLocalManifest decodes a 2xx manifest answer. A body that is not a
// JSON object (Blink's plain-text "not ready"), or an object without a
// manifest id or a clips list, means the manifest is not built yet
// (ErrNotReady); JSON that does not parse is a DecodeError.
func decodeLocalManifest(op string, status int, body []byte) (*LocalManifest, error) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' {
		return nil, &StatusError{Op: op, Code: status, Message: "manifest not ready (no JSON object)", kind: ErrNotReady}
	}
	var raw rawLocalManifest
	if err := decodeJSON(op, body, &raw); err != nil {
		return nil, err
	}
	if raw.ManifestID.v == "" || raw.Clips == nil {
		return nil, &StatusError{Op: op, Code: status, APICode: int(raw.Code.v), Message: cleanText(raw.Message.v, maxMessage), kind: ErrNotReady}
	}
	if !validLocalID(raw.ManifestID.v) {
		return nil, &DecodeError{Op: op, Err: fmt.Errorf("manifest id of %d bytes is not letters and digits", len(raw.ManifestID.v))}
	}
	m := &LocalManifest{ID: raw.ManifestID.v, Version: cleanText(raw.Version.v, 20), Clips: make([]LocalClip, 0, len(*raw.Clips))}
	for _, rc := range *raw.Clips {
		id := strings.TrimSpace(rc.ID.v)
		if !validLocalID(id) {
			m.Dropped++
			continue
		}
		size := int64(-1)
		if rc.Size.set && rc.Size.v >= 0 {
			size = rc.Size.v
		}
		m.Clips = append(m.Clips, LocalClip{
			ID: id, CameraName: cleanText(rc.CameraName.v, maxMessage), CreatedAt: rc.CreatedAt.v, Size: size,
		})
	}
	return m, nil
}
