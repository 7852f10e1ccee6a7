package main

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The Home Assistant add-on (addon/) is configuration, a shell script and
// a Dockerfile; these tests keep them in step with the Config struct.

// addonNotOffered are the variables the add-on's options leave out, and why.
var addonNotOffered = map[string]string{
	"BLINK_EMAIL":         "the login happens on the page; nothing about the account is stored in options.json",
	"BLINK_PASSWORD":      "the login happens on the page; nothing about the account is stored in options.json",
	"BLINK_PASSWORD_FILE": "the login happens on the page",
	"BLINK_OAUTH_URL":     "for tests and proxies",
	"BLINK_REST_URL":      "for tests and proxies",
	"BLINK_RATE_LIMIT":    "the default is what Blink tolerates",
	"MQTT_PASSWORD_FILE":  "mqtt_password is the add-on's secret store",
	"MQTT_CLIENT_ID":      "the default is stable per add-on (host name and topic)",
	"HTTP_PASSWORD_FILE":  "http_password is the add-on's secret store",
	"RTSP_PASSWORD_FILE":  "rtsp_password is the add-on's secret store",
}

type addonConfig struct {
	Name        string   `yaml:"name"`
	Version     string   `yaml:"version"`
	Slug        string   `yaml:"slug"`
	Description string   `yaml:"description"`
	URL         string   `yaml:"url"`
	Arch        []string `yaml:"arch"`
	Ingress     bool     `yaml:"ingress"`
	IngressPort int      `yaml:"ingress_port"`
	PanelIcon   string   `yaml:"panel_icon"`
	Services    []string `yaml:"services"`
	Map         []struct {
		Type     string `yaml:"type"`
		ReadOnly *bool  `yaml:"read_only"`
	} `yaml:"map"`
	Ports   map[string]*int   `yaml:"ports"`
	Options map[string]any    `yaml:"options"`
	Schema  map[string]string `yaml:"schema"`
}

func addonFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readAddonConfig(t *testing.T) addonConfig {
	t.Helper()
	var c addonConfig
	if err := yaml.Unmarshal(addonFile(t, "addon/config.yaml"), &c); err != nil {
		t.Fatalf("addon/config.yaml: %v", err)
	}
	return c
}

// entrypoint is what addon/run.sh declares: the options it reads, the
// variables it fixes and the ingress port.
type entrypoint struct {
	keys        []string
	fixed       map[string]string
	ingressPort int
}

func readEntrypoint(t *testing.T) entrypoint {
	t.Helper()
	script := string(addonFile(t, "addon/run.sh"))
	e := entrypoint{fixed: map[string]string{}}
	keys := regexp.MustCompile(`(?s)\nKEYS="([^"]*)"`).FindStringSubmatch(script)
	if keys == nil {
		t.Fatal("addon/run.sh has no KEYS=\"…\"")
	}
	e.keys = strings.Fields(keys[1])
	port := regexp.MustCompile(`\nINGRESS_PORT=([0-9]+)\n`).FindStringSubmatch(script)
	if port == nil {
		t.Fatal("addon/run.sh has no INGRESS_PORT=")
	}
	e.ingressPort, _ = strconv.Atoi(port[1])
	fixed := regexp.MustCompile(`\nexport (STATE_DIR=.*)\n`).FindStringSubmatch(script)
	if fixed == nil {
		t.Fatal("addon/run.sh does not export STATE_DIR and the rest on one line")
	}
	for _, kv := range strings.Fields(fixed[1]) {
		k, v, _ := strings.Cut(kv, "=")
		e.fixed[k] = strings.Trim(v, `"`)
	}
	return e
}

