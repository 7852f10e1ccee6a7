package bridge

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// snapshot is one homescreen as the bridge uses it. It is immutable: a
// change (a poll, a command's result) stores a new snapshot, so anyone may
// read one without a lock.
type snapshot struct {
	hs    *blink.Homescreen
	nodes *discovery.Nodes
	// started is when the request behind hs was sent.
	started time.Time
	// seq grows with every stored snapshot (the writer skips discovery
	// work for a snapshot it already described).
	seq uint64
}

// device returns the device with key k.
func (s *snapshot) device(k devKey) (blink.Device, bool) {
	if s == nil || s.hs == nil {
		return blink.Device{}, false
	}
	for _, d := range s.hs.Devices {
		if discovery.KeyOf(d) == k {
			return d, true
		}
	}
	return blink.Device{}, false
}

// model is what the bridge knows: the latest homescreen and what overlays
// it — command results newer than it, alarm states while a command runs,
// motion holds, last events, the login state, Blink's cooldown. It does no
// I/O; its lock is never held while anything else happens. Maps are
// replaced, never changed in place, so a view shares them safely.
type model struct {
	now  func() time.Time
	snap atomic.Pointer[snapshot]

	mu  sync.Mutex
	seq uint64
	// netCmdAt / devCmdAt: when the last command on a network / device
	// completed; a homescreen requested before then is older than the
	// command's result and must not undo it.
	netCmdAt    map[int64]time.Time
	devCmdAt    map[devKey]time.Time
	alarm       map[int64]string
	motionUntil map[devKey]time.Time
	lastEvent   map[devKey]time.Time
	auth        AuthStatus
	pendingCode blink.Secret
	cooldown    time.Time
	lastPoll    time.Time
	// localChecks is each sync module's last check of its USB storage.
	localChecks map[int64]localCheck
}

// localCheck is one check of a sync module's USB storage.
type localCheck struct {
	at    time.Time
	clips int // in its manifest
}

func newModel(now func() time.Time, auth AuthStatus, lastEvents map[devKey]time.Time) *model {
	m := &model{
		now:         now,
		netCmdAt:    map[int64]time.Time{},
		devCmdAt:    map[devKey]time.Time{},
		alarm:       map[int64]string{},
		motionUntil: map[devKey]time.Time{},
		lastEvent:   maps.Clone(lastEvents),
		auth:        auth,
	}
	if m.lastEvent == nil {
		m.lastEvent = map[devKey]time.Time{}
	}
	m.snap.Store(&snapshot{nodes: discovery.NodesOf(nil)})
	return m
}

// snapshot returns the latest homescreen snapshot (never nil; its hs is nil
// before the first poll).
func (m *model) snapshot() *snapshot { return m.snap.Load() }

func (m *model) storeLocked(hs *blink.Homescreen, started time.Time) {
	m.seq++
	m.snap.Store(&snapshot{hs: hs, nodes: discovery.NodesOf(hs), started: started, seq: m.seq})
}

// applyHomescreen stores a polled homescreen whose request was sent at
// started, keeping the results of commands that completed after that. It
// reports false for an answer older than the one it holds.
func (m *model) applyHomescreen(hs *blink.Homescreen, started time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.snap.Load()
	if started.Before(prev.started) {
		return false
	}
	m.netCmdAt = keepNewer(m.netCmdAt, started)
	m.devCmdAt = keepNewer(m.devCmdAt, started)
	if prev.hs != nil {
		keepCommandResults(hs, prev.hs, m.netCmdAt, m.devCmdAt)
	}
	m.storeLocked(hs, started)
	m.lastPoll = m.now()
	// State files from before families were part of a key name devices by
	// network and id; the first homescreen says which device that is.
	m.lastEvent = adoptLegacyKeys(m.lastEvent, hs)
	return true
}

// keepNewer drops the entries at or before t (a copy when any goes).
func keepNewer[K comparable](at map[K]time.Time, t time.Time) map[K]time.Time {
	return dropWhere(at, func(v time.Time) bool { return !v.After(t) })
}

