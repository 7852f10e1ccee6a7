package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// maxCodeTries is how many 2FA codes one terminal login accepts before it
// gives up; every try reuses the same login, so no new SMS is sent.
const maxCodeTries = 3

// runLogin logs in on the terminal and saves the token to STATE_DIR. The
// password comes from BLINK_PASSWORD(_FILE) or a prompt without echo; the 2FA
// code from --code or a prompt (or a line on standard input, for scripts).
func runLogin(ctx context.Context, args []string, lookup lookupFunc, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("login", flag.ContinueOnError)
	email := fs.String("email", "", "Blink account e-mail (default $BLINK_EMAIL)")
	code := fs.String("code", "", "2FA code, when you already have one (otherwise it is asked for)")
	if ok, err := parseFlags(fs, aboutLogin, args, stdout, stderr); !ok {
		return err
	}
	cfg, err := loadConfig(lookup)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	if err := prepareStateDir(cfg.StateDir, log); err != nil {
		return err
	}
	in := newPrompter(stdin, stdout)
	if *email == "" {
		*email = cfg.BlinkEmail
	}
	if *email == "" {
		if *email, err = in.line("Blink e-mail: "); err != nil {
			return err
		}
	}
	password := cfg.BlinkPassword
	if password.IsZero() {
		p, err := in.secret("Blink password: ")
		if err != nil {
			return err
		}
		password = blink.Secret(p)
	}
	if *email == "" || password.IsZero() {
		return errors.New("login needs an e-mail and a password")
	}

	client, err := newBlinkClient(cfg, log, nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Logging in to Blink…")
	login, err := client.BeginLogin(ctx, *email, password)
	if err != nil {
		return explainLoginError(err)
	}
	if login.CodeRequired() {
		ch := login.Challenge()
		fmt.Fprintf(stdout, "Blink sent a verification code %s.\n", describeChallenge(ch))
		for try := 1; ; try++ {
			c := blink.Secret(strings.TrimSpace(*code))
			*code = ""
			if c.IsZero() {
				s, err := in.line("Verification code: ")
				if err != nil {
					return fmt.Errorf("reading the code: %w", err)
				}
				c = blink.Secret(strings.TrimSpace(s))
			}
			err := login.SubmitCode(ctx, c)
			if err == nil {
				break
			}
			if errors.Is(err, blink.ErrInvalidCode) && try < maxCodeTries {
				fmt.Fprintln(stdout, "That code was not accepted. Check it and type it again (the same code stays valid for about 10 minutes).")
				continue
			}
			return explainLoginError(err)
		}
	}
	s := client.Session()
	fmt.Fprintf(stdout, "Logged in: account %d on tier %s. Token saved in %s; the daemon picks it up without a restart.\n",
		s.AccountID, s.Tier, cfg.StateDir)
	return nil
}

// describeChallenge says where the code went, e.g. "by SMS to +1xxxxxxx12".
func describeChallenge(ch blink.Challenge) string {
	var how string
	switch strings.ToLower(ch.Channel) {
	case "sms", "":
		how = "by SMS"
	case "email":
		how = "by e-mail"
	case "whatsapp":
		how = "by WhatsApp"
	case "voice":
		how = "by voice call"
	default:
		how = "by " + ch.Channel
	}
	if ch.Destination != "" {
		how += " to " + ch.Destination
	}
	return how
}

// explainLoginError turns each failure class into a sentence that says what
// to do next. The error it wraps never holds a secret.
func explainLoginError(err error) error {
	var rl *blink.RateLimitError
	switch {
	case errors.As(err, &rl):
		when := "in an hour"
		if !rl.Until.IsZero() {
			when = "after " + rl.Until.Local().Format(time.Kitchen)
		} else if rl.RetryAfter > 0 {
			when = "in " + rl.RetryAfter.Round(time.Minute).String()
		}
		return fmt.Errorf("login throttled by Blink: try again %s, and don't retry in a loop: repeated logins get accounts locked (%w)", when, err)
	case errors.Is(err, blink.ErrBadCredentials):
		return fmt.Errorf("login refused: Blink did not accept the e-mail or password; check them in the Blink app (%w)", err)
	case errors.Is(err, blink.ErrInvalidCode):
		return fmt.Errorf("the verification code was wrong or has expired; run blink2mqtt login again to get a new one (%w)", err)
	case errors.Is(err, blink.ErrNotAcceptable):
		return fmt.Errorf("login rejected with 406 Not Acceptable: Blink refused this client (hardware id, or a block at Blink's firewall); make sure you run the newest blink2mqtt, and if it persists, wait an hour (%w)", err)
	case errors.Is(err, blink.ErrCookiesLost):
		return fmt.Errorf("login session lost between steps (Blink dropped its cookies); run blink2mqtt login again (%w)", err)
	case errors.Is(err, blink.ErrUnreachable), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("cannot reach Blink; check the network and BLINK_OAUTH_URL / BLINK_REST_URL (%w)", err)
	default:
		return fmt.Errorf("login failed: %w", err)
	}
}

// prompter reads answers from a terminal (password without echo) or, when
// standard input is not a terminal, one line per answer.
type prompter struct {
	in  io.Reader
	r   *bufio.Reader
	out io.Writer
}

func newPrompter(in io.Reader, out io.Writer) *prompter {
	if in == nil {
		in = strings.NewReader("")
	}
	return &prompter{in: in, r: bufio.NewReader(in), out: out}
}

func (p *prompter) line(prompt string) (string, error) {
	fmt.Fprint(p.out, prompt)
	s, err := p.r.ReadString('\n')
	if err != nil && (s == "" || !errors.Is(err, io.EOF)) {
		if errors.Is(err, io.EOF) {
			return "", errors.New("no answer on standard input")
		}
		return "", err
	}
	return strings.TrimSpace(s), nil
}

func (p *prompter) secret(prompt string) (string, error) {
	if f, ok := p.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(p.out, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(p.out)
		return string(b), err
	}
	return p.line(prompt)
}
