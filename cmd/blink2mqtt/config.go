package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// minPollInterval is the floor for both poll intervals: faster polling is what
// gets Blink accounts locked (blink-api.md §4.2).
const minPollInterval = 15 * time.Second

// Config is the whole configuration, read from the environment without a
// prefix (contract.md §1). Field tags name every variable explicitly: with no
// prefix, envconfig's un-prefixed fallback (go-notes §3.2) cannot bite.
type Config struct {
	BlinkEmail        string       `envconfig:"BLINK_EMAIL" desc:"Blink account e-mail; needed only when no saved token exists"`
	BlinkPassword     blink.Secret `envconfig:"BLINK_PASSWORD" desc:"Blink account password; needed only when no saved token exists"`
	BlinkPasswordFile string       `envconfig:"BLINK_PASSWORD_FILE" desc:"read the Blink password from this file (Docker secrets)"`
	BlinkOAuthURL     string       `envconfig:"BLINK_OAUTH_URL" default:"https://api.oauth.blink.com" desc:"Blink OAuth host"`
	BlinkRESTURL      string       `envconfig:"BLINK_REST_URL" default:"https://rest-{tier}.immedia-semi.com" desc:"Blink REST host template; {tier} is replaced by the account tier"`
	BlinkRateLimit    float64      `envconfig:"BLINK_RATE_LIMIT" default:"1" desc:"most Blink requests per second, shared by every call"`

	MQTTURL          string       `envconfig:"MQTT_URL" default:"mqtt://localhost:1883" desc:"MQTT broker: mqtt://, mqtts://, ws:// or wss://"`
	MQTTUsername     string       `envconfig:"MQTT_USERNAME" desc:"MQTT user name"`
	MQTTPassword     blink.Secret `envconfig:"MQTT_PASSWORD" desc:"MQTT password"`
	MQTTPasswordFile string       `envconfig:"MQTT_PASSWORD_FILE" desc:"read the MQTT password from this file"`
	MQTTCAFile       string       `envconfig:"MQTT_CA_FILE" desc:"PEM file of CA certificates to trust for mqtts:// and wss://"`
	MQTTCertFile     string       `envconfig:"MQTT_CERT_FILE" desc:"PEM client certificate for mutual TLS"`
	MQTTKeyFile      string       `envconfig:"MQTT_KEY_FILE" desc:"PEM key of the client certificate"`
	MQTTClientID     string       `envconfig:"MQTT_CLIENT_ID" desc:"MQTT client id, at most 23 characters (default: stable, derived from host and topic)"`
	MQTTTopic        string       `envconfig:"MQTT_TOPIC" default:"blink2mqtt" desc:"root of every topic"`

	HADiscovery       bool   `envconfig:"HA_DISCOVERY" default:"true" desc:"publish Home Assistant discovery"`
	HADiscoveryPrefix string `envconfig:"HA_DISCOVERY_PREFIX" default:"homeassistant" desc:"Home Assistant discovery prefix; its birth topic is <prefix>/status"`

	PollInterval      time.Duration `envconfig:"POLL_INTERVAL" default:"30s" desc:"homescreen (state) refresh; at least 15s"`
	MediaPollInterval time.Duration `envconfig:"MEDIA_POLL_INTERVAL" default:"15s" desc:"media/changed (motion) refresh while something can record; at least 15s"`
	MotionHold        time.Duration `envconfig:"MOTION_HOLD" default:"30s" desc:"how long a motion sensor stays ON after a clip"`
	CommandSpacing    time.Duration `envconfig:"COMMAND_SPACING" default:"5s" desc:"least time between two commands to the same Blink network"`

	StateDir       string        `envconfig:"STATE_DIR" default:"./data" desc:"tokens, hardware id, media cursor, discovery ledger (created 0700)"`
	MediaDir       string        `envconfig:"MEDIA_DIR" desc:"save new clips here; empty = off"`
	MediaRetention time.Duration `envconfig:"MEDIA_RETENTION" default:"720h" desc:"delete saved clips older than this; 0 = keep"`
	MediaMaxBytes  int64         `envconfig:"MEDIA_MAX_BYTES" default:"0" desc:"delete the oldest saved clips beyond this many bytes; 0 = no limit"`

	HTTPListen string        `envconfig:"HTTP_LISTEN" desc:"address for /healthz and /metrics, e.g. :8080; empty = off"`
	LogLevel   zerolog.Level `envconfig:"LOG_LEVEL" default:"info" desc:"trace, debug, info, warn or error"`
	LogFormat  string        `envconfig:"LOG_FORMAT" default:"auto" desc:"auto (console on a terminal, JSON otherwise), console or json"`
}

// loadConfig reads and validates the environment. Every problem found is
// reported, one line each, naming the variable.
func loadConfig() (*Config, error) {
	var cfg Config
	// A variable set to "" (a bare line in a Docker env file) means "use the
	// default"; envconfig would otherwise fail on an empty duration.
	for _, key := range configKeys() {
		if v, ok := os.LookupEnv(key); ok && strings.TrimSpace(v) == "" {
			_ = os.Unsetenv(key)
		}
	}
	if err := envconfig.Process("", &cfg); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			// Parsers echo the raw value; keep the error on one line whatever it holds.
			return nil, fmt.Errorf("%s: cannot use %q: %s", pe.KeyName, pe.Value, oneLine(unwrapParse(pe.Err).Error()))
		}
		return nil, err
	}
	if err := cfg.readSecretFiles(); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

// oneLine escapes line breaks so an error stays one log line.
func oneLine(s string) string {
	return strings.NewReplacer("\r", `\r`, "\n", `\n`).Replace(s)
}

