package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"github.com/blink2mqtt/blink2mqtt/discovery"
	"github.com/blink2mqtt/blink2mqtt/internal/hatest"
	"github.com/blink2mqtt/blink2mqtt/internal/mqtttest"
)

func TestE2EArmDisarmWithHomeAssistantPayloads(t *testing.T) {
	e := newEnv(t)
	net := e.fake.Networks()[1] // "Cabin", disarmed
	topic := e.alarmTopic(net.ID)
	e.rec.WaitFor(t, topic, mqtttest.Equals(discovery.Disarmed))

	mark := e.rec.Mark()
	e.set(topic, discovery.ArmAway)
	e.rec.WaitForAfter(t, mark, topic, mqtttest.Equals(discovery.Arming))
	e.rec.WaitForAfter(t, mark, topic, mqtttest.Equals(discovery.ArmedAway))
	if n, _ := e.fake.Network(net.ID); !n.Armed {
		t.Fatalf("fake network %d not armed after %s", net.ID, discovery.ArmAway)
	}

	mark = e.rec.Mark()
	e.set(topic, discovery.Disarm)
	e.rec.WaitForAfter(t, mark, topic, mqtttest.Equals(discovery.Disarming))
	e.rec.WaitForAfter(t, mark, topic, mqtttest.Equals(discovery.Disarmed))
	if n, _ := e.fake.Network(net.ID); n.Armed {
		t.Fatalf("fake network %d still armed after %s", net.ID, discovery.Disarm)
	}
	got := e.retained(topic)
	if string(got[topic]) != discovery.Disarmed {
		t.Fatalf("retained %s = %q, want %q", topic, got[topic], discovery.Disarmed)
	}
}

func TestE2EMotionDetectionSwitchPerFamily(t *testing.T) {
	e := newEnv(t)
	for _, f := range []blink.Family{blink.FamilyCamera, blink.FamilyOwl, blink.FamilyDoorbell} {
		t.Run(string(f), func(t *testing.T) {
			d := deviceOf(t, e.fake, f)
			topic := e.devTopic(d, discovery.EntityMotionDetection)
			for _, want := range []bool{!d.Enabled, d.Enabled} {
				mark := e.rec.Mark()
				e.set(topic, onOff(want))
				e.rec.WaitForAfter(t, mark, topic, mqtttest.Equals(onOff(want)))
				if got, _ := e.fake.Device(d.ID); got.Enabled != want {
					t.Fatalf("fake %s %d enabled = %v, want %v", f, d.ID, got.Enabled, want)
				}
			}
		})
	}
}

func TestE2ESnapshotPublishesJPEGBeforeResponse(t *testing.T) {
	e := newEnv(t)
	for _, f := range []blink.Family{blink.FamilyCamera, blink.FamilyOwl, blink.FamilyDoorbell} {
		t.Run(string(f), func(t *testing.T) {
			d := deviceOf(t, e.fake, f)
			mark := e.rec.Mark()
			resp := e.request(OpSnapshot, map[string]any{"device": d.ID, "transaction": "snap-" + string(f)})
			if resp["status"] != "ok" || resp["transaction"] != "snap-"+string(f) {
				t.Fatalf("response = %v", resp)
			}
			topic := e.devTopic(d, discovery.EntityThumbnail)
			img := e.rec.WaitForAfter(t, mark, topic, mqtttest.Any)
			respMsg := e.rec.WaitForAfter(t, mark, e.topics.Response(OpSnapshot), mqtttest.Any)
			if img.Seq > respMsg.Seq {
				t.Errorf("thumbnail (seq %d) arrived after the response (seq %d)", img.Seq, respMsg.Seq)
			}
			if !bytes.HasPrefix(img.Payload, []byte{0xFF, 0xD8, 0xFF}) {
				t.Errorf("thumbnail is not a JPEG: % x…", img.Payload[:min(4, len(img.Payload))])
			}
			if got := e.retained(topic); !bytes.Equal(got[topic], img.Payload) {
				t.Errorf("thumbnail not retained")
			}
		})
	}
}

