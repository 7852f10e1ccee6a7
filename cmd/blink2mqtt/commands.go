package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

const usage = `usage: blink2mqtt [command] [flags]

commands:
  run          run the bridge (the default)
  login        log in to Blink on this terminal (2FA included) and save the token
  config       print the effective configuration (secrets redacted) and exit
  demo         run against a built-in fake Blink account and MQTT broker
  healthcheck  query /healthz on HTTP_LISTEN (for Docker's HEALTHCHECK)
  version      print the version (also -v, --version)
  help         print this help (also -h, --help); help <command> for its flags

Configuration comes from environment variables; see config.example.env.
`

// What each command does, for its --help.
const (
	aboutRun = `Runs the bridge until SIGTERM or Ctrl-C. Configuration comes from environment
variables (see config.example.env); "blink2mqtt config" shows the effective values.`
	aboutConfig = `Prints the effective configuration with secrets redacted and exits. A bad
variable is reported as at start-up: one line per problem, naming the variable.`
	aboutVersion     = `Prints the version and exits.`
	aboutHealthcheck = `Asks /healthz on HTTP_LISTEN and exits 0 when the bridge is healthy, 1 otherwise.`
	aboutDemo        = `Runs the bridge against a fake Blink account and a built-in MQTT broker on
127.0.0.1:1883 (a free port when that is taken). No account and no broker needed.`
	aboutLogin = `Logs in to Blink on this terminal and saves the token in STATE_DIR; a running
daemon picks it up. The password comes from BLINK_PASSWORD(_FILE) or a prompt
without echo, the 2FA code from --code or a prompt (or a line on standard input).`
)

// run is the whole program; main only supplies the process's context,
// environment and streams. It returns a *usageError for a bad command line.
func run(ctx context.Context, args []string, lookup lookupFunc, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	// parse parses the flags of a command that takes none but -h.
	parse := func(about string) (bool, error) {
		return parseFlags(flag.NewFlagSet(cmd, flag.ContinueOnError), about, args, stdout, stderr)
	}
	switch cmd {
	case "help", "-h", "-help", "--help":
		if cmd == "help" && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			return run(ctx, []string{args[0], "--help"}, lookup, stdin, stdout, stderr)
		}
		_, err := io.WriteString(stdout, usage)
		return err
	case "version", "-v", "-version", "--version":
		if cmd == "version" {
			if ok, err := parse(aboutVersion); !ok {
				return err
			}
		}
		_, err := fmt.Fprintln(stdout, "blink2mqtt", buildVersion())
		return err
	case "run", "config":
		about := aboutRun
		if cmd == "config" {
			about = aboutConfig
		}
		if ok, err := parse(about); !ok {
			return err
		}
		cfg, err := loadConfig(lookup)
		if err != nil {
			return err
		}
		if cmd == "config" {
			return cfg.print(stdout)
		}
		return runDaemon(ctx, cfg, stderr)
	case "demo":
		return runDemo(ctx, args, stdout, stderr)
	case "login":
		return runLogin(ctx, args, lookup, stdin, stdout, stderr)
	case "healthcheck":
		if ok, err := parse(aboutHealthcheck); !ok {
			return err
		}
		return runHealthcheck(ctx, lookup, stdout)
	default:
		_, _ = io.WriteString(stderr, usage)
		if strings.HasPrefix(cmd, "-") {
			return &usageError{fmt.Sprintf("unknown flag %s", quote(cmd))}
		}
		return &usageError{fmt.Sprintf("unknown command %s", quote(cmd))}
	}
}

// usageError is a bad command line: main exits 2 for it, as flag does.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// parseFlags parses a command's flags. ok is false when the command must
// stop: after printing its help on stdout (err nil), or on a bad flag or a
// stray argument (its usage on stderr and a *usageError).
func parseFlags(fs *flag.FlagSet, about string, args []string, stdout, stderr io.Writer) (ok bool, err error) {
	fs.SetOutput(io.Discard) // flag would print its own usage on every error
	err = fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return false, writeCommandHelp(stdout, fs, about)
	case err != nil:
		_ = writeCommandHelp(stderr, fs, about)
		return false, &usageError{fmt.Sprintf("%s: %v", fs.Name(), err)}
	case fs.NArg() > 0:
		_ = writeCommandHelp(stderr, fs, about)
		return false, &usageError{fmt.Sprintf("%s: unexpected argument %s", fs.Name(), quote(fs.Arg(0)))}
	}
	return true, nil
}

// writeCommandHelp prints a command's synopsis, description and flags.
func writeCommandHelp(w io.Writer, fs *flag.FlagSet, about string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "usage: blink2mqtt %s", fs.Name())
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		b.WriteString(" [flags]")
	}
	b.WriteString("\n\n" + about + "\n")
	if hasFlags {
		b.WriteString("\nflags:\n")
		fs.SetOutput(&b)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// exitCode reports err on stderr, every line with the program's name, and
// returns the process's exit status: 0 for success, 2 for a bad command
// line, 1 for everything else.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintln(stderr, "blink2mqtt:", line)
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}
