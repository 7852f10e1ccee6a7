package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/bridge"
)

// minPollInterval is the floor for both poll intervals: faster polling is what
// gets Blink accounts locked.
const minPollInterval = 15 * time.Second

// minLocalStorageInterval is LOCAL_STORAGE_INTERVAL's floor: a check costs
// about four requests and occupies the sync module.
const minLocalStorageInterval = 30 * time.Second

// maxLiveviewIdle bounds LIVEVIEW_IDLE: a live view nobody watches drains
// a battery camera.
const maxLiveviewIdle = 10 * time.Minute

// Config is the whole configuration, read from environment variables without
// a prefix. The envconfig tag names each variable; default and desc feed the
// loader and config.example.env.
type Config struct {
	BlinkEmail        string       `envconfig:"BLINK_EMAIL" desc:"Blink account e-mail; needed only when no saved token exists"`
	BlinkPassword     blink.Secret `envconfig:"BLINK_PASSWORD" desc:"Blink account password; needed only when no saved token exists"`
	BlinkPasswordFile string       `envconfig:"BLINK_PASSWORD_FILE" desc:"read the Blink password from this file (Docker secrets)"`
	BlinkOAuthURL     string       `envconfig:"BLINK_OAUTH_URL" default:"https://api.oauth.blink.com" desc:"Blink OAuth host"`
	BlinkRESTURL      string       `envconfig:"BLINK_REST_URL" default:"https://rest-{tier}.immedia-semi.com" desc:"Blink REST host template; {tier} is replaced by the account tier"`
	BlinkRateLimit    float64      `envconfig:"BLINK_RATE_LIMIT" default:"1" desc:"most Blink requests per second, shared by every call"`

	MQTTURL          string       `envconfig:"MQTT_URL" default:"mqtt://localhost:1883" desc:"MQTT broker: mqtt://, mqtts://, ws:// or wss://; user:password@ in it is used unless MQTT_USERNAME is set"`
	MQTTUsername     string       `envconfig:"MQTT_USERNAME" desc:"MQTT user name"`
	MQTTPassword     blink.Secret `envconfig:"MQTT_PASSWORD" desc:"MQTT password"`
	MQTTPasswordFile string       `envconfig:"MQTT_PASSWORD_FILE" desc:"read the MQTT password from this file"`
	MQTTCAFile       string       `envconfig:"MQTT_CA_FILE" desc:"PEM file of CA certificates to trust for mqtts:// and wss://"`
	MQTTCertFile     string       `envconfig:"MQTT_CERT_FILE" desc:"PEM client certificate for mutual TLS"`
	MQTTKeyFile      string       `envconfig:"MQTT_KEY_FILE" desc:"PEM key of the client certificate"`
	MQTTClientID     string       `envconfig:"MQTT_CLIENT_ID" desc:"MQTT client id, at most 23 characters (default: stable, derived from host and topic)"`
	MQTTTopic        string       `envconfig:"MQTT_TOPIC" default:"blink2mqtt" desc:"root of every topic"`

	HADiscovery       bool   `envconfig:"HA_DISCOVERY" default:"true" desc:"publish Home Assistant discovery (true or false)"`
	HADiscoveryPrefix string `envconfig:"HA_DISCOVERY_PREFIX" default:"homeassistant" desc:"Home Assistant discovery prefix; its birth topic is <prefix>/status"`

	PollInterval      time.Duration `envconfig:"POLL_INTERVAL" default:"30s" desc:"homescreen (state) refresh; at least 15s"`
	MediaPollInterval time.Duration `envconfig:"MEDIA_POLL_INTERVAL" default:"15s" desc:"media/changed (motion) refresh while something can record; at least 15s"`
	MotionHold        time.Duration `envconfig:"MOTION_HOLD" default:"30s" desc:"how long a motion sensor stays ON after a clip"`
	CommandSpacing    time.Duration `envconfig:"COMMAND_SPACING" default:"5s" desc:"least time between two commands to the same Blink network"`

	StateDir       string        `envconfig:"STATE_DIR" default:"./data" desc:"tokens, hardware id, media cursor, discovery ledger (kept 0700, files 0600)"`
	MediaDir       string        `envconfig:"MEDIA_DIR" desc:"save new clips here; empty = off"`
	MediaRetention time.Duration `envconfig:"MEDIA_RETENTION" default:"720h" desc:"delete saved clips older than this; 0 = keep"`
	MediaMaxBytes  int64         `envconfig:"MEDIA_MAX_BYTES" default:"0" desc:"delete the oldest saved clips beyond this many bytes; 0 = no limit"`

	LocalStorage         string        `envconfig:"LOCAL_STORAGE" default:"auto" desc:"auto: watch the USB storage of Sync Module 2s whose local storage is active, while their system is armed; off: never touch it"`
	LocalStorageInterval time.Duration `envconfig:"LOCAL_STORAGE_INTERVAL" default:"60s" desc:"longest time between two checks of an armed system's USB storage (each costs about 4 requests); at least 30s"`

	RTSPListen       string        `envconfig:"RTSP_LISTEN" desc:"address of the built-in RTSP server for live view, e.g. :8554 (UDP uses the next even port and the one after it); empty = off"`
	RTSPUsername     string        `envconfig:"RTSP_USERNAME" desc:"when set with RTSP_PASSWORD, RTSP readers must log in with them"`
	RTSPPassword     blink.Secret  `envconfig:"RTSP_PASSWORD" desc:"password RTSP readers must give (with RTSP_USERNAME)"`
	RTSPPasswordFile string        `envconfig:"RTSP_PASSWORD_FILE" desc:"read the RTSP password from this file"`
	LiveviewIdle     time.Duration `envconfig:"LIVEVIEW_IDLE" default:"15s" desc:"how long a Blink live view stays up after its last RTSP reader left; at most 10m"`

	HTTPListen string        `envconfig:"HTTP_LISTEN" desc:"address for the web page, /healthz and /metrics, e.g. :8080; empty = off"`
	LogLevel   zerolog.Level `envconfig:"LOG_LEVEL" default:"info" desc:"trace, debug, info, warn or error"`
	LogFormat  string        `envconfig:"LOG_FORMAT" default:"auto" desc:"auto (console on a terminal, JSON otherwise), console or json"`

	// The web page: who may log in there (see README: Web page).
	HTTPPassword     blink.Secret `envconfig:"HTTP_PASSWORD" desc:"password of the web page (HTTP basic auth, any user name); needed to see it and to log in there"`
	HTTPPasswordFile string       `envconfig:"HTTP_PASSWORD_FILE" desc:"read HTTP_PASSWORD from this file"`
	HTTPIngress      bool         `envconfig:"HTTP_INGRESS" default:"false" desc:"let Home Assistant's ingress proxy (the Supervisor, 172.30.32.2) log in on the web page; the add-on sets it"`

	// notes says where a printed value came from when that is not its own
	// variable (credentials from MQTT_URL, a derived client id), by variable.
	notes map[string]string
}

