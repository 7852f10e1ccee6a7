package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// Device thumbnails. A device's picture is downloaded only when its
// homescreen thumbnail (the ts or path, blink-api.md §3.7) differs from the
// one the bridge holds, or by a snapshot command. One worker goroutine
// downloads them one at a time through the client, so they share its rate
// limiter and a first start with hundreds of devices spreads its downloads
// at the limiter's pace (1/s by default) while polls and commands still get
// their turn; the homescreen poll itself never waits for a download. Each
// image and its key are kept in STATE_DIR/thumbnails, so a restart neither
// downloads them again nor loses them for the republish on reconnect.

const (
	thumbDirName   = "thumbnails"
	thumbIndexName = "index.json"
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

// thumbQueue is the thumbnail worker's state; mu guards every field.
type thumbQueue struct {
	mu       sync.Mutex
	dir      string
	keys     map[devKey]string // key of the image held
	pending  map[devKey]thumbJob
	order    []devKey
	failed   map[devKey]thumbFailure
	snapping map[devKey]int // snapshot commands running per device
	busy     bool           // a download is running
	cur      devKey         // its device
	curKey   string         // and key
	running  bool           // the worker runs
	kick     chan struct{}  // cap 1
	changed  chan struct{}  // closed and replaced on every state change
}

func (q *thumbQueue) init(stateDir string) {
	q.dir = filepath.Join(stateDir, thumbDirName)
	q.keys = map[devKey]string{}
	q.pending = map[devKey]thumbJob{}
	q.failed = map[devKey]thumbFailure{}
	q.snapping = map[devKey]int{}
	q.kick = make(chan struct{}, 1)
	q.changed = make(chan struct{})
}

// broadcastLocked wakes everyone waiting for a change.
func (q *thumbQueue) broadcastLocked() {
	close(q.changed)
	q.changed = make(chan struct{})
}

func (q *thumbQueue) idleLocked() bool { return len(q.order) == 0 && !q.busy }

// thumbName is the file of k's picture: <net>_<family>_<id>.jpg, or
// <net>_<id>.jpg as written before families were part of a key.
func thumbName(k devKey) string {
	if k.Family == "" {
		return strconv.FormatInt(k.Network, 10) + "_" + strconv.FormatInt(k.ID, 10) + ".jpg"
	}
	return strconv.FormatInt(k.Network, 10) + "_" + string(k.Family) + "_" + strconv.FormatInt(k.ID, 10) + ".jpg"
}

// loadThumbnails reads the saved images into b.thumbs; an entry whose file
// is missing or not a JPEG is forgotten, so it is downloaded again.
func (b *Bridge) loadThumbnails() {
	q := &b.thumbq
	q.init(b.opts.StateDir)
	data, err := os.ReadFile(filepath.Join(q.dir, thumbIndexName))
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var idx map[string]string
	if err == nil {
		err = json.Unmarshal(data, &idx)
	}
	if err != nil {
		b.logMedia.Warn().Err(err).Msg("saved thumbnails unreadable; they are downloaded again")
		return
	}
	for s, key := range idx {
		k, ok := discovery.ParseDeviceKey(s)
		if !ok {
			continue
		}
		img, err := os.ReadFile(filepath.Join(q.dir, thumbName(k)))
		if err != nil || checkJPEG(img) != nil {
			continue
		}
		q.keys[k] = key
		b.thumbs[k] = img
	}
}

// saveThumbnailLocked writes one image and the index; q.mu is held.
func (q *thumbQueue) saveLocked(k devKey, img []byte) error {
	if err := os.MkdirAll(q.dir, 0o700); err != nil {
		return fmt.Errorf("save thumbnail: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(q.dir, thumbName(k)), img); err != nil {
		return err
	}
	return q.saveIndexLocked()
}

func (q *thumbQueue) saveIndexLocked() error {
	idx := make(map[string]string, len(q.keys))
	for k, key := range q.keys {
		idx[k.String()] = key
	}
	data, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(q.dir, thumbIndexName), data)
}

// adoptLegacyLocked moves pictures saved before families were part of a
// key to the device of hs that has that network and id (when exactly one
// has), files included, so an upgrade downloads nothing again.
func (q *thumbQueue) adoptLegacyLocked(hs *blink.Homescreen) {
	moved := false
	for k, key := range q.keys {
		if k.Family != "" {
			continue
		}
		var found []devKey
		for _, d := range hs.Devices {
			if d.NetworkID == k.Network && d.ID == k.ID {
				found = append(found, discovery.KeyOf(d))
			}
		}
		if len(found) != 1 {
			continue
		}
		delete(q.keys, k)
		if _, ok := q.keys[found[0]]; ok {
			continue
		}
		if os.Rename(filepath.Join(q.dir, thumbName(k)), filepath.Join(q.dir, thumbName(found[0]))) == nil {
			q.keys[found[0]] = key
		}
		moved = true
	}
	if moved {
		_ = q.saveIndexLocked() // a failure only costs a download after a restart
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

// queueThumbnails notes the devices of hs whose thumbnail changed. It never
// blocks: the worker downloads them.
func (b *Bridge) queueThumbnails(hs *blink.Homescreen) {
	if hs == nil {
		return
	}
	q := &b.thumbq
	now := time.Now()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.kick == nil {
		return
	}
	q.adoptLegacyLocked(hs)
	added := false
	for _, d := range hs.Devices {
		k := discovery.KeyOf(d)
		if d.Thumbnail == "" || q.keys[k] == d.Thumbnail || q.snapping[k] > 0 || (q.busy && q.cur == k && q.curKey == d.Thumbnail) {
			continue
		}
		if f, ok := q.failed[k]; ok && f.key == d.Thumbnail && now.Before(f.until) {
			continue
		}
		path := blink.ThumbnailPath(hs.AccountID, d)
		if path == "" {
			continue
		}
		if _, ok := q.pending[k]; !ok {
			q.order = append(q.order, k)
		}
		q.pending[k] = thumbJob{key: d.Thumbnail, path: path}
		added = true
	}
	if added {
		select {
		case q.kick <- struct{}{}:
		default:
		}
		q.broadcastLocked()
	}
}

// beginSnapshot keeps the worker off a device while a snapshot command
// fetches its new image itself; call the returned function when done.
func (b *Bridge) beginSnapshot(k devKey) func() {
	q := &b.thumbq
	q.mu.Lock()
	q.snapping[k]++
	if _, ok := q.pending[k]; ok {
		delete(q.pending, k)
		q.removeOrderLocked(k)
		q.broadcastLocked()
	}
	q.mu.Unlock()
	return func() {
		q.mu.Lock()
		q.snapping[k]--
		if q.snapping[k] <= 0 {
			delete(q.snapping, k)
		}
		q.mu.Unlock()
	}
}

func (q *thumbQueue) removeOrderLocked(k devKey) {
	for i, o := range q.order {
		if o == k {
			q.order = append(q.order[:i], q.order[i+1:]...)
			return
		}
	}
}

// rememberThumbnail records that the image for homescreen key is held and
// saves it, so neither the worker nor a restart fetches it again.
func (b *Bridge) rememberThumbnail(k devKey, key string, img []byte) {
	q := &b.thumbq
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.keys == nil {
		return
	}
	q.keys[k] = key
	delete(q.failed, k)
	if err := q.saveLocked(k, img); err != nil {
		b.logMedia.Warn().Err(err).Stringer("device", k).Msg("could not save the thumbnail; it is downloaded again after a restart")
	}
}

// awaitThumbnails waits until the worker has nothing queued (bounded), so a
// refresh answers after the pictures it found are published.
func (b *Bridge) awaitThumbnails(ctx context.Context) {
	q := &b.thumbq
	t := time.NewTimer(refreshThumbWait)
	defer t.Stop()
	for {
		q.mu.Lock()
		if !q.running || q.idleLocked() {
			q.mu.Unlock()
			return
		}
		ch := q.changed
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-ch:
		}
	}
}

// runThumbnails is the thumbnail worker.
func (b *Bridge) runThumbnails(ctx context.Context) {
	q := &b.thumbq
	q.mu.Lock()
	if q.kick == nil {
		q.mu.Unlock()
		return
	}
	q.running = true
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.running = false
		q.broadcastLocked()
		q.mu.Unlock()
	}()
	for {
		q.mu.Lock()
		var k devKey
		var job thumbJob
		ok := len(q.order) > 0
		if ok {
			k, q.order = q.order[0], q.order[1:]
			job = q.pending[k]
			delete(q.pending, k)
			q.busy, q.cur, q.curKey = true, k, job.key
		}
		q.mu.Unlock()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-q.kick:
				continue
			}
		}
		if b.Auth().usable() {
			b.fetchThumbnail(ctx, k, job)
		}
		q.mu.Lock()
		q.busy = false
		q.broadcastLocked()
		q.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
	}
}

// fetchThumbnail downloads one thumbnail and publishes it (retained, raw
// JPEG). A failed or non-image download keeps the previous image.
func (b *Bridge) fetchThumbnail(ctx context.Context, k devKey, job thumbJob) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	img, _, err := b.cloud.Download(ctx, job.path, maxThumbnailBytes)
	if err == nil {
		err = checkJPEG(img)
	}
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return // shutting down
		}
		b.noteAuthError(err)
		b.noteRateLimit(err)
		q := &b.thumbq
		q.mu.Lock()
		q.failed[k] = thumbFailure{key: job.key, until: time.Now().Add(thumbRetryAfter)}
		q.mu.Unlock()
		b.logMedia.Warn().Err(err).Stringer("device", k).
			Msg("thumbnail not updated; keeping the previous image")
		return
	}
	b.mu.Lock()
	b.thumbs[k] = img
	if b.stateReady && b.pub != nil && b.pub.open() {
		b.pub.publish(b.thumbnailTopic(k), 0, true, img)
	}
	b.mu.Unlock()
	b.rememberThumbnail(k, job.key, img)
	b.logMedia.Debug().Stringer("device", k).Int("bytes", len(img)).Msg("thumbnail updated")
}
