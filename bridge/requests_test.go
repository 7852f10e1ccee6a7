package bridge

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/blink2mqtt/blink2mqtt/discovery"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name    string
		op      string
		payload string
		want    request
		wantErr string
	}{
		{"arm", OpArm, `{"network": 4321}`, request{op: OpArm, network: 4321}, ""},
		{"arm id as string", OpArm, `{"network": "4321"}`, request{op: OpArm, network: 4321}, ""},
		{"transaction kept", OpDisarm, `{"network": 1, "transaction": {"a": [1]}}`, request{op: OpDisarm, network: 1, txn: json.RawMessage(`{"a": [1]}`)}, ""},
		{"motion", OpMotionDetection, `{"device": 5, "enabled": false}`, request{op: OpMotionDetection, device: 5}, ""},
		{"refresh empty payload", OpRefresh, ``, request{op: OpRefresh}, ""},
		{"code as number", OpAuthVerify, `{"code": 123456}`, request{op: OpAuthVerify, code: "123456"}, ""},
		{"not json", OpArm, `arm please`, request{}, "not valid JSON"},
		{"string json", OpArm, `"x"`, request{}, "must be a JSON object"},
		{"unknown op", "reboot", `{}`, request{}, `unknown operation "reboot"`},
		{"network object", OpArm, `{"network": {"id": 1}}`, request{}, "got an object"},
		{"network zero", OpArm, `{"network": 0}`, request{}, "whole number"},
		{"network huge", OpArm, `{"network": 1e30}`, request{}, "whole number"},
		{"enabled null", OpMotionDetection, `{"device": 5, "enabled": null}`, request{}, "true or false"},
		{"missing enabled", OpMotionDetection, `{"device": 5}`, request{}, `needs the field "enabled"`},
		{"code empty", OpAuthVerify, `{"code": ""}`, request{}, "digits only"},
		{"code too long", OpAuthVerify, `{"code": "12345678901234567"}`, request{}, "digits only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRequest(tc.op, []byte(tc.payload))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.op != tc.want.op || got.network != tc.want.network || got.device != tc.want.device ||
				got.enabled != tc.want.enabled || got.code != tc.want.code || string(got.txn) != string(tc.want.txn) || !got.respond {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

// TestParseRequestNeverQuotesCodes: error messages go to logs and MQTT; a
// malformed auth/verify body must not be echoed.
func TestParseRequestNeverQuotesCodes(t *testing.T) {
	for _, p := range []string{`{"code": "98765x"}`, `{"code": ["987654"]}`, `{"code": "987654", "extra": "987654"}`, `{"code": 987654.5}`} {
		_, err := parseRequest(OpAuthVerify, []byte(p))
		if err == nil {
			t.Fatalf("%s: no error", p)
		}
		if strings.Contains(err.Error(), "98765") {
			t.Errorf("error %q quotes the code", err)
		}
	}
}

func TestParseSet(t *testing.T) {
	top := discovery.Topics{Root: "b2m"}
	tests := []struct {
		topic, payload string
		want           request
		wantErr        string
	}{
		{"b2m/4321/alarm/set", "ARM_AWAY", request{op: OpArm, network: 4321}, ""},
		{"b2m/4321/alarm/set", "disarm", request{op: OpDisarm, network: 4321}, ""},
		{"b2m/4321/alarm/set", "ARM_HOME", request{}, "ARM_AWAY or DISARM"},
		{"b2m/4321/555/motion_detection/set", "ON", request{op: OpMotionDetection, network: 4321, device: 555, enabled: true}, ""},
		{"b2m/4321/555/motion_detection/set", "OFF", request{op: OpMotionDetection, network: 4321, device: 555}, ""},
		{"b2m/4321/555/motion_detection/set", "1", request{}, "ON or OFF"},
		{"b2m/4321/555/snapshot/set", "PRESS", request{op: OpSnapshot, network: 4321, device: 555}, ""},
		{"b2m/4321/555/record/set", "PRESS", request{op: OpRecord, network: 4321, device: 555}, ""},
		{"b2m/4321/555/snapshot/set", "NOW", request{}, "expects PRESS"},
		{"b2m/4321/555/battery_low/set", "ON", request{}, "takes no commands"},
		{"b2m/bridge/rediscover/set", "PRESS", request{op: OpRediscover}, ""},
		{"b2m/bridge/refresh/set", "PRESS", request{op: OpRefresh}, ""},
		{"b2m/bridge/auth_submit/set", "PRESS", request{op: OpAuthVerify}, ""},
		{"b2m/bridge/auth_login/set", "PRESS", request{op: OpAuthLogin}, ""},
		{"b2m/bridge/auth_code/set", "123456", request{op: discovery.BridgeAuthCode, code: "123456"}, ""},
		{"b2m/bridge/auth_code/set", "******", request{op: discovery.BridgeAuthCode}, ""},
		{"b2m/bridge/auth_code/set", "12ab", request{}, "digits only"},
		{"b2m/bridge/reboot/set", "PRESS", request{}, "unknown bridge command"},
		{"b2m/x/alarm/set", "ARM_AWAY", request{}, "no network id"},
		{"b2m/1/2/3/4/set", "ON", request{}, "unknown command topic"},
	}
	for _, tc := range tests {
		t.Run(tc.topic+"="+tc.payload, func(t *testing.T) {
			got, err := parseSet(top, tc.topic, []byte(tc.payload))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.op != tc.want.op || got.network != tc.want.network || got.device != tc.want.device ||
				got.enabled != tc.want.enabled || got.code != tc.want.code || got.respond {
				t.Errorf("got %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, tc := range badInputs {
		f.Add(tc.op, []byte(tc.payload))
	}
	f.Add(OpArm, []byte(`{"network": 4321, "transaction": "x"}`))
	f.Add(OpMotionDetection, []byte(`{"device": 1, "enabled": true}`))
	f.Fuzz(func(t *testing.T, op string, payload []byte) {
		r, err := parseRequest(op, payload)
		if r == nil {
			t.Fatal("nil request")
		}
		if err == nil && (r.op != op || !r.respond) {
			t.Fatalf("accepted request with op %q for %q", r.op, op)
		}
		if err != nil && (errorMessage(err) == "" || len(errorMessage(err)) > 4*maxQuoted+300) {
			t.Fatalf("error message %q: empty, or longer than the bound", errorMessage(err))
		}
		// The response must always marshal, whatever the transaction.
		resp := response{Status: "error", Error: "x", Transaction: r.txn}
		if _, err := json.Marshal(resp); err != nil {
			t.Fatalf("response with transaction %q does not marshal: %v", r.txn, err)
		}
	})
}