// lookupFunc reads one variable; main passes os.LookupEnv, tests a map.
type lookupFunc func(key string) (string, bool)

// mapLookup serves variables from a map.
func mapLookup(env map[string]string) lookupFunc {
	return func(key string) (string, bool) {
		v, ok := env[key]
		return v, ok
	}
}

// loadConfig reads and validates every variable through lookup. All
// problems are reported at once, one line each, each starting with the
// variable's name; secret values are never echoed.
func loadConfig(lookup lookupFunc) (*Config, error) {
	cfg := &Config{notes: map[string]string{}}
	set := map[string]bool{}
	p := &problems{failed: map[string]bool{}}
	v := reflect.ValueOf(cfg).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key := f.Tag.Get("envconfig")
		if key == "" {
			continue
		}
		raw, ok := lookup(key)
		// A variable set to "" (a bare line in a Docker env file) means
		// "use the default".
		if strings.TrimSpace(raw) == "" {
			raw, ok = f.Tag.Get("default"), false
		}
		set[key] = ok
		if raw == "" {
			continue
		}
		if err := setValue(v.Field(i), raw); err != nil {
			p.add(key, "%s", err.Error())
		}
	}
	cfg.readSecretFiles(p)
	cfg.takeURLCredentials(set)
	cfg.validate(p)
	if cfg.MQTTClientID == "" && !p.failed["MQTT_TOPIC"] {
		cfg.MQTTClientID = bridge.DefaultClientID(cfg.MQTTTopic)
		cfg.notes["MQTT_CLIENT_ID"] = "derived from the host name and MQTT_TOPIC"
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// problems collects one line per bad variable.
type problems struct {
	lines  []string
	failed map[string]bool // variables that already have a line
}

// add records a problem with key unless key already has one: a value that
// could not be parsed is not also judged by the checks after it.
func (p *problems) add(key, format string, args ...any) {
	if p.failed[key] {
		return
	}
	p.failed[key] = true
	p.lines = append(p.lines, oneLine(key+": "+fmt.Sprintf(format, args...)))
}

func (p *problems) err() error {
	if len(p.lines) == 0 {
		return nil
	}
	return errors.New(strings.Join(p.lines, "\n"))
}

// oneLine escapes line breaks so an error stays one log line.
func oneLine(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

func (c *Config) readSecretFiles(p *problems) {
	read := func(key, path string, dst *blink.Secret) {
		if path == "" {
			return
		}
		b, err := os.ReadFile(path)
		if err != nil {
			p.add(key, "%v", err)
			return
		}
		*dst = blink.Secret(strings.TrimRight(string(b), "\r\n"))
	}
	read("BLINK_PASSWORD_FILE", c.BlinkPasswordFile, &c.BlinkPassword)
	read("MQTT_PASSWORD_FILE", c.MQTTPasswordFile, &c.MQTTPassword)
	read("HTTP_PASSWORD_FILE", c.HTTPPasswordFile, &c.HTTPPassword)
	read("RTSP_PASSWORD_FILE", c.RTSPPasswordFile, &c.RTSPPassword)
}

// takeURLCredentials moves user:password@ out of MQTT_URL, so the URL that is
// printed, logged and handed to the bridge never holds a password. The user
// info becomes the broker credentials unless MQTT_USERNAME is set; an
// explicit MQTT_PASSWORD(_FILE) beats a password in the URL.
func (c *Config) takeURLCredentials(set map[string]bool) {
	clean, ui := splitUserInfo(c.MQTTURL)
	if ui == nil {
		return // none, or validate refuses what does not parse
	}
	user := ui.Username()
	pass, hasPass := ui.Password()
	c.MQTTURL = clean
	if set["MQTT_USERNAME"] {
		c.notes["MQTT_URL"] = "its user info is ignored: MQTT_USERNAME is set"
		return
	}
	c.MQTTUsername = user
	c.notes["MQTT_USERNAME"] = "from MQTT_URL"
	switch {
	case !c.MQTTPassword.IsZero():
		c.notes["MQTT_PASSWORD"] = "from MQTT_PASSWORD(_FILE), not MQTT_URL"
	case hasPass:
		c.MQTTPassword = blink.Secret(pass)
		c.notes["MQTT_PASSWORD"] = "from MQTT_URL"
	}
	c.notes["MQTT_URL"] = "user info moved to MQTT_USERNAME/MQTT_PASSWORD"
}

// splitUserInfo returns a URL without its user info, and that user info
// (percent-decoded by url.Parse). ui is nil when there is none or raw is not
// a URL with a host; clean is then raw, for validate to refuse redacted.
func splitUserInfo(raw string) (clean string, ui *url.Userinfo) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil || u.Host == "" {
		return raw, nil
	}
	ui, u.User = u.User, nil
	return u.String(), ui
}

// credentialSource says, for the start-up log, where the broker credentials
// come from.
func (c *Config) credentialSource() string {
	switch {
	case c.notes["MQTT_USERNAME"] != "":
		return "MQTT_URL"
	case c.MQTTUsername != "" || !c.MQTTPassword.IsZero():
		return "MQTT_USERNAME/MQTT_PASSWORD"
	default:
		return "none"
	}
}

func (c *Config) validate(p *problems) {
	if u, err := url.Parse(c.MQTTURL); err != nil || u.Host == "" {
		p.add("MQTT_URL", "%s is not a broker URL like mqtt://host:1883", quote(redactURL(c.MQTTURL)))
	} else {
		switch u.Scheme {
		case "mqtt", "mqtts", "ws", "wss", "tcp", "ssl", "tls":
		default:
			p.add("MQTT_URL", "unknown scheme %s (use mqtt://, mqtts://, ws:// or wss://)", quote(u.Scheme))
		}
	}
	for _, f := range []struct{ key, url string }{{"BLINK_OAUTH_URL", c.BlinkOAuthURL}, {"BLINK_REST_URL", c.BlinkRESTURL}} {
		u, err := url.Parse(strings.ReplaceAll(f.url, "{tier}", "prod"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add(f.key, "%s is not an http(s) URL", quote(redactURL(f.url)))
		}
	}
	for _, f := range []struct{ key, path string }{
		{"MQTT_CA_FILE", c.MQTTCAFile}, {"MQTT_CERT_FILE", c.MQTTCertFile}, {"MQTT_KEY_FILE", c.MQTTKeyFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			p.add(f.key, "%v", err)
		}
	}
	if (c.MQTTCertFile == "") != (c.MQTTKeyFile == "") {
		p.add("MQTT_CERT_FILE", "MQTT_CERT_FILE and MQTT_KEY_FILE go together")
	}
	if len(c.MQTTClientID) > 23 {
		p.add("MQTT_CLIENT_ID", "%s is longer than 23 characters", quote(c.MQTTClientID))
	}
	if c.MQTTTopic == "" || strings.ContainsAny(c.MQTTTopic, "+#\x00") || strings.HasSuffix(c.MQTTTopic, "/") || strings.HasPrefix(c.MQTTTopic, "/") {
		p.add("MQTT_TOPIC", "%s is not a usable topic root (no +, #, leading or trailing /)", quote(c.MQTTTopic))
	}
	if c.HADiscoveryPrefix == "" || strings.ContainsAny(c.HADiscoveryPrefix, "+#\x00") {
		p.add("HA_DISCOVERY_PREFIX", "%s is not a usable topic prefix (no + or #)", quote(c.HADiscoveryPrefix))
	}
	if c.PollInterval < minPollInterval {
		p.add("POLL_INTERVAL", "%s is under the %s floor (faster polling gets Blink accounts locked)", c.PollInterval, minPollInterval)
	}
	if c.MediaPollInterval < minPollInterval {
		p.add("MEDIA_POLL_INTERVAL", "%s is under the %s floor (faster polling gets Blink accounts locked)", c.MediaPollInterval, minPollInterval)
	}
	if c.MotionHold <= 0 {
		p.add("MOTION_HOLD", "%s must be positive", c.MotionHold)
	}
	if c.CommandSpacing < 0 {
		p.add("COMMAND_SPACING", "%s must not be negative", c.CommandSpacing)
	}
	if c.BlinkRateLimit <= 0 || c.BlinkRateLimit > 10 {
		p.add("BLINK_RATE_LIMIT", "%v must be above 0 and at most 10 requests per second", c.BlinkRateLimit)
	}
	if c.StateDir == "" {
		p.add("STATE_DIR", "must not be empty")
	}
	if c.MediaRetention < 0 {
		p.add("MEDIA_RETENTION", "%s must not be negative", c.MediaRetention)
	}
	if c.MediaMaxBytes < 0 {
		p.add("MEDIA_MAX_BYTES", "%d must not be negative", c.MediaMaxBytes)
	}
	if c.RTSPListen != "" {
		if _, port, err := net.SplitHostPort(c.RTSPListen); err != nil {
			p.add("RTSP_LISTEN", "%s is not an address like :8554 or 127.0.0.1:8554", quote(c.RTSPListen))
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65533 {
			p.add("RTSP_LISTEN", "port %s is not a number from 0 to 65533 (UDP takes the two ports after it)", quote(port))
		}
	}
	if (c.RTSPUsername == "") != c.RTSPPassword.IsZero() && !p.failed["RTSP_PASSWORD_FILE"] {
		p.add("RTSP_USERNAME", "RTSP_USERNAME and RTSP_PASSWORD (or RTSP_PASSWORD_FILE) go together")
	}
	if c.LiveviewIdle <= 0 || c.LiveviewIdle > maxLiveviewIdle {
		p.add("LIVEVIEW_IDLE", "%s must be above 0 and at most %s (a live view drains a battery camera)", c.LiveviewIdle, maxLiveviewIdle)
	}
	switch c.LogFormat {
	case "auto", "console", "json":
	default:
		p.add("LOG_FORMAT", "%s is not one of auto, console, json", quote(c.LogFormat))
	}
	switch c.LocalStorage {
	case "auto", "off":
	default:
		p.add("LOCAL_STORAGE", "%s is not one of auto, off", quote(c.LocalStorage))
	}
	if c.LocalStorageInterval < minLocalStorageInterval {
		p.add("LOCAL_STORAGE_INTERVAL", "%s is under the %s floor (each check costs about 4 Blink requests and occupies the sync module)",
			c.LocalStorageInterval, minLocalStorageInterval)
	}
}

// configKeys lists every variable the Config reads, in field order.
func configKeys() []string {
	t := reflect.TypeFor[Config]()
	keys := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		if k := t.Field(i).Tag.Get("envconfig"); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}
