package main

import (
	"os"
	"testing"
)

// TestMain points paho's package-level loggers at their router before any
// test creates a paho client: assigning them later would race with the
// goroutines of clients that already run. Daemons started by the tests
// then only swap the router's destination, as in production.
func TestMain(m *testing.M) {
	pahoLogs.install()
	os.Exit(m.Run())
}
