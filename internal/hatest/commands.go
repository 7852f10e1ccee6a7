package hatest

import (
	"slices"
	"strconv"
	"strings"

	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// Command is one command topic and the payloads HA sends on it.
type Command struct {
	Topic     string
	Component string
	UniqueID  string
	Payloads  []string
	// StateTopic is the topic HA expects to follow the command ("" for buttons).
	StateTopic string
}

// Commands lists every command topic in msgs with the payloads HA sends
// there (alarm actions it supports, switch on/off, button press, a sample
// 2FA code for text, a number's least value and next step, every option of
// a select), sorted by topic, for end-to-end tests that drive the bridge
// the way HA would.
func Commands(msgs []discovery.Message) []Command {
	var out []Command
	for _, c := range mustParse(msgs) {
		if c.CommandTopic == "" {
			continue
		}
		cmd := Command{Topic: c.CommandTopic, Component: c.component, UniqueID: c.UniqueID, StateTopic: c.StateTopic}
		switch c.component {
		case "alarm_control_panel":
			cmd.Payloads = alarmPayloads(c)
		case "switch":
			cmd.Payloads = []string{or(c.PayloadOn, discovery.On), or(c.PayloadOff, discovery.Off)}
		case "button":
			cmd.Payloads = []string{or(c.PayloadPress, discovery.Press)}
		case "number":
			// HA sends the value as a plain number, whole values without
			// a fraction; the least value and the next step are samples.
			lo, hi, step := numberRange(c)
			cmd.Payloads = []string{formatNumber(lo)}
			if lo+step <= hi {
				cmd.Payloads = append(cmd.Payloads, formatNumber(lo+step))
			}
		case "select":
			cmd.Payloads = slices.Clone(c.Options)
		case "text":
			v := textValidator(c)
			for _, s := range []string{"123456", "abcdef", ""} {
				if v([]byte(s)) == nil {
					cmd.Payloads = []string{s}
					break
				}
			}
		}
		out = append(out, cmd)
	}
	slices.SortFunc(out, func(a, b Command) int { return strings.Compare(a.Topic, b.Topic) })
	return out
}

func formatNumber(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// alarmPayloads are the arm actions the panel supports (every one when it
// does not say), then disarm.
func alarmPayloads(c config) []string {
	feats := c.SupportedFeatures
	if feats == nil {
		feats = []string{"arm_home", "arm_away", "arm_night", "arm_vacation", "arm_custom_bypass", "trigger"}
	}
	var p []string
	for _, f := range feats {
		switch f {
		case "arm_home":
			p = append(p, or(c.PayloadArmHome, "ARM_HOME"))
		case "arm_away":
			p = append(p, or(c.PayloadArmAway, discovery.ArmAway))
		case "arm_night":
			p = append(p, or(c.PayloadArmNight, "ARM_NIGHT"))
		case "arm_vacation":
			p = append(p, or(c.PayloadArmVacation, "ARM_VACATION"))
		case "arm_custom_bypass":
			p = append(p, or(c.PayloadArmCustom, "ARM_CUSTOM_BYPASS"))
		case "trigger":
			p = append(p, or(c.PayloadTrigger, "TRIGGER"))
		}
	}
	return append(p, or(c.PayloadDisarm, discovery.Disarm))
}
