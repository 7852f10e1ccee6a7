package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

// TestMQTTURLCredentialsAuthenticate: a daemon started with only
// MQTT_URL=mqtt://user:password@host:port (percent-encoded) logs in to a
// broker that requires exactly those credentials, and neither its log nor
// `config` shows the password.
func TestMQTTURLCredentialsAuthenticate(t *testing.T) {
	t.Parallel()
	const user, pass, encoded = "bl!nk", "p@ss:w/rd-8812", "p%40ss%3Aw%2Frd-8812"
	broker := mqtttest.StartBrokerAuth(t, user, pass)
	rec := mqtttest.NewBrokerRecorder(t, broker, "blink2mqtt/#")
	fake := blinkfake.New(t, blinkfake.Config{})
	rawURL := "mqtt://" + "bl%21nk:" + encoded + "@" + broker.Addr()
	env := daemonEnv(fake, rawURL, daemonStateDir(t))

	var cfgOut bytes.Buffer
	if err := run(context.Background(), []string{"config"}, mapLookup(env), nil, &cfgOut, &cfgOut); err != nil {
		t.Fatal(err)
	}
	var out, logs syncBuffer
	stop := startRun(t, []string{"run"}, env, &out, &logs)
	rec.WaitFor(t, "blink2mqtt/bridge/state", mqtttest.Equals("online"))
	start := logs.WaitFor(t, "blink2mqtt starting")
	if err := stop(); err != nil {
		t.Fatalf("daemon returned %v", err)
	}
	if !strings.Contains(start, `"mqtt_credentials":"MQTT_URL"`) || !strings.Contains(start, `"mqtt":"mqtt://`+broker.Addr()+`"`) {
		t.Errorf("the start-up line should name the URL without user info and say the credentials come from it:\n%s", start)
	}
	if !strings.Contains(squeeze(cfgOut.String()), "MQTT_USERNAME=bl!nk # from MQTT_URL") {
		t.Errorf("config output does not say where the user name comes from:\n%s", cfgOut.String())
	}
	all := cfgOut.String() + out.String() + logs.String()
	for _, secret := range []string{pass, encoded, "p@ss"} {
		if strings.Contains(all, secret) {
			t.Errorf("the password (%q) appears in config output or logs", secret)
		}
	}
}

// TestPahoWarningsReachTheLog: paho's own warnings and errors (here: no
// broker listens) show up in the daemon's log. Not parallel: paho's loggers
// are one set per process, routed to the daemon that started last.
func TestPahoWarningsReachTheLog(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().String()
	ln.Close()
	fake := blinkfake.New(t, blinkfake.Config{})
	env := daemonEnv(fake, "mqtt://"+closedPort, daemonStateDir(t))
	env["LOG_LEVEL"] = "info"
	var out, logs syncBuffer
	stop := startRun(t, []string{"run"}, env, &out, &logs)
	logs.WaitFor(t, `"component":"paho"`, `"level":"warn"`, "failed to connect to broker")
	logs.WaitFor(t, `"component":"paho"`, `"level":"error"`, "connection refused")
	stop()
	if strings.Contains(logs.String(), `"level":"trace"`) {
		t.Errorf("paho's debug lines leak at LOG_LEVEL=info")
	}
}

// TestPahoLevels: each paho logger lands at its level; paho's debug
// chatter only at trace; the store notes every clean connect makes are
// not warnings.
func TestPahoLevels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		logLevel  zerolog.Level
		logger    zerolog.Level // the paho logger's level
		args      []any
		wantLevel string // "" = dropped
	}{
		{"warning", zerolog.InfoLevel, zerolog.WarnLevel, []any{"[client]  ", "failed to connect to broker, trying next"}, "warn"},
		{"error", zerolog.InfoLevel, zerolog.ErrorLevel, []any{"[client]  ", "dial tcp: refused"}, "error"},
		{"store wiped is routine", zerolog.DebugLevel, zerolog.WarnLevel, []any{"[store]   ", "memorystore wiped"}, "debug"},
		{"routine note dropped at info", zerolog.InfoLevel, zerolog.WarnLevel, []any{"[store]   ", "memorystore del: message", 1, "not found"}, ""},
		{"debug dropped at debug", zerolog.DebugLevel, zerolog.TraceLevel, []any{"[net]     ", "startIncoming"}, ""},
		{"debug kept at trace", zerolog.TraceLevel, zerolog.TraceLevel, []any{"[net]     ", "startIncoming"}, "trace"},
		{"warning dropped at error", zerolog.ErrorLevel, zerolog.WarnLevel, []any{"x"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			r := &pahoRouter{}
			l := zerolog.New(&buf).Level(tc.logLevel)
			r.dests = []*zerolog.Logger{&l}
			pahoLevel{r, tc.logger}.Println(tc.args...)
			got := buf.String()
			if tc.wantLevel == "" {
				if got != "" {
					t.Errorf("want nothing, got %s", got)
				}
				return
			}
			if !strings.Contains(got, `"level":"`+tc.wantLevel+`"`) || !strings.Contains(got, `"component":"paho"`) {
				t.Errorf("want a %s line from paho, got %s", tc.wantLevel, got)
			}
		})
	}
}

// TestPahoRouteReleased: a daemon's logger gets paho's lines only while it
// runs; after it ended the previous one gets them again, and the ended one
// is never written (its test may already use the buffer). Not parallel: it
// uses the process's one router, as the daemon does.
func TestPahoRouteReleased(t *testing.T) {
	var first, second bytes.Buffer
	releaseFirst := pahoLogs.route(zerolog.New(&first))
	releaseSecond := pahoLogs.route(zerolog.New(&second))
	paho.WARN.Println("to the second")
	releaseSecond()
	paho.WARN.Println("to the first")
	releaseFirst()
	paho.WARN.Println("to nobody")
	if !strings.Contains(second.String(), "to the second") || strings.Contains(second.String(), "to the first") {
		t.Errorf("second logger got %q", second.String())
	}
	if !strings.Contains(first.String(), "to the first") || strings.Contains(first.String(), "nobody") {
		t.Errorf("first logger got %q", first.String())
	}
}
