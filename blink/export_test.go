package blink

import (
	"io"
	"testing"

	"github.com/rs/zerolog"
)

// Hooks for the external test package (fake_test.go), which cannot import
// blinkfake from inside package blink without an import cycle.

// SuiteLogger is testLogger: trace-level JSON into the suite's secret scan.
func SuiteLogger(t testing.TB) zerolog.Logger { return testLogger(t) }

// NoteErr records an error string for the suite's secret scan.
func NoteErr(err error) error { return noteErr(err) }

// SuiteWriter is the sink TestMain scans, for a test's own logger.
func SuiteWriter() io.Writer { return sink }

// SprintAll formats v every way a log or error might.
func SprintAll(v any) string { return sprintAll(v) }

// LockedBuffer is a goroutine-safe log sink.
type LockedBuffer = lockedBuffer

// Secrets the fake-cloud tests use, so TestMain's scan covers them too.
const (
	TestPassword = testPassword
	TestCode     = testCode
)
