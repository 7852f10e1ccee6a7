package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// The USB storage of Sync Module 2s (local storage). Owners without a Blink
// subscription keep their clips there and media/changed stays empty, so the
// only way to see their motion is the sync module's manifest, which costs
// several requests and occupies the sync module (localStorage.check). So:
//
//   - only networks that can record onto a stick are checked: armed, with a
//     sync module whose homescreen says local_storage_status "active";
//     nothing while disarmed, and a network whose motion clips arrive in the
//     cloud feed (a subscription) is left alone for cloudQuiet;
//   - a check starts at most LocalStorageInterval after the previous one;
//     when the homescreen the poller reads shows a camera's thumbnail or
//     updated_at move (the cheapest sign of a new clip) it starts sooner, but
//     never within localFloor of the previous start; one last check follows
//     a disarm, for a clip recorded just before it;
//   - every step goes onto the network's command queue (runner.submit), so
//     it never collides with an arm, disarm or other command;
//   - new clips are published exactly like cloud clips (mediaWatcher.announce),
//     de-duplicated by camera, created_at and size (localCursor), which
//     survive a manifest rebuild; nothing is checked while the broker is
//     down, so nothing found then is lost.

// DefaultLocalStorageInterval is Options.LocalStorageInterval's default.
const DefaultLocalStorageInterval = 60 * time.Second

const (
	// localFloor is the least time between the starts of two checks of
	// one network, whatever triggers them (the interval, when shorter).
	localFloor = 30 * time.Second
	// localTries bounds the attempts of one step of a check (busy, manifest
	// not built yet); localRetryBase is the first wait, doubling, plus up to
	// a second (what public clients do: 3 s · 2^n).
	localTries     = 4
	localRetryBase = 3 * time.Second
	// localIdle is how soon a check skipped for the broker, the login or a
	// rate limit is looked at again (no request is made meanwhile).
	localIdle = 5 * time.Second
	// cloudQuiet is how long a network whose motion clip came through the
	// cloud feed is not checked.
	cloudQuiet = 24 * time.Hour
	// maxLocalPerCheck bounds the events one check publishes (after a long
	// downtime); the rest follow on the next checks, oldest first.
	maxLocalPerCheck = 100
	// maxLocalSaves bounds the clips one check downloads with MediaDir: each
	// is an upload by the sync module and a download.
	maxLocalSaves = 10
)

// localStorageCloud is what the watcher needs from Blink beyond Cloud.
type localStorageCloud interface {
	RequestLocalManifest(ctx context.Context, sm blink.SyncModuleRef) (int64, error)
	LocalManifest(ctx context.Context, sm blink.SyncModuleRef, requestID int64) (*blink.LocalManifest, error)
	RequestLocalClip(ctx context.Context, sm blink.SyncModuleRef, manifestID, clipID string) error
	DownloadLocalClip(ctx context.Context, sm blink.SyncModuleRef, manifestID, clipID string, w io.Writer, maxBytes int64) (int64, error)
}

var _ localStorageCloud = (*blink.Client)(nil)

// localStorage watches the USB storage of armed networks (see above). The
// cursor, the schedule and what it saw of the homescreen are owned by run.
type localStorage struct {
	cloud  localStorageCloud
	gate   *cloudGate
	runner *runner
	model  *model
	writer *stateWriter
	media  *mediaWatcher
	clips  *clipSaver
	opts   *Options
	log    zerolog.Logger
	emit   func(Event)

	kick chan struct{} // cap 1: a new homescreen or a cloud clip

	// mu guards the networks seen recording to the cloud: the inbox run
	// takes them from, and until when each is left alone (for recordsToUSB).
	mu         sync.Mutex
	cloudInbox map[int64]time.Time
	cloudNets  map[int64]time.Time

	// Owned by run.
	cursor localCursor
	nets   map[int64]*localNet
	marks  map[devKey]string // each device's thumbnail and updated_at as last seen
	warned map[string]bool   // camera names already logged as unknown or ambiguous
}

