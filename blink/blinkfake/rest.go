package blinkfake

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

type params map[string]string

func (p params) id(k string) (int64, bool) {
	v, err := strconv.ParseInt(p[k], 10, 64)
	return v, err == nil && v > 0
}

type restRoute struct {
	method  string
	pattern []string
	name    string
	nameFn  func(params) string // overrides name when set
	h       func(http.ResponseWriter, *http.Request, params)
}

func (s *Server) restRoutes() []restRoute {
	const (
		get  = http.MethodGet
		post = http.MethodPost
		acct = "api/v1/accounts/{a}/networks/{n}/"
		ls   = acct + "sync_modules/{sm}/local_storage/"
	)
	r := func(method, pattern, name string, h func(http.ResponseWriter, *http.Request, params)) restRoute {
		return restRoute{method: method, pattern: strings.Split(pattern, "/"), name: name, h: h}
	}
	cmd := func(fam blink.Family, kind string, full bool) func(http.ResponseWriter, *http.Request, params) {
		return func(w http.ResponseWriter, r *http.Request, p params) {
			s.handleDeviceCommand(w, r, p, fam, kind, full)
		}
	}
	media := r(get, "api/v3/media/accounts/{a}/networks/{n}/{type}/{dev}/{kind}/{file}", "", s.handleV3Media)
	media.nameFn = func(p params) string {
		switch {
		case p["kind"] == "thumbnail" && p["file"] == "thumbnail.jpg":
			return EpDeviceThumbnail
		case p["kind"] == "clip":
			return EpMediaClip
		}
		return EpMediaThumbnail
	}
	return []restRoute{
		r(get, "api/v1/users/tier_info", EpTierInfo, s.handleTierInfo),
		r(get, "api/v3/accounts/{a}/homescreen", EpHomescreen, s.handleHomescreen),
		r(get, "api/v4/accounts/{a}/homescreen", EpHomescreen, s.handleHomescreen),
		r(get, "api/v1/accounts/{a}/media/changed", EpMediaChanged, s.handleMediaChanged),
		r(post, "api/v1/accounts/{a}/media/delete", EpMediaDelete, s.handleMediaDelete),
		r(get, "api/v2/accounts/{a}/media/thumb/{file}", EpMediaThumbnail, s.handleV2Media),
		r(get, "api/v2/accounts/{a}/media/clip/{file}", EpMediaClip, s.handleV2Media),
		media,
		r(get, "media/{env}/account/{a}/network/{n}/camera/{dev}/{file}", EpDeviceThumbnail, s.handleLegacyThumbnail(blink.FamilyCamera)),
		r(get, "media/{env}/account/{a}/network/{n}/owl/{dev}/thumbnail/{file}", EpDeviceThumbnail, s.handleLegacyThumbnail(blink.FamilyOwl)),
		r(post, acct+"state/arm", EpArm, s.handleArm),
		r(post, acct+"state/disarm", EpDisarm, s.handleArm),
		r(post, "network/{n}/update", EpNetworkUpdate, s.handleNetworkUpdate),
		r(get, "network/{n}/command/{cmd}", EpCommandStatus, s.handleCommandStatus),
		r(post, "network/{n}/command/{cmd}/done", EpCommandDone, s.handleCommandDone),
		r(post, "network/{n}/command/{cmd}/update", EpCommandUpdate, s.handleCommandUpdate),
		r(post, "network/{n}/camera/{c}/enable", EpCameraEnable, cmd(blink.FamilyCamera, cmdMotionEnable, true)),
		r(post, "network/{n}/camera/{c}/disable", EpCameraDisable, cmd(blink.FamilyCamera, cmdMotionDisable, true)),
		r(post, "network/{n}/camera/{c}/thumbnail", EpCameraThumbnail, cmd(blink.FamilyCamera, cmdThumbnail, true)),
		r(post, "network/{n}/camera/{c}/clip", EpCameraClip, cmd(blink.FamilyCamera, cmdClip, true)),
		r(get, "network/{n}/camera/{c}/config", EpCameraConfig, s.handleConfig(blink.FamilyCamera)),
		r(post, "network/{n}/camera/{c}/update", EpCameraUpdate, s.handleConfigSet(blink.FamilyCamera, true)),
		r(get, "network/{n}/camera/{c}/signals", EpCameraSignals, s.handleSignals),
		r(get, acct+"owls/{c}/config", EpOwlConfig, s.handleConfig(blink.FamilyOwl)),
		r(post, acct+"owls/{c}/config", EpOwlConfigSet, s.handleConfigSet(blink.FamilyOwl, false)),
		r(post, acct+"owls/{c}/thumbnail", EpOwlThumbnail, cmd(blink.FamilyOwl, cmdThumbnail, false)),
		r(post, acct+"owls/{c}/clip", EpOwlClip, cmd(blink.FamilyOwl, cmdClip, false)),
		r(post, acct+"doorbells/{c}/enable", EpDoorbellEnable, cmd(blink.FamilyDoorbell, cmdMotionEnable, false)),
		r(post, acct+"doorbells/{c}/disable", EpDoorbellDisable, cmd(blink.FamilyDoorbell, cmdMotionDisable, false)),
		r(post, acct+"doorbells/{c}/thumbnail", EpDoorbellThumbnail, cmd(blink.FamilyDoorbell, cmdThumbnail, false)),
		r(post, acct+"doorbells/{c}/clip", EpDoorbellClip, cmd(blink.FamilyDoorbell, cmdClip, false)),
		r(get, acct+"doorbells/{c}/config", EpDoorbellConfig, s.handleConfig(blink.FamilyDoorbell)),
		r(post, acct+"doorbells/{c}/config", EpDoorbellConfigSet, s.handleConfigSet(blink.FamilyDoorbell, false)),
		r(get, "api/v1/networks/{n}/programs", EpPrograms, s.handlePrograms),
		r(post, "api/v1/networks/{n}/programs/{p}/enable", EpProgramEnable, s.handleProgramSet(true)),
		r(post, "api/v1/networks/{n}/programs/{p}/disable", EpProgramDisable, s.handleProgramSet(false)),
		r(get, "api/v1/accounts/{a}/notifications/configuration", EpNotifications, s.handleNotifications),
		r(post, "api/v1/accounts/{a}/notifications/configuration", EpNotificationsSet, s.handleNotificationsSet),
		r(post, "api/v6/accounts/{a}/networks/{n}/cameras/{c}/liveview", EpCameraLiveview, s.handleLiveview(blink.FamilyCamera)),
		r(post, "api/v2/accounts/{a}/networks/{n}/owls/{c}/liveview", EpOwlLiveview, s.handleLiveview(blink.FamilyOwl)),
		r(post, "api/v2/accounts/{a}/networks/{n}/doorbells/{c}/liveview", EpDoorbellLiveview, s.handleLiveview(blink.FamilyDoorbell)),
		r(post, ls+"manifest/request", EpLocalManifestRequest, s.handleLocalManifestRequest),
		r(get, ls+"manifest/request/{req}", EpLocalManifest, s.handleLocalManifest),
		r(post, ls+"manifest/{m}/clip/request/{c}", EpLocalClipRequest, s.handleLocalClipCommand(cmdLocalClip)),
		r(get, ls+"manifest/{m}/clip/request/{c}", EpLocalClip, s.handleLocalClip),
		r(post, ls+"manifest/{m}/clip/delete/{c}", EpLocalClipDelete, s.handleLocalClipCommand(cmdLocalDelete)),
		r(get, ls+"status", EpLocalStatus, s.handleLocalStatus),
		r(post, "api/v5/account/login", EpLegacyLogin, nil),
		r(post, "api/v4/account/login", EpLegacyLogin, nil),
	}
}

