package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/blink2mqtt/blink2mqtt/discovery"
)

// startWorkers gives b its first homescreen, so requests resolve; the
// returned function stops b's goroutines.
func startWorkers(t *testing.T, b *Bridge) context.CancelFunc {
	t.Helper()
	b.applyHomescreen(t.Context(), cloneHS(b.cloud.Cloud.(*fakeCloud).hs), time.Now())
	return func() { stopUnit(b) }
}

func mustRequest(t *testing.T, op, body string) *request {
	t.Helper()
	r, err := parseRequest(op, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCommandsSerialisedPerNetworkParallelAcross(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeCloud{hs: testHomescreen(), session: true, cmdDelay: 2 * time.Second}
		b, _ := newUnitBridge(t, c, func(o *Options) { o.CommandSpacing = 5 * time.Second })
		stop := startWorkers(t, b)
		start := time.Now()
		b.enqueue(mustRequest(t, OpArm, `{"network": 4321}`))
		b.enqueue(mustRequest(t, OpDisarm, `{"network": 4321}`))
		b.enqueue(mustRequest(t, OpMotionDetection, `{"device": 555, "enabled": false}`))
		b.enqueue(mustRequest(t, OpArm, `{"network": 4400}`))
		time.Sleep(time.Minute)
		synctest.Wait()
		stop()
		var home []cmdCall
		for _, cl := range c.cmdLog {
			switch cl.net {
			case 4321:
				home = append(home, cl)
			case 4400:
				if cl.start.Sub(start) > time.Second {
					t.Errorf("network 4400 waited %s behind network 4321", cl.start.Sub(start))
				}
			}
		}
		if len(home) != 3 {
			t.Fatalf("network 4321 ran %d commands, want 3", len(home))
		}
		for i := 1; i < len(home); i++ {
			if home[i].start.Before(home[i-1].end) {
				t.Errorf("%s started before %s ended", home[i].name, home[i-1].name)
			}
			if gap := home[i].start.Sub(home[i-1].start); gap < 5*time.Second {
				t.Errorf("%s started %s after %s, want ≥ 5s", home[i].name, gap, home[i-1].name)
			}
		}
	})
}

// TestSubmittedJobsShareTheNetworkQueue: work a part submits (local
// storage, settings) runs one at a time with the network's commands and
// CommandSpacing apart, and its error comes back.
func TestSubmittedJobsShareTheNetworkQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeCloud{hs: testHomescreen(), session: true, cmdDelay: 2 * time.Second}
		b, _ := newUnitBridge(t, c, func(o *Options) { o.CommandSpacing = 5 * time.Second })
		stop := startWorkers(t, b)
		b.enqueue(mustRequest(t, OpArm, `{"network": 4321}`))
		var jobStart, jobEnd time.Time
		errBoom := errors.New("boom")
		got := make(chan error, 1)
		go func() {
			got <- b.runner.submit(t.Context(), 4321, "job", func(ctx context.Context) error {
				jobStart = time.Now()
				time.Sleep(3 * time.Second)
				jobEnd = time.Now()
				return errBoom
			})
		}()
		synctest.Wait()
		b.enqueue(mustRequest(t, OpDisarm, `{"network": 4321}`))
		time.Sleep(time.Minute)
		synctest.Wait()
		stop()
		if err := <-got; !errors.Is(err, errBoom) {
			t.Errorf("submit returned %v, want the job's error", err)
		}
		if len(c.cmdLog) != 2 {
			t.Fatalf("%d commands ran, want 2", len(c.cmdLog))
		}
		arm, disarm := c.cmdLog[0], c.cmdLog[1]
		if jobStart.Sub(arm.start) < 5*time.Second || jobStart.Before(arm.end) {
			t.Errorf("job started %s after the arm began (arm took %s), want ≥ 5s and after it ended", jobStart.Sub(arm.start), arm.end.Sub(arm.start))
		}
		if disarm.start.Sub(jobStart) < 5*time.Second || disarm.start.Before(jobEnd) {
			t.Errorf("disarm started %s after the job began, want ≥ 5s and after it ended", disarm.start.Sub(jobStart))
		}
	})
}

