package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/blink2mqtt/blink2mqtt/bridge"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/metrics"
)

// runDaemon runs the bridge until ctx ends.
func runDaemon(ctx context.Context, cfg *Config, stderr io.Writer) error {
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	defer pahoLogs.route(log)() // until this run ends
	if err := prepareStateDir(cfg.StateDir, log); err != nil {
		return err
	}
	m := metrics.New()
	client, err := newBlinkClient(cfg, log, m)
	if err != nil {
		return err
	}
	auth := &authFlow{client: client, email: cfg.BlinkEmail, password: cfg.BlinkPassword, stateDir: cfg.StateDir,
		log: log.With().Str("component", "login").Logger()}
	b, err := bridge.New(bridge.Options{
		Cloud: client,
		Auth:  auth,
		MQTT: bridge.MQTTOptions{
			URL: cfg.MQTTURL, Username: cfg.MQTTUsername, Password: cfg.MQTTPassword,
			CAFile: cfg.MQTTCAFile, CertFile: cfg.MQTTCertFile, KeyFile: cfg.MQTTKeyFile,
			ClientID: cfg.MQTTClientID,
		},
		Topics:               discovery.Topics{Root: cfg.MQTTTopic},
		Discovery:            cfg.HADiscovery,
		DiscoveryPrefix:      cfg.HADiscoveryPrefix,
		PollInterval:         cfg.PollInterval,
		MediaPollInterval:    cfg.MediaPollInterval,
		HoldTime:             cfg.MotionHold,
		CommandSpacing:       cfg.CommandSpacing,
		StateDir:             cfg.StateDir,
		MediaDir:             cfg.MediaDir,
		MediaRetention:       cfg.MediaRetention,
		MediaMaxBytes:        cfg.MediaMaxBytes,
		LocalStorageOff:      cfg.LocalStorage == "off",
		LocalStorageInterval: cfg.LocalStorageInterval,
		RTSPListen:           cfg.RTSPListen,
		RTSPUsername:         cfg.RTSPUsername,
		RTSPPassword:         cfg.RTSPPassword,
		LiveviewIdle:         cfg.LiveviewIdle,
		Logger:               log,
		Version:              buildVersion(),
		OnEvent:              metricsHook(m),
	})
	if err != nil {
		return err
	}
	auth.report = b.SetAuthState
	m.AuthState(string(b.Auth().State)) // the bridge emits changes only
	log.Info().Str("version", buildVersion()).Str("mqtt", redactURL(cfg.MQTTURL)).Str("mqtt_client_id", cfg.MQTTClientID).
		Str("mqtt_credentials", cfg.credentialSource()).Str("topic", cfg.MQTTTopic).Msg("blink2mqtt starting")

	// Nothing the daemon started outlives it: no late token write into
	// STATE_DIR, no listener left open.
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	if cfg.HTTPListen != "" {
		ln, err := listenHTTP(cfg.HTTPListen)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.Handler())
		mux.Handle("/healthz", healthHandler(func() healthStatus { return bridgeHealth(b) }, cfg.PollInterval))
		mux.Handle("/", newWebPage(ctx, cfg, b, auth, log))
		wg.Go(func() {
			if err := serveHTTP(ctx, ln, mux, log); err != nil {
				log.Error().Err(err).Msg("health and metrics server stopped")
			}
		})
	}
	if !client.HasSession() {
		if cfg.BlinkEmail != "" && !cfg.BlinkPassword.IsZero() {
			// Exactly one login per start; a code request waits for a person.
			wg.Go(func() {
				var refused *bridge.LoginRefusedError
				if err := auth.StartLogin(ctx, bridge.LoginRequest{}); errors.As(err, &refused) {
					// A restart loop: the last start already sent a code.
					log.Warn().Str("reason", refused.Error()).Msg("not logging in at start-up")
					b.SetAuthState(bridge.AuthReauthRequired, refused.Error()+"; then press Log in again (auth/login)")
				}
			})
		} else {
			log.Warn().Msg("no saved Blink token and no BLINK_EMAIL/BLINK_PASSWORD: run `blink2mqtt login` (the daemon picks the token up), or set them and restart to log in from Home Assistant")
			b.SetAuthState(bridge.AuthReauthRequired, errNoCredentials.Error())
		}
	}
	return b.Run(ctx)
}

// metricsHook turns bridge events into Prometheus metrics.
func metricsHook(m *metrics.Metrics) func(bridge.Event) {
	return func(e bridge.Event) {
		switch e.Kind {
		case bridge.EventPoll:
			m.Poll(e.Name, e.Duration, e.Err)
		case bridge.EventCommand:
			outcome := "ok"
			if e.Err != nil {
				outcome = "error"
			}
			m.Command(e.Name, outcome, e.Duration)
		case bridge.EventMQTT:
			if e.Name == "connected" {
				m.MQTTConnected(e.Count > 1)
			} else {
				m.MQTTLost()
			}
		case bridge.EventMedia:
			m.Event(e.Name)
		case bridge.EventAuthState:
			m.AuthState(e.Name)
		case bridge.EventBadInput:
			m.BadRequest(e.Name)
		case bridge.EventLiveStarted:
			m.LiveStarted()
		case bridge.EventLiveEnded:
			m.LiveEnded(e.Name)
		case bridge.EventLiveFailed:
			m.LiveFailed(e.Name)
		case bridge.EventLiveBytes:
			m.LiveBytes(e.Count)
		}
	}
}
