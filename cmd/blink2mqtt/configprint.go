package main

import (
	"fmt"
	"io"
	"reflect"
	"text/tabwriter"

	"github.com/kelseyhightower/envconfig"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// urlKeys are the variables whose values may carry user info.
var urlKeys = map[string]bool{"MQTT_URL": true, "BLINK_OAUTH_URL": true, "BLINK_REST_URL": true}

// print writes the effective configuration as KEY=value lines: secrets show
// as [redacted] when set, URLs without their user info, and a "# …" note says
// where a value came from when not from its own variable.
func (c *Config) print(w io.Writer) error {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i := range t.NumField() {
		key := t.Field(i).Tag.Get("envconfig")
		if key == "" {
			continue
		}
		var s string
		switch x := v.Field(i).Interface().(type) {
		case blink.Secret:
			s = x.String()
		case fmt.Stringer:
			s = x.String()
		default:
			s = fmt.Sprint(x)
		}
		if urlKeys[key] {
			s = redactURL(s)
		}
		line := key + "=" + oneLine(s)
		if note := c.notes[key]; note != "" {
			line += "\t# " + note
		}
		fmt.Fprintln(tw, line)
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

// writeExampleEnv renders the example env file. envconfig only renders the
// template here; loadConfig does the parsing.
func writeExampleEnv(w io.Writer) error {
	var cfg Config
	return envconfig.Usagef("", &cfg, w, exampleEnvTemplate)
}
