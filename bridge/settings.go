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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/atomicfile"
)

// settingsCloud is what the settings part needs from Blink; *blink.Client
// has it. A Cloud without it (unit-test fakes) leaves the part idle.
type settingsCloud interface {
	DeviceSettings(ctx context.Context, d blink.DeviceRef) (*blink.DeviceSettings, error)
	UpdateSettings(ctx context.Context, d blink.DeviceRef, changes []blink.SettingChange) (*blink.CommandResult, error)
	Programs(ctx context.Context, networkID int64) ([]blink.Program, error)
	SetProgramEnabled(ctx context.Context, networkID, programID int64, enabled bool) error
	Notifications(ctx context.Context) ([]blink.NotificationFlag, error)
	SetNotifications(ctx context.Context, flags []blink.NotificationFlag) error
}

var _ settingsCloud = (*blink.Client)(nil)

// Timing of settings reads (README: Settings, schedules and notifications).
const (
	// defaultSettingsInterval is the least time between two scheduled reads
	// of one source; with more sources than devices the cycle stretches so
	// re-reads stay at one request per device per hour.
	defaultSettingsInterval = time.Hour
	// defaultSettingsSpacing spreads the first reads (and a rediscover's)
	// out behind the polls on the shared rate limiter.
	defaultSettingsSpacing = 3 * time.Second
	// defaultSettingsFloor is the least time between two rediscover-asked
	// re-reads of everything: a flood of rediscover costs one.
	defaultSettingsFloor = 15 * time.Minute
	// settingsRetryBase and the interval bound the backoff after a failed read.
	settingsRetryBase = 5 * time.Minute
	// settingsAuthWait is how often a part waiting for a usable login looks again.
	settingsAuthWait = time.Minute
)

const settingsFileName = "settings.json"

// settingsPart owns what the bridge knows of device settings, schedules and
// notification flags, and when they are read: after the first homescreen
// (spread out), after each change, on rediscover, and at most hourly
// afterwards — never with the polls. Its state is one immutable value
// behind an atomic pointer (the writer and the ledger read it without a
// lock); mu serialises its replacement. run is its one goroutine: it owns
// the read schedule and the state file.
type settingsPart struct {
	cloud  settingsCloud // nil: idle
	gate   *cloudGate
	model  *model
	writer *stateWriter
	topics discovery.Topics
	log    zerolog.Logger
	emit   func(Event)
	path   string

	interval, spacing, floor time.Duration

	cur   atomic.Pointer[settingsState]
	mu    sync.Mutex // serialises store
	kick  chan struct{}
	again atomic.Bool // rediscover asked for a re-read of everything
	dirty atomic.Bool // the state changed: run writes the state file
	saved []byte      // the state file as last written (run only)
	// firstRound is closed when every source of the first homescreen was
	// read once (or failed) and the state published.
	firstRound chan struct{}
}

// settingsState is one immutable view of the settings: the values last
// read (from this run, or from the state file until the first reads) and
// what discovery makes of their shape. Values loaded from the file have a
// zero started time, so any read replaces them.
type settingsState struct {
	devices  map[devKey]deviceRead
	programs map[int64]programsRead
	notify   *notifyRead

	shapeKey string // which settings, schedules and flags exist
	shapeSeq uint64 // grows when shapeKey changes
	extras   *discovery.Extras
}

type deviceRead struct {
	s       *blink.DeviceSettings
	started time.Time
}

type programsRead struct {
	list    []blink.Program
	started time.Time
}

type notifyRead struct {
	flags   []blink.NotificationFlag
	started time.Time
}