// localNet is the schedule of one network.
type localNet struct {
	sm    int64
	next  time.Time // when the next check is due
	last  time.Time // when the last check started
	fails int
	armed bool // checked regularly
	final bool // disarmed: one more check
}

// newLocalStorage returns the watcher, or nil when local storage is off or
// the cloud cannot reach it.
func newLocalStorage(o *Options, gate *cloudGate, cursor localCursor, log zerolog.Logger, emit func(Event)) *localStorage {
	lc, ok := o.Cloud.(localStorageCloud)
	if o.LocalStorageOff || !ok {
		return nil
	}
	p := &localStorage{
		cloud: lc, gate: gate, opts: o, log: log, emit: emit, cursor: cursor,
		kick: make(chan struct{}, 1), nets: map[int64]*localNet{}, marks: map[devKey]string{}, warned: map[string]bool{},
		cloudNets: map[int64]time.Time{},
	}
	for id, n := range cursor.nets {
		if !n.CloudUntil.IsZero() {
			p.cloudNets[id] = n.CloudUntil
		}
	}
	return p
}

// recordsToUSB reports whether network's clips go to its USB storage:
// active local storage and no motion clip of it seen in the cloud feed
// lately. The poller then reads media/changed at the slow cadence for it.
func (p *localStorage) recordsToUSB(hs *blink.Homescreen, network int64) bool {
	if !hasActiveStorage(hs, network) {
		return false
	}
	p.mu.Lock()
	until := p.cloudNets[network]
	p.mu.Unlock()
	return !until.After(p.opts.Now())
}

// observe hands the watcher a new homescreen (the poller calls it after
// every poll that stored one).
func (p *localStorage) observe() { signal(p.kick) }

// cloudClip tells the watcher that network's motion clips reach the cloud
// feed (the media watcher calls it for every new motion clip).
func (p *localStorage) cloudClip(network int64) {
	now := p.opts.Now()
	p.mu.Lock()
	if p.cloudInbox == nil {
		p.cloudInbox = map[int64]time.Time{}
	}
	p.cloudInbox[network] = now
	p.cloudNets[network] = now.Add(cloudQuiet)
	p.mu.Unlock()
	signal(p.kick)
}

// run checks networks as they come due until ctx ends.
func (p *localStorage) run(ctx context.Context) {
	for {
		p.plan(time.Now())
		var due <-chan time.Time
		var t *time.Timer
		if at, ok := p.nextDue(); ok {
			t = time.NewTimer(time.Until(at))
			due = t.C
		}
		select {
		case <-ctx.Done():
		case <-p.kick:
		case <-due:
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return
		}
		p.checkDue(ctx)
		if ctx.Err() != nil {
			return
		}
	}
}

// plan brings the schedule up to date with the latest homescreen: which
// networks are armed with active local storage, which were disarmed, and
// which show a sign of a new clip.
func (p *localStorage) plan(now time.Time) {
	p.takeCloudInbox()
	hs := p.model.snapshot().hs
	if hs == nil {
		return
	}
	armed := map[int64]bool{}
	for _, n := range hs.Networks {
		armed[n.ID] = n.Armed
	}
	watch := map[int64]int64{} // network → its sync module
	for _, sm := range hs.SyncModules {
		if strings.EqualFold(sm.LocalStorageStatus, "active") && armed[sm.NetworkID] && !p.cursor.cloudUntil(sm.NetworkID).After(p.opts.Now()) {
			watch[sm.NetworkID] = sm.ID
		}
	}
	interval := p.opts.LocalStorageInterval
	floor := min(localFloor, interval)
	for id, sm := range watch {
		n := p.nets[id]
		switch {
		case n == nil: // first seen since the start: catch up on clips made while we were down
			n = &localNet{next: now}
			p.nets[id] = n
		case !n.armed: // armed again: nothing was recorded while disarmed
			n.next = now.Add(interval)
		}
		n.sm, n.armed, n.final = sm, true, false
	}
	for id, n := range p.nets {
		if _, ok := watch[id]; ok || !n.armed {
			continue
		}
		// Disarmed (or the stick went): one last look for a clip recorded
		// just before, then nothing.
		n.armed, n.final = false, true
		n.next = later(now, n.last.Add(floor))
	}
	marks := make(map[devKey]string, len(hs.Devices))
	for _, d := range hs.Devices {
		k := discovery.KeyOf(d)
		mark := d.Thumbnail + "|" + d.UpdatedAt.UTC().Format(time.RFC3339Nano)
		marks[k] = mark
		old, had := p.marks[k]
		n := p.nets[d.NetworkID]
		if !had || old == mark || n == nil || !n.armed || p.opts.localNoTrigger {
			continue
		}
		if soon := later(now, n.last.Add(floor)); soon.Before(n.next) {
			p.log.Debug().Stringer("device", k).Time("check_at", soon).Msg("a camera's picture changed; checking its USB storage sooner")
			n.next = soon
		}
	}
	p.marks = marks
}

