// Package dirs is the one place klab finds its folders. It follows the XDG base directory rules on
// every platform, Linux and macOS alike (as kubectl plugins, gh and most command-line tools do, rather
// than macOS's ~/Library): a $XDG_*_HOME variable set to an absolute path wins, else the XDG default
// under the home folder. Variables are read at each call, so tests and callers may change them.
//
//	State  $XDG_STATE_HOME/klab  (~/.local/state/klab): progress, trust, labs, the sandbox, logs
//	Cache  $XDG_CACHE_HOME/klab  (~/.cache/klab): git checkouts of remote lessons
//	Config $XDG_CONFIG_HOME/klab (~/.config/klab): config.yaml
package dirs

import (
	"os"
	"path/filepath"
)

// State is klab's state folder.
func State() string { return base("XDG_STATE_HOME", ".local/state", "klab-state") }

// Cache is klab's cache folder.
func Cache() string { return base("XDG_CACHE_HOME", ".cache", "klab-cache") }

// Config is klab's configuration folder.
func Config() string { return base("XDG_CONFIG_HOME", ".config", "klab-config") }

// base is $env/klab, else ~/def/klab; with no home folder at all, a folder under the system's
// temporary folder (named fallback), so that klab still runs.
func base(env, def, fallback string) string {
	if d := os.Getenv(env); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "klab")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return filepath.Join(os.TempDir(), fallback, "klab")
	}
	return filepath.Join(home, filepath.FromSlash(def), "klab")
}
