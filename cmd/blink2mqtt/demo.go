package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/bridge"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/broker"
)

// demoBrokerAddr is where the demo's own broker listens when the port is free.
const demoBrokerAddr = "127.0.0.1:1883"

// runDemo runs the bridge against the fake Blink cloud and an in-process
// broker (or --broker), generating motion now and then.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	duration := fs.Duration("duration", 0, "stop after this long (default: until Ctrl-C)")
	brokerURL := fs.String("broker", "", "use this broker (mqtt://host:port) instead of a built-in one")
	motionEvery := fs.Duration("motion-every", 20*time.Second, "how often the fake account sees motion")
	logLevel := fs.String("log-level", "info", "trace, debug, info, warn or error")
	rtsp := fs.String("rtsp", "", "serve the fake cameras' live views over RTSP at this address, e.g. 127.0.0.1:8554")
	httpAddr := fs.String("http", "", "serve the status and login page, /healthz and /metrics at this address, e.g. 127.0.0.1:8080 (password: "+demoPagePassword+")")
	if ok, err := parseFlags(fs, aboutDemo, args, stdout, stderr); !ok {
		return err
	}
	level, err := parseLevel(*logLevel)
	if err != nil {
		return &usageError{"demo: --log-level: " + err.Error()}
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	log := newLogger(stderr, level, "auto")
	defer pahoLogs.route(log)() // until this run ends

	fake, err := blinkfake.Start(blinkfake.Config{CommandPolls: 2, MotionRequiresArmed: true})
	if err != nil {
		return fmt.Errorf("demo: fake Blink cloud: %w", err)
	}
	defer fake.Close()

	mqttURL := *brokerURL
	if mqttURL == "" {
		b, err := broker.Start(demoBrokerAddr, nil)
		if err != nil {
			log.Info().Msgf("%s is taken (another broker?); the demo broker takes a free port", demoBrokerAddr)
			if b, err = broker.Start("127.0.0.1:0", nil); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
		}
		defer b.Close()
		mqttURL = b.URL()
	}

	stateDir, err := os.MkdirTemp("", "blink2mqtt-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer os.RemoveAll(stateDir)

	client, err := blink.New(blink.Options{
		OAuthURL: fake.OAuthURL(),
		RESTURL:  fake.RESTURL(),
		Limiter:  rate.NewLimiter(5, 5),
		Store:    &blink.FileTokenStore{Path: filepath.Join(stateDir, tokenFileName)},
		Logger:   log,
	})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fc := fake.Config()
	if _, err := client.BeginLogin(ctx, fc.Email, blink.Secret(fc.Password)); err != nil {
		return fmt.Errorf("demo: login to the fake cloud: %w", err)
	}

	mqtt := bridge.MQTTOptions{URL: mqttURL, ClientID: "blink2mqtt-demo"}
	if clean, ui := splitUserInfo(mqttURL); ui != nil {
		pass, _ := ui.Password()
		mqtt.URL, mqtt.Username, mqtt.Password = clean, ui.Username(), blink.Secret(pass)
	}
	topics := discovery.Topics{Root: "blink2mqtt"}
	auth := &authFlow{client: client, email: fc.Email, password: blink.Secret(fc.Password), stateDir: stateDir,
		log: log.With().Str("component", "login").Logger()}
	b, err := bridge.New(bridge.Options{
		Cloud:             client,
		Auth:              auth,
		MQTT:              mqtt,
		Topics:            topics,
		Discovery:         true,
		PollInterval:      10 * time.Second,
		MediaPollInterval: 5 * time.Second,
		HoldTime:          15 * time.Second,
		CommandSpacing:    time.Second,
		StateDir:          stateDir,
		RTSPListen:        *rtsp,
		Logger:            log,
		Version:           buildVersion() + "-demo",
	})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	auth.report = b.SetAuthState
	// Both listeners are bound before anything is printed, so the printed
	// addresses are the ones bound (port 0 works) and a taken one stops the
	// demo at once.
	var ln net.Listener
	if *httpAddr != "" {
		if ln, err = listenHTTP(*httpAddr); err != nil {
			return fmt.Errorf("demo --http: %w", err)
		}
	}
	rtspAddr, err := b.ListenRTSP()
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return fmt.Errorf("demo --rtsp: %w", err)
	}
	printDemoHelp(stdout, mqtt, topics, fake, rtspAddr)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	if ln != nil {
		cfg := &Config{HTTPPassword: demoPagePassword, BlinkEmail: fc.Email, PollInterval: 10 * time.Second}
		mux := http.NewServeMux()
		mux.Handle("/healthz", healthHandler(func() healthStatus { return bridgeHealth(b) }, cfg.PollInterval))
		mux.Handle("/", newWebPage(ctx, cfg, b, auth, log))
		fmt.Fprintf(stdout, "The status page: http://%s/ (any user name, password %q; the fake account's password is %q).\n\n",
			reachable(ln.Addr()), demoPagePassword, fc.Password)
		wg.Go(func() {
			if err := serveHTTP(ctx, ln, mux, log); err != nil {
				log.Error().Err(err).Msg("page server stopped")
			}
		})
	}
	wg.Go(func() { generateMotion(ctx, fake, *motionEvery, log) })
	return b.Run(ctx)
}

