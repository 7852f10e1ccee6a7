package bridge

import (
	"encoding/json"
	"net/url"
	"time"
)

// infoState is the bridge/info payload and the counters the bridge sensors
// show; the state writer owns it. The slowly changing values (last poll,
// calls in the last hour) are refreshed every InfoInterval, so a poll that
// changed nothing publishes nothing.
type infoState struct {
	payload      []byte
	key          infoKey
	at           time.Time // when payload was last rebuilt
	requestsHour int       // < 0: unknown
	cooldown     time.Time
}

// infoKey is the part of bridge/info that is published as soon as it changes.
type infoKey struct {
	accountID                      int64
	tier                           string
	networks, syncModules, devices int
	auth                           AuthState
	cooldown                       time.Time
	polled                         bool
}

type infoPayload struct {
	Version          string     `json:"version"`
	AccountID        int64      `json:"account_id"`
	Tier             string     `json:"tier"`
	Networks         int        `json:"networks"`
	SyncModules      int        `json:"sync_modules"`
	Devices          int        `json:"devices"`
	LastPoll         *time.Time `json:"last_successful_poll"`
	APICallsLastHour int        `json:"api_calls_last_hour"`
	AuthState        AuthState  `json:"auth_state"`
	CooldownUntil    *time.Time `json:"cooldown_until"`
}

// refreshInfo rebuilds bridge/info when its key changed or InfoInterval
// passed.
func (w *stateWriter) refreshInfo(v *stateView, now time.Time) {
	st := w.cloud.Stats()
	sess := w.cloud.Session()
	cooldown := w.model.cooldownUntil(now)
	if st.CooldownUntil.After(now) && st.CooldownUntil.After(cooldown) {
		cooldown = st.CooldownUntil
	}
	lastPoll := w.model.lastPollAt()
	k := infoKey{accountID: sess.AccountID, tier: sess.Tier, auth: v.bridge.auth.State, cooldown: cooldown, polled: !lastPoll.IsZero()}
	if hs := v.hs; hs != nil {
		if k.accountID == 0 {
			k.accountID = hs.AccountID
		}
		k.networks, k.syncModules, k.devices = len(hs.Networks), len(hs.SyncModules), len(hs.Devices)
	}
	if w.info.payload != nil && k == w.info.key && now.Sub(w.info.at) < w.opts.InfoInterval {
		return
	}
	p := infoPayload{
		Version: w.opts.Version, AccountID: k.accountID, Tier: k.tier,
		Networks: k.networks, SyncModules: k.syncModules, Devices: k.devices,
		LastPoll: timeOrNil(lastPoll), APICallsLastHour: st.LastHour,
		AuthState: k.auth, CooldownUntil: timeOrNil(cooldown),
	}
	payload, err := json.Marshal(p)
	if err != nil {
		w.logPayloadError(w.topics.BridgeInfo(), err)
		return
	}
	w.info = infoState{payload: payload, key: k, at: now, requestsHour: st.LastHour, cooldown: cooldown}
}

// redactURL drops credentials from a broker URL for logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.String()
}
