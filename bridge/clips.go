package bridge

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// Saving clips (Options.MediaDir). Ordering: motion ON and the HA event
// entity are published the moment a new item is seen; its message on
// <root>/events waits for the clip download so that "clip" carries the
// local path a Node-RED flow can open. That wait is bounded: the event goes
// out at the latest clipEventWait after the item was seen, with Blink's
// path when the file is not saved by then. One worker downloads clips one
// after another, clipSpacing apart (bursts of downloads come back
// truncated from Blink), into a temporary file in the target
// directory that is checked (complete MP4 box structure), synced and
// renamed, so no partial file is ever left under the final name. Failed
// attempts (cut-off body, code 700 "Media not found", 5xx, 409 busy) are
// retried a bounded number of times with backoff. A clip comes from a
// clipSource: one download for a cloud clip, an upload by the sync module
// and a download for a clip on its USB storage (localstorage.go). Retention (age, total size, oldest
// first) runs at start and after each saved clip. On shutdown the events
// still waiting are published at once; a crash loses them (the watermark is
// already saved, so they are not replayed).

const (
	clipEventWait   = 2 * time.Minute
	clipSpacing     = 2 * time.Second
	clipAttempts    = 4
	clipBackoff     = 2 * time.Second // doubles per attempt
	clipAttemptTime = 90 * time.Second
	maxClipBytes    = 256 << 20
	// minClipBytes: Blink's truncated downloads are about 20 bytes.
	minClipBytes = 64
	clipTimeFmt  = "20060102T150405Z"
	clipTempGlob = ".clip-*.tmp"
)

// clipName matches the files the bridge saves, and only those: retention
// never touches anything else in MediaDir.
var clipName = regexp.MustCompile(`^(\d{8}T\d{6}Z)_(\d+)\.mp4$`)

type clipJob struct {
	src  *clipSource
	ev   eventPayload
	seen time.Time
}

// clipSource is one clip to save: its file and how to fetch it. A cloud
// clip is one download; a local clip is an upload request and a download
// through its network's queue (localstorage.go).
type clipSource struct {
	what    string    // for logs: "media 3123400000", "local clip 866333964"
	path    string    // the final file
	created time.Time // the file's time (retention, file browsers); zero: now
	// fetch writes one attempt into w; it is called again after a
	// retryable failure (retryableClipError), with a fresh w.
	fetch func(ctx context.Context, w io.Writer) error
}

// clipSaver saves new clips into MediaDir and publishes their events
// (see above). mu guards the queue; it is never held during a download or
// a file operation.
type clipSaver struct {
	dir       string
	retention time.Duration
	maxBytes  int64
	cloud     *cloudGate
	publish   func(eventPayload) // the event on <root>/events
	log       zerolog.Logger

	mu      sync.Mutex
	jobs    []clipJob
	running bool
	kick    chan struct{} // cap 1
	last    time.Time     // when the last download ended
}

func newClipSaver(o *Options, cloud *cloudGate, publish func(eventPayload), log zerolog.Logger) *clipSaver {
	return &clipSaver{
		dir: o.MediaDir, retention: o.MediaRetention, maxBytes: o.MediaMaxBytes,
		cloud: cloud, publish: publish, log: log,
		running: o.MediaDir != "", kick: make(chan struct{}, 1),
	}
}

// clipPath is where a media item is saved.
func clipPath(dir string, m blink.Media) string {
	return clipFile(dir, m.NetworkID, strconv.FormatInt(m.DeviceID, 10), m.CreatedAt, strconv.FormatInt(m.ID, 10))
}

// clipFile is <dir>/<network>/<device>/<created>_<id>.mp4; id must be
// digits for retention to know the file (clipName).
func clipFile(dir string, network int64, device string, created time.Time, id string) string {
	return filepath.Join(dir, strconv.FormatInt(network, 10), device, created.UTC().Format(clipTimeFmt)+"_"+id+".mp4")
}

// cloudSource is the source of a media item's clip; nil when clips are not
// saved or the item has none.
func (q *clipSaver) cloudSource(m blink.Media) *clipSource {
	if q.dir == "" || !isClip(m) {
		return nil
	}
	return &clipSource{
		what: "media " + strconv.FormatInt(m.ID, 10), path: clipPath(q.dir, m), created: m.CreatedAt,
		fetch: func(ctx context.Context, w io.Writer) error {
			_, err := q.cloud.DownloadTo(ctx, m.Clip, w, maxClipBytes)
			return err
		},
	}
}