// dropWhere returns m without the entries whose value matches drop: m
// itself when none does, else a copy (maps here are shared by views).
func dropWhere[K comparable, V any](m map[K]V, drop func(V) bool) map[K]V {
	var out map[K]V
	for k, v := range m {
		if drop(v) {
			if out == nil {
				out = maps.Clone(m)
			}
			delete(out, k)
		}
	}
	if out == nil {
		return m
	}
	return out
}

// keepCommandResults copies into hs what prev knew from commands that
// completed after hs was requested: hs cannot know about them yet.
func keepCommandResults(hs, prev *blink.Homescreen, netCmd map[int64]time.Time, devCmd map[devKey]time.Time) {
	for id := range netCmd {
		i := slices.IndexFunc(prev.Networks, func(n blink.Network) bool { return n.ID == id })
		if i < 0 {
			continue
		}
		for j := range hs.Networks {
			if hs.Networks[j].ID == id {
				hs.Networks[j].Armed = prev.Networks[i].Armed
			}
		}
	}
	for k := range devCmd {
		i := slices.IndexFunc(prev.Devices, func(d blink.Device) bool { return discovery.KeyOf(d) == k })
		if i < 0 {
			continue
		}
		for j := range hs.Devices {
			if discovery.KeyOf(hs.Devices[j]) == k {
				hs.Devices[j].Enabled = prev.Devices[i].Enabled
			}
		}
	}
}

// adoptLegacyKeys gives keys loaded from state files written before
// families were part of a key (Family "") to the device of hs that has that
// network and id, when exactly one has; a key the device already has wins.
// It returns m itself when nothing moved.
func adoptLegacyKeys[V any](m map[devKey]V, hs *blink.Homescreen) map[devKey]V {
	var out map[devKey]V
	for k, v := range m {
		if k.Family != "" {
			continue
		}
		to, ok := uniqueDevice(hs, k)
		if !ok {
			continue // unknown, or ambiguous: left alone
		}
		if out == nil {
			out = maps.Clone(m)
		}
		delete(out, k)
		if _, has := out[to]; !has {
			out[to] = v
		}
	}
	if out == nil {
		return m
	}
	return out
}

// uniqueDevice is the one device of hs with k's network and id.
func uniqueDevice(hs *blink.Homescreen, k devKey) (devKey, bool) {
	var found []devKey
	for _, d := range hs.Devices {
		if d.NetworkID == k.Network && d.ID == k.ID {
			found = append(found, discovery.KeyOf(d))
		}
	}
	if len(found) != 1 {
		return devKey{}, false
	}
	return found[0], true
}

// networkCommandDone records a completed command on network id: its result
// (change applied to a copy of the homescreen) holds until a homescreen
// requested after now confirms or replaces it.
func (m *model) networkCommandDone(id int64, change func(*blink.Network)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.netCmdAt = withEntry(m.netCmdAt, id, time.Now())
	cur := m.snap.Load()
	m.storeLocked(withNetwork(cur.hs, id, change), cur.started)
}

// deviceCommandDone is networkCommandDone for a device.
func (m *model) deviceCommandDone(k devKey, change func(*blink.Device)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.devCmdAt = withEntry(m.devCmdAt, k, time.Now())
	cur := m.snap.Load()
	m.storeLocked(withDevice(cur.hs, k, change), cur.started)
}

// setAlarm overrides a network's alarm state while a command runs ("" ends
// the override).
func (m *model) setAlarm(net int64, state string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if state == "" {
		m.alarm = withoutEntry(m.alarm, net)
		return
	}
	m.alarm = withEntry(m.alarm, net, state)
}

// noteMedia records a new media item of device k seen at (its effective
// time) and, when motion, holds the motion sensor ON until until.
func (m *model) noteMedia(k devKey, at time.Time, motion bool, until time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if at.After(m.lastEvent[k]) {
		m.lastEvent = withEntry(m.lastEvent, k, at)
	}
	if motion {
		m.motionUntil = withEntry(m.motionUntil, k, until)
	}
}

