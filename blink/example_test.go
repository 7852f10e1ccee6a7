package blink_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/blink2mqtt/blink2mqtt/blink"
	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
	"golang.org/x/time/rate"
)

// Example shows the whole life of a client: a login with a 2FA code, a poll
// and a command. It runs against the fake cloud; in production leave
// OAuthURL and RESTURL empty.
func Example() {
	cloud, err := blinkfake.Start(blinkfake.Config{TwoFactor: true, Code: "246810"})
	if err != nil {
		log.Fatal(err)
	}
	defer cloud.Close()
	dir, _ := os.MkdirTemp("", "blink-example")
	defer os.RemoveAll(dir)

	ctx := context.Background()
	c, err := blink.New(blink.Options{
		OAuthURL: cloud.OAuthURL(),
		RESTURL:  cloud.RESTURL(),
		Store:    blink.FileTokenStore{Path: filepath.Join(dir, "tokens.json")},
		// The fake neither throttles nor dawdles; omit these two in production.
		Limiter:             rate.NewLimiter(rate.Inf, 1),
		CommandPollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}

	// Log in once; the session is saved and refreshed from then on.
	if !c.HasSession() {
		l, err := c.BeginLogin(ctx, cloud.Config().Email, blink.Secret(cloud.Config().Password))
		if err != nil {
			log.Fatal(err)
		}
		if l.CodeRequired() {
			fmt.Println("code sent via", l.Challenge().Channel)
			if err := l.SubmitCode(ctx, "000000"); errors.Is(err, blink.ErrInvalidCode) {
				fmt.Println("wrong code, try again")
			}
			if err := l.SubmitCode(ctx, "246810"); err != nil {
				log.Fatal(err)
			}
		}
	}
	fmt.Println("logged in:", c.HasSession())

	// Poll the state.
	hs, err := c.Homescreen(ctx)
	if err != nil {
		log.Fatal(err)
	}
	home := hs.Networks[0]
	fmt.Printf("%s armed: %v\n", home.Name, home.Armed)

	// Send a command; it returns once Blink reports it done.
	if _, err := c.Disarm(ctx, home.ID); err != nil {
		log.Fatal(err)
	}
	hs, _ = c.Homescreen(ctx)
	fmt.Printf("%s armed: %v\n", hs.Networks[0].Name, hs.Networks[0].Armed)
	// Output:
	// code sent via sms
	// wrong code, try again
	// logged in: true
	// Home armed: true
	// Home armed: false
}
