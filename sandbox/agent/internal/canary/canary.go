// Package canary plants host files outside a pod's reach for isolation tests
// of the node agent, and checks afterwards that none of them changed.
package canary

import (
	"os"
	"path/filepath"
	"testing"
)

// Files are the canaries every isolation test plants, relative to a host dir:
// what a hostile pod would aim at.
var Files = map[string]string{
	"etc/passwd":          "root:x:0:0:CANARY",
	"etc/shadow":          "CANARY-SHADOW",
	"var/log/app.log":     "CANARY-APP-LOG",
	"var/log/sub/old.log": "CANARY-OLD-LOG",
}

// Plant writes Files under a new temp dir and returns it with a check that
// reports (t.Errorf) every canary that changed or disappeared.
func Plant(t testing.TB) (dir string, check func()) {
	t.Helper()
	dir = t.TempDir()
	for n, c := range Files {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, func() {
		t.Helper()
		for n, c := range Files {
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil || string(b) != c {
				t.Errorf("host canary %s changed: %q %v", n, b, err)
			}
		}
	}
}
