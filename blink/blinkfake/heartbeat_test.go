package blinkfake_test

import (
	"testing"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

// TestHeartbeatFollowsTheClock: an online sync module checks in once a
// minute at its own second; an offline one keeps its last check-in.
func TestHeartbeatFollowsTheClock(t *testing.T) {
	clock := newClock() // 17:00:00
	srv := blinkfake.New(t, blinkfake.Config{Now: clock.Now, Account: &blinkfake.Account{
		Networks: []blinkfake.Network{
			{ID: 410_000_001, SyncModule: &blinkfake.SyncModule{ID: 520_000_043}},                    // beats at :23
			{ID: 410_000_002, SyncModule: &blinkfake.SyncModule{ID: 520_000_067, Status: "offline"}}, // never
		},
	}})
	start := clock.Now()
	hb := func(net int64) time.Time {
		n, _ := srv.Network(net)
		return n.SyncModule.LastHeartbeat
	}
	offline := hb(410_000_002)
	steps := []struct {
		name string
		add  time.Duration
		want time.Duration // online module's last_hb after start
	}{
		{"before its second in the first minute", 0, -17 * time.Second},
		{"at its second", 23 * time.Second, 23 * time.Second},
		{"later in the minute", 30 * time.Second, 23 * time.Second},
		{"next minute before its second", 10 * time.Second, 23 * time.Second},
		{"next minute at its second", 20 * time.Second, 83 * time.Second},
		{"ten minutes on", 10 * time.Minute, 683 * time.Second},
	}
	for _, st := range steps {
		clock.Add(st.add)
		if got := hb(410_000_001); !got.Equal(start.Add(st.want)) {
			t.Errorf("%s: last_hb = %s, want %s", st.name, got.Format(time.TimeOnly), start.Add(st.want).Format(time.TimeOnly))
		}
		if got := hb(410_000_002); !got.Equal(offline) {
			t.Errorf("%s: offline module's last_hb moved to %s", st.name, got.Format(time.TimeOnly))
		}
	}
}
