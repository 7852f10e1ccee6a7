package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

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