// TestAddonOptionsAreVariables: every option is a variable of the Config
// (its name in upper case), the entrypoint reads exactly the options the
// schema has, the translations name exactly those, and every variable is
// an option, set by the entrypoint, or left out for a stated reason.
func TestAddonOptionsAreVariables(t *testing.T) {
	t.Parallel()
	c := readAddonConfig(t)
	e := readEntrypoint(t)
	known := map[string]bool{}
	for _, k := range configKeys() {
		known[k] = true
	}
	schemaKeys := slices.Sorted(maps.Keys(c.Schema))
	if !slices.Equal(schemaKeys, slices.Sorted(slices.Values(e.keys))) {
		t.Errorf("run.sh reads %v, the schema has %v", e.keys, schemaKeys)
	}
	covered := map[string]string{}
	for _, k := range schemaKeys {
		v := strings.ToUpper(k)
		if !known[v] {
			t.Errorf("option %s maps to %s, which is not a blink2mqtt variable", k, v)
		}
		covered[v] = "option " + k
	}
	for k := range c.Options {
		if _, ok := c.Schema[k]; !ok {
			t.Errorf("option %s has a default but no schema", k)
		}
	}
	for v := range e.fixed {
		if !known[v] {
			t.Errorf("run.sh sets %s, which is not a blink2mqtt variable", v)
		}
		if prev, dup := covered[v]; dup {
			t.Errorf("%s is both %s and set by run.sh", v, prev)
		}
		covered[v] = "run.sh"
	}
	for v, why := range addonNotOffered {
		if !known[v] {
			t.Errorf("addonNotOffered names %s, which is not a variable", v)
		}
		if prev, dup := covered[v]; dup {
			t.Errorf("%s is %s but listed as not offered (%s)", v, prev, why)
		}
		covered[v] = "not offered"
	}
	for _, v := range configKeys() {
		if covered[v] == "" {
			t.Errorf("variable %s is neither an add-on option, set by addon/run.sh, nor in addonNotOffered with a reason", v)
		}
	}

	var tr struct {
		Configuration map[string]struct {
			Name        string `yaml:"name"`
			Description string `yaml:"description"`
		} `yaml:"configuration"`
		Network map[string]string `yaml:"network"`
	}
	if err := yaml.Unmarshal(addonFile(t, "addon/translations/en.yaml"), &tr); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(tr.Configuration)); !slices.Equal(got, schemaKeys) {
		t.Errorf("translations name %v, the schema has %v", got, schemaKeys)
	}
	for k, v := range tr.Configuration {
		if v.Name == "" || v.Description == "" {
			t.Errorf("translation of %s lacks a name or description", k)
		}
	}
	docs := string(addonFile(t, "addon/DOCS.md"))
	for _, k := range schemaKeys {
		if !strings.Contains(docs, "`"+k+"`") {
			t.Errorf("addon/DOCS.md does not explain %s", k)
		}
	}
}

// TestAddonDefaultsLoad: every default fits its schema, and the defaults
// with what run.sh sets are a configuration blink2mqtt accepts.
func TestAddonDefaultsLoad(t *testing.T) {
	t.Parallel()
	c := readAddonConfig(t)
	e := readEntrypoint(t)
	env := map[string]string{}
	for k, v := range e.fixed {
		env[k] = strings.ReplaceAll(v, "${INGRESS_PORT}", strconv.Itoa(e.ingressPort))
	}
	for k, v := range c.Options {
		if err := checkSchema(c.Schema[k], v); err != "" {
			t.Errorf("default of %s (%v): %s", k, v, err)
		}
		env[strings.ToUpper(k)] = jsonString(v)
	}
	for k, s := range c.Schema {
		if _, has := c.Options[k]; !has && !strings.HasSuffix(s, "?") {
			t.Errorf("%s is required (%s) but has no default", k, s)
		}
	}
	cfg, err := loadConfig(mapLookup(env))
	if err != nil {
		t.Fatalf("the add-on's defaults do not load:\n%v", err)
	}
	if !cfg.HTTPIngress || cfg.HTTPListen != ":"+strconv.Itoa(e.ingressPort) || cfg.StateDir != "/data" {
		t.Errorf("the add-on runs with ingress %v, HTTP_LISTEN %q, STATE_DIR %q", cfg.HTTPIngress, cfg.HTTPListen, cfg.StateDir)
	}

	// The duration pattern takes what Go parses and refuses the rest.
	re := schemaRegexp(t, c.Schema["poll_interval"])
	for v, ok := range map[string]bool{"30s": true, "1m30s": true, "1.5h": true, "500ms": true, "30": false, "30 s": false, "-1s": false, "": false} {
		if re.MatchString(v) != ok {
			t.Errorf("poll_interval pattern on %q = %v, want %v", v, !ok, ok)
		}
	}
}

func jsonString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func schemaRegexp(t *testing.T, s string) *regexp.Regexp {
	t.Helper()
	m := regexp.MustCompile(`^match\((.*)\)\??$`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%q is not match(…)", s)
	}
	return regexp.MustCompile(m[1])
}

// checkSchema checks v against the schema types the add-on uses; "" = ok.
func checkSchema(schema string, v any) string {
	s := strings.TrimSuffix(schema, "?")
	switch {
	case s == "bool":
		if _, ok := v.(bool); !ok {
			return "not a bool"
		}
	case s == "str" || s == "password":
		if _, ok := v.(string); !ok {
			return "not a string"
		}
	case strings.HasPrefix(s, "int("):
		n, ok := v.(int)
		lo, _, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(s, "int("), ")"), ",")
		if min, err := strconv.Atoi(lo); !ok || (err == nil && n < min) {
			return "not an int within " + s
		}
	case strings.HasPrefix(s, "list("):
		str, _ := v.(string)
		if !slices.Contains(strings.Split(strings.TrimSuffix(strings.TrimPrefix(s, "list("), ")"), "|"), str) {
			return "not one of " + s
		}
	case strings.HasPrefix(s, "match("):
		str, _ := v.(string)
		if !regexp.MustCompile(strings.TrimSuffix(strings.TrimPrefix(s, "match("), ")")).MatchString(str) {
			return "does not match " + s
		}
	default:
		return "schema type " + s + " is not checked here"
	}
	return ""
}

