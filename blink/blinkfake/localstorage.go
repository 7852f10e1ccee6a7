package blinkfake

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// Sync Module 2 local storage. A network whose sync module says
// local_storage_status "active" records motion onto its USB storage instead
// of the media feed (an owner without a subscription; Network.Subscription
// keeps the feed). Blink lists those clips only through the sync module:
//
//   - POST …/local_storage/manifest/request starts a command (409 while the
//     network is busy) whose id names the manifest request;
//   - GET …/manifest/request/{id} answers 400 text/plain until the command
//     completed, then Config.LocalManifestNotReady more times 200
//     text/plain, then the manifest as it was when the command completed:
//     {"version","manifest_id","clips":[{"id","size","camera_name","created_at"}]},
//     ids and sizes as strings;
//   - POST …/manifest/{m}/clip/request/{c} starts a command that uploads the
//     clip; GET of the same path answers 200 {"message":"Media not found",
//     "code":700} until it completed, then the MP4;
//   - POST …/manifest/{m}/clip/delete/{c} is a command that deletes it;
//   - GET …/local_storage/status answers {"status": …}.
//
// A manifest or clip id that is not the current one answers 404.
// RebuildLocalManifest gives the manifest and every clip new ids, as a sync
// module does when it rebuilds its list.

// Command kinds of the local-storage commands (Blink's own names for them
// are not known).
const (
	cmdLocalManifest = "local_storage_manifest"
	cmdLocalClip     = "local_storage_clip"
	cmdLocalDelete   = "local_storage_delete"
)

// maxManifestBuilds bounds the manifest requests a store remembers.
const maxManifestBuilds = 32

// LocalClip is one clip on a sync module's USB storage.
type LocalClip struct {
	ID         int64 // its id in the current manifest
	NetworkID  int64
	Device     blink.DeviceRef // zero for a clip added by camera name alone
	CameraName string          // the camera's name without non-alphanumerics
	CreatedAt  time.Time
	Size       int
	Source     string
	seed       int64 // what the MP4 is made from; survives rebuilds
}

// usbStore is one sync module's USB storage.
type usbStore struct {
	manifestID int64
	clips      []*LocalClip // oldest first
	builds     map[int64]*manifestBuild
	buildOrder []int64
	uploaded   map[string]bool // "manifest/clip" uploaded to the cloud
}

// manifestBuild is one manifest request: the manifest as it was when its
// command completed.
type manifestBuild struct {
	cmd        *command
	built      bool
	notReady   int // 200 text/plain answers still to give after it was built
	manifestID int64
	clips      []LocalClip
}

// localStorageActive reports whether n records onto USB storage. Caller holds mu.
func localStorageActive(n *Network) bool {
	return n != nil && n.SyncModule != nil && n.SyncModule.LocalStorageStatus == "active" && !n.Subscription
}

// usb returns network id's USB store, creating it. Caller holds mu.
func (s *Server) usb(id int64) *usbStore {
	if s.usbs == nil {
		s.usbs = map[int64]*usbStore{}
	}
	u, ok := s.usbs[id]
	if !ok {
		u = &usbStore{manifestID: s.nextUSBID(), builds: map[int64]*manifestBuild{}, uploaded: map[string]bool{}}
		s.usbs[id] = u
	}
	return u
}

// nextUSBID is the next manifest or clip id. Caller holds mu.
func (s *Server) nextUSBID() int64 {
	if s.usbSeq == 0 {
		s.usbSeq = firstUSBID
	}
	s.usbSeq++
	return s.usbSeq
}

// stripName is a camera name as the sync module writes it into a manifest:
// without any character that is not a letter or a digit.
func stripName(name string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, name)
}

// record stores a new clip of d: on its sync module's USB storage when that
// is active, else in the media feed. The Media has ID 0 for a USB clip.
// Caller holds mu.
func (s *Server) record(d *Device, source string, now time.Time) Media {
	n := s.networks[d.NetworkID]
	if !localStorageActive(n) {
		return *s.addMedia(d, source, now)
	}
	c := s.addLocalClip(n.ID, stripName(d.Name), now)
	c.Device, c.Source = d.Ref(), source
	return Media{CreatedAt: c.CreatedAt, UpdatedAt: c.CreatedAt, DeviceID: d.ID, Family: d.Family, NetworkID: d.NetworkID, Source: source}
}

