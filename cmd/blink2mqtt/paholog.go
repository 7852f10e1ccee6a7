package main

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/bridge"
)

// pahoLogs is the destination of paho's own log lines. It is package-level
// because paho v1.5.1's loggers are: one set shared by every client in the
// process.
var pahoLogs pahoRouter

// pahoRouter forwards paho's loggers to the zerolog logger of the daemon or
// demo that started last and is still running. paho's variables are
// assigned once, before any client exists; starts and ends only change the
// destinations. A destination released is never written again: writes hold
// mu for reading, release takes it for writing.
type pahoRouter struct {
	once  sync.Once
	mu    sync.RWMutex
	dests []*zerolog.Logger // running daemons' loggers, newest last
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

// route sends paho's messages to log until release is called.
func (r *pahoRouter) route(log zerolog.Logger) (release func()) {
	r.install()
	l := &log
	r.mu.Lock()
	r.dests = append(r.dests, l)
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.dests = slices.DeleteFunc(r.dests, func(d *zerolog.Logger) bool { return d == l })
	}
}

// pahoLevel is one of paho's loggers, at one zerolog level.
type pahoLevel struct {
	r     *pahoRouter
	level zerolog.Level
}

var _ paho.Logger = pahoLevel{}

// target is the destination, or nil when it would drop the line anyway
// (so paho's debug chatter is not even formatted below trace). Caller holds
// p.r.mu for reading.
func (p pahoLevel) target() *zerolog.Logger {
	if len(p.r.dests) == 0 {
		return nil
	}
	l := p.r.dests[len(p.r.dests)-1]
	if l.GetLevel() > p.level {
		return nil
	}
	return l
}

// Println logs its arguments as one line.
func (p pahoLevel) Println(v ...any) {
	p.r.mu.RLock()
	defer p.r.mu.RUnlock()
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
	p.r.mu.RLock()
	defer p.r.mu.RUnlock()
	if l := p.target(); l != nil {
		bridge.PahoLogger{L: *l, Level: p.level}.Printf(format, v...)
	}
}
