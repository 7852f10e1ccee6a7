package bridge

import (
	"encoding/json"
	"net/url"
	"time"
)

// infoState is the bridge/info payload and the counters the bridge sensors
// show. The slowly changing values (last poll, calls in the last hour) are
// refreshed every InfoInterval, so a poll that changed nothing publishes
// nothing.
type infoState struct {
	payload      []byte
	key          infoKey
	at           time.Time // when payload was last rebuilt
	requestsHour int
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

// refreshInfoLocked rebuilds bridge/info when its key changed, when
// InfoInterval passed, or when forced.
func (b *Bridge) refreshInfoLocked(force bool) {
	now := b.opts.Now()
	st := b.cloud.Stats()
	sess := b.cloud.Session()
	cooldown := b.info.cooldown
	if st.CooldownUntil.After(now) {
		cooldown = st.CooldownUntil
	} else if !cooldown.IsZero() && !cooldown.After(now) {
		cooldown = time.Time{}
	}
	k := infoKey{accountID: sess.AccountID, tier: sess.Tier, auth: b.auth.State, cooldown: cooldown, polled: !b.lastPoll.IsZero()}
	if b.hs != nil {
		if k.accountID == 0 {
			k.accountID = b.hs.AccountID
		}
		k.networks, k.syncModules, k.devices = len(b.hs.Networks), len(b.hs.SyncModules), len(b.hs.Devices)
	}
	if !force && b.info.payload != nil && k == b.info.key && now.Sub(b.info.at) < b.opts.InfoInterval {
		return
	}
	p := infoPayload{
		Version: b.opts.Version, AccountID: k.accountID, Tier: k.tier,
		Networks: k.networks, SyncModules: k.syncModules, Devices: k.devices,
		LastPoll: timeOrNil(b.lastPoll), APICallsLastHour: st.LastHour,
		AuthState: k.auth, CooldownUntil: timeOrNil(cooldown),
	}
	b.info.payload, _ = json.Marshal(p)
	b.info.key, b.info.at = k, now
	b.info.requestsHour = st.LastHour
	b.info.cooldown = cooldown
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
