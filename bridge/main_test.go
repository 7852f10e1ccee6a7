package bridge

import (
	"os"
	"testing"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"
)

// TestMain routes paho's package-level logs to stderr when PAHO_DEBUG is set.
func TestMain(m *testing.M) {
	if os.Getenv("PAHO_DEBUG") != "" {
		l := zerolog.New(os.Stderr)
		paho.ERROR = PahoLogger{L: l, Level: zerolog.ErrorLevel}
		paho.CRITICAL = PahoLogger{L: l, Level: zerolog.ErrorLevel}
		paho.WARN = PahoLogger{L: l, Level: zerolog.WarnLevel}
		paho.DEBUG = PahoLogger{L: l, Level: zerolog.DebugLevel}
	}
	os.Exit(m.Run())
}