// unwrapParse drops strconv's "strconv.ParseFloat: parsing "x":" prefix noise.
func unwrapParse(err error) error {
	var ne interface{ Unwrap() error }
	if errors.As(err, &ne) && ne.Unwrap() != nil {
		return ne.Unwrap()
	}
	return err
}

func (c *Config) readSecretFiles() error {
	var errs []error
	read := func(key, path string, dst *blink.Secret) {
		if path == "" {
			return
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, errors.New(oneLine(key+": "+err.Error())))
			return
		}
		*dst = blink.Secret(strings.TrimRight(string(b), "\r\n"))
	}
	read("BLINK_PASSWORD_FILE", c.BlinkPasswordFile, &c.BlinkPassword)
	read("MQTT_PASSWORD_FILE", c.MQTTPasswordFile, &c.MQTTPassword)
	return errors.Join(errs...)
}

func (c *Config) validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, errors.New(oneLine(fmt.Sprintf("%s: "+format, append([]any{key}, args...)...))))
	}
	if u, err := url.Parse(c.MQTTURL); err != nil || u.Host == "" {
		bad("MQTT_URL", "%q is not a broker URL like mqtt://host:1883", c.MQTTURL)
	} else {
		switch u.Scheme {
		case "mqtt", "mqtts", "ws", "wss", "tcp", "ssl", "tls":
		default:
			bad("MQTT_URL", "unknown scheme %q (use mqtt://, mqtts://, ws:// or wss://)", u.Scheme)
		}
	}
	for _, f := range []struct{ key, url string }{{"BLINK_OAUTH_URL", c.BlinkOAuthURL}, {"BLINK_REST_URL", c.BlinkRESTURL}} {
		u, err := url.Parse(strings.ReplaceAll(f.url, "{tier}", "prod"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(f.key, "%q is not an http(s) URL", f.url)
		}
	}
	for _, f := range []struct{ key, path string }{
		{"MQTT_CA_FILE", c.MQTTCAFile}, {"MQTT_CERT_FILE", c.MQTTCertFile}, {"MQTT_KEY_FILE", c.MQTTKeyFile},
	} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			bad(f.key, "%v", err)
		}
	}
	if (c.MQTTCertFile == "") != (c.MQTTKeyFile == "") {
		bad("MQTT_CERT_FILE", "MQTT_CERT_FILE and MQTT_KEY_FILE go together")
	}
	if len(c.MQTTClientID) > 23 {
		bad("MQTT_CLIENT_ID", "%q is longer than 23 characters", c.MQTTClientID)
	}
	if c.MQTTTopic == "" || strings.ContainsAny(c.MQTTTopic, "+#\x00") || strings.HasSuffix(c.MQTTTopic, "/") || strings.HasPrefix(c.MQTTTopic, "/") {
		bad("MQTT_TOPIC", "%q is not a usable topic root (no +, #, leading or trailing /)", c.MQTTTopic)
	}
	if c.HADiscoveryPrefix == "" || strings.ContainsAny(c.HADiscoveryPrefix, "+#\x00") {
		bad("HA_DISCOVERY_PREFIX", "%q is not a usable topic prefix", c.HADiscoveryPrefix)
	}
	if c.PollInterval < minPollInterval {
		bad("POLL_INTERVAL", "%s is under the %s floor (faster polling gets Blink accounts locked)", c.PollInterval, minPollInterval)
	}
	if c.MediaPollInterval < minPollInterval {
		bad("MEDIA_POLL_INTERVAL", "%s is under the %s floor (faster polling gets Blink accounts locked)", c.MediaPollInterval, minPollInterval)
	}
	if c.MotionHold <= 0 {
		bad("MOTION_HOLD", "%s must be positive", c.MotionHold)
	}
	if c.CommandSpacing < 0 {
		bad("COMMAND_SPACING", "%s must not be negative", c.CommandSpacing)
	}
	if c.BlinkRateLimit <= 0 || c.BlinkRateLimit > 10 {
		bad("BLINK_RATE_LIMIT", "%v must be above 0 and at most 10 requests per second", c.BlinkRateLimit)
	}
	if c.StateDir == "" {
		bad("STATE_DIR", "must not be empty")
	}
	if c.MediaRetention < 0 {
		bad("MEDIA_RETENTION", "%s must not be negative", c.MediaRetention)
	}
	if c.MediaMaxBytes < 0 {
		bad("MEDIA_MAX_BYTES", "%d must not be negative", c.MediaMaxBytes)
	}
	switch c.LogFormat {
	case "auto", "console", "json":
	default:
		bad("LOG_FORMAT", "%q is not auto, console or json", c.LogFormat)
	}
	return errors.Join(errs...)
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

// print writes the effective configuration as KEY=value lines; secrets show
// as [redacted] when set.
func (c *Config) print(w io.Writer) error {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	for i := range t.NumField() {
		key := t.Field(i).Tag.Get("envconfig")
		val := v.Field(i).Interface()
		var s string
		switch x := val.(type) {
		case blink.Secret:
			s = x.String()
		case fmt.Stringer:
			s = x.String()
		default:
			s = fmt.Sprint(x)
		}
		fmt.Fprintf(tw, "%s=%s\n", key, s)
	}
	return tw.Flush()
}

// exampleEnvTemplate renders config.example.env from the struct tags.
const exampleEnvTemplate = `# blink2mqtt configuration — every variable with its default.
# Generated from cmd/blink2mqtt/config.go (go test ./cmd/blink2mqtt -run TestExampleEnv -update).
{{range .}}
# {{usage_description .}}
{{if usage_default .}}{{usage_key .}}={{usage_default .}}{{else}}#{{usage_key .}}={{end}}
{{end}}`

// writeExampleEnv renders the example env file.
func writeExampleEnv(w io.Writer) error {
	var cfg Config
	return envconfig.Usagef("", &cfg, w, exampleEnvTemplate)
}
