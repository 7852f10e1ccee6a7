package blink

import "fmt"

// Logout forgets the session: the tokens are dropped from the store and
// from memory, so every call answers ErrReauthRequired until the next
// login. The hardware id stays, so Blink sees the same installation log in
// again. Blink itself is not told: the "iPhone" entry the login created
// stays in the Blink app's device list until it is removed there.
func (c *Client) Logout() error {
	c.saveMu.Lock()
	defer c.saveMu.Unlock()
	t := Tokens{HardwareID: c.snapshot().HardwareID}
	// Saved first: memory without tokens over a file that still has them
	// would log back in at the next start.
	if err := c.store.Save(t); err != nil {
		return fmt.Errorf("blink: logout: save tokens: %w", err)
	}
	c.mu.Lock()
	c.tokens = t
	c.refused = false
	c.mu.Unlock()
	c.log.Info().Msg("logged out: session dropped, hardware id kept")
	return nil
}