// noteLocalCheck records a check of sync module sm's USB storage.
func (m *model) noteLocalCheck(sm int64, at time.Time, clips int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.localChecks = withEntry(m.localChecks, sm, localCheck{at: at, clips: clips})
}

// lastEvents returns each device's last event (do not modify).
func (m *model) lastEvents() map[devKey]time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastEvent
}

// expireMotion turns motion OFF where the hold ended by now; it reports
// whether any did.
func (m *model) expireMotion(now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	before := len(m.motionUntil)
	m.motionUntil = dropWhere(m.motionUntil, func(t time.Time) bool { return !now.Before(t) })
	return len(m.motionUntil) != before
}

// nextMotionEnd is when the first motion hold ends.
func (m *model) nextMotionEnd() (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var first time.Time
	for _, t := range m.motionUntil {
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	return first, !first.IsZero()
}

// setAuth records a new login state; changed is false when it is the same.
func (m *model) setAuth(state AuthState, detail string) (prev AuthState, changed bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev = m.auth.State
	if prev == state && m.auth.Detail == detail {
		return prev, false
	}
	m.auth = AuthStatus{State: state, Detail: detail, Since: m.now()}
	return prev, true
}

// authStatus returns the login state.
func (m *model) authStatus() AuthStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.auth
}

// setPendingCode keeps the 2FA code typed into Home Assistant until it is
// submitted.
func (m *model) setPendingCode(code blink.Secret) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pendingCode = code
}

// pendingCodeValue returns the typed 2FA code ("" when none).
func (m *model) pendingCodeValue() blink.Secret {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pendingCode
}

// noteCooldown records that Blink throttles us until until.
func (m *model) noteCooldown(until time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if until.After(m.cooldown) {
		m.cooldown = until
	}
}

// cooldownUntil is the end of Blink's cooldown, zero when none is running
// at now.
func (m *model) cooldownUntil(now time.Time) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.cooldown.After(now) {
		m.cooldown = time.Time{}
	}
	return m.cooldown
}

// lastPollAt is when the last homescreen poll succeeded (payload clock).
func (m *model) lastPollAt() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastPoll
}

// view returns everything the retained state is computed from; the maps
// are shared and never change.
func (m *model) view(now time.Time) *stateView {
	snap := m.snap.Load()
	m.mu.Lock()
	defer m.mu.Unlock()
	return &stateView{
		now:         now,
		hs:          snap.hs,
		nodes:       snap.nodes,
		blinkOK:     m.auth.usable(),
		alarm:       m.alarm,
		motionUntil: m.motionUntil,
		lastEvent:   m.lastEvent,
		localChecks: m.localChecks,
		bridge: bridgeView{
			auth:         m.auth,
			codePending:  !m.pendingCode.IsZero(),
			requestsHour: -1,
		},
	}
}

// withEntry returns a copy of m with k set to v.
func withEntry[K comparable, V any](m map[K]V, k K, v V) map[K]V {
	out := make(map[K]V, len(m)+1)
	maps.Copy(out, m)
	out[k] = v
	return out
}

// withoutEntry returns m without k (m itself when k is absent).
func withoutEntry[K comparable, V any](m map[K]V, k K) map[K]V {
	if _, ok := m[k]; !ok {
		return m
	}
	out := maps.Clone(m)
	delete(out, k)
	return out
}

// withNetwork returns a copy of hs with network id changed by f.
func withNetwork(hs *blink.Homescreen, id int64, f func(*blink.Network)) *blink.Homescreen {
	if hs == nil {
		return nil
	}
	c := *hs
	c.Networks = slices.Clone(hs.Networks)
	for i := range c.Networks {
		if c.Networks[i].ID == id {
			f(&c.Networks[i])
		}
	}
	return &c
}

// withDevice returns a copy of hs with device k changed by f.
func withDevice(hs *blink.Homescreen, k devKey, f func(*blink.Device)) *blink.Homescreen {
	if hs == nil {
		return nil
	}
	c := *hs
	c.Devices = slices.Clone(hs.Devices)
	for i := range c.Devices {
		if discovery.KeyOf(c.Devices[i]) == k {
			f(&c.Devices[i])
		}
	}
	return &c
}