// takeCloudInbox moves the networks seen recording to the cloud into the
// cursor (only those with local storage matter).
func (p *localStorage) takeCloudInbox() {
	p.mu.Lock()
	inbox := p.cloudInbox
	p.cloudInbox = nil
	p.mu.Unlock()
	if len(inbox) == 0 {
		return
	}
	hs := p.model.snapshot().hs
	for id, at := range inbox {
		if hs == nil || !hasActiveStorage(hs, id) {
			continue
		}
		if !p.cursor.cloudUntil(id).After(at) {
			p.log.Info().Int64("network", id).Dur("for", cloudQuiet).
				Msg("this network's motion clips arrive in Blink's cloud (a subscription); its USB storage is not checked")
		}
		p.cursor.cloudMotion(id, at)
		delete(p.nets, id)
	}
	p.saveCursor()
}

func hasActiveStorage(hs *blink.Homescreen, network int64) bool {
	for _, sm := range hs.SyncModules {
		if sm.NetworkID == network && strings.EqualFold(sm.LocalStorageStatus, "active") {
			return true
		}
	}
	return false
}

// nextDue is when the first check is due.
func (p *localStorage) nextDue() (time.Time, bool) {
	var first time.Time
	for _, n := range p.nets {
		if (n.armed || n.final) && (first.IsZero() || n.next.Before(first)) {
			first = n.next
		}
	}
	return first, !first.IsZero()
}

// checkDue runs the checks that are due, oldest due first, one at a time.
func (p *localStorage) checkDue(ctx context.Context) {
	now := time.Now()
	var due []int64
	for id, n := range p.nets {
		if (n.armed || n.final) && !now.Before(n.next) {
			due = append(due, id)
		}
	}
	sort.Slice(due, func(i, j int) bool { return p.nets[due[i]].next.Before(p.nets[due[j]].next) })
	for _, id := range due {
		p.takeCloudInbox() // a subscriber's network found meanwhile is dropped
		n, ok := p.nets[id]
		if !ok {
			continue
		}
		if wait, why := p.blocked(); why != "" {
			p.log.Debug().Int64("network", id).Str("reason", why).Msg("local storage check postponed")
			n.next = time.Now().Add(wait)
			continue
		}
		started := time.Now()
		n.last = started
		err := p.check(ctx, id, n.sm)
		if ctx.Err() != nil {
			return
		}
		final := n.final
		n.final = false
		switch {
		case errors.Is(err, errNotConnected):
			n.next = time.Now().Add(min(localIdle, p.opts.LocalStorageInterval))
			n.final = final // not done: try again
		case err != nil:
			n.fails++
			n.next, _ = nextPollBackoff(time.Now(), p.opts.LocalStorageInterval, n.fails-1, err, jitter(10),
				p.opts.LocalStorageInterval, p.opts.PollBackoffMax)
			lvl := p.log.Debug()
			if n.fails == 1 || n.fails%10 == 0 {
				lvl = p.log.Warn()
			}
			lvl.Err(err).Int64("network", id).Int("failures", n.fails).Time("retry_at", n.next).Msg("local storage check failed")
		default:
			n.fails = 0
			// At most the interval from this start (the contract), a little
			// less so many installs do not check in step.
			iv := p.opts.LocalStorageInterval
			n.next = started.Add(iv - time.Duration(rand.Int64N(int64(iv)/33+1)))
		}
	}
}

