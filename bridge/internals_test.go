package bridge

import (
	"context"
	"errors"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/blink2mqtt/blink2mqtt/blink"
)

// Shorthands for tests that drive one part directly.

func (b *Bridge) pollHomescreen(ctx context.Context) error { return b.poller.pollHomescreen(ctx) }

// pollMedia polls media; before the connection is ready it polls nothing
// and reports no error (as the poller treats it).
func (b *Bridge) pollMedia(ctx context.Context) (int, error) {
	n, err := b.media.poll(ctx)
	if errors.Is(err, errNotConnected) {
		return 0, nil
	}
	return n, err
}

// applyHomescreen stores hs as a poll that started at started would.
func (b *Bridge) applyHomescreen(ctx context.Context, hs *blink.Homescreen, started time.Time) {
	if b.model.applyHomescreen(hs, started) {
		b.writer.syncWait(ctx)
		b.thumbs.queue(hs)
	}
}

func (b *Bridge) hs() *blink.Homescreen { return b.model.snapshot().hs }

func (b *Bridge) runScheduler(ctx context.Context)        { b.poller.run(ctx) }
func (b *Bridge) runThumbnails(ctx context.Context)       { b.thumbs.run(ctx) }
func (b *Bridge) runClips(ctx context.Context)            { b.clips.run(ctx) }
func (b *Bridge) runLocalStorage(ctx context.Context)     { b.local.run(ctx) }
func (b *Bridge) runRepublisher(ctx context.Context)      { b.republisher.run(ctx) }
func (b *Bridge) onMessage(c paho.Client, m paho.Message) { b.conn.onMessage(c, m) }
func (b *Bridge) enqueue(r *request)                      { b.runner.enqueue(r) }

func (b *Bridge) doAlarm(ctx context.Context, r *request) (any, error) {
	return b.runner.doAlarm(ctx, r)
}
