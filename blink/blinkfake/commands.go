package blinkfake

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// Command kinds as Blink names them in command objects.
const (
	cmdArm           = "arm"
	cmdDisarm        = "disarm"
	cmdMotionEnable  = "device_motion_enable"
	cmdMotionDisable = "device_motion_disable"
	cmdConfigSet     = "config_set"
	cmdThumbnail     = "thumbnail"
	cmdClip          = "clip"
	cmdConfigLFR     = "config_lfr"
	cmdLiveview      = "lv_relay"
)

// Command status codes the fake emits in command status answers.
const (
	// StatusOK is Blink's status_code for a command that is running or done.
	StatusOK = 908
	// StatusDeviceOffline is the fake's own failure code for a command sent
	// to an offline device or through an offline sync module; Blink's real
	// code for this is not documented.
	StatusDeviceOffline = 803
)

const maxCommands = 1000

type failSpec struct {
	code int
	msg  string
}

type cmdState int

const (
	cmdRunning cmdState = iota
	cmdDone
	cmdFailed
	cmdCancelled
)

func (c cmdState) String() string {
	return [...]string{"running", "done", "failed", "cancelled"}[c]
}

type command struct {
	id          int64
	networkID   int64
	deviceID    int64 // 0 for arm/disarm
	family      blink.Family
	kind        string
	enabled     *bool          // config_set: motion detection, when the body set it
	config      map[string]any // config_set: settings fields to store
	full        bool           // full command object (camera /network/ paths)
	createdAt   time.Time
	polls       int
	state       cmdState
	stalled     bool
	fail        failSpec
	completedAt time.Time
	mediaID     int64
	children    []child
	// live view: when the stream connected, and how long it may run
	// from then (liveBase per start or extension, at most liveMax)
	liveSince time.Time
	liveFor   time.Duration
	liveBase  time.Duration
	liveMax   time.Duration
	live      liveStats
	// localKey is "manifest/clip" for a local clip upload or delete.
	localKey string
}

type child struct {
	id       int64
	deviceID int64
}

// CommandInfo is a snapshot of a command the fake received.
type CommandInfo struct {
	ID          int64
	NetworkID   int64
	DeviceID    int64        // 0 for arm/disarm
	Family      blink.Family // the device's family; "" for arm/disarm
	Command     string       // arm, disarm, device_motion_enable, config_set, thumbnail, clip, …
	State       string       // running, done, failed, cancelled
	Polls       int          // status polls seen
	StatusCode  int          // 908 unless it failed
	MediaID     int64        // clip commands, once done
	CreatedAt   time.Time
	CompletedAt time.Time
}

func (c *command) info() CommandInfo {
	code := StatusOK
	if c.state == cmdFailed {
		code = c.fail.code
	}
	return CommandInfo{
		ID: c.id, NetworkID: c.networkID, DeviceID: c.deviceID, Family: c.family, Command: c.kind,
		State: c.state.String(), Polls: c.polls, StatusCode: code, MediaID: c.mediaID,
		CreatedAt: c.createdAt, CompletedAt: c.completedAt,
	}
}

// submit starts a command on a network; nil when the network is busy.
func (s *Server) submit(netID int64, d *Device, kind string, full bool) *command {
	if cur, ok := s.inFlight[netID]; ok && cur.state == cmdRunning {
		return nil
	}
	now := s.now()
	c := &command{id: s.cmdSeq, networkID: netID, kind: kind, full: full, createdAt: now}
	s.cmdSeq++
	if d != nil {
		c.deviceID, c.family = d.ID, d.Family
		if d.Status == "offline" {
			c.fail = failSpec{code: StatusDeviceOffline, msg: "Camera is offline"}
		}
	}
	if n := s.networks[netID]; n != nil && n.SyncModule != nil && n.SyncModule.Status == "offline" {
		c.fail = failSpec{code: StatusDeviceOffline, msg: "Sync module is offline"}
	}
	if kind == cmdArm || kind == cmdDisarm {
		for _, k := range s.devOrder {
			if dd := s.devices[k]; dd.NetworkID == netID && dd.Family == blink.FamilyCamera {
				c.children = append(c.children, child{id: s.cmdSeq, deviceID: k.id})
				s.cmdSeq++
			}
		}
	}
	if len(s.failNext) > 0 {
		c.fail, s.failNext = s.failNext[0], s.failNext[1:]
	}
	if s.stallNext > 0 {
		s.stallNext--
		c.stalled = true
	}
	s.inFlight[netID] = c
	s.commands[c.id] = c
	s.cmdOrder = append(s.cmdOrder, c.id)
	s.pruneCommands()
	return c
}

func (s *Server) pruneCommands() {
	for len(s.cmdOrder) > maxCommands {
		i := slices.IndexFunc(s.cmdOrder, func(id int64) bool { return s.commands[id].state != cmdRunning })
		if i < 0 {
			return
		}
		delete(s.commands, s.cmdOrder[i])
		s.cmdOrder = slices.Delete(s.cmdOrder, i, i+1)
	}
}