func match(pattern, segs []string) (params, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var p params
	for i, want := range pattern {
		if strings.HasPrefix(want, "{") {
			if segs[i] == "" {
				return nil, false
			}
			if p == nil {
				p = params{}
			}
			p[want[1:len(want)-1]] = segs[i]
			continue
		}
		if want != segs[i] {
			return nil, false
		}
	}
	return p, true
}

// RESTHandler is the REST host's handler (RESTURL serves it); the first path
// segment is the tier.
func (s *Server) RESTHandler() http.Handler {
	routes := s.restRoutes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		tier, segs := segs[0], segs[1:]
		name := EpRESTOther
		var found *restRoute
		var p params
		for i := range routes {
			if routes[i].method != r.Method {
				continue
			}
			if pp, ok := match(routes[i].pattern, segs); ok {
				found, p = &routes[i], pp
				name = found.name
				if found.nameFn != nil {
					name = found.nameFn(p)
				}
				break
			}
		}
		s.serve(w, r, "rest", route{name: name, h: func(w http.ResponseWriter, r *http.Request) {
			s.restGate(w, r, tier, name, found, p)
		}})
	})
}

// restGate checks tier, bearer token and account id before the handler.
func (s *Server) restGate(w http.ResponseWriter, r *http.Request, tier, name string, rt *restRoute, p params) {
	if name == EpLegacyLogin {
		// retired 2025-10-14; needs no token and answers on every tier
		writeJSON(w, http.StatusUpgradeRequired, apiError{Message: "An app update is required"})
		return
	}
	s.mu.Lock()
	s.advanceAll()
	tierOK := tier == s.cfg.Tier || (name == EpTierInfo && tier == "prod")
	authOK := s.validAccess(r)
	s.mu.Unlock()
	switch {
	case !tierOK || rt == nil:
		writeJSON(w, http.StatusNotFound, notFoundError)
	case !authOK:
		writeJSON(w, http.StatusUnauthorized, unauthorizedError)
	case p["a"] != "" && p["a"] != strconv.FormatInt(s.cfg.AccountID, 10):
		writeJSON(w, http.StatusNotFound, notFoundError)
	default:
		rt.h(w, r, p)
	}
}

