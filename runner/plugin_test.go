package runner

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pluginLab is an offline lab whose kubectl is a real one (klab's own with
// KLAB_TEST_BIN, else kubectl on PATH), with a plugin folder on PATH.
func pluginLab(t *testing.T) *Lab {
	t.Helper()
	var kubectl []string
	if bin := os.Getenv("KLAB_TEST_BIN"); bin != "" {
		kubectl = []string{bin, "kubectl"}
	} else if p, err := exec.LookPath("kubectl"); err == nil {
		kubectl = []string{p}
	} else {
		t.Skip("no kubectl: set KLAB_TEST_BIN to bin/klab")
	}
	l := newOfflineLab(t)
	l.Cluster.Kubectl = kubectl
	if err := l.writeShims(); err != nil {
		t.Fatal(err)
	}
	plugins := t.TempDir()
	// A plugin reports what kubectl passed it: its arguments, KUBECONFIG, and
	// the namespace of the current context (how plugins find it).
	body := "#!/bin/sh\necho \"plugin $(basename \"$0\") args:$*\"\necho \"kubeconfig:$KUBECONFIG\"\n" +
		"echo \"namespace:$(grep -A3 'namespace:' \"$KUBECONFIG\" | head -1 | tr -d ' ')\"\n"
	for _, name := range []string{"kubectl-foo", "kubectl-convert"} {
		if err := os.WriteFile(filepath.Join(plugins, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i, kv := range l.Env {
		if strings.HasPrefix(kv, "PATH=") {
			l.Env[i] = kv + string(os.PathListSeparator) + plugins
		}
	}
	return l
}

func TestKubectlPluginsThroughShims(t *testing.T) {
	l := pluginLab(t)
	for _, tc := range []struct{ cmd, want string }{
		{"kubectl foo --bar baz", "plugin kubectl-foo args:--bar baz"},
		{"k convert --help", "plugin kubectl-convert args:--help"},
		{"microk8s kubectl foo x", "plugin kubectl-foo args:x"},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			res, err := l.Run(t.Context(), tc.cmd, nil)
			if err != nil {
				t.Fatal(err)
			}
			out := Plain(res.Output)
			if res.ExitCode != 0 || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, output:\n%s", res.ExitCode, out)
			}
			if !strings.Contains(out, "kubeconfig:"+l.Kubeconfig+"\n") || !strings.Contains(out, "namespace:namespace:"+l.Namespace) {
				t.Errorf("the plugin did not get the lab kubeconfig and namespace:\n%s", out)
			}
		})
	}
}

func TestKubectlPluginInLabShell(t *testing.T) {
	l := pluginLab(t)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SHELL", "/bin/bash")
	cmd := ShellCommand(l)
	cmd.Stdin = strings.NewReader("kubectl convert --help\nexit\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "plugin kubectl-convert args:--help") || !strings.Contains(string(out), "kubeconfig:"+l.Kubeconfig) {
		t.Fatalf("shell output:\n%s", out)
	}
}

func TestShimPutsNoFlagBeforeTheSubcommand(t *testing.T) {
	l := newOfflineLab(t)
	b, err := os.ReadFile(filepath.Join(l.ShimDir, "kubectl"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "--kubeconfig") {
		t.Errorf("the kubectl shim passes --kubeconfig before the learner's arguments:\n%s", b)
	}
}
