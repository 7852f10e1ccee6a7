// Package metrics owns blink2mqtt's Prometheus metrics. Other packages never
// import it: cmd/blink2mqtt wires its methods into the hooks that the blink
// client and the bridge offer, so the library packages stay free of
// Prometheus.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// Metrics is one registry with every blink2mqtt metric. Its methods are safe
// for concurrent use.
type Metrics struct {
	reg             *prometheus.Registry
	blinkRequests   *prometheus.CounterVec
	blinkDuration   *prometheus.HistogramVec
	pollDuration    *prometheus.HistogramVec
	pollFailures    *prometheus.CounterVec
	commandDuration *prometheus.HistogramVec
	events          *prometheus.CounterVec
	mqttReconnects  prometheus.Counter
	mqttConnected   prometheus.Gauge
	authState       *prometheus.GaugeVec
	cooldowns       prometheus.Counter
	badRequests     *prometheus.CounterVec
	liveActive      prometheus.Gauge
	liveStarted     prometheus.Counter
	liveEnded       *prometheus.CounterVec
	liveFailed      *prometheus.CounterVec
	liveBytes       prometheus.Counter
}

// New builds the registry, with Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		blinkRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "blink2mqtt_blink_requests_total",
			Help: "Requests sent to Blink, by endpoint template and HTTP status (0 = no answer).",
		}, []string{"endpoint", "status"}),
		blinkDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "blink2mqtt_blink_request_duration_seconds",
			Help:    "Time of one request to Blink, by endpoint template.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint"}),
		pollDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "blink2mqtt_poll_duration_seconds",
			Help:    "Time of one poll (homescreen or media), including publishing.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"kind"}),
		pollFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "blink2mqtt_poll_failures_total",
			Help: "Polls that failed, by kind.",
		}, []string{"kind"}),
		commandDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "blink2mqtt_command_duration_seconds",
			Help:    "Time from a command request to Blink's confirmation or failure, by op and outcome.",
			Buckets: []float64{.5, 1, 2, 5, 10, 20, 30, 60, 120},
		}, []string{"op", "outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "blink2mqtt_events_published_total",
			Help: "Media events published on <root>/events, by type.",
		}, []string{"type"}),
		mqttReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "blink2mqtt_mqtt_reconnects_total",
			Help: "MQTT connections made after the first one.",
		}),
		mqttConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "blink2mqtt_mqtt_connected",
			Help: "1 while the MQTT connection is up.",
		}),
		authState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "blink2mqtt_auth_state",
			Help: "1 for the current Blink auth state, 0 for the others.",
		}, []string{"state"}),
		cooldowns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "blink2mqtt_rate_limit_cooldowns_total",
			Help: "Times Blink throttled us (429, or 403 on REST) and calls paused.",
		}),
		badRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "blink2mqtt_bad_requests_total",
			Help: "MQTT requests and commands refused as bad input, by op (\"set\" for …/set topics).",
		}, []string{"op"}),
		liveActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "blink2mqtt_liveview_sessions_active",
			Help: "Blink live views streaming to RTSP readers now.",
		}),
		liveStarted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "blink2mqtt_liveview_sessions_started_total",
			Help: "Blink live views that started streaming.",
		}),
		liveEnded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "blink2mqtt_liveview_sessions_ended_total",
			Help: "Blink live views that ended, by reason (idle, blink_ended, stream_error, shutdown).",
		}, []string{"reason"}),
		liveFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "blink2mqtt_liveview_failures_total",
			Help: "RTSP readers refused because no live view could start, by reason.",
		}, []string{"reason"}),
		liveBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "blink2mqtt_liveview_received_bytes_total",
			Help: "MPEG-TS bytes received from Blink's live views and relayed over RTSP.",
		}),
	}
	m.reg.MustRegister(m.blinkRequests, m.blinkDuration, m.pollDuration, m.pollFailures,
		m.commandDuration, m.events, m.mqttReconnects, m.mqttConnected, m.authState,
		m.cooldowns, m.badRequests, m.liveActive, m.liveStarted, m.liveEnded, m.liveFailed, m.liveBytes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, s := range discovery.AuthStates() {
		m.authState.WithLabelValues(s)
	}
	return m
}

