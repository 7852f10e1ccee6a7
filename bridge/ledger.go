package bridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/atomicfile"
)

const ledgerFileName = "discovery.json"

// ledgerFile is the persisted list of discovery config topics this bridge
// published, so configs of devices that left the account are removed even
// across restarts.
type ledgerFile struct {
	LayoutVersion int      `json:"layout_version"`
	Topics        []string `json:"topics"`
}

// discoveryLedger decides which discovery configs to publish and remove
// for the homescreen it is given, and keeps the ledger file. Only the state
// writer's goroutine uses it, so it has no lock.
type discoveryLedger struct {
	path    string
	opts    discovery.Options
	enabled bool
	log     zerolog.Logger

	file ledgerFile
	// published is what this connection published: config topic → payload.
	published map[string]string
	fp        uint64 // fingerprint of the homescreen last described
	seq       uint64 // snapshot last described
	xseq      uint64 // shape of the extras last described
}

// extrasView is the settings part's discovery extras and its shape's
// sequence number (it grows when the extras change).
type extrasView struct {
	extras *discovery.Extras
	seq    uint64
}

func loadLedger(dir string, opts discovery.Options, enabled bool, log zerolog.Logger) (*discoveryLedger, error) {
	l := &discoveryLedger{
		path: filepath.Join(dir, ledgerFileName), opts: opts, enabled: enabled, log: log,
		file:      ledgerFile{LayoutVersion: discovery.LayoutVersion},
		published: map[string]string{},
	}
	data, err := os.ReadFile(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return l, fmt.Errorf("read %s: %w", l.path, err)
	}
	var f ledgerFile
	if err := json.Unmarshal(data, &f); err != nil {
		return l, fmt.Errorf("decode %s: %w", l.path, err)
	}
	l.file = f
	return l, nil
}

// reset forgets what was published: a new connection publishes it all.
func (l *discoveryLedger) reset() {
	clear(l.published)
	l.fp, l.seq, l.xseq = 0, 0, 0
}

// discoveryPlan is one round of discovery work.
type discoveryPlan struct {
	publish []discovery.Message // configs to publish (new or changed)
	remove  []discovery.Message // configs of entities that are gone
	ledger  []string            // the ledger afterwards
	set     bool                // ledger is to be stored
}

// plan returns what to publish for snap: every config when all, else only
// those that changed (nothing at all when the homescreen's fingerprint did
// not move).
func (l *discoveryLedger) plan(snap *snapshot, x extrasView, all bool) discoveryPlan {
	if !l.enabled {
		if len(l.file.Topics) == 0 {
			return discoveryPlan{}
		}
		return discoveryPlan{remove: discovery.Removals(l.file.Topics, nil), ledger: []string{}, set: true}
	}
	if !all && snap.seq == l.seq && x.seq == l.xseq && len(l.published) > 0 {
		return discoveryPlan{}
	}
	l.seq = snap.seq
	fp := discoveryFingerprint(snap.hs)
	if !all && fp == l.fp && x.seq == l.xseq && len(l.published) > 0 {
		return discoveryPlan{}
	}
	l.xseq = x.seq
	msgs := discovery.BuildWith(l.opts, snap.hs, x.extras)
	var p discoveryPlan
	for _, m := range msgs {
		if old, ok := l.published[m.Topic]; ok && old == string(m.Payload) {
			continue
		}
		p.publish = append(p.publish, m)
		l.published[m.Topic] = string(m.Payload)
	}
	l.fp = fp
	if len(p.publish) > 0 {
		l.log.Info().Int("configs", len(p.publish)).Msg("published discovery")
	}
	cur := discovery.TopicsOf(msgs)
	if snap.hs == nil {
		// Without a homescreen only the bridge device is known: add its
		// topics to the ledger but remove nothing.
		p.ledger, p.set = union(l.file.Topics, cur), true
		return p
	}
	p.remove = discovery.Removals(l.file.Topics, msgs)
	p.ledger, p.set = cur, true
	return p
}

// commit records that p was carried out and stores the ledger.
func (l *discoveryLedger) commit(p discoveryPlan) {
	for _, m := range p.remove {
		delete(l.published, m.Topic)
	}
	if len(p.remove) > 0 {
		l.log.Info().Int("configs", len(p.remove)).Msg("removed discovery of entities that are gone")
	}
	if !p.set {
		return
	}
	topics := p.ledger
	if topics == nil {
		topics = []string{}
	}
	if slices.Equal(topics, l.file.Topics) && l.file.LayoutVersion == discovery.LayoutVersion {
		return
	}
	l.file = ledgerFile{LayoutVersion: discovery.LayoutVersion, Topics: topics}
	data, err := json.Marshal(l.file)
	if err == nil {
		err = atomicfile.Write(l.path, data, 0o600)
	}
	if err != nil {
		l.log.Error().Err(err).Msg("could not save the discovery ledger")
	}
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// discoveryFingerprint hashes the homescreen fields discovery depends on —
// ids, names, models, firmware and which values exist — and none of the
// fields that change with state (armed, enabled, status, values, times). A
// poll that only changed state then costs no discovery build.
// TestDiscoveryFingerprintCoversBuild guards the choice.
func discoveryFingerprint(hs *blink.Homescreen) uint64 {
	if hs == nil {
		return 1
	}
	h := fnv.New64a()
	w := func(ss ...string) {
		for _, s := range ss {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
	}
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	bit := func(ok bool) string {
		if ok {
			return "1"
		}
		return "0"
	}
	w(i(hs.AccountID))
	for _, n := range hs.Networks {
		w("n", i(n.ID), n.Name, n.TimeZone)
	}
	for _, s := range hs.SyncModules {
		w("s", i(s.ID), i(s.NetworkID), s.Name, s.Serial, s.FirmwareVersion, s.Type, s.Subtype,
			bit(s.WiFiBars >= 0), bit(s.LocalStorageStatus != ""))
	}
	for _, d := range hs.Devices {
		w("d", i(d.ID), i(d.NetworkID), string(d.Family), d.Type, d.Name, d.Serial, d.FirmwareVersion,
			bit(d.Battery != ""), bit(d.Signals != nil))
		if s := d.Signals; s != nil {
			w(bit(s.TemperatureF != nil), bit(s.WiFiBars != nil), bit(s.LFRBars != nil), bit(s.BatteryBars != nil))
		}
	}
	return h.Sum64()
}