// addLocalClip stores a clip on network id's USB storage. Caller holds mu.
func (s *Server) addLocalClip(id int64, camera string, now time.Time) *LocalClip {
	u := s.usb(id)
	seed := s.nextUSBID()
	c := &LocalClip{ID: s.nextUSBID(), NetworkID: id, CameraName: camera, CreatedAt: now.Truncate(time.Second),
		Source: "pir", seed: seed}
	c.Size = len(localClipMP4(seed))
	u.clips = append(u.clips, c)
	if over := len(u.clips) - s.cfg.MaxMedia; over > 0 {
		for _, gone := range u.clips[:over] {
			delete(u.uploaded, strconv.FormatInt(u.manifestID, 10)+"/"+strconv.FormatInt(gone.ID, 10))
		}
		u.clips = slices.Delete(u.clips, 0, over)
	}
	return c
}

// AddLocalClip puts a clip made by a camera called camera (as the manifest
// names it) onto a network's USB storage, for clips whose camera the bridge
// cannot find. The network's local storage need not be active.
func (s *Server) AddLocalClip(networkID int64, camera string, at time.Time) (LocalClip, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	n, ok := s.networks[networkID]
	if !ok || n.SyncModule == nil {
		return LocalClip{}, fmt.Errorf("blinkfake: network %d has no sync module", networkID)
	}
	return *s.addLocalClip(networkID, camera, at), nil
}

// LocalClips returns the clips on a network's USB storage, oldest first.
func (s *Server) LocalClips(networkID int64) []LocalClip {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []LocalClip
	if u, ok := s.usbs[networkID]; ok {
		for _, c := range u.clips {
			out = append(out, *c)
		}
	}
	return out
}

// LocalManifestID is the id of a network's current manifest (0 before any).
func (s *Server) LocalManifestID(networkID int64) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.usbs[networkID]; ok {
		return u.manifestID
	}
	return 0
}

// LocalClipMP4 is the file a local clip downloads as.
func LocalClipMP4(c LocalClip) []byte { return localClipMP4(c.seed) }

// localClipMP4 is an MP4 whose length differs from clip to clip, as real
// clips' do (the manifest reports sizes).
func localClipMP4(seed int64) []byte { return mp4Of(seed, 512+int(seed%997)) }

// RebuildLocalManifest makes the sync module rebuild its list: a new
// manifest id and new ids for every clip; uploads and manifests requested
// before are gone.
func (s *Server) RebuildLocalManifest(networkID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	if n, ok := s.networks[networkID]; !ok || n.SyncModule == nil {
		return fmt.Errorf("blinkfake: network %d has no sync module", networkID)
	}
	u := s.usb(networkID)
	u.manifestID = s.nextUSBID()
	for _, c := range u.clips {
		c.ID = s.nextUSBID()
	}
	clear(u.uploaded)
	clear(u.builds)
	u.buildOrder = nil
	return nil
}

// finishLocal applies a completed local-storage command. Caller holds mu.
func (s *Server) finishLocal(c *command) {
	u := s.usb(c.networkID)
	switch c.kind {
	case cmdLocalManifest:
		b, ok := u.builds[c.id]
		if !ok {
			return
		}
		b.built, b.notReady, b.manifestID = true, s.cfg.LocalManifestNotReady, u.manifestID
		b.clips = b.clips[:0]
		for _, cl := range u.clips {
			b.clips = append(b.clips, *cl)
		}
	case cmdLocalClip:
		u.uploaded[c.localKey] = true
	case cmdLocalDelete:
		m, id, _ := strings.Cut(c.localKey, "/")
		if m != strconv.FormatInt(u.manifestID, 10) {
			return
		}
		u.clips = slices.DeleteFunc(u.clips, func(cl *LocalClip) bool { return strconv.FormatInt(cl.ID, 10) == id })
		delete(u.uploaded, c.localKey)
	}
}

// localSyncModule resolves {n}/{sm}. Caller holds mu.
func (s *Server) localSyncModule(p params) (*Network, bool) {
	n, ok := s.network(p)
	if !ok || n.SyncModule == nil {
		return nil, false
	}
	sm, ok := p.id("sm")
	return n, ok && sm == n.SyncModule.ID
}

// localClip finds the clip {m}/{c} of the current manifest. Caller holds mu.
func (u *usbStore) localClip(p params) (*LocalClip, string, bool) {
	key := p["m"] + "/" + p["c"]
	if p["m"] != strconv.FormatInt(u.manifestID, 10) {
		return nil, key, false
	}
	for _, c := range u.clips {
		if strconv.FormatInt(c.ID, 10) == p["c"] {
			return c, key, true
		}
	}
	return nil, key, false
}