// TestAddonManifest: what Home Assistant needs to list, build and open the
// add-on: ingress on the port run.sh listens on, the MQTT service, the media
// folder for MEDIA_DIR, an icon, architectures the build file has images
// for, a Dockerfile that builds this module's command and runs run.sh, and
// the repository file.
func TestAddonManifest(t *testing.T) {
	t.Parallel()
	c := readAddonConfig(t)
	e := readEntrypoint(t)
	if c.Name == "" || c.Description == "" || !regexp.MustCompile(`^[a-z0-9_]+$`).MatchString(c.Slug) ||
		!regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(c.Version) {
		t.Errorf("name %q, slug %q, version %q", c.Name, c.Slug, c.Version)
	}
	if !c.Ingress || c.IngressPort != e.ingressPort {
		t.Errorf("ingress %v on port %d; run.sh listens on %d", c.Ingress, c.IngressPort, e.ingressPort)
	}
	if e.fixed["HTTP_LISTEN"] != ":${INGRESS_PORT}" || e.fixed["HTTP_INGRESS"] != "true" {
		t.Errorf("run.sh sets HTTP_LISTEN=%s HTTP_INGRESS=%s", e.fixed["HTTP_LISTEN"], e.fixed["HTTP_INGRESS"])
	}
	if _, ok := c.Ports[strconv.Itoa(e.ingressPort)+"/tcp"]; !ok {
		t.Errorf("ports %v lack the page's port %d", c.Ports, e.ingressPort)
	}
	if !strings.HasPrefix(c.PanelIcon, "mdi:") || !slices.Contains(c.Services, "mqtt:want") {
		t.Errorf("panel_icon %q, services %v", c.PanelIcon, c.Services)
	}
	media := slices.IndexFunc(c.Map, func(m struct {
		Type     string `yaml:"type"`
		ReadOnly *bool  `yaml:"read_only"`
	}) bool {
		return m.Type == "media"
	})
	if media < 0 || c.Map[media].ReadOnly == nil || *c.Map[media].ReadOnly {
		t.Errorf("media must be mapped writable for media_dir: %+v", c.Map)
	}

	var build struct {
		BuildFrom map[string]string `yaml:"build_from"`
	}
	if err := yaml.Unmarshal(addonFile(t, "addon/build.yaml"), &build); err != nil {
		t.Fatal(err)
	}
	for _, a := range c.Arch {
		if !slices.Contains([]string{"aarch64", "amd64", "armv7", "armhf", "i386"}, a) || build.BuildFrom[a] == "" {
			t.Errorf("architecture %q: unknown or without a base image in build.yaml", a)
		}
	}

	docker := string(addonFile(t, "addon/Dockerfile"))
	module := regexp.MustCompile(`(?m)^module (\S+)`).FindStringSubmatch(string(addonFile(t, "go.mod")))[1]
	bin := regexp.MustCompile(`BLINK2MQTT="\$\{BLINK2MQTT:-([^}]+)\}"`).FindStringSubmatch(string(addonFile(t, "addon/run.sh")))
	for _, want := range []string{
		module + "/cmd/blink2mqtt@v${BUILD_VERSION}",
		"COPY --from=build /out/blink2mqtt " + bin[1] + "\n",
		"COPY run.sh /run.sh\n",
		`ENTRYPOINT ["/run.sh"]`,
		"apk add --no-cache jq curl",
	} {
		if !strings.Contains(docker, want) {
			t.Errorf("addon/Dockerfile lacks %q", want)
		}
	}
	if _, err := os.Stat(filepath.Join("..", "..", "cmd", "blink2mqtt", "main.go")); err != nil {
		t.Error(err)
	}

	var repo struct{ Name, URL, Maintainer string }
	if err := yaml.Unmarshal(addonFile(t, "repository.yaml"), &repo); err != nil {
		t.Fatal(err)
	}
	if repo.Name == "" || repo.Maintainer == "" || repo.URL != c.URL || !strings.HasSuffix(module, strings.TrimPrefix(repo.URL, "https://")) {
		t.Errorf("repository.yaml %+v; add-on url %q, module %s", repo, c.URL, module)
	}
}