// Handler serves the registry in Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is exposed for tests.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// BlinkRequest records one request to Blink. status is 0 when none came
// back. An endpoint outside the known templates counts as a download kind
// or "other", a status outside the common ones as "other".
func (m *Metrics) BlinkRequest(endpoint string, status int, d time.Duration) {
	ep := endpointLabel(endpoint)
	m.blinkRequests.WithLabelValues(ep, statusLabel(status)).Inc()
	m.blinkDuration.WithLabelValues(ep).Observe(d.Seconds())
}

// Poll records one poll of kind ("homescreen", "media", …; others count
// as "unknown").
func (m *Metrics) Poll(kind string, d time.Duration, err error) {
	kind = oneOf(kind, pollKinds, Unknown)
	m.pollDuration.WithLabelValues(kind).Observe(d.Seconds())
	if err != nil {
		m.pollFailures.WithLabelValues(kind).Inc()
	}
}

// Command records a finished command; outcome is "ok" or "error". An op
// outside the known ops counts as "unknown".
func (m *Metrics) Command(op, outcome string, d time.Duration) {
	m.commandDuration.WithLabelValues(oneOf(op, ops, Unknown), oneOf(outcome, outcomes, Other)).Observe(d.Seconds())
}

// Event records one published media event; an unknown type counts as
// "unknown".
func (m *Metrics) Event(typ string) { m.events.WithLabelValues(oneOf(typ, eventTypes, Unknown)).Inc() }

// MQTTConnected records a connection (reconnect = not the first one).
func (m *Metrics) MQTTConnected(reconnect bool) {
	m.mqttConnected.Set(1)
	if reconnect {
		m.mqttReconnects.Inc()
	}
}

// MQTTLost records a lost connection.
func (m *Metrics) MQTTLost() { m.mqttConnected.Set(0) }

// AuthState sets the current auth state (discovery.AuthStates); an unknown
// one sets every known state to 0.
func (m *Metrics) AuthState(state string) {
	for _, s := range discovery.AuthStates() {
		v := 0.0
		if s == state {
			v = 1
		}
		m.authState.WithLabelValues(s).Set(v)
	}
}

// BadRequest records one refused request or command. op comes from a topic
// anyone can publish to: an op outside the known ops counts as "unknown".
func (m *Metrics) BadRequest(op string) { m.badRequests.WithLabelValues(oneOf(op, ops, Unknown)).Inc() }

// LiveStarted records a live view that started streaming.
func (m *Metrics) LiveStarted() {
	m.liveStarted.Inc()
	m.liveActive.Inc()
}

// LiveEnded records a live view that ended (each started one ends once);
// a reason outside the known ones counts as "other".
func (m *Metrics) LiveEnded(reason string) {
	m.liveActive.Dec()
	m.liveEnded.WithLabelValues(oneOf(reason, liveEndReasons, Other)).Inc()
}

// LiveFailed records a reader refused because no live view could start; a
// reason outside the known ones counts as "other".
func (m *Metrics) LiveFailed(reason string) {
	m.liveFailed.WithLabelValues(oneOf(reason, liveFailReasons, Other)).Inc()
}

// LiveBytes adds relayed live-view bytes.
func (m *Metrics) LiveBytes(n int) {
	if n > 0 {
		m.liveBytes.Add(float64(n))
	}
}

// RateLimited records one throttling answer from Blink (a cooldown starts).
func (m *Metrics) RateLimited() { m.cooldowns.Inc() }

// WatchCooldown exports the time until which Blink calls are paused, read
// from until at every scrape (0 when not paused).
func (m *Metrics) WatchCooldown(until func() time.Time) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "blink2mqtt_rate_limit_cooldown_until_seconds",
		Help: "Unix time until which Blink calls are paused; 0 when not paused.",
	}, func() float64 {
		t := until()
		if t.IsZero() || time.Now().After(t) {
			return 0
		}
		return float64(t.Unix())
	}))
}