// blocked says why no check may run now, and when to look again.
func (p *localStorage) blocked() (time.Duration, string) {
	wait := min(localIdle, p.opts.LocalStorageInterval)
	switch {
	case !p.model.authStatus().usable():
		return wait, "no usable Blink login"
	case !p.writer.isReady():
		return wait, "not connected to the broker"
	}
	if until := p.model.cooldownUntil(p.opts.Now()); until.After(p.opts.Now()) {
		return until.Sub(p.opts.Now()) + time.Second, "Blink rate limit"
	}
	return 0, ""
}

// check reads network's manifest through sm and publishes the clips never
// published before.
func (p *localStorage) check(ctx context.Context, network, sm int64) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	started := time.Now()
	man, err := p.readManifest(ctx, blink.SyncModuleRef{NetworkID: network, ID: sm})
	p.emit(Event{Kind: EventPoll, Name: "local_storage", Err: err, Duration: time.Since(started)})
	if err != nil {
		return fmt.Errorf("check local storage of network %d: %w", network, err)
	}
	p.model.noteLocalCheck(sm, p.opts.Now(), len(man.Clips))
	p.writer.requestSync()
	if man.Dropped > 0 {
		p.log.Debug().Int64("network", network).Int("dropped", man.Dropped).Msg("manifest entries without a usable id left out")
	}
	fresh := p.cursor.fresh(network, man.Clips, p.opts.Now(), maxLocalPerCheck)
	if len(fresh) == 0 {
		p.saveCursor()
		return nil
	}
	if !p.writer.isReady() {
		// The broker went away during the check: these stay new.
		return errNotConnected
	}
	ref := blink.SyncModuleRef{NetworkID: network, ID: sm}
	for i, f := range fresh {
		p.announce(ref, man.ID, f, len(fresh)-i <= maxLocalSaves)
	}
	p.cursor.commit(network, fresh)
	p.saveCursor()
	p.writer.syncWait(ctx)
	return nil
}

// readManifest asks the sync module for its manifest and reads it, each
// step on the network's queue and retried with backoff while the sync
// module is busy or still building it.
func (p *localStorage) readManifest(ctx context.Context, ref blink.SyncModuleRef) (*blink.LocalManifest, error) {
	var req int64
	err := p.retry(ctx, func() error {
		return p.runner.submit(ctx, ref.NetworkID, "local storage: request manifest", func(ctx context.Context) error {
			id, err := p.cloud.RequestLocalManifest(ctx, ref)
			req = id
			return p.gate.note(err)
		})
	})
	if err != nil {
		return nil, err
	}
	var man *blink.LocalManifest
	err = p.retry(ctx, func() error {
		return p.runner.submit(ctx, ref.NetworkID, "local storage: read manifest", func(ctx context.Context) error {
			m, err := p.cloud.LocalManifest(ctx, ref, req)
			man = m
			return p.gate.note(err)
		})
	})
	return man, err
}

