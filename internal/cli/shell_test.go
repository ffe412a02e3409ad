package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShellErrors(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	offline := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\n" +
		"users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
	if err := os.WriteFile(kc, []byte(offline), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_STATE_HOME", dir)
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown lesson", []string{"shell", "no-such-lesson"}, ExitUsage, `no lesson "no-such-lesson"`},
		{"two lessons", []string{"shell", "a", "b"}, ExitUsage, "accepts at most 1 arg"},
		{"explicit cluster away", []string{"shell", "--kubeconfig", kc, "jobs-cronjobs"}, ExitFailed, "does not answer"},
		{"bad kubectl", []string{"shell", "--kubectl", "no-such-kubectl-klab", "jobs-cronjobs"}, ExitFailed, "no-such-kubectl-klab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := NewRootCommand()
			var out, errb bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&errb)
			root.SetIn(strings.NewReader("exit\n"))
			root.SetArgs(tc.args)
			code := Execute(context.Background(), root, &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.msg) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errb.String(), tc.code, tc.msg)
			}
		})
	}
}
