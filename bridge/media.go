package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/atomicfile"
)

// mediaLookback is how far before the watermark each media/changed request
// reaches, to catch clips whose upload finished late. Ids seen within it are
// remembered so none is published twice.
const mediaLookback = 10 * time.Minute

const mediaFileName = "media.json"

// firstRunSlack: on the very first start, clips created this long before
// it still count as new. Blink's timestamps are whole seconds from its own
// clock, so "now" alone would drop a clip made the moment we started.
const firstRunSlack = 5 * time.Second

// mediaStore is the persisted motion cursor: a watermark plus the ids seen
// near it.
type mediaStore struct {
	path      string
	watermark time.Time
	seen      map[int64]time.Time // media id → created_at
	// last is each device's last event as loaded; the bridge owns it after.
	last map[devKey]time.Time
	// floor: clips created before it are never new (the watermark's
	// lookback at start, or the start time on the very first run).
	floor time.Time
}

type mediaFile struct {
	Watermark time.Time            `json:"watermark"`
	Seen      map[int64]time.Time  `json:"seen"`
	LastEvent map[string]time.Time `json:"last_event"`
}

func loadMedia(dir string, now time.Time) (mediaStore, error) {
	m := mediaStore{
		path:      filepath.Join(dir, mediaFileName),
		watermark: now,
		floor:     now.Add(-firstRunSlack),
		seen:      map[int64]time.Time{},
		last:      map[devKey]time.Time{},
	}
	data, err := os.ReadFile(m.path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil // first run: nothing before now is news
	}
	if err != nil {
		return m, fmt.Errorf("read %s: %w", m.path, err)
	}
	var f mediaFile
	if err := json.Unmarshal(data, &f); err != nil {
		return m, fmt.Errorf("decode %s: %w", m.path, err)
	}
	if !publishable(f.Watermark) {
		return m, nil
	}
	// An older version let a clip dated in the future move the cursor
	// there, which hid every later clip: never start past now.
	m.watermark = earlier(f.Watermark, now.Add(maxClockSkew))
	m.floor = m.watermark.Add(-mediaLookback)
	for id, t := range f.Seen {
		m.seen[id] = earlier(t, m.watermark)
	}
	for s, t := range f.LastEvent {
		// Files from before families were keys say "<net>/<id>": Family
		// stays empty until a homescreen shows which device that is.
		if k, ok := discovery.ParseDeviceKey(s); ok && publishable(t) {
			m.last[k] = earlier(t, now)
		}
	}
	return m, nil
}

// save writes the cursor and each device's last event.
func (m *mediaStore) save(last map[devKey]time.Time) error {
	f := mediaFile{Watermark: m.watermark, Seen: m.seen, LastEvent: map[string]time.Time{}}
	for k, t := range last {
		f.LastEvent[k.String()] = t
	}
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return atomicfile.Write(m.path, data, 0o600)
}

// maxClockSkew is how far ahead of our clock a media time may be. Blink has
// dated clips in the future; the cursor never moves past now plus this, so
// one such clip cannot hide every real clip after it.
const maxClockSkew = 2 * time.Minute