// retry runs step up to localTries times while it fails busy or not ready.
func (p *localStorage) retry(ctx context.Context, step func() error) error {
	base := p.opts.localRetryBase
	if base <= 0 {
		base = localRetryBase
	}
	var err error
	for attempt := 1; attempt <= localTries; attempt++ {
		if err = step(); err == nil || !(errors.Is(err, blink.ErrBusy) || errors.Is(err, blink.ErrNotReady)) {
			return err
		}
		if attempt == localTries {
			break
		}
		d := base<<(attempt-1) + time.Duration(rand.Int64N(int64(base/3)+1))
		p.log.Debug().Err(err).Int("attempt", attempt).Dur("wait", d).Msg("sync module busy or manifest not ready; retrying")
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
	return err
}

// announce publishes one new clip of network ref.NetworkID like a cloud
// clip; with MediaDir and save, its file is fetched through the sync module.
func (p *localStorage) announce(ref blink.SyncModuleRef, manifestID string, f freshClip, save bool) {
	snap := p.model.snapshot()
	now := p.opts.Now()
	c := f.clip
	d, match := localDevice(snap.hs, ref.NetworkID, c.CameraName)
	known := match == nameFound
	name := c.CameraName
	var k devKey
	if known {
		k, name = discovery.KeyOf(d), d.Name
	} else if !p.warned[c.CameraName] {
		p.warned[c.CameraName] = true
		p.log.Warn().Int64("network", ref.NetworkID).Str("camera_name", c.CameraName).Stringer("match", match).
			Msg("a local clip's camera matches no single device of its network; its events carry device_id null")
	}
	// Seen only at the next check after recording and building the
	// manifest: allow for that, but not for clips from while we were down.
	recent := p.opts.HoldTime + 2*p.opts.LocalStorageInterval + time.Minute
	ev := eventPayload{
		LocalID: c.ID, Storage: storageLocal, Type: discovery.EventMotion, NetworkID: ref.NetworkID,
		DeviceID: d.ID, DeviceName: name, CreatedAt: timeOrNil(c.CreatedAt),
	}
	var src *clipSource
	if save {
		src = p.clipSource(ref, manifestID, c, d, f.at)
	}
	p.media.announce(newItem{key: k, known: known, typ: discovery.EventMotion, at: f.at,
		motion: known && now.Sub(f.at) < recent, ev: ev, clip: src})
	p.log.Info().Int64("network", ref.NetworkID).Str("local_clip", c.ID).Str("camera", c.CameraName).
		Time("created_at", c.CreatedAt).Msg("new clip on USB storage")
}

// clipSource is how the clip saver fetches a local clip: the sync module
// uploads it to the cloud (a command), then it is downloaded — both on the
// network's queue. nil when clips are not saved or its id cannot name a
// file.
func (p *localStorage) clipSource(ref blink.SyncModuleRef, manifestID string, c blink.LocalClip, d blink.Device, at time.Time) *clipSource {
	if p.clips.dir == "" || !isDigits(c.ID) {
		return nil
	}
	dev := "unknown"
	if d.ID != 0 {
		dev = strconv.FormatInt(d.ID, 10)
	}
	uploaded := false // only the clip worker's goroutine calls fetch
	return &clipSource{
		what: "local clip " + c.ID, path: clipFile(p.clips.dir, ref.NetworkID, dev, at, c.ID), created: at,
		fetch: func(ctx context.Context, w io.Writer) error {
			if !uploaded {
				err := p.runner.submit(ctx, ref.NetworkID, "local storage: upload clip", func(ctx context.Context) error {
					return p.gate.note(p.cloud.RequestLocalClip(ctx, ref, manifestID, c.ID))
				})
				if err != nil {
					return err
				}
				uploaded = true
			}
			return p.runner.submit(ctx, ref.NetworkID, "local storage: download clip", func(ctx context.Context) error {
				_, err := p.cloud.DownloadLocalClip(ctx, ref, manifestID, c.ID, w, maxClipBytes)
				return p.gate.note(err)
			})
		},
	}
}

// saveCursor writes the cursor when it changed; a failure is logged (a
// restart may then publish these clips again).
func (p *localStorage) saveCursor() {
	if !p.cursor.dirty {
		return
	}
	if err := p.cursor.save(p.model.lastEvents()); err != nil {
		p.log.Error().Err(err).Msg("could not save the local storage cursor; a restart may publish these clips again")
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
