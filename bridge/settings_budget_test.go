package bridge

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

// settingsEndpoints are the fake's names of the settings reads.
var settingsEndpoints = []string{blinkfake.EpCameraConfig, blinkfake.EpOwlConfig, blinkfake.EpDoorbellConfig,
	blinkfake.EpPrograms, blinkfake.EpNotifications}

// TestSettingsRequestsPerHourAtDefaults runs the poller and the settings
// part with the real client against the fake for 6 h of fake time at the
// defaults, for a 2-network × 3-device account (cameras, Minis and a
// doorbell): the start-up reads every source once, spaced out; afterwards
// settings cost at most one request per device per hour, and the polls
// stay what they were.
func TestSettingsRequestsPerHourAtDefaults(t *testing.T) {
	fake := blinkfake.New(t, blinkfake.Config{Networks: 2, DevicesPerNetwork: 3})
	access, refresh, exp := fake.IssueTokens()
	devices, networks := len(fake.Devices()), len(fake.Networks())
	sources := devices + networks + 1
	synctest.Test(t, func(t *testing.T) {
		client := newBubbleClient(t, fake, access, refresh, exp)
		b, _ := newPubBridge(t, client, func(o *Options) {
			o.PollInterval, o.MediaPollInterval = DefaultPollInterval, DefaultMediaPollInterval
		})
		fake.ResetCounts()
		count := func() int {
			n := 0
			for _, ep := range settingsEndpoints {
				n += fake.Count(ep)
			}
			return n
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{}, 2)
		go func() { b.runScheduler(ctx); done <- struct{}{} }()
		go func() { b.settings.run(ctx); done <- struct{}{} }()
		start := time.Now()
		<-b.settings.firstRound
		startup, took := count(), time.Since(start)
		if startup != sources {
			t.Errorf("start-up made %d settings requests, want one per source (%d)", startup, sources)
		}
		if took < time.Duration(sources-1)*defaultSettingsSpacing {
			t.Errorf("start-up reads took %s, want them spread over at least %s", took, time.Duration(sources-1)*defaultSettingsSpacing)
		}

		const hours = 6
		hs0 := fake.Count(blinkfake.EpHomescreen)
		time.Sleep(hours * time.Hour)
		cancel()
		<-done
		<-done
		steady := count() - startup
		perHour := float64(steady) / hours
		t.Logf("%d networks × %d devices at defaults: start-up %d settings requests over %s; then %d in %d h = %.1f per hour (%.2f per device per hour)",
			networks, devices/networks, startup, took.Round(time.Second), steady, hours, perHour, perHour/float64(devices))
		if perHour > float64(devices) {
			t.Errorf("%.1f settings requests per hour, want at most one per device (%d)", perHour, devices)
		}
		if steady == 0 {
			t.Error("no settings re-read in 6 h; they must be read at least every few hours")
		}
		for _, ep := range settingsEndpoints {
			if fake.Count(ep) == 0 {
				t.Errorf("%s never read", ep)
			}
		}
		if hs := fake.Count(blinkfake.EpHomescreen) - hs0; hs < hours*110 || hs > hours*132 {
			t.Errorf("%d homescreen polls in %d h, want about %d: settings must not change the polls", hs, hours, hours*120)
		}
	})
}