// isClip reports whether a media item has an MP4 to save.
func isClip(m blink.Media) bool {
	p, _, _ := strings.Cut(m.Clip, "?")
	return m.Clip != "" && strings.HasSuffix(p, ".mp4")
}

// deferEvent hands the event of a new clip to the clip worker when clips
// are saved (src not nil); false means the caller publishes it now.
func (q *clipSaver) deferEvent(src *clipSource, ev eventPayload) bool {
	if q.dir == "" || src == nil {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.running {
		return false
	}
	q.jobs = append(q.jobs, clipJob{src: src, ev: ev, seen: time.Now()})
	select {
	case q.kick <- struct{}{}:
	default:
	}
	return true
}

// run is the clip worker; it does nothing without MediaDir.
func (q *clipSaver) run(ctx context.Context) {
	if q.dir == "" {
		return
	}
	q.clean(time.Now(), true)
	for {
		q.mu.Lock()
		var job clipJob
		ok := len(q.jobs) > 0 && ctx.Err() == nil
		if ok {
			job, q.jobs = q.jobs[0], q.jobs[1:]
		}
		q.mu.Unlock()
		if !ok {
			select {
			case <-ctx.Done():
				q.flushEvents()
				return
			case <-q.kick:
				continue
			}
		}
		q.handle(ctx, job)
	}
}

// flushEvents publishes the events still waiting, without their clips.
func (q *clipSaver) flushEvents() {
	q.mu.Lock()
	jobs := q.jobs
	q.jobs, q.running = nil, false
	q.mu.Unlock()
	for _, j := range jobs {
		q.publish(j.ev)
	}
}

// handleClip saves one clip and publishes its event, the event at the
// latest clipEventWait after the item was seen.
func (q *clipSaver) handle(ctx context.Context, job clipJob) {
	deadline := job.seen.Add(clipEventWait)
	late := !time.Now().Before(deadline)
	if late {
		// A backlog: the event goes now, the file follows.
		q.publish(job.ev)
		deadline = time.Now().Add(clipEventWait)
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	path, err := q.save(dctx, job.src)
	cancel()
	switch {
	case err == nil:
		job.ev.Clip = path
		q.clean(time.Now(), false)
	case ctx.Err() == nil:
		q.log.Warn().Err(err).Str("clip", job.src.what).Int64("device", job.ev.DeviceID).
			Msg("clip not saved; the event carries Blink's path (a local clip's is null)")
	}
	if !late {
		q.publish(job.ev)
	}
}

// save downloads a clip to its final path, with bounded retries, and
// returns the path.
func (q *clipSaver) save(ctx context.Context, src *clipSource) (string, error) {
	final := src.path
	if st, err := os.Stat(final); err == nil && st.Mode().IsRegular() {
		return final, nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return "", fmt.Errorf("save %s: %w", src.what, err)
	}
	var err error
	for attempt := 1; attempt <= clipAttempts; attempt++ {
		q.mu.Lock()
		wait := time.Until(q.last.Add(clipSpacing))
		q.mu.Unlock()
		if attempt > 1 {
			d := clipBackoff << (attempt - 2)
			wait = max(wait, d+time.Duration(rand.Int64N(int64(d/4)+1)))
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return "", errors.Join(err, ctx.Err())
			case <-t.C:
			}
		}
		err = q.download(ctx, src, final)
		q.mu.Lock()
		q.last = time.Now()
		q.mu.Unlock()
		if err == nil {
			return final, nil
		}
		if !retryableClipError(err) || ctx.Err() != nil {
			break
		}
		q.log.Debug().Err(err).Str("clip", src.what).Int("attempt", attempt).Msg("clip download failed; retrying")
	}
	return "", err
}

// errBadMP4 marks a download that is not a complete MP4 (Blink's truncated
// downloads can look complete to HTTP).
var errBadMP4 = errors.New("not a complete MP4")

func retryableClipError(err error) bool {
	var se *blink.StatusError
	switch {
	case errors.Is(err, errBadMP4), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, blink.ErrUnreachable),
		errors.Is(err, blink.ErrBusy):
		return true
	case errors.As(err, &se):
		return se.APICode == 700 || se.Code >= 500
	}
	return false
}

