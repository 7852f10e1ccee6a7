// Package bridge is the blink2mqtt daemon: it polls Blink through a Cloud,
// keeps the retained MQTT state equal to what Blink reports (publishing only
// changes), turns MQTT commands into Blink commands that really completed,
// publishes Home Assistant discovery with a ledger, and keeps all of it
// right across broker restarts and its own. It does no HTTP itself and never
// reads the environment.
//
// # Parts
//
// Bridge only wires parts; each owns its state and is driven through a few
// methods. Where a line of code belongs:
//
//	model        (model.go)      what the bridge knows: the latest homescreen as one
//	                             immutable snapshot (atomic pointer), command results newer
//	                             than it, alarm overrides, motion holds, last events, login
//	                             state, cooldown. One lock, never held during I/O; its maps
//	                             are replaced, not changed, so views share them.
//	stateWriter  (writer.go)     the only writer of retained state (entities, attributes,
//	                             availability, bridge topics, thumbnails, discovery). One
//	                             goroutine owns what was published on this connection, the
//	                             ready flag and bridge/info (info.go); others ask it through
//	                             a channel. desiredState (state.go) is the pure function it
//	                             diffs against.
//	discoveryLedger (ledger.go)  which discovery configs to publish or remove for the
//	                             homescreen it is handed, and the ledger file. Used only by
//	                             the writer's goroutine.
//	poller       (poller.go)     the one goroutine that polls Blink: cadence (cadence.go),
//	                             backoff, motion timers, token reload, and every poll a
//	                             request asks for (refresh, snapshot), so polls never overlap.
//	mediaWatcher (media.go)      media/changed → events, motion, last event; its cursor is
//	                             used only from the poller's goroutine.
//	thumbnails   (thumbnails.go) device pictures: images, their homescreen keys, the download
//	                             queue and the files, under one lock; one worker downloads and
//	                             writes.
//	clipSaver    (clips.go)      clip downloads into MEDIA_DIR (from a clipSource: the cloud,
//	                             or a sync module's USB storage), retention, events that wait
//	                             for their file.
//	localStorage (localstorage.go, localcursor.go, localnames.go)
//	                             Sync Module 2 USB storage: which armed networks to check and
//	                             when, the checks (on the network's command queue), its cursor
//	                             file; new clips are published through the media watcher.
//	runner       (runner.go, commands.go, requests.go)
//	                             request parsing, one queue per network (typed queueKey), the
//	                             executors, exactly one response per request.
//	connection   (conn.go, mqtt.go)
//	                             the paho client: connect, lost, inbound routing, the will
//	                             guard; republisher (republish.go) coalesces Home Assistant's
//	                             births and rediscover into one republish.
//	cloudGate    (cloud.go)      every Blink call; notes a refused login and a rate limit once.
//	eventLog     (eventlog.go)   the last events published on <root>/events, a bounded ring
//	                             under its own lock, for Status (status.go): the read-only
//	                             picture a status page shows, read part by part.
//	settingsPart (settings*.go)  device settings, schedules and notification flags: one
//	                             immutable state (atomic pointer, STATE_DIR/settings.json),
//	                             its own goroutine reading them after the first homescreen,
//	                             after changes, on rediscover and at most hourly; the
//	                             program/settings/notifications ops run from the runner.
//	liveviews    (liveview.go, rtsp.go, tsrelay.go)
//	                             live sessions (only with RTSPListen): the RTSP server, one
//	                             session per watched device and at most one per network,
//	                             started through runner.submit on the first reader, kept
//	                             (status polls, extensions) while watched, ended LiveviewIdle
//	                             after the last reader; the relay demuxes the MPEG-TS into
//	                             RTP. One lock for the sessions, never held during I/O.
//
// # Flows
//
// Data flows one way:
//
//	poll:    poller → cloudGate → model → stateWriter (discovery, state), thumbnails
//	media:   poller → mediaWatcher → model (motion, last event) → stateWriter; events → MQTT
//	usb:     poller (homescreen) → localStorage → runner → cloudGate; → mediaWatcher (as media)
//	command: connection → runner → cloudGate → model → stateWriter → response
//	settings: settingsPart → cloudGate → settingsPart state → stateWriter (state, discovery)
//	live:    RTSP reader → liveviews → runner (start) → cloudGate; Blink's stream → relay → readers
//
// # Rules
//
// No lock is held while publishing, calling Blink or writing a file, and no
// code holds two locks at once. State files (media and local storage
// cursors, ledger, thumbnails) are written whole through internal/atomicfile by the one
// goroutine that owns them; clips stream into a temporary file that is
// synced and renamed. Handlers of MQTT messages never block.
package bridge