// demoPagePassword opens the demo's status page (HTTP basic auth).
const demoPagePassword = "demo"

// generateMotion makes a random device that would record (its system armed,
// its motion detection on) see motion every interval, so events and motion
// sensors move in the demo. Nothing armed means no motion, as with Blink.
func generateMotion(ctx context.Context, fake *blinkfake.Server, every time.Duration, log zerolog.Logger) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	quiet := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var recording []blinkfake.Device
		for _, d := range fake.Devices() {
			if n, ok := fake.Network(d.NetworkID); ok && n.Armed && d.Enabled {
				recording = append(recording, d)
			}
		}
		if len(recording) == 0 {
			if !quiet {
				log.Info().Msg("demo: no system is armed with motion detection on, so nothing records motion; arm one to see events")
				quiet = true
			}
			continue
		}
		quiet = false
		d := recording[rand.IntN(len(recording))]
		fake.TriggerMotionOn(d.Ref(), "pir") // by ref: a camera and a Mini may share an id
		log.Info().Int64("device", d.ID).Str("name", d.Name).Msg("demo: motion in the fake account (its clip shows up on the next media poll)")
	}
}

func printDemoHelp(w io.Writer, mqtt bridge.MQTTOptions, t discovery.Topics, fake *blinkfake.Server, rtsp net.Addr) {
	host, port := "127.0.0.1", "1883"
	if u, err := url.Parse(mqtt.URL); err == nil && u.Hostname() != "" {
		host, port = u.Hostname(), cmp.Or(u.Port(), port)
	}
	// The same connection options on every printed line; thumbnails are raw
	// JPEG bytes that would fill the terminal, so the watch line skips them.
	conn := fmt.Sprintf("-h %s -p %s", host, port)
	if mqtt.Username != "" {
		conn += fmt.Sprintf(" -u '%s' -P '<password>'", mqtt.Username)
	}
	nets := fake.Networks()
	devs := fake.Devices()
	fmt.Fprintf(w, "\nblink2mqtt demo: a fake Blink account with %d systems and %d cameras/Minis/doorbells,\n", len(nets), len(devs))
	fmt.Fprintf(w, "bridged to the MQTT broker at %s.\n\n", redactURL(mqtt.URL))
	fmt.Fprintf(w, "Watch everything but the thumbnails (raw JPEG bytes):\n  mosquitto_sub %s -t '%s/#' -T '%s' -v\n\n",
		conn, t.Root, thumbnailFilter(t))
	if len(nets) > 0 {
		n := nets[0]
		for _, c := range nets {
			if !c.Armed {
				n = c // arming a disarmed system shows the whole arming → armed_away path
				break
			}
		}
		fmt.Fprintf(w, "Arm the system %q (watch %s go arming → armed_away):\n", n.Name, t.NetworkEntity(n.ID, discovery.EntityAlarm))
		fmt.Fprintf(w, "  mosquitto_pub %s -t '%s' -m ARM_AWAY\n", conn, discovery.Set(t.NetworkEntity(n.ID, discovery.EntityAlarm)))
		fmt.Fprintf(w, "Or as a request with an answer on %s:\n", t.Response("arm"))
		fmt.Fprintf(w, "  mosquitto_pub %s -t '%s' -m '{\"network\": %d, \"transaction\": \"t1\"}'\n", conn, t.Request("arm"), n.ID)
	}
	if len(devs) > 0 {
		d := devs[0]
		fmt.Fprintf(w, "Take a snapshot with %q:\n", d.Name)
		fmt.Fprintf(w, "  mosquitto_pub %s -t '%s' -m '{\"device\": %d}'\n", conn, t.Request("snapshot"), d.ID)
		if rtsp != nil {
			fmt.Fprintf(w, "Watch %q live (a test pattern):\n  ffplay -rtsp_transport tcp rtsp://%s/%d/%d\n", d.Name,
				reachable(rtsp), d.NetworkID, d.ID)
		}
	}
	fmt.Fprintf(w, "\nPoint Home Assistant's MQTT integration at this broker to see the devices appear.\nCtrl-C stops the demo.\n\n")
}

// thumbnailFilter matches every device's thumbnail topic (raw JPEG bytes).
func thumbnailFilter(t discovery.Topics) string {
	return t.Root + "/+/+/" + discovery.EntityThumbnail
}

// reachable is a bound listener's address as this machine reaches it.
func reachable(a net.Addr) string {
	addr, err := localAddr(a.String())
	if err != nil {
		return a.String()
	}
	return addr
}