func TestE2ERequestResponseEchoesTransaction(t *testing.T) {
	e := newEnv(t)
	net := e.fake.Networks()[0]
	tests := []struct {
		name string
		txn  string // raw JSON
	}{
		{"string", `"abc-1"`},
		{"number", `42`},
		{"object", `{"flow":"n1","seq":[1,2]}`},
		{"null", `null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mark := e.rec.Mark()
			e.rec.Publish(t, e.topics.Request(OpRefresh), []byte(`{"transaction":`+tc.txn+`}`), false)
			m := e.rec.WaitForAfter(t, mark, e.topics.Response(OpRefresh), mqtttest.Any)
			var resp struct {
				Status      string          `json:"status"`
				Transaction json.RawMessage `json:"transaction"`
			}
			if err := json.Unmarshal(m.Payload, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.Status != "ok" || compact(t, resp.Transaction) != compact(t, json.RawMessage(tc.txn)) {
				t.Fatalf("response %s: want status ok and transaction %s", m.Payload, tc.txn)
			}
			if n := e.rec.Count(mark, e.topics.Response(OpRefresh)); n != 1 {
				t.Fatalf("%d responses, want exactly 1", n)
			}
		})
	}
	// Arm through a request: the response comes after Blink confirmed.
	resp := e.request(OpDisarm, map[string]any{"network": net.ID, "transaction": 7})
	if resp["status"] != "ok" || resp["transaction"] != float64(7) {
		t.Fatalf("disarm response = %v", resp)
	}
	if n, _ := e.fake.Network(net.ID); n.Armed {
		t.Fatalf("answered ok before Blink disarmed")
	}
	data, _ := resp["data"].(map[string]any)
	if data["state"] != discovery.Disarmed {
		t.Fatalf("disarm data = %v", data)
	}
}

func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("compact %q: %v", raw, err)
	}
	return b.String()
}

func TestE2EFailedCommandRevertsAndAnswersBlinksMessage(t *testing.T) {
	e := newEnv(t)
	net := e.fake.Networks()[1] // disarmed
	topic := e.alarmTopic(net.ID)
	e.fake.FailNextCommand(523, "Sync module offline")
	mark := e.rec.Mark()
	resp := e.request(OpArm, map[string]any{"network": net.ID, "transaction": "f1"})
	if resp["status"] != "error" || !strings.Contains(fmt.Sprint(resp["error"]), "Sync module offline") || resp["transaction"] != "f1" {
		t.Fatalf("response = %v, want an error with Blink's message", resp)
	}
	e.rec.WaitForAfter(t, mark, topic, mqtttest.Equals(discovery.Arming))
	last, _ := e.rec.Last(topic)
	if string(last.Payload) != discovery.Disarmed {
		t.Fatalf("alarm after failed arm = %q, want reverted to %q", last.Payload, discovery.Disarmed)
	}
	if n, _ := e.fake.Network(net.ID); n.Armed {
		t.Fatalf("fake armed despite the failure")
	}
}

func TestE2EBusySyncModule(t *testing.T) {
	e := newEnv(t)
	net := e.fake.Networks()[1]
	e.fake.Inject(blinkfake.Fault{Endpoint: blinkfake.EpArm, Status: 409, Count: -1})
	resp := e.request(OpArm, map[string]any{"network": net.ID})
	if resp["status"] != "error" || !strings.Contains(fmt.Sprint(resp["error"]), "busy") {
		t.Fatalf("response = %v, want a busy error", resp)
	}
	last, _ := e.rec.Last(e.alarmTopic(net.ID))
	if string(last.Payload) != discovery.Disarmed {
		t.Fatalf("alarm = %q after busy, want %q", last.Payload, discovery.Disarmed)
	}
	e.fake.ClearFaults()
	resp = e.request(OpArm, map[string]any{"network": net.ID})
	if resp["status"] != "ok" {
		t.Fatalf("arm after busy cleared: %v", resp)
	}
}

func TestE2EMotionEventAndHold(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.HoldTime = 300 * time.Millisecond }))
	d := deviceOf(t, e.fake, blink.FamilyCamera)
	motion := e.devTopic(d, discovery.EntityMotion)
	e.rec.WaitFor(t, motion, mqtttest.Equals(discovery.Off))
	mark := e.rec.Mark()
	m := e.fake.TriggerMotion(d.ID, "pir")
	if resp := e.request(OpRefresh, map[string]any{}); resp["status"] != "ok" {
		t.Fatalf("refresh: %v", resp)
	}
	ev := e.rec.WaitForAfter(t, mark, e.topics.Events(), mqtttest.Any)
	var got eventPayload
	if err := json.Unmarshal(ev.Payload, &got); err != nil {
		t.Fatal(err)
	}
	if got.ID != m.ID || got.Type != "motion" || got.Storage != storageCloud || got.DeviceID != d.ID || got.NetworkID != d.NetworkID || got.DeviceName != d.Name || got.Clip == "" {
		t.Fatalf("event = %+v, want media %d of device %d", got, m.ID, d.ID)
	}
	if got := e.retained(e.topics.Events()); len(got) != 0 {
		t.Errorf("event retained")
	}
	on := e.rec.WaitForAfter(t, mark, motion, mqtttest.Equals(discovery.On))
	off := e.rec.WaitForAfter(t, on.Seq, motion, mqtttest.Equals(discovery.Off))
	if held := off.Time.Sub(on.Time); held < 250*time.Millisecond {
		t.Errorf("motion held %s, want about the 300ms hold time", held)
	}
	e.rec.WaitForAfter(t, mark, e.devTopic(d, discovery.EntityLastEvent), mqtttest.Equals(m.CreatedAt.UTC().Format(time.RFC3339)))
	// A second refresh publishes the same clip no more.
	mark = e.rec.Mark()
	e.request(OpRefresh, map[string]any{})
	if n := e.rec.Count(mark, e.topics.Events()); n != 0 {
		t.Fatalf("%d events on the second refresh, want 0", n)
	}
}

// TestE2EDrivesEveryDiscoveryCommand reads the retained discovery configs,
// sends every payload HA would send on every command topic, and checks the
// declared state topic follows and every retained state payload is one HA
// accepts.
func TestE2EDrivesEveryDiscoveryCommand(t *testing.T) {
	e := newEnv(t)
	var msgs []discovery.Message
	for topic, p := range e.retained("homeassistant/#") {
		msgs = append(msgs, discovery.Message{Topic: topic, Payload: p, Retained: true})
	}
	cmds := hatest.Commands(msgs)
	if len(cmds) < 10 {
		t.Fatalf("only %d command topics in the retained discovery", len(cmds))
	}
	for _, c := range cmds {
		if strings.Contains(c.Topic, "/bridge/auth_") {
			continue // login entities: covered by the auth tests
		}
		for _, p := range c.Payloads {
			mark := e.rec.Mark()
			e.set(strings.TrimSuffix(c.Topic, "/set"), p)
			switch {
			case c.StateTopic != "" && c.Component == "alarm_control_panel":
				want := map[string]string{discovery.ArmAway: discovery.ArmedAway, discovery.Disarm: discovery.Disarmed}[p]
				e.rec.WaitForAfter(t, mark, c.StateTopic, mqtttest.Equals(want))
			case c.StateTopic != "":
				e.rec.WaitForAfter(t, mark, c.StateTopic, mqtttest.Equals(p))
			default:
				// Buttons: a sentinel request answered after the button's work.
				e.request(OpAuthVerify, map[string]any{"code": "1"})
			}
		}
	}
	contract := hatest.StateContract(msgs)
	for topic, p := range e.retained(e.topics.Root + "/#") {
		if check, ok := contract[topic]; ok {
			if err := check(p); err != nil {
				t.Errorf("retained %s = %.60q: %v", topic, p, err)
			}
		}
	}
	for _, topic := range hatest.NonRetainedTopics(msgs) {
		if _, ok := e.retained(topic)[topic]; ok {
			t.Errorf("%s is retained", topic)
		}
	}
}

func TestE2EHealthAndInfo(t *testing.T) {
	e := newEnv(t)
	h := e.bridge.Health()
	if !h.MQTTConnected || h.Auth != AuthOK || h.LastPoll.IsZero() {
		t.Fatalf("Health = %+v", h)
	}
	info := e.retained(e.topics.BridgeInfo())[e.topics.BridgeInfo()]
	var got infoPayload
	if err := json.Unmarshal(info, &got); err != nil {
		t.Fatalf("bridge/info %q: %v", info, err)
	}
	nets, devs := len(e.fake.Networks()), len(e.fake.Devices())
	if got.Version != "test" || got.AccountID != e.fake.AccountID() || got.Tier != e.fake.Config().Tier ||
		got.Networks != nets || got.Devices != devs || got.LastPoll == nil || got.APICallsLastHour == 0 || got.AuthState != AuthOK {
		t.Errorf("bridge/info = %s; want %d networks, %d devices, account %d", info, nets, devs, e.fake.AccountID())
	}
	auth := e.retained(e.topics.BridgeAuth())[e.topics.BridgeAuth()]
	if string(auth) != `{"state":"ok","detail":""}` {
		t.Errorf("bridge/auth = %s", auth)
	}
}

// fakeAuth is an Authenticator that accepts one code.
type fakeAuth struct {
	b     *Bridge
	want  blink.Secret
	codes chan blink.Secret
}

func (a *fakeAuth) SubmitCode(_ context.Context, code blink.Secret) error {
	a.codes <- code
	if code != a.want {
		a.b.SetAuthState(AuthCodeRequired, "that code was not accepted")
		return blink.ErrInvalidCode
	}
	a.b.SetAuthState(AuthOK, "logged in")
	return nil
}

func (a *fakeAuth) StartLogin(context.Context, LoginRequest) error {
	a.b.SetAuthState(AuthCodeRequired, "code sent by sms")
	return nil
}

func TestE2ETwoFactorOverMQTT(t *testing.T) {
	auth := &fakeAuth{want: "246810", codes: make(chan blink.Secret, 8)}
	e := newEnv(t, withOptions(func(o *Options) { o.Auth = auth }))
	auth.b = e.bridge
	if resp := e.request(OpAuthLogin, map[string]any{}); resp["status"] != "ok" {
		t.Fatalf("auth/login: %v", resp)
	}
	e.rec.WaitFor(t, e.topics.BridgeAuth(), mqtttest.Contains(`"code_required"`))

	resp := e.request(OpAuthVerify, map[string]any{"code": "111111", "transaction": "w"})
	if resp["status"] != "error" || !strings.Contains(fmt.Sprint(resp["error"]), "wrong or has expired") {
		t.Fatalf("wrong code answered %v", resp)
	}
	if c := <-auth.codes; c != "111111" {
		t.Fatalf("authenticator got %q", c.Reveal())
	}

	// Home Assistant: type the code into the text entity, press submit.
	mark := e.rec.Mark()
	e.set(e.topics.BridgeEntity(discovery.BridgeAuthCode), "246810")
	e.rec.WaitForAfter(t, mark, e.topics.BridgeEntity(discovery.BridgeAuthCode), mqtttest.Equals("******"))
	e.set(e.topics.BridgeEntity(discovery.BridgeAuthSubmit), discovery.Press)
	if c := <-auth.codes; c != "246810" {
		t.Fatalf("authenticator got %q", c.Reveal())
	}
	e.rec.WaitForAfter(t, mark, e.topics.BridgeAuth(), mqtttest.Contains(`"ok"`))
	e.rec.WaitForAfter(t, mark, e.topics.BridgeEntity(discovery.BridgeAuthCode), mqtttest.Equals(""))
	for _, m := range e.rec.Messages() {
		if !strings.HasSuffix(m.Topic, "/set") && !strings.Contains(m.Topic, "/request/") &&
			(bytes.Contains(m.Payload, []byte("246810")) || bytes.Contains(m.Payload, []byte("111111"))) {
			t.Errorf("the code leaked on %s", m.Topic)
		}
	}
	if logs := e.logs.String(); strings.Contains(logs, "246810") || strings.Contains(logs, "111111") {
		t.Errorf("a 2FA code appears in the logs")
	}
}

func TestE2EFailedSwitchPutsHomeAssistantBack(t *testing.T) {
	e := newEnv(t)
	d := deviceOf(t, e.fake, blink.FamilyCamera)
	topic := e.devTopic(d, discovery.EntityMotionDetection)
	e.fake.FailNextCommand(523, "Camera offline")
	mark := e.rec.Mark()
	e.set(topic, onOff(!d.Enabled))
	// HA's optimistic switch is corrected: the real state is published again.
	e.rec.WaitForAfter(t, mark, topic, mqtttest.Equals(onOff(d.Enabled)))
	if got, _ := e.fake.Device(d.ID); got.Enabled != d.Enabled {
		t.Fatalf("fake device changed despite the failure")
	}
}

func TestE2ERecordClip(t *testing.T) {
	e := newEnv(t)
	d := deviceOf(t, e.fake, blink.FamilyDoorbell)
	resp := e.request(OpRecord, map[string]any{"device": d.ID, "transaction": "r"})
	if resp["status"] != "ok" || resp["transaction"] != "r" {
		t.Fatalf("record: %v", resp)
	}
	cmds := e.fake.Commands()
	if last := cmds[len(cmds)-1]; last.Command != "clip" || last.DeviceID != d.ID {
		t.Fatalf("last fake command = %+v, want a clip on %d", last, d.ID)
	}
}

func TestE2ESnapshotThatIsNotAJPEG(t *testing.T) {
	e := newEnv(t)
	d := deviceOf(t, e.fake, blink.FamilyCamera)
	topic := e.devTopic(d, discovery.EntityThumbnail)
	e.fake.Inject(blinkfake.Fault{Endpoint: blinkfake.EpDeviceThumbnail, Status: 200, Body: "<html>maintenance</html>", Count: -1})
	mark := e.rec.Mark()
	resp := e.request(OpSnapshot, map[string]any{"device": d.ID})
	if resp["status"] != "error" || !strings.Contains(fmt.Sprint(resp["error"]), "not a JPEG") {
		t.Fatalf("snapshot with an HTML answer: %v", resp)
	}
	if n := e.rec.Count(mark, topic); n != 0 {
		t.Errorf("%d thumbnail publishes of a non-JPEG answer, want 0", n)
	}
}

// TestE2ENoSecretsInLogsOrPayloads runs commands, a snapshot and a token
// refresh, then looks for the tokens in every log line (bridge and client)
// and every MQTT payload.
func TestE2ENoSecretsInLogsOrPayloads(t *testing.T) {
	var store blink.TokenStore
	clientLogs := &syncBuffer{}
	e := newEnv(t, withClient(func(o *blink.Options) {
		store = o.Store
		o.Logger = zerolog.New(clientLogs).Level(zerolog.TraceLevel)
	}))
	initial, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	e.fake.ExpireAccessTokens() // the next call refreshes: new tokens
	d := deviceOf(t, e.fake, blink.FamilyCamera)
	for _, req := range []struct {
		op   string
		body map[string]any
	}{
		{OpRefresh, map[string]any{}},
		{OpArm, map[string]any{"network": e.fake.Networks()[1].ID}},
		{OpSnapshot, map[string]any{"device": d.ID}},
		{OpMotionDetection, map[string]any{"device": d.ID, "enabled": !d.Enabled}},
	} {
		if resp := e.request(req.op, req.body); resp["status"] != "ok" {
			t.Fatalf("%s: %v", req.op, resp)
		}
	}
	final, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	if final.AccessToken == initial.AccessToken {
		t.Fatalf("the access token was not refreshed; the test proves less than it claims")
	}
	secrets := map[string]string{
		"access token": initial.AccessToken.Reveal(), "refresh token": initial.RefreshToken.Reveal(),
		"new access token": final.AccessToken.Reveal(), "new refresh token": final.RefreshToken.Reveal(),
		"password": e.fake.Config().Password,
	}
	logs := e.logs.String() + clientLogs.String()
	for name, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(logs, s) {
			t.Errorf("the %s is in the logs", name)
		}
		for _, m := range e.rec.Messages() {
			if bytes.Contains(m.Payload, []byte(s)) {
				t.Errorf("the %s is in the payload on %s", name, m.Topic)
			}
		}
	}
}
