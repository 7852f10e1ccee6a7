package discovery

import "strconv"

// Topics is the MQTT topic layout under one root (README "Topics"). The bridge
// publishes to these topics and the discovery payloads point Home Assistant at
// them, so both sides take every name from here.
//
//	<root>/bridge/state                          online/offline (LWT), retained
//	<root>/bridge/info                           JSON, retained
//	<root>/bridge/auth                           JSON {"state","detail"}, retained
//	<root>/bridge/request/<op>                   JSON requests
//	<root>/bridge/response/<op>                  JSON responses
//	<root>/bridge/<entity>[/set]                 bridge entities (2FA code, buttons, counters)
//	<root>/events                                one JSON object per new media item
//	<root>/<net>/<entity>[/set]                  network entities (alarm)
//	<root>/<net>/<node>/<entity>[/set]           device entities (sync modules too)
//	<root>/<net>/<node>/attributes               one JSON object with all attributes
//	<root>/<net>/<node>/availability             online/offline, retained
//
// <node> is the device's Blink id, or "<family>-<id>" for a device that
// shares its id with another device of the network (see Nodes).
type Topics struct {
	Root string
}

// Entity keys used in topics. A device's plain state lives at
// DeviceEntity(net, dev, key); a controllable one takes commands at the same
// topic + "/set".
const (
	EntityAlarm           = "alarm"            // network: armed_away/disarmed/arming/disarming; set: ARM_AWAY/DISARM
	EntityMotion          = "motion"           // ON/OFF
	EntityMotionDetection = "motion_detection" // ON/OFF; set: ON/OFF
	EntitySnapshot        = "snapshot"         // button; set: PRESS
	EntityRecord          = "record"           // button; set: PRESS
	EntityThumbnail       = "thumbnail"        // raw JPEG bytes, retained
	EntityBatteryLow      = "battery_low"      // ON (low) / OFF (ok)
	EntityBatteryLevel    = "battery_level"    // bars 1–3 (integer)
	EntityTemperature     = "temperature"      // °F, integer
	EntityWiFi            = "wifi"             // bars 0–5
	EntityWiFiDBm         = "wifi_dbm"         // dBm (negative integer)
	EntityOnline          = "online"           // ON/OFF
	EntityLastEvent       = "last_event"       // RFC 3339 timestamp
	EntityEvent           = "event"            // not retained: {"event_type":"motion"|…}
	EntityLocalStorage    = "local_storage"    // sync module: active/unavailable/…
	// EntityLocalStorageChecked is a sync module's last check of its USB
	// storage (RFC 3339); the clips it listed are in its attributes.
	EntityLocalStorageChecked = "local_storage_checked"
	EntityHeartbeat           = "last_heartbeat" // sync module: RFC 3339, to 15 minutes; no HA entity
	EntityAttributes          = "attributes"     // JSON object
	EntityAvailability        = "availability"   // online/offline

	// Bridge entities (under <root>/bridge/).
	BridgeAuthCode   = "auth_code"   // text: set = the 2FA code typed in HA; state = "" or "******"
	BridgeAuthSubmit = "auth_submit" // button: set = PRESS → submits the stored code (auth/verify)
	BridgeAuthLogin  = "auth_login"  // button: set = PRESS → starts a new login (auth/login)
	BridgeRediscover = "rediscover"  // button: set = PRESS
	BridgeRefresh    = "refresh"     // button: set = PRESS
	BridgeRequests   = "api_requests_hour"
	BridgeCooldown   = "cooldown_until" // timestamp or "None"
	BridgeAuthState  = "auth_state"     // one of AuthStates
)

// Auth states: the "state" on <root>/bridge/auth and the value of the auth
// state sensor.
const (
	AuthOK             = "ok"              // a session works; polling runs
	AuthCodeRequired   = "code_required"   // a login waits for the 2FA code (auth/verify)
	AuthReauthRequired = "reauth_required" // the session is gone; only a new login helps
	AuthError          = "error"           // a login failed in a way a person must look at
)