// TestSubmitReturnsOnlyWhenTheJobIsDone: a caller that gives up while its
// job waits in the queue stops it from ever running; one that gives up
// while it runs gets control back only after the job ended (its context
// ended with the caller's).
func TestSubmitReturnsOnlyWhenTheJobIsDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeCloud{hs: testHomescreen(), session: true, cmdDelay: 10 * time.Second}
		b, _ := newUnitBridge(t, c, func(o *Options) { o.CommandSpacing = time.Millisecond })
		stop := startWorkers(t, b)
		defer stop()
		b.enqueue(mustRequest(t, OpArm, `{"network": 4321}`)) // occupies the queue for 10 s
		synctest.Wait()

		ran := false
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		err := b.runner.submit(ctx, 4321, "queued", func(context.Context) error { ran = true; return nil })
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("submit while queued = %v, want the deadline", err)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if ran {
			t.Error("a job whose caller gave up in the queue ran anyway")
		}

		ended := false
		ctx, cancel = context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		err = b.runner.submit(ctx, 4321, "running", func(jctx context.Context) error {
			<-jctx.Done()
			time.Sleep(2 * time.Second) // cleaning up after the caller left
			ended = true
			return jctx.Err()
		})
		if !ended || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("submit returned %v with the job ended=%v; want the deadline after the job ended", err, ended)
		}
	})
}

func TestFullQueueAnswersBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeCloud{hs: testHomescreen(), session: true, cmdDelay: time.Hour}
		b, p := newUnitBridge(t, c, func(o *Options) { o.QueueSize = 1 })
		stop := startWorkers(t, b)
		defer stop()
		for i := range 3 {
			r := mustRequest(t, OpArm, `{"network": 4321, "transaction": `+string(rune('0'+i))+`}`)
			b.enqueue(r)
			synctest.Wait() // the worker takes the first one off the queue
		}
		resp, ok := p.last(b.topics.Response(OpArm))
		if !ok {
			t.Fatal("no response")
		}
		var got response
		if err := json.Unmarshal([]byte(resp), &got); err != nil {
			t.Fatal(err)
		}
		if got.Status != "error" || !strings.Contains(got.Error, "busy") || string(got.Transaction) != "2" {
			t.Errorf("third request answered %s, want a busy error for transaction 2", resp)
		}
		if n := len(p.history(b.topics.Response(OpArm))); n != 1 {
			t.Errorf("%d responses while two requests are pending, want 1", n)
		}
	})
}

func TestShutdownAnswersPendingRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &fakeCloud{hs: testHomescreen(), session: true, cmdDelay: time.Hour}
		b, p := newUnitBridge(t, c, nil)
		stop := startWorkers(t, b)
		b.enqueue(mustRequest(t, OpArm, `{"network": 4321, "transaction": 1}`))
		b.enqueue(mustRequest(t, OpDisarm, `{"network": 4321, "transaction": 2}`))
		synctest.Wait()
		stop()
		h := append(p.history(b.topics.Response(OpArm)), p.history(b.topics.Response(OpDisarm))...)
		if len(h) != 2 {
			t.Fatalf("%d responses, want one per request", len(h))
		}
		for _, m := range h {
			if !strings.Contains(m.payload, "shutting down") {
				t.Errorf("response %s, want shutting down", m.payload)
			}
		}
		// The alarm went back from arming to the known state.
		if got, _ := p.last(b.topics.NetworkEntity(4321, discovery.EntityAlarm)); got != discovery.ArmedAway {
			t.Errorf("alarm = %q after an interrupted arm, want %q", got, discovery.ArmedAway)
		}
	})
}

// TestStaleHomescreenDoesNotUndoACommand: a homescreen requested before a
// command completed cannot know its result and must not flip the state
// back; one requested afterwards is the truth again.
func TestStaleHomescreenDoesNotUndoACommand(t *testing.T) {
	c := &fakeCloud{hs: testHomescreen(), session: true}
	b, p := newUnitBridge(t, c, nil)
	stop := startWorkers(t, b)
	defer stop()
	ctx := t.Context()
	alarm := b.topics.NetworkEntity(4321, discovery.EntityAlarm)
	before := time.Now()
	if _, err := b.doAlarm(ctx, &request{op: OpDisarm, network: 4321}); err != nil {
		t.Fatal(err)
	}
	stale := testHomescreen() // still armed: requested before the disarm finished
	b.applyHomescreen(ctx, stale, before)
	if got, _ := p.last(alarm); got != discovery.Disarmed {
		t.Fatalf("alarm = %q after a stale homescreen, want %q", got, discovery.Disarmed)
	}
	fresh := testHomescreen() // requested later and still armed: Blink's word wins
	b.applyHomescreen(ctx, fresh, time.Now())
	if got, _ := p.last(alarm); got != discovery.ArmedAway {
		t.Fatalf("alarm = %q after a newer homescreen, want %q", got, discovery.ArmedAway)
	}
	// An answer older than the one applied is dropped altogether.
	older := testHomescreen()
	older.Networks[0].Armed = false
	b.applyHomescreen(ctx, older, before)
	if got, _ := p.last(alarm); got != discovery.ArmedAway {
		t.Fatalf("alarm = %q after an out-of-order homescreen, want %q", got, discovery.ArmedAway)
	}
}
