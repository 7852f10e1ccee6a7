package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"
)

// tokenFileName is the token file inside STATE_DIR.
const tokenFileName = "tokens.json"

// prepareStateDir makes STATE_DIR private: it holds the Blink refresh token,
// which is as good as the password.
func prepareStateDir(dir string, log zerolog.Logger) error {
	return tightenStateDir(dir, os.Chmod, log)
}

// tightenStateDir creates dir 0700 and takes group and other access away
// from it and from the files directly in it (0700 and 0600), logging once
// what it changed. A fresh Docker volume or bind mount is 0755, and the
// daemon owns it, so it fixes that itself. It refuses to start only when a
// mode cannot be changed (someone else owns the file, a read-only mount).
func tightenStateDir(dir string, chmod func(string, os.FileMode) error, log zerolog.Logger) error {
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
	var changed []string
	tighten := func(path string, perm, want os.FileMode) error {
		if perm&0o077 == 0 {
			return nil
		}
		to := want | (perm & 0o700) // keep what the owner had
		if err := chmod(path, to); err != nil {
			return fmt.Errorf("STATE_DIR: %s has mode %04o (others could read the Blink token) and blink2mqtt, running as uid %d, cannot make it private: %w; give it to uid %d (chown on the host, or use a fresh named volume)",
				path, perm, os.Geteuid(), err, os.Geteuid())
		}
		changed = append(changed, fmt.Sprintf("%s %04o→%04o", path, perm, to))
		return nil
	}
	if err := tighten(dir, fi.Mode().Perm(), 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("STATE_DIR: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue // symlinks are not followed; subdirectories are behind dir's own mode
		}
		info, err := e.Info()
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return fmt.Errorf("STATE_DIR: %w", err)
		}
		if err := tighten(filepath.Join(dir, e.Name()), info.Mode().Perm(), 0o600); err != nil {
			return err
		}
	}
	if len(changed) > 0 {
		log.Warn().Str("changed", strings.Join(changed, ", ")).
			Msg("STATE_DIR was readable by others; made it private to this user (it holds the Blink token)")
	}
	return nil
}
