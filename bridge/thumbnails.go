package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/atomicfile"
)

// Device thumbnails. A device's picture is downloaded only when its
// homescreen thumbnail (the ts or path) differs from the one held, or by a
// snapshot command. One worker downloads them one at a time through the
// client, so they share its rate limiter and a first start with hundreds of
// devices spreads its downloads at the limiter's pace (1/s by default)
// while polls and commands still get their turn; the homescreen poll never
// waits for a download. Each image and its key are kept in
// STATE_DIR/thumbnails, so a restart neither downloads them again nor loses
// them for the republish on reconnect. The worker is the only writer of
// those files.

const (
	thumbDirName   = "thumbnails"
	thumbIndexName = "index.json"
	// maxThumbnailBytes bounds a thumbnail download.
	maxThumbnailBytes = 4 << 20
	// minThumbnailBytes: anything smaller is not a real still (Blink's
	// truncated downloads are a few dozen bytes).
	minThumbnailBytes = 128
	// thumbRetryAfter: a key whose download failed is tried again after
	// this long at the earliest, not on every homescreen poll.
	thumbRetryAfter = 5 * time.Minute
	// refreshThumbWait bounds how long a refresh request waits for the
	// thumbnails its homescreen poll found.
	refreshThumbWait = 30 * time.Second
)

// thumbJob is one thumbnail to download: the homescreen key and its path.
type thumbJob struct {
	key, path string
}

type thumbFailure struct {
	key   string
	until time.Time
}

// thumbnails owns every device picture: the images, the homescreen key
// each one belongs to, the download queue and the files. mu guards all of
// it and is never held during a download, a publish or a file write.
type thumbnails struct {
	cloud  *cloudGate
	writer *stateWriter
	usable func() bool // Blink calls are allowed (logged in)
	log    zerolog.Logger
	dir    string

	mu       sync.Mutex
	keys     map[devKey]string // homescreen key of the image held
	imgs     map[devKey][]byte
	dirty    map[devKey]bool // images not yet written to disk
	stale    []string        // files to delete (moved to a new name)
	pending  map[devKey]thumbJob
	order    []devKey
	failed   map[devKey]thumbFailure
	snapping map[devKey]int // snapshot commands running per device
	busy     bool           // a download or a flush is running
	cur      devKey         // its device
	curKey   string         // and key
	running  bool           // the worker runs
	kick     chan struct{}  // cap 1
	changed  chan struct{}  // closed and replaced on every state change
}

func newThumbnails(stateDir string, cloud *cloudGate, log zerolog.Logger) *thumbnails {
	return &thumbnails{
		cloud:    cloud,
		log:      log,
		dir:      filepath.Join(stateDir, thumbDirName),
		keys:     map[devKey]string{},
		imgs:     map[devKey][]byte{},
		dirty:    map[devKey]bool{},
		pending:  map[devKey]thumbJob{},
		failed:   map[devKey]thumbFailure{},
		snapping: map[devKey]int{},
		kick:     make(chan struct{}, 1),
		changed:  make(chan struct{}),
	}
}

// thumbName is the file of k's picture: <net>_<family>_<id>.jpg, or
// <net>_<id>.jpg as written before families were part of a key.
func thumbName(k devKey) string {
	if k.Family == "" {
		return strconv.FormatInt(k.Network, 10) + "_" + strconv.FormatInt(k.ID, 10) + ".jpg"
	}
	return strconv.FormatInt(k.Network, 10) + "_" + string(k.Family) + "_" + strconv.FormatInt(k.ID, 10) + ".jpg"
}

// load reads the saved images (before any goroutine runs); an entry whose
// file is missing or not a JPEG is forgotten, so it is downloaded again.
func (t *thumbnails) load() {
	data, err := os.ReadFile(filepath.Join(t.dir, thumbIndexName))
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var idx map[string]string
	if err == nil {
		err = json.Unmarshal(data, &idx)
	}
	if err != nil {
		t.log.Warn().Err(err).Msg("saved thumbnails unreadable; they are downloaded again")
		return
	}
	for s, key := range idx {
		k, ok := discovery.ParseDeviceKey(s)
		if !ok {
			continue
		}
		img, err := os.ReadFile(filepath.Join(t.dir, thumbName(k)))
		if err != nil || checkJPEG(img) != nil {
			continue
		}
		t.keys[k] = key
		t.imgs[k] = img
	}
}

