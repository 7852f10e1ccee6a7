package main

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/bridge"
)

// pahoLogs is the destination of paho's own log lines. It is package-level
// because paho v1.5.1's loggers are: one set shared by every client in the
// process.
var pahoLogs pahoRouter

// pahoRouter forwards paho's loggers to the zerolog logger of the daemon or
// demo that started last. paho's variables are assigned once, before any
// client exists; later starts only swap the destination, which is safe
// while paho goroutines log.
type pahoRouter struct {
	once sync.Once
	dest atomic.Pointer[zerolog.Logger]
}

// install points paho.ERROR, CRITICAL, WARN and DEBUG at the router, once.
func (r *pahoRouter) install() {
	r.once.Do(func() {
		paho.ERROR = pahoLevel{r, zerolog.ErrorLevel}
		paho.CRITICAL = pahoLevel{r, zerolog.ErrorLevel}
		paho.WARN = pahoLevel{r, zerolog.WarnLevel}
		paho.DEBUG = pahoLevel{r, zerolog.TraceLevel} // very chatty: only at LOG_LEVEL=trace
	})
}

// route sends paho's messages to log from now on.
func (r *pahoRouter) route(log zerolog.Logger) {
	r.install()
	r.dest.Store(&log)
}

// pahoLevel is one of paho's loggers, at one zerolog level.
type pahoLevel struct {
	r     *pahoRouter
	level zerolog.Level
}

var _ paho.Logger = pahoLevel{}

// target is the destination, or nil when it would drop the line anyway
// (so paho's debug chatter is not even formatted below trace).
func (p pahoLevel) target() *zerolog.Logger {
	l := p.r.dest.Load()
	if l == nil || l.GetLevel() > p.level {
		return nil
	}
	return l
}

// Println logs its arguments as one line.
func (p pahoLevel) Println(v ...any) {
	level := p.level
	if level == zerolog.WarnLevel && routineStoreNote(fmt.Sprint(v...)) {
		level = zerolog.DebugLevel
	}
	if l := (pahoLevel{p.r, level}).target(); l != nil {
		bridge.PahoLogger{L: *l, Level: level}.Println(v...)
	}
}

// routineStoreNote reports paho warnings that every clean-session connect
// produces (its in-memory store is wiped, a reserved message id is not in
// it): at warn level they would cry wolf on every start and reconnect.
func routineStoreNote(msg string) bool {
	return strings.Contains(msg, "memorystore wiped") || strings.Contains(msg, "memorystore del: message")
}

// Printf logs a formatted line.
func (p pahoLevel) Printf(format string, v ...any) {
	if l := p.target(); l != nil {
		bridge.PahoLogger{L: *l, Level: p.level}.Printf(format, v...)
	}
}
