package dirs

import (
	"path/filepath"
	"testing"
)

func TestDirs(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, env := range []string{"XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"} {
		t.Setenv(env, "")
	}
	want := map[string]string{"state": ".local/state/klab", "cache": ".cache/klab", "config": ".config/klab"}
	got := map[string]string{"state": State(), "cache": Cache(), "config": Config()}
	for k, w := range want {
		if got[k] != filepath.Join(home, w) {
			t.Errorf("%s = %s, want ~/%s", k, got[k], w)
		}
	}
	t.Setenv("XDG_STATE_HOME", "/x/state")
	t.Setenv("XDG_CACHE_HOME", "relative/ignored")
	if State() != "/x/state/klab" || Cache() != filepath.Join(home, ".cache/klab") {
		t.Errorf("state %s cache %s: an absolute XDG variable wins, a relative one is ignored", State(), Cache())
	}
}