// effectiveTime is the time a media item counts at: its created_at, now
// when that is absent or unusable, and at most now plus maxClockSkew.
func effectiveTime(created, now time.Time) time.Time {
	if !publishable(created) {
		return now
	}
	if ceiling := now.Add(maxClockSkew); created.After(ceiling) {
		return ceiling
	}
	return created
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// newItems returns the items of a media/changed answer that were never
// published, oldest first, and records them as seen.
func (m *mediaStore) newItems(items []blink.Media, now time.Time) []blink.Media {
	var fresh []blink.Media
	eff := map[int64]time.Time{}
	for _, it := range items {
		if it.Deleted || it.ID == 0 {
			continue
		}
		t := effectiveTime(it.CreatedAt, now)
		if seen, ok := m.seen[it.ID]; ok {
			// A clip dated ahead (or undated) keeps coming back: keep
			// remembering it for as long as it does.
			if t.After(seen) {
				m.seen[it.ID] = t
			}
			continue
		}
		if _, dup := eff[it.ID]; dup || t.Before(m.floor) {
			continue
		}
		eff[it.ID] = t
		fresh = append(fresh, it)
	}
	slices.SortStableFunc(fresh, func(a, b blink.Media) int { return eff[a.ID].Compare(eff[b.ID]) })
	for _, it := range fresh {
		t := eff[it.ID]
		m.seen[it.ID] = t
		if t.After(m.watermark) {
			m.watermark = t
		}
	}
	forgetBefore(m.seen, m.watermark, mediaLookback, &m.floor)
	return fresh
}

// forgetBefore drops the keys of seen older than lookback before watermark
// and raises floor to that cut: what is older is never new again, so its
// keys need not be kept.
func forgetBefore[K comparable](seen map[K]time.Time, watermark time.Time, lookback time.Duration, floor *time.Time) {
	cut := watermark.Add(-lookback)
	for k, t := range seen {
		if t.Before(cut) {
			delete(seen, k)
		}
	}
	if cut.After(*floor) {
		*floor = cut
	}
}

// Where an event's clip is kept: Blink's cloud, or a sync module's USB storage.
const (
	storageCloud = "cloud"
	storageLocal = "local"
)

// eventPayload is one message on <root>/events (README: Topics). Its JSON
// is eventWire: a cloud event's id is the media id (a number); a local
// clip's is its manifest id (a string), and its device_id, clip and
// thumbnail are null when unknown.
type eventPayload struct {
	ID         int64  // media id (cloud)
	LocalID    string // clip id in the manifest (local)
	Storage    string // storageCloud or storageLocal
	Type       string
	NetworkID  int64
	DeviceID   int64 // 0: a local clip whose camera is not known
	DeviceName string
	CreatedAt  *time.Time
	Clip       string
	Thumbnail  string
}

type eventWire struct {
	ID         any        `json:"id"`
	Type       string     `json:"type"`
	Storage    string     `json:"storage"`
	NetworkID  int64      `json:"network_id"`
	DeviceID   *int64     `json:"device_id"`
	DeviceName string     `json:"device_name"`
	CreatedAt  *time.Time `json:"created_at"`
	Clip       *string    `json:"clip"`
	Thumbnail  *string    `json:"thumbnail"`
}

// MarshalJSON writes the event as its message on <root>/events.
func (e eventPayload) MarshalJSON() ([]byte, error) {
	w := eventWire{ID: e.ID, Type: e.Type, Storage: e.Storage, NetworkID: e.NetworkID, DeviceID: &e.DeviceID,
		DeviceName: e.DeviceName, CreatedAt: e.CreatedAt, Clip: &e.Clip, Thumbnail: &e.Thumbnail}
	if e.Storage == storageLocal {
		w.ID = e.LocalID
		w.DeviceID, w.Clip, w.Thumbnail = nonZero(w.DeviceID), nonZero(w.Clip), nonZero(w.Thumbnail)
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads a message on <root>/events back (tests, tools).
func (e *eventPayload) UnmarshalJSON(b []byte) error {
	var w struct {
		eventWire
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = eventPayload{Storage: w.Storage, Type: w.Type, NetworkID: w.NetworkID, DeviceName: w.DeviceName, CreatedAt: w.CreatedAt}
	if w.DeviceID != nil {
		e.DeviceID = *w.DeviceID
	}
	if w.Clip != nil {
		e.Clip = *w.Clip
	}
	if w.Thumbnail != nil {
		e.Thumbnail = *w.Thumbnail
	}
	if err := json.Unmarshal(w.ID, &e.LocalID); err == nil {
		return nil
	}
	return json.Unmarshal(w.ID, &e.ID)
}

// nonZero is p, or nil when *p is its type's zero value.
func nonZero[T comparable](p *T) *T {
	var zero T
	if *p == zero {
		return nil
	}
	return p
}

// eventType maps Blink's source onto the contract's event types. Doorbell
// presses are not distinguishable in the feed, so they stay motion.
func eventType(m blink.Media) string {
	switch m.Source {
	case "liveview":
		return discovery.EventLiveview
	case "snapshot":
		return discovery.EventSnapshot
	}
	return discovery.EventMotion
}

// mediaWatcher turns the media/changed feed into events: one message per
// new item on <root>/events, motion ON, the HA event entity, last event.
// Its cursor is used only from the poller's goroutine, so it has no lock.
type mediaWatcher struct {
	store  mediaStore
	cloud  *cloudGate
	model  *model
	writer *stateWriter
	conn   *connection
	clips  *clipSaver
	events *eventLog
	topics discovery.Topics
	opts   *Options
	log    zerolog.Logger
	emit   func(Event)
	// motionStarted tells the poller a hold timer began.
	motionStarted func()
	// cloudMotion tells the local-storage watcher that a network's motion
	// clips arrive in the cloud feed (nil: nobody listens).
	cloudMotion func(network int64)
}

// poll reads media/changed, publishes one event per new item, turns motion
// on, and saves the cursor. It returns how many items were new.
func (w *mediaWatcher) poll(ctx context.Context) (int, error) {
	if !w.writer.isReady() {
		// An event published now would be lost (paho drops what was queued
		// before the first connection) while the cursor moved past it.
		// The feed keeps the clips; the first poll after connecting gets them.
		return 0, errNotConnected
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	started := time.Now()
	items, err := w.cloud.MediaChanged(ctx, w.store.watermark.Add(-mediaLookback))
	w.emit(Event{Kind: EventPoll, Name: "media", Err: err, Duration: time.Since(started)})
	if err != nil {
		return 0, fmt.Errorf("poll media: %w", err)
	}
	fresh := w.store.newItems(items, w.opts.Now())
	if len(fresh) == 0 {
		return 0, nil
	}
	for _, m := range fresh {
		w.publish(m)
	}
	if err := w.store.save(w.model.lastEvents()); err != nil {
		w.log.Error().Err(err).Msg("could not save the media cursor; a restart may publish these events again")
	}
	w.writer.syncWait(ctx)
	return len(fresh), nil
}

// errNotConnected: a media poll waits for the broker (see poll).
var errNotConnected = errors.New("not connected to the broker yet")

// publish publishes one new media item (see announce).
func (w *mediaWatcher) publish(m blink.Media) {
	snap := w.model.snapshot()
	k := mediaDevice(snap.hs, m)
	typ := eventType(m)
	now := w.opts.Now()
	// A clip is listed only after it was recorded and uploaded; allow for
	// that, but do not switch motion on for clips from while we were down.
	recent := w.opts.HoldTime + 2*w.opts.MediaPollInterval + time.Minute
	name := m.DeviceName
	if d, ok := snap.device(k); ok && d.Name != "" {
		name = d.Name
	}
	at := effectiveTime(m.CreatedAt, now)
	w.announce(newItem{
		key: k, known: true, typ: typ, at: at,
		motion: typ != discovery.EventLiveview && now.Sub(at) < recent,
		ev: eventPayload{
			ID: m.ID, Storage: storageCloud, Type: typ, NetworkID: m.NetworkID, DeviceID: m.DeviceID, DeviceName: name,
			CreatedAt: timeOrNil(m.CreatedAt), Clip: m.Clip, Thumbnail: blink.MediaThumbnailPath(m.Thumbnail),
		},
		clip: w.clips.cloudSource(m),
	})
	if typ == discovery.EventMotion && w.cloudMotion != nil {
		w.cloudMotion(m.NetworkID)
	}
	w.log.Info().Int64("media", m.ID).Str("type", typ).Stringer("device", k).
		Time("created_at", m.CreatedAt).Msg("new media")
}

// newItem is one new clip — from the cloud feed or a USB storage — to
// announce.
type newItem struct {
	key devKey
	// known is false for a local clip whose camera matched no device: it
	// gets its event on <root>/events only.
	known bool
	typ   string
	at    time.Time // its effective time (effectiveTime)
	// motion switches the device's motion sensor ON (a recent motion clip).
	motion bool
	ev     eventPayload
	clip   *clipSource // nil: nothing to save
}

// announce publishes a new item the same way whatever its storage: the
// device's last event and motion ON when it.motion at once, the HA event
// entity, and the message on <root>/events — with MediaDir after its clip
// was saved (clipSaver). Safe to call from any goroutine.
func (w *mediaWatcher) announce(it newItem) {
	snap := w.model.snapshot()
	now := w.opts.Now()
	if it.known {
		w.model.noteMedia(it.key, earlier(it.at, now), it.motion, time.Now().Add(w.opts.HoldTime))
		if it.motion {
			w.motionStarted()
		}
	}
	if !w.clips.deferEvent(it.clip, it.ev) {
		w.publishEvent(it.ev)
	}
	if it.known {
		et, _ := json.Marshal(map[string]string{"event_type": it.typ})
		w.conn.publish(w.topics.NodeEntity(snap.nodes.Node(it.key), discovery.EntityEvent), 0, false, et)
	}
	w.emit(Event{Kind: EventMedia, Name: it.typ, Count: 1})
}

// publishEvent publishes one message on <root>/events and keeps it among
// the recent events; every event, saved clip or not, goes out here.
func (w *mediaWatcher) publishEvent(ev eventPayload) {
	body, err := json.Marshal(ev)
	if err != nil {
		w.log.Error().Err(err).Int64("media", ev.ID).Str("local_clip", ev.LocalID).Msg("cannot encode the event; not published")
		return
	}
	w.conn.publish(w.topics.Events(), 1, false, body)
	w.events.add(recentEventOf(ev, w.opts.Now()))
}

// mediaDevice finds the device a media item belongs to. The feed gives the
// network and the device id; when several families of the network use that
// id, its "device" field (a family or a type) and the name decide, then
// nodeOrder's first family. An unknown device gets an empty family.
func mediaDevice(hs *blink.Homescreen, m blink.Media) devKey {
	var found []blink.Device
	if hs != nil {
		for _, d := range hs.Devices {
			if d.NetworkID == m.NetworkID && d.ID == m.DeviceID {
				found = append(found, d)
			}
		}
	}
	switch len(found) {
	case 0:
		return devKey{Network: m.NetworkID, ID: m.DeviceID}
	case 1:
		return discovery.KeyOf(found[0])
	}
	for _, match := range []func(blink.Device) bool{
		func(d blink.Device) bool { return strings.EqualFold(string(d.Family), m.Device) },
		func(d blink.Device) bool { return strings.EqualFold(d.Type, m.Device) },
		func(d blink.Device) bool { return m.DeviceName != "" && d.Name == m.DeviceName },
	} {
		if i := slices.IndexFunc(found, match); i >= 0 {
			return discovery.KeyOf(found[i])
		}
	}
	for _, f := range []blink.Family{blink.FamilyCamera, blink.FamilyOwl, blink.FamilyDoorbell} {
		if i := slices.IndexFunc(found, func(d blink.Device) bool { return d.Family == f }); i >= 0 {
			return discovery.KeyOf(found[i])
		}
	}
	return discovery.KeyOf(found[0])
}
