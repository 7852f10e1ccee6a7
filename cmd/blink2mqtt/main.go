// Command blink2mqtt connects a Blink camera account to an MQTT broker, with
// Home Assistant discovery. See README.md for the topics and the setup.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "blink2mqtt:", err)
		os.Exit(1)
	}
}

const usage = `usage: blink2mqtt [command] [flags]

commands:
  run          run the bridge (default)
  login        log in to Blink on this terminal (2FA included) and save the token
  config       print the effective configuration (secrets redacted) and exit
  demo         run against a built-in fake Blink account and MQTT broker
  healthcheck  query /healthz on HTTP_LISTEN (for Docker's HEALTHCHECK)
  version      print the version

Configuration comes from environment variables; see config.example.env.
`

// run is the whole program; main only supplies the process's context and streams.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		return runDaemon(ctx, cfg, stderr)
	case "config":
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		return cfg.print(stdout)
	case "version":
		_, err := fmt.Fprintln(stdout, "blink2mqtt", buildVersion())
		return err
	case "demo":
		return runDemo(ctx, args, stdout, stderr)
	case "login":
		return runLogin(ctx, args, stdin, stdout, stderr)
	case "healthcheck":
		return runHealthcheck(ctx, stdout)
	case "help", "-h", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	default:
		io.WriteString(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// buildVersion is the stamped version, else the module version, else "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
