package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// offlineKubeconfig writes a kubeconfig whose only cluster does not answer
// (127.0.0.1:1) and returns its path.
func offlineKubeconfig(t *testing.T) string {
	t.Helper()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	offline := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\n" +
		"users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
	if err := os.WriteFile(kc, []byte(offline), 0o600); err != nil {
		t.Fatal(err)
	}
	return kc
}

// wantExit runs `klab ARGS…` through the root command, with "exit" on stdin
// in case a shell starts, and fails unless it exits with code and its stderr
// contains msg.
func wantExit(t *testing.T, args []string, code int, msg string) {
	t.Helper()
	root := NewRootCommand()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader("exit\n"))
	root.SetArgs(args)
	got := Execute(context.Background(), root, &errb)
	if got != code || !strings.Contains(errb.String(), msg) {
		t.Fatalf("exit %d, stderr %q; want %d and %q", got, errb.String(), code, msg)
	}
}