// images returns every picture held (the slices are never changed).
func (t *thumbnails) images() map[devKey][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.imgs)
}

// image returns device k's picture (never changed) and whether one is held.
func (t *thumbnails) image(k devKey) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	img, ok := t.imgs[k]
	return img, ok
}

func (t *thumbnails) broadcastLocked() {
	close(t.changed)
	t.changed = make(chan struct{})
}

func (t *thumbnails) kickLocked() {
	select {
	case t.kick <- struct{}{}:
	default:
	}
}

// queue notes the devices of hs whose thumbnail changed. It never blocks:
// the worker downloads them.
func (t *thumbnails) queue(hs *blink.Homescreen) {
	if hs == nil {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.adoptLegacyLocked(hs)
	added := false
	for _, d := range hs.Devices {
		k := discovery.KeyOf(d)
		if d.Thumbnail == "" || t.keys[k] == d.Thumbnail || t.snapping[k] > 0 || (t.busy && t.cur == k && t.curKey == d.Thumbnail) {
			continue
		}
		if f, ok := t.failed[k]; ok && f.key == d.Thumbnail && now.Before(f.until) {
			continue
		}
		path := blink.ThumbnailPath(hs.AccountID, d)
		if path == "" {
			continue
		}
		if _, ok := t.pending[k]; !ok {
			t.order = append(t.order, k)
		}
		t.pending[k] = thumbJob{key: d.Thumbnail, path: path}
		added = true
	}
	if added {
		t.kickLocked()
		t.broadcastLocked()
	}
}

// adoptLegacyLocked moves pictures saved before families were part of a
// key to the device of hs that has that network and id (when exactly one
// has), so an upgrade downloads nothing again; the worker renames the files.
func (t *thumbnails) adoptLegacyLocked(hs *blink.Homescreen) {
	for k, key := range t.keys {
		if k.Family != "" {
			continue
		}
		to, ok := uniqueDevice(hs, k)
		if !ok {
			continue
		}
		img := t.imgs[k]
		delete(t.keys, k)
		delete(t.imgs, k)
		t.stale = append(t.stale, thumbName(k))
		if _, has := t.keys[to]; !has {
			t.keys[to], t.imgs[to], t.dirty[to] = key, img, true
		}
		t.kickLocked()
	}
}

// beginSnapshot keeps the worker off a device while a snapshot command
// fetches its new image itself; call the returned function when done.
func (t *thumbnails) beginSnapshot(k devKey) func() {
	t.mu.Lock()
	t.snapping[k]++
	if _, ok := t.pending[k]; ok {
		delete(t.pending, k)
		t.removeOrderLocked(k)
		t.broadcastLocked()
	}
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		t.snapping[k]--
		if t.snapping[k] <= 0 {
			delete(t.snapping, k)
		}
		t.mu.Unlock()
	}
}

func (t *thumbnails) removeOrderLocked(k devKey) {
	for i, o := range t.order {
		if o == k {
			t.order = append(t.order[:i], t.order[i+1:]...)
			return
		}
	}
}

// store keeps img as device k's picture for homescreen key; the worker
// writes it to disk.
func (t *thumbnails) store(k devKey, key string, img []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.keys[k], t.imgs[k], t.dirty[k] = key, img, true
	delete(t.failed, k)
	t.kickLocked()
}

// awaitIdle waits until the worker has nothing queued (bounded), so a
// refresh answers after the pictures it found are published.
func (t *thumbnails) awaitIdle(ctx context.Context) {
	timeout := time.NewTimer(refreshThumbWait)
	defer timeout.Stop()
	for {
		t.mu.Lock()
		if !t.running || (len(t.order) == 0 && !t.busy && len(t.dirty) == 0 && len(t.stale) == 0) {
			t.mu.Unlock()
			return
		}
		ch := t.changed
		t.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-timeout.C:
			return
		case <-ch:
		}
	}
}

// start runs the worker under ctx, tracked by wg.
func (t *thumbnails) start(ctx context.Context, wg *sync.WaitGroup) {
	t.mu.Lock()
	t.running = true
	t.mu.Unlock()
	wg.Go(func() { t.run(ctx) })
}