// AuthStates returns every auth state, in the order HA lists the options.
func AuthStates() []string {
	return []string{AuthOK, AuthCodeRequired, AuthReauthRequired, AuthError}
}

// Payloads used on plain state topics.
const (
	On        = "ON"
	Off       = "OFF"
	Online    = "online"
	Offline   = "offline"
	Press     = "PRESS"
	ArmAway   = "ARM_AWAY" // alarm command payloads (HA defaults)
	Disarm    = "DISARM"
	ArmedAway = "armed_away" // alarm state payloads
	Disarmed  = "disarmed"
	Arming    = "arming"
	Disarming = "disarming"
	StateNone = "None" // HA's "unknown" for sensors
)

func id(n int64) string { return strconv.FormatInt(n, 10) }

// BridgeState is the retained online/offline topic, also the MQTT last will.
func (t Topics) BridgeState() string { return t.Root + "/bridge/state" }

// BridgeInfo carries the bridge's JSON status.
func (t Topics) BridgeInfo() string { return t.Root + "/bridge/info" }

// BridgeAuth carries {"state": …, "detail": …}.
func (t Topics) BridgeAuth() string { return t.Root + "/bridge/auth" }

// Request is where op requests arrive; op may contain "/" (auth/verify).
func (t Topics) Request(op string) string { return t.Root + "/bridge/request/" + op }

// RequestPrefix is the subscription prefix for requests (add "#").
func (t Topics) RequestPrefix() string { return t.Root + "/bridge/request/" }

// Response is where the answer to op goes.
func (t Topics) Response(op string) string { return t.Root + "/bridge/response/" + op }

// BridgeEntity is the state topic of a bridge entity.
func (t Topics) BridgeEntity(key string) string { return t.Root + "/bridge/" + key }

// Events carries one JSON object per new media item (never retained).
func (t Topics) Events() string { return t.Root + "/events" }

// NetworkEntity is the state topic of a network entity.
func (t Topics) NetworkEntity(net int64, key string) string {
	return t.Root + "/" + id(net) + "/" + key
}

// NodeEntity is the state topic of a device entity (cameras, Minis,
// doorbells and sync modules); Nodes says which node a device has.
func (t Topics) NodeEntity(n Node, key string) string {
	return t.Root + "/" + id(n.Network) + "/" + n.Name + "/" + key
}

// DeviceEntity is NodeEntity for a device whose id is its node (no other
// device of its network has that id).
func (t Topics) DeviceEntity(net, dev int64, key string) string {
	return t.NodeEntity(IDNode(net, dev), key)
}

// Set returns the command topic that belongs to a state topic.
func Set(stateTopic string) string { return stateTopic + "/set" }

// Device-level helpers.

// NodeAttributes is the retained JSON object of one device.
func (t Topics) NodeAttributes(n Node) string { return t.NodeEntity(n, EntityAttributes) }

// NodeAvailability is the retained online/offline topic of one device.
func (t Topics) NodeAvailability(n Node) string { return t.NodeEntity(n, EntityAvailability) }

// DeviceAttributes is NodeAttributes for a device whose id is its node.
func (t Topics) DeviceAttributes(net, dev int64) string {
	return t.DeviceEntity(net, dev, EntityAttributes)
}

// DeviceAvailability is NodeAvailability for a device whose id is its node.
func (t Topics) DeviceAvailability(net, dev int64) string {
	return t.DeviceEntity(net, dev, EntityAvailability)
}

// NetworkAttributes is the retained JSON object of one network.
func (t Topics) NetworkAttributes(net int64) string { return t.NetworkEntity(net, EntityAttributes) }

// NetworkAvailability is the retained online/offline topic of one network.
func (t Topics) NetworkAvailability(net int64) string {
	return t.NetworkEntity(net, EntityAvailability)
}

// SetSubscriptions are the wildcard subscriptions that catch every …/set topic.
func (t Topics) SetSubscriptions() []string {
	return []string{t.Root + "/+/+/set", t.Root + "/+/+/+/set"}
}
