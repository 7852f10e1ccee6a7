package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

// loginEnv is an environment pointing at a fake cloud and a fresh STATE_DIR.
func loginEnv(t *testing.T, fake *blinkfake.Server, withPassword bool) (env map[string]string, dir string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "state")
	env = map[string]string{
		"STATE_DIR":       dir,
		"BLINK_OAUTH_URL": fake.OAuthURL(),
		"BLINK_REST_URL":  fake.RESTURL(),
		"LOG_FORMAT":      "json",
		"BLINK_EMAIL":     fake.Config().Email,
	}
	if withPassword {
		env["BLINK_PASSWORD"] = fake.Config().Password
	}
	return env, dir
}

func TestLoginCLIWithTwoFactorThroughStdin(t *testing.T) {
	t.Parallel()
	fake := blinkfake.New(t, blinkfake.Config{TwoFactor: true, Code: "246810"})
	env, dir := loginEnv(t, fake, false)
	// Password on stdin (not a terminal), then a wrong code, then the right one.
	stdin := strings.NewReader(fake.Config().Password + "\n111111\n246810\n")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"login"}, mapLookup(env), stdin, &out, &errOut); err != nil {
		t.Fatalf("login: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	o := out.String()
	for _, want := range []string{"Blink password: ", "by SMS", "That code was not accepted", "Logged in: account"} {
		if !strings.Contains(o, want) {
			t.Errorf("stdout lacks %q:\n%s", want, o)
		}
	}
	if n := fake.CodesSent(); n != 1 {
		t.Errorf("codes sent = %d, want 1 (a wrong code must not start a new login)", n)
	}
	if n := fake.Logins(); n != 1 {
		t.Errorf("logins = %d, want 1", n)
	}
	fi, err := os.Stat(filepath.Join(dir, tokenFileName))
	if err != nil {
		t.Fatalf("token file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode = %04o, want 0600", fi.Mode().Perm())
	}
	for _, secret := range []string{fake.Config().Password, "246810"} {
		if strings.Contains(o+errOut.String(), secret) {
			t.Errorf("output contains the secret %q", secret)
		}
	}
}

func TestLoginCLIFailuresSayWhatToDo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    blinkfake.Config
		fault  *blinkfake.Fault
		stdin  string
		badPwd bool
		want   string
	}{
		{name: "wrong password", badPwd: true, want: "did not accept the e-mail or password"},
		{name: "wrong code three times", cfg: blinkfake.Config{TwoFactor: true, Code: "246810"},
			stdin: "1\n2\n3\n", want: "verification code was wrong or has expired"},
		{name: "406", fault: &blinkfake.Fault{Endpoint: blinkfake.EpAuthorize, Status: 406},
			want: "406 Not Acceptable"},
		{name: "throttled", fault: &blinkfake.Fault{Endpoint: blinkfake.EpSignin, Status: 429, RetryAfter: 30 * time.Minute},
			want: "don't retry in a loop"},
		{name: "lost cookies", fault: &blinkfake.Fault{Endpoint: blinkfake.EpSignin, Status: 400,
			Body: `{"error":"bad_request","error_cause":"empty_cookies","error_description":"Empty Cookies."}`},
			want: "login session lost"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fake := blinkfake.New(t, tc.cfg)
			env, _ := loginEnv(t, fake, !tc.badPwd)
			if tc.badPwd {
				env["BLINK_PASSWORD"] = "not the password"
			}
			if tc.fault != nil {
				fake.Inject(*tc.fault)
			}
			var out bytes.Buffer
			err := run(context.Background(), []string{"login"}, mapLookup(env), strings.NewReader(tc.stdin), &out, &out)
			if err == nil {
				t.Fatalf("login succeeded; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q\nwant it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error()+out.String(), fake.Config().Password) {
				t.Errorf("the password appears in the output or error")
			}
		})
	}
}
