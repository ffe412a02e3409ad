package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klabdev/klab/sandbox/sandboxtest"
)

func TestDisplayName(t *testing.T) {
	for argv0, want := range map[string]string{
		"klab":                          "klab",
		"/usr/local/bin/klab":           "klab",
		"./bin/klab":                    "klab",
		"/home/u/.krew/bin/kubectl-lab": "kubectl lab",
		"kubectl-lab":                   "kubectl lab",
		"kubectl-lab_x":                 "kubectl lab-x",
		"kubectl-lab-x":                 "kubectl lab x",
		"kubectl-":                      "klab",
		"kubectl":                       "klab",
		"klab-dev":                      "klab",
	} {
		if got := DisplayName(argv0); got != want {
			t.Errorf("DisplayName(%q) = %q, want %q", argv0, got, want)
		}
	}
}

// TestKubectlPluginHelp: invoked as kubectl-lab, every help and usage line
// says `kubectl lab …`, and errors are prefixed with it.
func TestKubectlPluginHelp(t *testing.T) {
	help := func(argv0 string, args ...string) string {
		t.Helper()
		root := NewRootCommandAs(argv0)
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs(args)
		if code := Execute(context.Background(), root, &out); code != 0 {
			t.Fatalf("%s %v: exit %d\n%s", argv0, args, code, out.String())
		}
		return out.String()
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"Usage:\n  kubectl lab [LESSON|PATH|URL] [flags]\n  kubectl lab [command]\n", `Use "kubectl lab [command] --help"`}},
		{[]string{"sandbox", "up", "--help"}, []string{"Usage:\n  kubectl lab sandbox up [flags]\n"}},
		{[]string{"list", "--help"}, []string{"Usage:\n  kubectl lab list", "Examples:\n  kubectl lab list\n  kubectl lab list ./my-course --json\n"}},
		{[]string{"check", "--help"}, []string{"  kubectl lab check --sandbox jobs-cronjobs --step 1\n"}},
	} {
		got := help("/opt/krew/bin/kubectl-lab", tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("kubectl-lab %v: missing %q in\n%s", tc.args, w, got)
			}
		}
		for _, line := range strings.Split(got, "\n") {
			// Usage and example lines are indented; prose may name klab.
			if strings.Contains(line, "kubectl-lab") || strings.HasPrefix(line, "  klab ") {
				t.Errorf("kubectl-lab %v: line %q names the binary, not `kubectl lab`", tc.args, line)
			}
		}
	}
	// As klab, nothing changes.
	if got := help("klab", "--help"); !strings.Contains(got, "Usage:\n  klab [LESSON|PATH|URL] [flags]\n") {
		t.Errorf("klab --help:\n%s", got)
	}

	root := NewRootCommandAs("kubectl-lab")
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs([]string{"list", "--no-such-flag"})
	if code := Execute(context.Background(), root, &errb); code != ExitUsage || !strings.HasPrefix(errb.String(), "kubectl lab: unknown flag: --no-such-flag") {
		t.Errorf("bad flag: exit %d, stderr %q", code, errb.String())
	}
}

// TestKubectlLabOnPath: with klab on PATH as kubectl-lab (what krew or a
// symlink installs), `kubectl lab list` runs klab as a kubectl plugin.
func TestKubectlLabOnPath(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("no kubectl on PATH: the plugin path cannot be tried here")
	}
	bin, err := sandboxtest.Bin()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(dir, "kubectl-lab")); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"XDG_STATE_HOME="+filepath.Join(dir, "state"), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"))
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(kubectl, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := run("plugin", "list"); !strings.Contains(out, filepath.Join(dir, "kubectl-lab")) {
		t.Errorf("kubectl plugin list does not show kubectl-lab:\n%s", out)
	}
	if out := run("lab", "list"); !strings.Contains(out, "jobs-cronjobs") {
		t.Errorf("kubectl lab list:\n%s", out)
	}
	if out := run("lab", "--help"); !strings.Contains(out, "Usage:\n  kubectl lab [LESSON|PATH|URL] [flags]") {
		t.Errorf("kubectl lab --help:\n%s", out)
	}
	if out := run("lab", "version"); !strings.Contains(out, "v1.37") {
		t.Errorf("kubectl lab version:\n%s", out)
	}
}