var localNotAvailable = apiError{Message: "Local storage is not available"}

func (s *Server) handleLocalManifestRequest(w http.ResponseWriter, _ *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.localSyncModule(p)
	switch {
	case !ok:
		writeJSON(w, http.StatusNotFound, notFoundError)
		return
	case n.SyncModule.LocalStorageStatus != "active":
		writeJSON(w, http.StatusBadRequest, localNotAvailable)
		return
	}
	c := s.submit(n.ID, nil, cmdLocalManifest, false)
	if c == nil {
		writeJSON(w, http.StatusConflict, busyError)
		return
	}
	u := s.usb(n.ID)
	u.builds[c.id] = &manifestBuild{cmd: c}
	u.buildOrder = append(u.buildOrder, c.id)
	if len(u.buildOrder) > maxManifestBuilds {
		delete(u.builds, u.buildOrder[0])
		u.buildOrder = u.buildOrder[1:]
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": c.id, "network_id": n.ID})
}

type wireLocalClip struct {
	ID         string `json:"id"`
	Size       string `json:"size"`
	CameraName string `json:"camera_name"`
	CreatedAt  string `json:"created_at"`
}

func (s *Server) handleLocalManifest(w http.ResponseWriter, _ *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.localSyncModule(p)
	id, okID := p.id("req")
	if !ok || !okID {
		writeJSON(w, http.StatusNotFound, notFoundError)
		return
	}
	b, ok := s.usb(n.ID).builds[id]
	switch {
	case !ok:
		writeJSON(w, http.StatusNotFound, notFoundError)
		return
	case !b.built:
		s.advance(b.cmd, false)
	}
	switch {
	case !b.built:
		writeText(w, http.StatusBadRequest, "Manifest not ready")
		return
	case b.notReady > 0:
		b.notReady--
		writeText(w, http.StatusOK, "Manifest is being built")
		return
	}
	clips := make([]wireLocalClip, 0, len(b.clips))
	for i := len(b.clips) - 1; i >= 0; i-- { // newest first
		c := b.clips[i]
		clips = append(clips, wireLocalClip{ID: strconv.FormatInt(c.ID, 10), Size: strconv.Itoa(c.Size),
			CameraName: c.CameraName, CreatedAt: ts(c.CreatedAt)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": "1.0", "manifest_id": strconv.FormatInt(b.manifestID, 10), "clips": clips})
}

// handleLocalClipCommand starts an upload or a delete of clip {m}/{c}.
func (s *Server) handleLocalClipCommand(kind string) func(http.ResponseWriter, *http.Request, params) {
	return func(w http.ResponseWriter, _ *http.Request, p params) {
		s.mu.Lock()
		defer s.mu.Unlock()
		n, ok := s.localSyncModule(p)
		if !ok {
			writeJSON(w, http.StatusNotFound, notFoundError)
			return
		}
		_, key, ok := s.usb(n.ID).localClip(p)
		if !ok {
			writeJSON(w, http.StatusNotFound, apiError{Message: "Clip not found"})
			return
		}
		c := s.submit(n.ID, nil, kind, false)
		if c == nil {
			writeJSON(w, http.StatusConflict, busyError)
			return
		}
		c.localKey = key
		writeJSON(w, http.StatusOK, map[string]any{"id": c.id, "network_id": n.ID})
	}
}

func (s *Server) handleLocalClip(w http.ResponseWriter, _ *http.Request, p params) {
	s.mu.Lock()
	n, ok := s.localSyncModule(p)
	var clip *LocalClip
	var uploaded bool
	if ok {
		u := s.usb(n.ID)
		var key string
		clip, key, ok = u.localClip(p)
		uploaded = u.uploaded[key]
	}
	var seed int64
	if clip != nil {
		seed = clip.seed
	}
	s.mu.Unlock()
	switch {
	case !ok:
		writeJSON(w, http.StatusNotFound, notFoundError)
	case !uploaded:
		writeJSON(w, http.StatusOK, mediaNotFound)
	default:
		writeBytes(w, "video/mp4", localClipMP4(seed))
	}
}

func (s *Server) handleLocalStatus(w http.ResponseWriter, _ *http.Request, p params) {
	s.mu.Lock()
	n, ok := s.localSyncModule(p)
	var st string
	if ok {
		st = n.SyncModule.LocalStorageStatus
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, notFoundError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": st})
}
