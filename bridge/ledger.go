package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/discovery"
)

const ledgerFileName = "discovery.json"

// ledgerFile is the persisted list of discovery config topics this bridge
// published, so configs of devices that left the account are removed even
// across restarts.
type ledgerFile struct {
	LayoutVersion int      `json:"layout_version"`
	Topics        []string `json:"topics"`
	path          string
}

func loadLedger(dir string) (ledgerFile, error) {
	l := ledgerFile{path: filepath.Join(dir, ledgerFileName), LayoutVersion: discovery.LayoutVersion}
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
	l.Topics, l.LayoutVersion = f.Topics, f.LayoutVersion
	return l, nil
}

func (l *ledgerFile) save() error {
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return writeFileAtomic(l.path, data)
}

// discoveryPlan is what finishDiscovery does after the state sync: remove
// stale configs, then store the ledger.
type discoveryPlan struct {
	removals []discovery.Message
	ledger   []string
	set      bool
}

// syncDiscovery publishes the discovery configs that changed (all of them
// when all is set) and returns the plan for removals, which finishDiscovery
// carries out after the state sync so a vanished device shows unavailable
// before its entities go.
func (b *Bridge) syncDiscovery(ctx context.Context, all bool) discoveryPlan {
	b.discMu.Lock()
	defer b.discMu.Unlock()
	if b.pub == nil || !b.pub.open() || ctx.Err() != nil {
		return discoveryPlan{}
	}
	if all {
		clear(b.discPublished)
		b.discFP = 0
		b.discReady = true
	}
	if !b.discReady {
		return discoveryPlan{}
	}
	b.mu.Lock()
	hs := b.hs
	b.mu.Unlock()
	if !b.opts.Discovery {
		if len(b.ledger.Topics) == 0 {
			return discoveryPlan{}
		}
		return discoveryPlan{removals: discovery.Removals(b.ledger.Topics, nil), ledger: []string{}, set: true}
	}
	fp := discoveryFingerprint(hs)
	if fp == b.discFP && len(b.discPublished) > 0 {
		return discoveryPlan{}
	}
	msgs := discovery.Build(b.discOpts, hs)
	n := 0
	for _, m := range msgs {
		if old, ok := b.discPublished[m.Topic]; ok && old == string(m.Payload) {
			continue
		}
		// QoS 0 like state: OnConnect republishes every config anyway, and
		// QoS 1 messages stored across a reconnect are re-sent late and hit
		// a data race in paho v1.5.1's resume (DUP flag set while the old
		// connection still writes the packet).
		b.pub.publish(m.Topic, 0, true, m.Payload)
		b.discPublished[m.Topic] = string(m.Payload)
		n++
	}
	b.discFP = fp
	if n > 0 {
		b.logDisc.Info().Int("configs", n).Msg("published discovery")
	}
	cur := discovery.TopicsOf(msgs)
	if hs == nil {
		// Without a homescreen only the bridge device is known: add its
		// topics to the ledger but remove nothing.
		b.setLedgerLocked(union(b.ledger.Topics, cur))
		return discoveryPlan{}
	}
	return discoveryPlan{removals: discovery.Removals(b.ledger.Topics, msgs), ledger: cur, set: true}
}

// finishDiscovery publishes removals and stores the new ledger.
func (b *Bridge) finishDiscovery(p discoveryPlan) {
	if !p.set {
		return
	}
	b.discMu.Lock()
	defer b.discMu.Unlock()
	removed := 0
	for _, m := range p.removals {
		if b.pub != nil {
			b.pub.publish(m.Topic, 0, true, nil)
		}
		delete(b.discPublished, m.Topic)
		removed++
	}
	if removed > 0 {
		b.logDisc.Info().Int("configs", removed).Msg("removed discovery of entities that are gone")
	}
	b.setLedgerLocked(p.ledger)
}

func (b *Bridge) setLedgerLocked(topics []string) {
	if topics == nil {
		topics = []string{}
	}
	if slices.Equal(topics, b.ledger.Topics) && b.ledger.LayoutVersion == discovery.LayoutVersion {
		return
	}
	b.ledger.Topics = topics
	b.ledger.LayoutVersion = discovery.LayoutVersion
	if err := b.ledger.save(); err != nil {
		b.logDisc.Error().Err(err).Msg("could not save the discovery ledger")
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

// writeFileAtomic writes data to path through a temporary file, fsync and
// rename, with mode 0600, so a crash never leaves a half-written file.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err = f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
