package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, body string) {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	if err := os.MkdirAll(filepath.Join(dir, "klab"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "klab", "config.yaml"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestConfigPrecedence(t *testing.T) {
	writeConfig(t, "kubectl: microk8s kubectl\nlang: en\nnamespace: from-file\n")
	t.Setenv("KLAB_LANG", "fr")
	root := NewRootCommand()
	if err := root.ParseFlags([]string{"--namespace", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	pf := root.PersistentFlags()
	for name, want := range map[string]string{"kubectl": "microk8s kubectl", "lang": "fr", "namespace": "from-flag"} {
		if got := pf.Lookup(name).Value.String(); got != want {
			t.Errorf("--%s = %q, want %q (flag > env > file)", name, got, want)
		}
	}
}

func TestBadConfigIsAUsageError(t *testing.T) {
	writeConfig(t, "kubctl: typo\n")
	root := NewRootCommand()
	var errb bytes.Buffer
	root.SetOut(&errb)
	root.SetErr(&errb)
	root.SetArgs([]string{"list"})
	if code := Execute(context.Background(), root, &errb); code != ExitUsage {
		t.Fatalf("exit %d, want %d", code, ExitUsage)
	}
	if !strings.Contains(errb.String(), "config.yaml") || !strings.Contains(errb.String(), "kubctl") {
		t.Fatalf("the error does not name the file and key: %s", errb.String())
	}
}
