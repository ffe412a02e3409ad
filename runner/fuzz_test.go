package runner

import (
	"strings"
	"testing"
)

// FuzzParseKubectl feeds --kubectl values: an error or an argv, never a panic.
func FuzzParseKubectl(f *testing.F) {
	for _, s := range []string{"auto", "microk8s kubectl", "kubectl", "/usr/bin/kubectl", `"a b" c`, "$(x)", "'", "~/k", "microk8s.kubectl --v=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv, err := parseKubectl(s)
		if err == nil && argv != nil && (len(argv) == 0 || !strings.HasPrefix(argv[0], "/")) {
			t.Fatalf("%q gave %q", s, argv)
		}
	})
}
