package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// tokenFileName is the token file inside STATE_DIR.
const tokenFileName = "tokens.json"

// prepareStateDir creates STATE_DIR with mode 0700 and refuses to go on when
// it, or a file in it, is readable by anyone but us: it holds the Blink refresh
// token, which is as good as the password.
func prepareStateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("STATE_DIR: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("STATE_DIR: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("STATE_DIR: %s is not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("STATE_DIR: %s has mode %04o, so others can read the Blink token; run: chmod 700 %s", dir, perm, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("STATE_DIR: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return fmt.Errorf("STATE_DIR: %w", err)
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			p := filepath.Join(dir, e.Name())
			return fmt.Errorf("STATE_DIR: %s has mode %04o, so others can read it; run: chmod 600 %s", p, perm, p)
		}
	}
	return nil
}