// advance moves a command on; polled says a status poll is looking at it.
func (s *Server) advance(c *command, polled bool) {
	if c.state != cmdRunning {
		return
	}
	if polled {
		c.polls++
	}
	if c.stalled {
		return
	}
	now := s.now()
	byTime := s.cfg.CommandDelay > 0 && !now.Before(c.createdAt.Add(s.cfg.CommandDelay))
	if c.polls >= s.cfg.CommandPolls || byTime {
		if c.kind == cmdLiveview && c.fail.code == 0 {
			// a live view "completes" when the stream is up and runs until
			// /done/ or its duration ends, as Blink's live views do
			if c.liveSince.IsZero() {
				c.liveSince = now
			}
			return
		}
		s.finish(c, now)
	}
}

// advanceAll moves the account on to the clock's now: sync module
// heartbeats, commands whose CommandDelay or CommandLifetime has passed,
// live views whose duration is over.
func (s *Server) advanceAll() {
	now := s.now()
	s.beat(now)
	for _, c := range s.inFlight {
		if s.cfg.CommandDelay > 0 {
			s.advance(c, false)
		}
		if c.state == cmdRunning && c.kind != cmdLiveview && !c.stalled && !now.Before(c.createdAt.Add(s.cfg.CommandLifetime)) {
			s.finish(c, now) // nobody polled it to the end; the sync module did it anyway
		}
		if c.state == cmdRunning && !c.liveSince.IsZero() && !now.Before(c.liveSince.Add(c.liveFor)) {
			s.finish(c, now)
		}
		// a live view nobody joins lapses after its duration
		if c.state == cmdRunning && c.kind == cmdLiveview && c.liveSince.IsZero() && !now.Before(c.createdAt.Add(c.liveFor)) {
			s.finish(c, now)
		}
	}
}

func (s *Server) finish(c *command, now time.Time) {
	c.completedAt = now
	if s.inFlight[c.networkID] == c {
		delete(s.inFlight, c.networkID)
	}
	if n, ok := s.networks[c.networkID]; ok && n.SyncModule != nil && n.SyncModule.Status == "online" {
		n.SyncModule.LastHeartbeat = now.Truncate(time.Second)
	}
	if c.fail.code != 0 {
		c.state = cmdFailed
		return
	}
	c.state = cmdDone
	stamp := now.Truncate(time.Second)
	switch c.kind {
	case cmdArm, cmdDisarm:
		if n, ok := s.networks[c.networkID]; ok {
			n.Armed = c.kind == cmdArm
			n.UpdatedAt = stamp
		}
		return
	case cmdLocalManifest, cmdLocalClip, cmdLocalDelete:
		s.finishLocal(c)
		return
	}
	d, ok := s.devices[devKey{c.family, c.deviceID}]
	if !ok {
		return
	}
	switch c.kind {
	case cmdMotionEnable, cmdMotionDisable:
		d.Enabled = c.kind == cmdMotionEnable
		d.UpdatedAt = stamp
	case cmdConfigSet:
		if c.enabled != nil {
			d.Enabled = *c.enabled
		}
		applyConfig(d, c.config)
		d.UpdatedAt = stamp
	case cmdThumbnail:
		s.bumpThumbnail(d, now)
	case cmdClip:
		s.bumpThumbnail(d, now)
		c.mediaID = s.record(d, "liveview", now).ID
	case cmdLiveview:
		// a live view of an armed system is saved as a clip
		if n, ok := s.networks[c.networkID]; ok && n.Armed && !c.liveSince.IsZero() {
			c.mediaID = s.record(d, "liveview", now).ID
		}
	}
}

func (s *Server) bumpThumbnail(d *Device, now time.Time) {
	ts := now.Unix()
	if ts <= d.ThumbnailTS {
		ts = d.ThumbnailTS + 1
	}
	d.ThumbnailTS = ts
	d.UpdatedAt = now.Truncate(time.Second)
}

func (s *Server) addMedia(d *Device, source string, now time.Time) *Media {
	now = now.Truncate(time.Second)
	m := &Media{
		ID: s.mediaSeq, CreatedAt: now, UpdatedAt: now,
		DeviceID: d.ID, Family: d.Family, NetworkID: d.NetworkID, Source: source,
	}
	s.mediaSeq++
	a := s.cfg.AccountID
	if d.Family == blink.FamilyCamera {
		m.Thumbnail = fmt.Sprintf("/api/v2/accounts/%d/media/thumb/%d", a, m.ID)
		m.Clip = fmt.Sprintf("/api/v2/accounts/%d/media/clip/%d.mp4", a, m.ID)
	} else {
		base := fmt.Sprintf("/api/v3/media/accounts/%d/networks/%d/%s/%d", a, d.NetworkID, d.Type, d.ID)
		m.Thumbnail = fmt.Sprintf("%s/thumbnail/%d.jpg?ext=", base, m.ID)
		m.Clip = fmt.Sprintf("%s/clip/%d.mp4?ext=", base, m.ID)
	}
	s.media = append(s.media, m)
	if over := len(s.media) - s.cfg.MaxMedia; over > 0 {
		s.purgeID = s.media[over-1].ID
		s.media = slices.Delete(s.media, 0, over)
	}
	return m
}

func (s *Server) findMedia(id int64) *Media {
	i := sort.Search(len(s.media), func(i int) bool { return s.media[i].ID >= id })
	if i < len(s.media) && s.media[i].ID == id {
		return s.media[i]
	}
	return nil
}
