package main

import (
	"slices"
	"strings"
	"testing"
)

// FuzzLoadConfig feeds arbitrary values to the variables with the most
// parsing behind them: loading never panics, an accepted configuration keeps
// its invariants, and every line of a refusal names a variable.
func FuzzLoadConfig(f *testing.F) {
	f.Add("30s", "mqtt://localhost:1883", "true", "blink2mqtt", "1", "info", "15s")
	f.Add("10s", "http://x", "yes", "a/#", "0", "loud", "")
	f.Add("", "", "", "", "", "", "")
	f.Add("1h", "wss://user:pw@[::1]:8884/mqtt", "0", "home/blink", "10", "debug", "90s")
	keys := configKeys()
	f.Fuzz(func(t *testing.T, poll, mqttURL, discovery, topic, rateLimit, level, media string) {
		values := map[string]string{
			"POLL_INTERVAL": poll, "MQTT_URL": mqttURL, "HA_DISCOVERY": discovery, "MQTT_TOPIC": topic,
			"BLINK_RATE_LIMIT": rateLimit, "LOG_LEVEL": level, "MEDIA_POLL_INTERVAL": media,
		}
		clearEnv(t)
		for k, v := range values {
			if strings.ContainsRune(v, 0) {
				t.Skip("the environment cannot hold NUL bytes")
			}
			t.Setenv(k, v)
		}
		cfg, err := loadConfig()
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				key, _, ok := strings.Cut(line, ":")
				if !ok || !slices.Contains(keys, key) {
					t.Fatalf("error line %q does not start with a variable name", line)
				}
			}
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
	})
}
