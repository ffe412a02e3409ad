package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// runSandboxCmd runs `klab sandbox ARGS…` through the root command.
func runSandboxCmd(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := NewRootCommand()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append([]string{"sandbox"}, args...))
	code := Execute(context.Background(), root, &errb)
	return out.String() + errb.String(), code
}

func TestSandboxCommandsWithoutSandbox(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
		code int
	}{
		{[]string{"env", "--data-dir", dir}, "export KUBECONFIG=" + filepath.Join(dir, "kubeconfig") + "\n", ExitOK},
		{[]string{"env", "--data-dir", "/tmp/a b"}, "export KUBECONFIG='/tmp/a b/kubeconfig'\n", ExitOK},
		{[]string{"status", "--data-dir", dir}, "not running (data dir " + dir + ")\n", ExitFailed},
		{[]string{"down", "--data-dir", dir}, "no sandbox running in " + dir + "\n", ExitOK},
		{[]string{"kubeconfig", "--data-dir", dir}, "klab: no sandbox kubeconfig in " + dir, ExitFailed},
		{[]string{"status", "extra", "--data-dir", dir}, "unknown command", ExitUsage},
		{[]string{"up", "--nodes", "3", "--data-dir", dir}, "klab: --nodes 3: the sandbox runs 1 to 2 nodes", ExitUsage},
		{[]string{"up", "--nodes", "0", "--detach", "--data-dir", dir}, "klab: --nodes 0: the sandbox runs 1 to 2 nodes", ExitUsage},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, code := runSandboxCmd(t, tt.args...)
			if code != tt.code || !strings.HasPrefix(out, tt.want) && !strings.Contains(out, tt.want) {
				t.Errorf("klab sandbox %v = %d %q, want %d %q", tt.args, code, out, tt.code, tt.want)
			}
		})
	}
}

func TestSandboxDataDirFromEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KLAB_SANDBOX_DIR", dir)
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte("apiVersion: v1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runSandboxCmd(t, "kubeconfig")
	if code != ExitOK || out != "apiVersion: v1\n" {
		t.Errorf("kubeconfig = %d %q", code, out)
	}
}

func TestStripKlabFlags(t *testing.T) {
	tests := []struct {
		in      []string
		flag    bool
		want    []string
		sandbox bool
	}{
		{[]string{"get", "pods", "-n", "x"}, false, []string{"get", "pods", "-n", "x"}, false},
		{[]string{"--sandbox", "get", "pods"}, false, []string{"get", "pods"}, true},
		{[]string{"--lang", "fr", "--kubectl=kubectl", "get", "pods"}, false, []string{"get", "pods"}, false},
		{[]string{"get", "pods"}, true, []string{"get", "pods"}, true},
		{[]string{"--sandbox=false", "get"}, true, []string{"get"}, false},
		{[]string{"exec", "p", "--", "--sandbox"}, false, []string{"exec", "p", "--", "--sandbox"}, false},
	}
	for _, tt := range tests {
		got, sb := stripKlabFlags(tt.in, tt.flag)
		if !reflect.DeepEqual(got, tt.want) || sb != tt.sandbox {
			t.Errorf("stripKlabFlags(%v, %v) = %v, %v; want %v, %v", tt.in, tt.flag, got, sb, tt.want, tt.sandbox)
		}
	}
	if !hasFlag([]string{"get", "--kubeconfig=/x"}, "kubeconfig") || hasFlag([]string{"--", "--kubeconfig"}, "kubeconfig") {
		t.Error("hasFlag")
	}
}