// TestAddonEntrypoint runs addon/run.sh with options and a fake Supervisor,
// with a stand-in for blink2mqtt that prints its environment.
func TestAddonEntrypoint(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"sh", "jq", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed; skipping the entrypoint test", tool)
		}
	}
	e := readEntrypoint(t)
	const token = "supervisor-token-1"
	mqttService := `{"result":"ok","data":{"host":"core-mosquitto","port":1883,"ssl":false,"protocol":"3.1.1","username":"addons","password":"svc-SECRET"}}`
	supervisor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/services/mqtt" || r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"result":"error"}`, http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(mqttService))
	}))
	t.Cleanup(supervisor.Close)
	dir := t.TempDir()
	fake := filepath.Join(dir, "blink2mqtt")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"ARGS=$*\"\nenv\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		options string // "" = no options file
		token   string
		want    map[string]string // "" = must be unset
	}{
		{"defaults with Home Assistant's broker",
			`{"mqtt_topic":"blink2mqtt","ha_discovery":true,"poll_interval":"30s","media_max_bytes":0,"log_level":"info"}`, token,
			map[string]string{"MQTT_URL": "mqtt://core-mosquitto:1883", "MQTT_USERNAME": "addons", "MQTT_PASSWORD": "svc-SECRET",
				"MQTT_TOPIC": "blink2mqtt", "HA_DISCOVERY": "true", "POLL_INTERVAL": "30s", "MEDIA_MAX_BYTES": "0", "LOG_LEVEL": "info", "MEDIA_DIR": ""}},
		{"own broker, false and odd values kept",
			`{"mqtt_url":"mqtts://broker:8883","mqtt_username":"me","mqtt_password":"pw with 'quotes' $HOME","ha_discovery":false,"media_dir":"/media/blink","http_password":"a b"}`, token,
			map[string]string{"MQTT_URL": "mqtts://broker:8883", "MQTT_USERNAME": "me", "MQTT_PASSWORD": "pw with 'quotes' $HOME",
				"HA_DISCOVERY": "false", "MEDIA_DIR": "/media/blink", "HTTP_PASSWORD": "a b"}},
		{"keys outside the schema are ignored, fixed ones win",
			`{"path":"/evil","ld_preload":"/evil.so","state_dir":"/tmp","http_listen":":1","http_ingress":false,"mqtt_url":"mqtt://b:1883"}`, token,
			map[string]string{"LD_PRELOAD": "", "STATE_DIR": "/data", "HTTP_INGRESS": "true", "MQTT_URL": "mqtt://b:1883"}},
		{"no Supervisor token", `{}`, "", map[string]string{"MQTT_URL": "", "MQTT_USERNAME": ""}},
		{"Supervisor refuses", `{}`, "wrong", map[string]string{"MQTT_URL": "", "MQTT_USERNAME": ""}},
		{"no options file", "", token, map[string]string{"MQTT_URL": "mqtt://core-mosquitto:1883"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := filepath.Join(t.TempDir(), "options.json")
			if tc.options != "" {
				if err := os.WriteFile(opts, []byte(tc.options), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("sh", filepath.Join("..", "..", "addon", "run.sh"))
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "OPTIONS=" + opts, "BLINK2MQTT=" + fake, "SUPERVISOR=" + supervisor.URL}
			if tc.token != "" {
				cmd.Env = append(cmd.Env, "SUPERVISOR_TOKEN="+tc.token)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("run.sh: %v\n%s", err, stderr.String())
			}
			got := map[string]string{}
			for _, line := range strings.Split(string(out), "\n") {
				if k, v, ok := strings.Cut(line, "="); ok && regexp.MustCompile(`^[A-Z_]+$`).MatchString(k) {
					got[k] = v
				}
			}
			if got["ARGS"] != "run" || got["HTTP_LISTEN"] != ":"+strconv.Itoa(e.ingressPort) || got["HTTP_INGRESS"] != "true" || got["STATE_DIR"] != "/data" {
				t.Errorf("runs %q with HTTP_LISTEN %q, HTTP_INGRESS %q, STATE_DIR %q", got["ARGS"], got["HTTP_LISTEN"], got["HTTP_INGRESS"], got["STATE_DIR"])
			}
			if got["PATH"] != os.Getenv("PATH") {
				t.Errorf("PATH changed to %q", got["PATH"])
			}
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%s = %q, want %q", k, got[k], want)
				}
			}
			if strings.Contains(stderr.String(), "SECRET") || strings.Contains(stderr.String(), "quotes") {
				t.Errorf("run.sh printed a password: %s", stderr.String())
			}
			if tc.want["MQTT_URL"] == "" && !strings.Contains(stderr.String(), "set mqtt_url") {
				t.Errorf("without a broker run.sh does not say what to do: %q", stderr.String())
			}
		})
	}
}

// TestAddonEntrypointShellcheck lints run.sh when shellcheck is there.
func TestAddonEntrypointShellcheck(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("shellcheck"); err != nil {
		t.Skip("shellcheck is not installed (apt-get install shellcheck); skipping")
	}
	out, err := exec.Command("shellcheck", "-s", "sh", filepath.Join("..", "..", "addon", "run.sh")).CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck addon/run.sh: %v\n%s", err, out)
	}
}
