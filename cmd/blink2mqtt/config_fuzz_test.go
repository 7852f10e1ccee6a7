package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// FuzzLoadConfig feeds arbitrary values to the variables with the most
// parsing behind them, plus passwords (in their variables and as user info
// in MQTT_URL): loading never panics; an accepted configuration keeps its
// invariants and its printout holds no password; every line of a refusal
// names a variable and holds no password.
func FuzzLoadConfig(f *testing.F) {
	f.Add("30s", "mqtt://localhost:1883", "true", "blink2mqtt", "1", "info", "15s", "", "")
	f.Add("10s", "http://x", "yes", "a/#", "0", "loud", "", "pw", "x")
	f.Add("", "", "", "", "", "", "", "", "")
	f.Add("1h", "wss://user:pw@[::1]:8884/mqtt", "0", "home/blink", "10", "debug", "90s", "hunter2", "p%41ss")
	f.Add("thirty", "mqtt://", "maybe", "/x/", "NaN", "TRACE", "-1s", "a@b", "x/y@z")
	keys := configKeys()
	f.Fuzz(func(t *testing.T, poll, mqttURL, discovery, topic, rateLimit, level, media, blinkPW, urlPW string) {
		// Distinct prefixes make a leak recognisable and rule out chance matches.
		blinkSecret, mqttSecret, urlSecret := "Bk7q"+blinkPW, "Mq7q"+blinkPW, "Uq7q"+urlPW
		env := map[string]string{
			"POLL_INTERVAL": poll, "MQTT_URL": mqttURL, "HA_DISCOVERY": discovery, "MQTT_TOPIC": topic,
			"BLINK_RATE_LIMIT": rateLimit, "LOG_LEVEL": level, "MEDIA_POLL_INTERVAL": media,
			"BLINK_PASSWORD": blinkSecret,
		}
		secrets := []string{blinkSecret}
		if scheme, rest, ok := strings.Cut(mqttURL, "://"); ok {
			env["MQTT_URL"] = scheme + "://u:" + urlSecret + "@" + rest
			secrets = append(secrets, urlSecret)
		} else {
			env["MQTT_PASSWORD"] = mqttSecret
			secrets = append(secrets, mqttSecret)
		}
		// A secret that is also part of a value that may be echoed is no leak.
		for _, k := range []string{"POLL_INTERVAL", "HA_DISCOVERY", "MQTT_TOPIC", "BLINK_RATE_LIMIT", "LOG_LEVEL", "MEDIA_POLL_INTERVAL"} {
			secrets = slices.DeleteFunc(secrets, func(s string) bool { return strings.Contains(env[k], s[:4]) })
		}
		if strings.Contains(mqttURL, "q7q") {
			secrets = nil
		}
		leak := func(where, text string) {
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Fatalf("%s shows the secret %q:\n%s", where, s, text)
				}
			}
		}

		cfg, err := loadConfig(mapLookup(env))
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				key, _, ok := strings.Cut(line, ":")
				if !ok || !slices.Contains(keys, key) {
					t.Fatalf("error line %q does not start with a variable name", line)
				}
			}
			leak("the refusal", err.Error())
			return
		}
		if cfg.PollInterval < minPollInterval || cfg.MediaPollInterval < minPollInterval {
			t.Fatalf("accepted intervals %s / %s under the floor", cfg.PollInterval, cfg.MediaPollInterval)
		}
		if cfg.MQTTTopic == "" || strings.ContainsAny(cfg.MQTTTopic, "+#") {
			t.Fatalf("accepted topic root %q", cfg.MQTTTopic)
		}
		if cfg.BlinkRateLimit <= 0 || cfg.BlinkRateLimit > 10 {
			t.Fatalf("accepted rate limit %v", cfg.BlinkRateLimit)
		}
		if cfg.MQTTClientID == "" || len(cfg.MQTTClientID) > 23 {
			t.Fatalf("accepted client id %q", cfg.MQTTClientID)
		}
		if strings.Contains(cfg.MQTTURL, "@") && strings.Contains(cfg.MQTTURL, urlSecret) {
			t.Fatalf("MQTT_URL handed on with its password: %q", cfg.MQTTURL)
		}
		var out bytes.Buffer
		if err := cfg.print(&out); err != nil {
			t.Fatal(err)
		}
		leak("config output", out.String())
	})
}