// run is the worker: it writes pictures to disk and downloads the queue,
// one at a time, until ctx ends.
func (t *thumbnails) run(ctx context.Context) {
	t.mu.Lock()
	t.running = true
	t.mu.Unlock()
	defer func() {
		t.flush()
		t.mu.Lock()
		t.running = false
		t.broadcastLocked()
		t.mu.Unlock()
	}()
	for {
		t.flush()
		t.mu.Lock()
		var k devKey
		var job thumbJob
		ok := len(t.order) > 0
		if ok {
			k, t.order = t.order[0], t.order[1:]
			job = t.pending[k]
			delete(t.pending, k)
			t.busy, t.cur, t.curKey = true, k, job.key
		}
		t.mu.Unlock()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-t.kick:
				continue
			}
		}
		if t.usable() {
			t.fetch(ctx, k, job)
		}
		t.mu.Lock()
		t.busy = false
		t.broadcastLocked()
		t.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
	}
}

// fetch downloads one thumbnail and publishes it (retained, raw JPEG). A
// failed or non-image download keeps the previous image.
func (t *thumbnails) fetch(ctx context.Context, k devKey, job thumbJob) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	img, _, err := t.cloud.Download(ctx, job.path, maxThumbnailBytes)
	if err == nil {
		err = checkJPEG(img)
	}
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return // shutting down
		}
		t.mu.Lock()
		t.failed[k] = thumbFailure{key: job.key, until: time.Now().Add(thumbRetryAfter)}
		t.mu.Unlock()
		t.log.Warn().Err(err).Stringer("device", k).Msg("thumbnail not updated; keeping the previous image")
		return
	}
	t.store(k, job.key, img)
	t.writer.publishImage(ctx, k, img, false)
	t.log.Debug().Stringer("device", k).Int("bytes", len(img)).Msg("thumbnail updated")
}

// flush writes the pictures not yet on disk and the index; only the
// worker calls it.
func (t *thumbnails) flush() {
	t.mu.Lock()
	if len(t.dirty) == 0 && len(t.stale) == 0 {
		t.mu.Unlock()
		return
	}
	files := make(map[string][]byte, len(t.dirty))
	written := t.dirty
	for k := range t.dirty {
		files[thumbName(k)] = t.imgs[k]
	}
	stale := t.stale
	idx := make(map[string]string, len(t.keys))
	for k, key := range t.keys {
		idx[k.String()] = key
	}
	t.dirty, t.stale = map[devKey]bool{}, nil
	t.busy = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.busy = false
		t.broadcastLocked()
		t.mu.Unlock()
	}()

	err := os.MkdirAll(t.dir, 0o700)
	for name, img := range files {
		if err == nil {
			err = atomicfile.Write(filepath.Join(t.dir, name), img, 0o600)
		}
	}
	if err == nil {
		var data []byte
		if data, err = json.Marshal(idx); err == nil {
			err = atomicfile.Write(filepath.Join(t.dir, thumbIndexName), data, 0o600)
		}
	}
	if err != nil {
		t.log.Warn().Err(err).Msg("could not save thumbnails; the next change tries again")
		t.mu.Lock()
		for k := range written {
			t.dirty[k] = true
		}
		t.stale = append(t.stale, stale...)
		t.mu.Unlock()
		return
	}
	for _, name := range stale {
		if _, moved := files[name]; !moved {
			_ = os.Remove(filepath.Join(t.dir, name))
		}
	}
}

// checkJPEG accepts a complete JPEG of a sane size: the SOI marker
// (FF D8 FF) first and the EOI marker (FF D9) near the end, which a cut-off
// download lacks.
func checkJPEG(img []byte) error {
	switch {
	case len(img) < minThumbnailBytes:
		return fmt.Errorf("%d bytes is too small for a picture", len(img))
	case !isJPEG(img):
		return errors.New("not a JPEG image")
	case !bytes.Contains(img[len(img)-min(len(img), 64):], []byte{0xFF, 0xD9}):
		return errors.New("JPEG image is cut off (no end marker)")
	}
	return nil
}

// isJPEG checks the JPEG start-of-image marker.
func isJPEG(b []byte) bool {
	return len(b) > 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF
}