func (s *Server) handleTierInfo(w http.ResponseWriter, _ *http.Request, _ params) {
	writeJSON(w, http.StatusOK, map[string]any{"tier": s.cfg.Tier, "account_id": s.cfg.AccountID})
}

func (s *Server) handleHomescreen(w http.ResponseWriter, _ *http.Request, _ params) {
	s.mu.Lock()
	h := s.homescreen()
	s.mu.Unlock()
	w.Header().Set("Client-Id", strconv.FormatInt(s.cfg.ClientID, 10))
	w.Header().Set("User-Id", strconv.FormatInt(s.cfg.UserID, 10))
	writeJSON(w, http.StatusOK, h)
}

func (s *Server) handleMediaChanged(w http.ResponseWriter, r *http.Request, _ params) {
	q := r.URL.Query()
	since, err := parseSince(q.Get("since"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Message: "Invalid since parameter"})
		return
	}
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	page = min(page, 1_000_000)
	limit := s.cfg.MediaPageSize

	s.mu.Lock()
	defer s.mu.Unlock()
	var hits []*Media
	for _, m := range s.media {
		if !m.UpdatedAt.Before(since) {
			hits = append(hits, m)
		}
	}
	slices.SortFunc(hits, func(a, b *Media) int {
		if c := b.UpdatedAt.Compare(a.UpdatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	out := wireMediaPage{Limit: limit, PurgeID: s.purgeID, Media: []wireMedia{}}
	if start := (page - 1) * limit; start < len(hits) {
		for _, m := range hits[start:min(len(hits), start+limit)] {
			out.Media = append(out.Media, s.wireMedia(m))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleMediaDelete(w http.ResponseWriter, r *http.Request, _ params) {
	var body struct {
		MediaList []int64 `json:"media_list"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.MediaList) == 0 {
		writeJSON(w, http.StatusBadRequest, apiError{Message: "Invalid media list"})
		return
	}
	s.mu.Lock()
	now := s.now().Truncate(1e9)
	for _, id := range body.MediaList {
		if m := s.findMedia(id); m != nil {
			m.Deleted, m.UpdatedAt = true, now
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, apiError{Message: "Successfully deleted media", Code: 711})
}

// mediaFile serves a media item's thumbnail or clip; dev is nil when the
// path does not name a device.
func (s *Server) mediaFile(w http.ResponseWriter, file string, dev *devKey) {
	var (
		id  int64
		err error
		mp4 bool
	)
	switch {
	case strings.HasSuffix(file, ".jpg"):
		id, err = strconv.ParseInt(strings.TrimSuffix(file, ".jpg"), 10, 64)
	case strings.HasSuffix(file, ".mp4"):
		id, err = strconv.ParseInt(strings.TrimSuffix(file, ".mp4"), 10, 64)
		mp4 = true
	default:
		err = fmt.Errorf("no extension")
	}
	s.mu.Lock()
	var m *Media
	if err == nil {
		m = s.findMedia(id)
	}
	ok := m != nil && !m.Deleted && (dev == nil || *dev == devKey{m.Family, m.DeviceID})
	var mm Media
	if ok {
		mm = *m
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, mediaNotFound)
		return
	}
	if mp4 {
		writeBytes(w, "video/mp4", clipMP4(mm.ID))
		return
	}
	writeBytes(w, "image/jpeg", s.images.jpegFor(imageSeed(devKey{mm.Family, mm.DeviceID}), mm.ID))
}

func (s *Server) handleV2Media(w http.ResponseWriter, r *http.Request, p params) {
	file := p["file"]
	if strings.HasSuffix(r.URL.Path, "/thumb/"+file) && !strings.HasSuffix(file, ".jpg") {
		// the feed's /thumb/{id} is only served with ".jpg" appended
		writeJSON(w, http.StatusNotFound, mediaNotFound)
		return
	}
	if strings.Contains(r.URL.Path, "/media/clip/") && !strings.HasSuffix(file, ".mp4") {
		writeJSON(w, http.StatusNotFound, mediaNotFound)
		return
	}
	s.mediaFile(w, file, nil)
}

func (s *Server) handleV3Media(w http.ResponseWriter, r *http.Request, p params) {
	netID, ok1 := p.id("n")
	devID, ok2 := p.id("dev")
	if !ok1 || !ok2 {
		writeJSON(w, http.StatusNotFound, mediaNotFound)
		return
	}
	// The path names the device by its type, which also tells the family
	// when a camera and a Mini share the id.
	s.mu.Lock()
	var dd Device
	found, typeOK := false, false
	for _, k := range s.devOrder {
		if d := s.devices[k]; k.id == devID && d.NetworkID == netID && !typeOK {
			found, typeOK, dd = true, p["type"] == d.Type, *d
		}
	}
	s.mu.Unlock()
	switch {
	case !found:
		writeJSON(w, http.StatusNotFound, mediaNotFound)
		return
	case !typeOK:
		writeJSON(w, http.StatusBadRequest, invalidDeviceType)
		return
	}
	if p["kind"] == "thumbnail" && p["file"] == "thumbnail.jpg" {
		at := dd.ThumbnailTS
		if v, err := strconv.ParseInt(r.URL.Query().Get("ts"), 10, 64); err == nil && v > 0 {
			at = v
		}
		writeBytes(w, "image/jpeg", s.images.jpegFor(imageSeed(keyOf(&dd)), at))
		return
	}
	k := keyOf(&dd)
	s.mediaFile(w, p["file"], &k)
}

// network resolves {n}. Caller holds mu.
func (s *Server) network(p params) (*Network, bool) {
	id, ok := p.id("n")
	if !ok {
		return nil, false
	}
	n, ok := s.networks[id]
	return n, ok
}

// device resolves {n}/{c} for a family endpoint. Caller holds mu.
func (s *Server) device(p params, fam blink.Family) (*Device, bool) {
	n, ok := s.network(p)
	if !ok {
		return nil, false
	}
	id, _ := p.id("c")
	d, ok := s.devices[devKey{fam, id}]
	if !ok || d.NetworkID != n.ID {
		return nil, false
	}
	return d, true
}

func (s *Server) notFound(w http.ResponseWriter, p params) {
	s.mu.Lock()
	_, netOK := s.network(p)
	s.mu.Unlock()
	if !netOK {
		writeJSON(w, http.StatusNotFound, notFoundError)
		return
	}
	writeJSON(w, s.cfg.WrongFamilyStatus, cameraNotFound)
}

func (s *Server) handleDeviceCommand(w http.ResponseWriter, _ *http.Request, p params, fam blink.Family, kind string, full bool) {
	s.startDeviceCommand(w, p, fam, kind, full, func(c *command, _ *Device) any {
		if full {
			return s.fullCommand(c, nil)
		}
		return s.shortCommand(c)
	})
}

// startDeviceCommand finds the device of p and starts a command of kind on
// its network, answering 404/"Camera not found" or 409 busy as Blink does.
// answer runs under s.mu with the new command and returns the JSON body.
func (s *Server) startDeviceCommand(w http.ResponseWriter, p params, fam blink.Family, kind string, full bool, answer func(*command, *Device) any) {
	s.mu.Lock()
	d, ok := s.device(p, fam)
	if !ok {
		s.mu.Unlock()
		s.notFound(w, p)
		return
	}
	c := s.submit(d.NetworkID, d, kind, full)
	if c == nil {
		s.mu.Unlock()
		writeJSON(w, http.StatusConflict, busyError)
		return
	}
	out := answer(c, d)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleArm(w http.ResponseWriter, r *http.Request, p params) {
	kind := cmdArm
	if strings.HasSuffix(r.URL.Path, "/disarm") {
		kind = cmdDisarm
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.network(p)
	if !ok {
		writeJSON(w, http.StatusNotFound, notFoundError)
		return
	}
	if cur, busy := s.inFlight[n.ID]; busy && cur.state == cmdRunning {
		writeJSON(w, http.StatusConflict, busyError)
		return
	}
	anyEnabled := slices.ContainsFunc(s.devOrder, func(k devKey) bool {
		d := s.devices[k]
		return d.NetworkID == n.ID && d.Enabled
	})
	if !anyEnabled {
		n.Armed = kind == cmdArm
		n.UpdatedAt = s.now().Truncate(1e9)
		writeJSON(w, http.StatusOK, apiError{Message: "No Cameras Enabled for Motion", Code: 304})
		return
	}
	c := s.submit(n.ID, nil, kind, false)
	writeJSON(w, http.StatusOK, s.shortCommand(c))
}

func (s *Server) handleNetworkUpdate(w http.ResponseWriter, _ *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.network(p)
	if !ok {
		writeJSON(w, http.StatusNotFound, notFoundError)
		return
	}
	armString := "Disarmed"
	if n.Armed {
		armString = "Armed"
	}
	cur, busy := s.inFlight[n.ID]
	writeJSON(w, http.StatusOK, map[string]any{"network": map[string]any{
		"id": n.ID, "name": n.Name, "armed": n.Armed, "arm_string": armString,
		"busy": busy && cur.state == cmdRunning, "camera_error": false,
		"sync_module_error": n.SyncModule != nil && n.SyncModule.Status != "online",
		"lv_mode":           "relay", "time_zone": n.TimeZone, "dst": true, "video_destination": "server",
	}})
}

// command resolves {n}/{cmd}. Caller holds mu.
func (s *Server) command(p params) (*command, bool) {
	netID, ok1 := p.id("n")
	id, ok2 := p.id("cmd")
	if !ok1 || !ok2 {
		return nil, false
	}
	c, ok := s.commands[id]
	if !ok || c.networkID != netID {
		return nil, false
	}
	return c, true
}

func (s *Server) handleCommandStatus(w http.ResponseWriter, _ *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.command(p)
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Message: "Command not found", Code: 404})
		return
	}
	s.advance(c, true)
	writeJSON(w, http.StatusOK, s.commandStatus(c))
}

func (s *Server) handleCommandDone(w http.ResponseWriter, _ *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.command(p)
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Message: "Command not found", Code: 404})
		return
	}
	switch {
	case c.state != cmdRunning:
	case !c.liveSince.IsZero():
		s.finish(c, s.now()) // a live view ends normally
	default:
		c.state = cmdCancelled
		c.completedAt = s.now()
		if s.inFlight[c.networkID] == c {
			delete(s.inFlight, c.networkID)
		}
	}
	writeJSON(w, http.StatusOK, apiError{Message: fmt.Sprintf("Command %d set to :done", c.id), Code: 902})
}

func (s *Server) handleConfig(fam blink.Family) func(http.ResponseWriter, *http.Request, params) {
	return func(w http.ResponseWriter, _ *http.Request, p params) {
		s.mu.Lock()
		d, ok := s.device(p, fam)
		var out map[string]any
		if ok {
			switch fam {
			case blink.FamilyCamera:
				out = s.cameraConfig(d)
			case blink.FamilyOwl:
				out = s.owlConfig(d)
			default:
				out = s.doorbellConfig(d)
			}
		}
		s.mu.Unlock()
		if !ok {
			s.notFound(w, p)
			return
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func (s *Server) handleSignals(w http.ResponseWriter, _ *http.Request, p params) {
	s.mu.Lock()
	d, ok := s.device(p, blink.FamilyCamera)
	var out map[string]any
	if ok {
		out = s.signals(d, false)
	}
	s.mu.Unlock()
	if !ok {
		s.notFound(w, p)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// handleLegacyThumbnail serves pre-2022 thumbnail paths of a family (the
// path says "camera" or "owl"); the name must end ".jpg" and carries the
// thumbnail ts in base 36 after its first "_"-separated prefix
// ("clip_{ts36}_…", "fw_{ver}__{ts36}_…").
func (s *Server) handleLegacyThumbnail(fam blink.Family) func(http.ResponseWriter, *http.Request, params) {
	return func(w http.ResponseWriter, _ *http.Request, p params) { s.legacyThumbnail(w, fam, p) }
}

func (s *Server) legacyThumbnail(w http.ResponseWriter, fam blink.Family, p params) {
	netID, ok1 := p.id("n")
	devID, ok2 := p.id("dev")
	name, isJPG := strings.CutSuffix(p["file"], ".jpg")
	s.mu.Lock()
	d, ok := s.devices[devKey{fam, devID}]
	var dd Device
	if ok {
		dd = *d
	}
	s.mu.Unlock()
	if !ok1 || !ok2 || !isJPG || !ok || dd.NetworkID != netID {
		writeJSON(w, http.StatusNotFound, mediaNotFound)
		return
	}
	at := dd.ThumbnailTS
	rest := name
	if i := strings.Index(rest, "__"); strings.HasPrefix(rest, "fw_") && i > 0 {
		rest = rest[i+2:]
	} else if _, after, ok := strings.Cut(rest, "_"); ok {
		rest = after
	}
	if tag, _, ok := strings.Cut(rest, "_"); ok {
		if v, err := strconv.ParseInt(tag, 36, 64); err == nil && v > 0 {
			at = v
		}
	}
	writeBytes(w, "image/jpeg", s.images.jpegFor(imageSeed(keyOf(&dd)), at))
}

// extendedLiveview is the longest a live view runs, extensions included
// (Blink's extended_duration).
const extendedLiveview = 5400 * time.Second

func (s *Server) handleLiveview(fam blink.Family) func(http.ResponseWriter, *http.Request, params) {
	return func(w http.ResponseWriter, r *http.Request, p params) {
		var body struct {
			Intent string `json:"intent"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body) // older clients send "" fields or nothing
		s.startDeviceCommand(w, p, fam, cmdLiveview, false, func(c *command, d *Device) any {
			extended := body.Intent == "extended_liveview"
			c.liveBase, c.liveMax = s.cfg.LiveviewDuration, extendedLiveview
			if extended {
				c.liveBase = extendedLiveview
			}
			c.liveFor = c.liveBase
			c.live.connID = liveConnID()
			c.live.serial = d.Serial
			return s.liveview(c, extended)
		})
	}
}

// liveConnID is a new connection id, shaped like Blink's ("AbCdEfGhIj").
func liveConnID() string {
	t := []byte(randText()[:10])
	for i := 0; i < len(t); i += 2 {
		if t[i] >= 'A' && t[i] <= 'Z' {
			t[i] += 'a' - 'A'
		}
	}
	return string(t)
}

// handleCommandUpdate extends a running live view by its duration, up to
// its longest. Blink's answer body is not known; clients only need a 2xx.
func (s *Server) handleCommandUpdate(w http.ResponseWriter, _ *http.Request, p params) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advanceAll()
	c, ok := s.command(p)
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{Message: "Command not found", Code: 404})
		return
	}
	if c.kind == cmdLiveview && c.state == cmdRunning {
		c.live.extensions++
		since := c.liveSince
		if since.IsZero() {
			since = c.createdAt
		}
		c.liveFor = min(s.now().Sub(since)+c.liveBase, c.liveMax)
	}
	writeJSON(w, http.StatusOK, s.shortCommand(c))
}
