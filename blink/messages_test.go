package blink

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// oneLine reports whether s is valid UTF-8 without line breaks or other
// control characters: what an error string or a command answer may hold.
func oneLine(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

func TestBlinkMessagesStayOneLineAndBounded(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes; a byte cut at 200 splits no rune, at 201 it would
	tests := []struct {
		name string
		msg  string // a JSON string literal's content, as Blink sends it
		want string
	}{
		{"line break", `Camera not found\nretry later`, "Camera not found retry later"},
		{"carriage return and tab", `a\r\n\tb`, "a   b"},
		{"unicode line separator", `a\u2028b`, "a b"},
		{"escape sequence", `\u001b[31mred`, "[31mred"},
		{"long multibyte text", long + "x", strings.Repeat("é", 100) + "…"},
		{"odd byte count", "x" + long, "x" + strings.Repeat("é", 99) + "…"},
		{"ordinary", "Sync module is busy", "Sync module is busy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(`{"message":"` + tc.msg + `","status_msg":"` + tc.msg + `","code":42,"status_code":1,"complete":true}`)
			se := newStatusError("GET /x", &response{status: 400, body: body}, nil)
			ans, err := decodeCommand("POST /x", body)
			if err != nil {
				t.Fatal(err)
			}
			st, err := decodeCommandStatus("GET /s", body)
			if err != nil {
				t.Fatal(err)
			}
			for what, got := range map[string]string{
				"StatusError.Message":     se.Message,
				"command message":         ans.message,
				"CommandStatus.StatusMsg": st.StatusMsg,
			} {
				if got != tc.want {
					t.Errorf("%s = %q, want %q", what, got, tc.want)
				}
			}
			for _, e := range []error{se, &CommandError{Message: st.StatusMsg}} {
				if !oneLine(e.Error()) || len(e.Error()) > 300 {
					t.Errorf("error %q is not one bounded line", e.Error())
				}
			}
		})
	}
}
