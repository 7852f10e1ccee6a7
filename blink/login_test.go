package blink

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Login flows run against the fake cloud in login_fake_test.go; these are
// the pieces without a server.

var uuidUpper = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

func TestHardwareIDGeneratedOnceAndKept(t *testing.T) {
	store := &MemoryTokenStore{}
	c1, err := New(Options{Store: store, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	hw := c1.Session().HardwareID
	if !uuidUpper.MatchString(hw) {
		t.Fatalf("hardware id %q is not an upper-case UUIDv4", hw)
	}
	c2, err := New(Options{Store: store, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if got := c2.Session().HardwareID; got != hw {
		t.Errorf("second client hardware id %q, want %q", got, hw)
	}
	if c2.HasSession() {
		t.Error("HasSession without tokens")
	}
	if _, err := c2.Homescreen(context.Background()); !errors.Is(noteErr(err), ErrReauthRequired) {
		t.Errorf("Homescreen without session: %v, want ErrReauthRequired", err)
	}
}

func TestExtractCSRF(t *testing.T) {
	tests := []struct {
		name, page string
		want       Secret
		wantErr    bool
	}{
		{"attribute order", `<script type="application/json" id="oauth-args">{"csrf-token":"abc"}</script>`, "abc", false},
		{"single quotes, newlines", "<SCRIPT id='oauth-args' type='application/json'>\n {\"csrf-token\" : \"x y\"}\n</SCRIPT>", "x y", false},
		{"missing script", `<html></html>`, "", true},
		{"no token", `<script id="oauth-args">{"other":1}</script>`, "", true},
		{"broken json", `<script id="oauth-args">{"csrf-token":</script>`, "", true},
		{"invalid UTF-8 is not silently replaced", "<script id=\"oauth-args\">{\"csrf-token\":\"\xf8\"}</script>", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := extractCSRF([]byte(tc.page))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("extractCSRF = %q, %v; want %q, err %v", got.Reveal(), err, tc.want.Reveal(), tc.wantErr)
			}
		})
	}
}

func TestPKCE(t *testing.T) {
	p := newPKCE()
	if len(p.verifier.Reveal()) != 43 || len(p.challenge) != 43 {
		t.Fatalf("lengths %d/%d, want 43/43", len(p.verifier.Reveal()), len(p.challenge))
	}
	// RFC 7636 appendix B.
	if got := pkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Errorf("challenge = %q", got)
	}
	if newPKCE().verifier == p.verifier {
		t.Error("two verifiers are equal")
	}
}

func TestParseChallengeBounded(t *testing.T) {
	tests := []struct {
		name, body string
		want       Challenge
	}{
		{"Blink's 202", `{"next_time_in_secs":60,"phone":"+49xxxxxxxx12","tsv_state":"sms"}`, Challenge{"sms", "+49xxxxxxxx12", time.Minute}},
		{"e-mail, numbers as strings", `{"next_time_in_secs":"90","email":"m***@example.com","tsv_state":"email"}`, Challenge{"email", "m***@example.com", 90 * time.Second}},
		{"bare 412", ``, Challenge{}},
		{"negative wait", `{"next_time_in_secs":-5}`, Challenge{}},
		{"wait overflowing a Duration", `{"next_time_in_secs":20000000000}`, Challenge{ResendAfter: maxResendAfter}},
		{"a day", `{"next_time_in_secs":86400}`, Challenge{ResendAfter: maxResendAfter}},
		{"line breaks", `{"phone":"+49\n12","tsv_state":"sms\r\nX-Injected: 1"}`, Challenge{"sms  X-Injected: 1", "+49 12", 0}},
		{"long destination", `{"email":"` + strings.Repeat("a", 150) + `"}`, Challenge{Destination: strings.Repeat("a", maxDestination) + "…"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := parseChallenge([]byte(tc.body)); got != tc.want {
				t.Errorf("parseChallenge = %+v, want %+v", got, tc.want)
			}
		})
	}
}