func newSettingsPart(opts *Options, gate *cloudGate, log zerolog.Logger, emit func(Event)) *settingsPart {
	s := &settingsPart{
		gate: gate, topics: opts.Topics, log: log, emit: emit,
		path:       filepath.Join(opts.StateDir, settingsFileName),
		interval:   orDefault(opts.settingsInterval, defaultSettingsInterval),
		spacing:    orDefault(opts.settingsSpacing, defaultSettingsSpacing),
		floor:      orDefault(opts.settingsFloor, defaultSettingsFloor),
		kick:       make(chan struct{}, 1),
		firstRound: make(chan struct{}),
	}
	if c, ok := gate.Cloud.(settingsCloud); ok {
		s.cloud = c
	}
	st := &settingsState{}
	if f, err := loadSettingsFile(s.path); err != nil {
		log.Warn().Err(err).Msg("settings state file unreadable; settings are published after the first reads")
	} else if f != nil {
		st = f.state()
	}
	st.reshape(nil)
	s.cur.Store(st)
	return s
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// state returns the current settings (never nil).
func (s *settingsPart) state() *settingsState { return s.cur.Load() }

// noteHomescreen wakes run: the first homescreen starts the reads, later
// ones may add or drop devices.
func (s *settingsPart) noteHomescreen() { signal(s.kick) }

// rediscover asks for every source to be read again (at most once per
// floor); run spreads the reads out.
func (s *settingsPart) rediscover() {
	s.again.Store(true)
	signal(s.kick)
}

// store replaces the state with f's change of a copy and asks the writer
// to publish it.
func (s *settingsPart) store(f func(*settingsState)) {
	s.mu.Lock()
	old := s.cur.Load()
	next := *old
	f(&next)
	next.reshape(old)
	s.cur.Store(&next)
	s.mu.Unlock()
	s.dirty.Store(true)
	signal(s.kick) // run saves the state file
	s.writer.requestSync()
}

// reshape recomputes the shape key and, when it changed from prev's, the
// discovery extras.
func (st *settingsState) reshape(prev *settingsState) {
	st.shapeKey = st.shapeString()
	if prev != nil && prev.shapeKey == st.shapeKey {
		return
	}
	if prev != nil {
		st.shapeSeq = prev.shapeSeq + 1
	} else if st.shapeKey != "" {
		st.shapeSeq = 1
	}
	st.extras = st.buildExtras()
}

// shapeString names every setting, schedule and flag, in a fixed order.
func (st *settingsState) shapeString() string {
	var b strings.Builder
	for _, k := range slices.SortedFunc(maps.Keys(st.devices), compareKeys) {
		b.WriteString("d" + k.String())
		if r := st.devices[k]; r.s != nil {
			for _, x := range r.s.Settings {
				b.WriteString(" " + x.Name)
			}
		}
		b.WriteByte('\n')
	}
	for _, n := range slices.Sorted(maps.Keys(st.programs)) {
		b.WriteString("p" + strconv.FormatInt(n, 10))
		for _, p := range st.programs[n].list {
			b.WriteString(" " + strconv.FormatInt(p.ID, 10) + "=" + strconv.Quote(p.Name))
		}
		b.WriteByte('\n')
	}
	if st.notify != nil {
		b.WriteString("n")
		for _, f := range st.notify.flags {
			b.WriteString(" " + f.Name)
		}
	}
	return b.String()
}

func compareKeys(a, b devKey) int { return strings.Compare(a.String(), b.String()) }

// buildExtras is the state as discovery takes it.
func (st *settingsState) buildExtras() *discovery.Extras {
	x := &discovery.Extras{Settings: map[discovery.DeviceKey][]string{}, Programs: map[int64][]blink.Program{}}
	for k, r := range st.devices {
		if r.s == nil {
			continue
		}
		names := make([]string, 0, len(r.s.Settings))
		for _, s := range r.s.Settings {
			names = append(names, s.Name)
		}
		x.Settings[k] = names
	}
	for n, r := range st.programs {
		x.Programs[n] = r.list
	}
	if st.notify != nil {
		for _, f := range st.notify.flags {
			x.Notifications = append(x.Notifications, f.Name)
		}
	}
	return x
}

// storeDevice keeps a device's settings read at started, unless a newer
// read is already held.
func (s *settingsPart) storeDevice(k devKey, ds *blink.DeviceSettings, started time.Time) {
	s.store(func(st *settingsState) {
		if prev, ok := st.devices[k]; ok && prev.started.After(started) {
			return
		}
		st.devices = withEntry(st.devices, k, deviceRead{s: ds, started: started})
	})
}

func (s *settingsPart) storePrograms(net int64, list []blink.Program, started time.Time) {
	s.store(func(st *settingsState) {
		if prev, ok := st.programs[net]; ok && prev.started.After(started) {
			return
		}
		st.programs = withEntry(st.programs, net, programsRead{list: list, started: started})
	})
}

func (s *settingsPart) storeNotifications(flags []blink.NotificationFlag, started time.Time) {
	s.store(func(st *settingsState) {
		if st.notify != nil && st.notify.started.After(started) {
			return
		}
		st.notify = &notifyRead{flags: flags, started: started}
	})
}

// forget drops what is known of devices and networks that left the account.
func (s *settingsPart) forget(devices map[devKey]bool, networks map[int64]bool) {
	st := s.state()
	stale := false
	for k := range st.devices {
		stale = stale || !devices[k]
	}
	for n := range st.programs {
		stale = stale || !networks[n]
	}
	if !stale {
		return
	}
	s.store(func(st *settingsState) {
		st.devices = maps.Clone(st.devices)
		maps.DeleteFunc(st.devices, func(k devKey, _ deviceRead) bool { return !devices[k] })
		st.programs = maps.Clone(st.programs)
		maps.DeleteFunc(st.programs, func(n int64, _ programsRead) bool { return !networks[n] })
	})
}

// ---- reads ----

// readDevice reads one device's config and stores its settings.
func (s *settingsPart) readDevice(ctx context.Context, d blink.Device) (*blink.DeviceSettings, error) {
	started := time.Now()
	ds, err := s.cloud.DeviceSettings(ctx, d.Ref())
	err = s.noted("settings", err, started)
	if err != nil {
		return nil, fmt.Errorf("read the settings of %s %d: %w", d.Family, d.ID, err)
	}
	s.storeDevice(discovery.KeyOf(d), ds, started)
	return ds, nil
}

func (s *settingsPart) readPrograms(ctx context.Context, net int64) ([]blink.Program, error) {
	started := time.Now()
	list, err := s.cloud.Programs(ctx, net)
	err = s.noted("settings", err, started)
	if err != nil {
		return nil, fmt.Errorf("read the schedules of network %d: %w", net, err)
	}
	s.storePrograms(net, list, started)
	return list, nil
}

func (s *settingsPart) readNotifications(ctx context.Context) ([]blink.NotificationFlag, error) {
	started := time.Now()
	flags, err := s.cloud.Notifications(ctx)
	err = s.noted("settings", err, started)
	if err != nil {
		return nil, fmt.Errorf("read the notification flags: %w", err)
	}
	s.storeNotifications(flags, started)
	return flags, nil
}

// noted passes a read's error through the cloud gate and reports the read
// for metrics.
func (s *settingsPart) noted(kind string, err error, started time.Time) error {
	err = s.gate.note(err)
	s.emit(Event{Kind: EventPoll, Name: kind, Err: err, Duration: time.Since(started)})
	return err
}

// ---- the state file ----

// settingsFile is the state file: the last values read, so a restart
// publishes what Home Assistant already has (nothing moves) and keeps the
// entities while the first reads run.
type settingsFile struct {
	Version       int                        `json:"version"`
	Devices       map[string]deviceFile      `json:"devices,omitempty"`  // devKey.String()
	Programs      map[string][]blink.Program `json:"programs,omitempty"` // network id
	Notifications []blink.NotificationFlag   `json:"notifications,omitempty"`
	HasNotify     bool                       `json:"has_notifications,omitempty"`
}

type deviceFile struct {
	Settings []blink.Setting `json:"settings"`
	WiFiDBm  *int            `json:"wifi_dbm,omitempty"`
}

const settingsFileVersion = 1

// Bounds on what a state file may bring back.
const (
	maxFileEntries  = 4096
	maxFilePrograms = 64
	maxFileFlags    = 64
)

func loadSettingsFile(path string) (*settingsFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var f settingsFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if f.Version != settingsFileVersion {
		return nil, fmt.Errorf("%s: version %d, want %d", path, f.Version, settingsFileVersion)
	}
	return &f, nil
}

// state is the file as a settings state, without what a damaged or
// hand-edited file could hold that discovery must not see.
func (f *settingsFile) state() *settingsState {
	st := &settingsState{devices: map[devKey]deviceRead{}, programs: map[int64]programsRead{}}
	for ks, d := range f.Devices {
		k, ok := discovery.ParseDeviceKey(ks)
		if !ok || !k.Family.Valid() || len(st.devices) >= maxFileEntries {
			continue
		}
		ds := &blink.DeviceSettings{WiFiDBm: d.WiFiDBm}
		seen := map[string]bool{}
		for _, x := range d.Settings {
			if !seen[x.Name] {
				seen[x.Name] = true
				ds.Settings = append(ds.Settings, x)
			}
		}
		st.devices[k] = deviceRead{s: ds}
	}
	for ns, list := range f.Programs {
		n, err := strconv.ParseInt(ns, 10, 64)
		if err != nil || n <= 0 || len(st.programs) >= maxFileEntries {
			continue
		}
		list = slices.DeleteFunc(slices.Clone(list), func(p blink.Program) bool { return p.ID <= 0 })
		st.programs[n] = programsRead{list: list[:min(len(list), maxFilePrograms)]}
	}
	if f.HasNotify {
		flags := slices.DeleteFunc(slices.Clone(f.Notifications), func(fl blink.NotificationFlag) bool {
			return !blink.ValidNotificationName(fl.Name)
		})
		st.notify = &notifyRead{flags: flags[:min(len(flags), maxFileFlags)]}
	}
	return st
}

// fileOf is the state as the state file keeps it.
func fileOf(st *settingsState) settingsFile {
	f := settingsFile{Version: settingsFileVersion, Devices: map[string]deviceFile{}, Programs: map[string][]blink.Program{}}
	for k, r := range st.devices {
		if r.s != nil {
			f.Devices[k.String()] = deviceFile{Settings: r.s.Settings, WiFiDBm: r.s.WiFiDBm}
		}
	}
	for n, r := range st.programs {
		f.Programs[strconv.FormatInt(n, 10)] = r.list
	}
	if st.notify != nil {
		f.Notifications, f.HasNotify = st.notify.flags, true
	}
	return f
}

// saveFile writes the state file when the state changed (run only).
func (s *settingsPart) saveFile() {
	if !s.dirty.Swap(false) {
		return
	}
	data, err := json.Marshal(fileOf(s.state()))
	if err == nil && bytes.Equal(data, s.saved) {
		return
	}
	if err == nil {
		err = atomicfile.Write(s.path, data, 0o600)
	}
	if err != nil {
		s.log.Warn().Err(err).Msg("could not save the settings state file")
		return
	}
	s.saved = data
}