// download writes one attempt to a temporary file next to final and
// renames it there only when it is a complete MP4.
func (q *clipSaver) download(ctx context.Context, src *clipSource, final string) (err error) {
	ctx, cancel := context.WithTimeout(ctx, clipAttemptTime)
	defer cancel()
	dir := filepath.Dir(final)
	f, err := os.CreateTemp(dir, clipTempGlob)
	if err != nil {
		return fmt.Errorf("save %s: %w", src.what, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = f.Chmod(0o640); err != nil {
		return fmt.Errorf("save %s: %w", src.what, err)
	}
	if err = src.fetch(ctx, f); err != nil {
		return fmt.Errorf("download %s: %w", src.what, err)
	}
	if err = checkMP4(f); err != nil {
		return fmt.Errorf("download %s: %w", src.what, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("save %s: %w", src.what, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("save %s: %w", src.what, err)
	}
	if publishable(src.created) {
		_ = os.Chtimes(tmp, src.created, src.created) // age for retention and file browsers
	}
	if err = os.Rename(tmp, final); err != nil {
		return fmt.Errorf("save %s: %w", src.what, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// checkMP4 walks the top-level boxes of r: the first is ftyp, an mdat is
// present, and their sizes add up to the length exactly.
func checkMP4(r io.ReadSeeker) error {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if size < minClipBytes {
		return fmt.Errorf("%w: %d bytes", errBadMP4, size)
	}
	var off int64
	var hdr [16]byte
	mdat := false
	for i := 0; off < size; i++ {
		if size-off < 8 {
			return fmt.Errorf("%w: %d stray bytes at the end", errBadMP4, size-off)
		}
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.ReadFull(r, hdr[:8]); err != nil {
			return err
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		typ := string(hdr[4:8])
		switch n {
		case 0: // the box runs to the end
			n = size - off
		case 1: // 64-bit size follows
			if _, err := io.ReadFull(r, hdr[8:16]); err != nil {
				return fmt.Errorf("%w: cut-off box header", errBadMP4)
			}
			n = int64(binary.BigEndian.Uint64(hdr[8:16]))
			if n < 16 {
				return fmt.Errorf("%w: bad %q box size", errBadMP4, typ)
			}
		}
		if n < 8 {
			return fmt.Errorf("%w: bad %q box size", errBadMP4, typ)
		}
		if i == 0 && typ != "ftyp" {
			return fmt.Errorf("%w: starts with %q, not ftyp", errBadMP4, typ)
		}
		if n > size-off {
			return fmt.Errorf("%w: %q box needs %d bytes, %d left", errBadMP4, typ, n, size-off)
		}
		mdat = mdat || typ == "mdat"
		off += n
	}
	if !mdat {
		return fmt.Errorf("%w: no media data", errBadMP4)
	}
	return nil
}

type savedClip struct {
	path    string
	created time.Time
	size    int64
}

// cleanMediaDir applies MediaRetention and MediaMaxBytes to the clips the
// bridge saved (oldest first); at start it also removes temporary files a
// crash left behind.
func (q *clipSaver) clean(now time.Time, start bool) {
	root := q.dir
	var clips []savedClip
	var total int64
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		depth := strings.Count(rel, string(filepath.Separator))
		if d.IsDir() {
			if path != root && depth > 1 {
				return fs.SkipDir
			}
			return nil
		}
		if depth != 2 {
			return nil
		}
		name := d.Name()
		if ok, _ := filepath.Match(clipTempGlob, name); ok {
			if start {
				_ = os.Remove(path)
			}
			return nil
		}
		mm := clipName.FindStringSubmatch(name)
		if mm == nil {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		created, err := time.Parse(clipTimeFmt, mm[1])
		if err != nil {
			created = info.ModTime()
		}
		clips = append(clips, savedClip{path, created, info.Size()})
		total += info.Size()
		return nil
	})
	slices.SortFunc(clips, func(a, b savedClip) int { return a.created.Compare(b.created) })
	removed := 0
	for _, c := range clips {
		old := q.retention > 0 && now.Sub(c.created) > q.retention
		big := q.maxBytes > 0 && total > q.maxBytes
		if !old && !big {
			break
		}
		if err := os.Remove(c.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			q.log.Warn().Err(err).Str("file", c.path).Msg("could not delete an old clip")
			continue
		}
		total -= c.size
		removed++
	}
	if removed > 0 {
		q.log.Info().Int("deleted", removed).Int64("bytes_kept", total).Msg("old clips deleted (MEDIA_RETENTION / MEDIA_MAX_BYTES)")
	}
}
