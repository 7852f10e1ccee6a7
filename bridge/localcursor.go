package bridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/atomicfile"
)

const localFileName = "local_storage.json"

// localLookback is how far before a network's watermark a clip still
// counts as new (one that showed up in the manifest late); keys seen within
// it are remembered so none is published twice.
const localLookback = 30 * time.Minute

// localCursor is the persisted cursor of the USB storage watcher: per
// network a watermark, a floor and the clips seen near the watermark. A
// clip is keyed by what survives a manifest rebuild — camera, created_at
// and size — never by its id, which a rebuild changes. Only the watcher's
// goroutine uses it.
type localCursor struct {
	path string
	// start is when the bridge started: a network met for the first time
	// counts nothing from before it as new.
	start time.Time
	nets  map[int64]*localNetCursor
	// last is each device's last local event as loaded; the model owns it after.
	last map[devKey]time.Time
	// dirty: nets changed since the last save.
	dirty bool
}

type localNetCursor struct {
	Watermark time.Time            `json:"watermark"`
	Floor     time.Time            `json:"floor"`
	Seen      map[string]time.Time `json:"seen"`
	// CloudUntil: the network's motion clips arrive in the cloud feed (a
	// subscription); its USB storage is left alone until then.
	CloudUntil time.Time `json:"cloud_until,omitzero"`
}

type localFile struct {
	Networks  map[string]*localNetCursor `json:"networks"`
	LastEvent map[string]time.Time       `json:"last_event"`
}

// loadLocalCursor reads dir's cursor; a missing file is a first run, an
// unreadable one is reported and replaced (nothing before now is news).
func loadLocalCursor(dir string, now time.Time) (localCursor, error) {
	c := localCursor{path: filepath.Join(dir, localFileName), start: now, nets: map[int64]*localNetCursor{}, last: map[devKey]time.Time{}}
	data, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read %s: %w", c.path, err)
	}
	var f localFile
	if err := json.Unmarshal(data, &f); err != nil {
		return c, fmt.Errorf("decode %s: %w", c.path, err)
	}
	ceiling := now.Add(maxClockSkew)
	for s, n := range f.Networks {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 || n == nil || !publishable(n.Watermark) {
			continue
		}
		nc := &localNetCursor{Watermark: earlier(n.Watermark, ceiling), Seen: map[string]time.Time{}}
		nc.Floor = earlier(n.Floor, nc.Watermark)
		if !publishable(nc.Floor) {
			nc.Floor = nc.Watermark.Add(-localLookback)
		}
		for k, t := range n.Seen {
			if publishable(t) {
				nc.Seen[k] = earlier(t, nc.Watermark)
			}
		}
		if publishable(n.CloudUntil) {
			nc.CloudUntil = earlier(n.CloudUntil, now.Add(cloudQuiet))
		}
		c.nets[id] = nc
	}
	for s, t := range f.LastEvent {
		if k, ok := discovery.ParseDeviceKey(s); ok && publishable(t) {
			c.last[k] = earlier(t, now)
		}
	}
	return c, nil
}

// save writes the cursor and each device's last event (all devices: the
// file is read back only for the devices it names).
func (c *localCursor) save(last map[devKey]time.Time) error {
	data, err := c.encode(last)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(c.path, data, 0o600); err != nil {
		return err
	}
	c.dirty = false
	return nil
}

// encode is the file's content.
func (c *localCursor) encode(last map[devKey]time.Time) ([]byte, error) {
	f := localFile{Networks: map[string]*localNetCursor{}, LastEvent: map[string]time.Time{}}
	for id, n := range c.nets {
		f.Networks[strconv.FormatInt(id, 10)] = n
	}
	for k, t := range last {
		f.LastEvent[k.String()] = t
	}
	return json.Marshal(f)
}

// network returns network id's cursor, creating it with the start as floor.
func (c *localCursor) network(id int64) *localNetCursor {
	n, ok := c.nets[id]
	if !ok {
		floor := c.start.Add(-firstRunSlack)
		n = &localNetCursor{Watermark: floor, Floor: floor, Seen: map[string]time.Time{}}
		c.nets[id] = n
		c.dirty = true
	}
	return n
}

// localKey names a clip across manifest rebuilds.
func localKey(c blink.LocalClip) string {
	t := "-"
	if publishable(c.CreatedAt) {
		t = c.CreatedAt.UTC().Format(time.RFC3339)
	}
	return c.CameraName + "|" + t + "|" + strconv.FormatInt(c.Size, 10)
}

// freshClip is a clip of a manifest that was never published.
type freshClip struct {
	clip blink.LocalClip
	key  string
	at   time.Time // effective time
}

// fresh returns the clips of a manifest of network id that were never
// published, oldest first, at most limit (the rest stay new for the next
// check). It remembers nothing new — commit does, once they are published —
// except that a clip already seen is remembered for as long as it keeps
// coming back.
func (c *localCursor) fresh(id int64, clips []blink.LocalClip, now time.Time, limit int) []freshClip {
	n := c.network(id)
	var out []freshClip
	dup := map[string]bool{}
	for _, cl := range clips {
		k := localKey(cl)
		t := effectiveTime(cl.CreatedAt, now)
		if seen, ok := n.Seen[k]; ok {
			if t.After(seen) { // undated or dated ahead: keeps its place
				n.Seen[k] = t
				c.dirty = true
			}
			continue
		}
		if dup[k] || t.Before(n.Floor) {
			continue
		}
		dup[k] = true
		out = append(out, freshClip{clip: cl, key: k, at: t})
	}
	slices.SortStableFunc(out, func(a, b freshClip) int { return a.at.Compare(b.at) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// commit records published clips of network id: seen, the watermark moved
// to the newest, keys older than the lookback forgotten.
func (c *localCursor) commit(id int64, published []freshClip) {
	n := c.network(id)
	for _, f := range published {
		n.Seen[f.key] = f.at
		if f.at.After(n.Watermark) {
			n.Watermark = f.at
		}
	}
	forgetBefore(n.Seen, n.Watermark, localLookback, &n.Floor)
	c.dirty = true
}

// cloudMotion records that network id's motion clips arrived in the cloud
// at now: its USB storage is left alone for cloudQuiet, and nothing on it
// from before now is news (the sync module copies cloud clips there).
func (c *localCursor) cloudMotion(id int64, now time.Time) {
	n := c.network(id)
	n.CloudUntil = now.Add(cloudQuiet)
	if now.After(n.Floor) {
		n.Floor = now
	}
	if now.After(n.Watermark) {
		n.Watermark = now
	}
	c.dirty = true
}

// cloudUntil is when network id's cloud-quiet period ends (zero: none).
func (c *localCursor) cloudUntil(id int64) time.Time {
	if n, ok := c.nets[id]; ok {
		return n.CloudUntil
	}
	return time.Time{}
}
