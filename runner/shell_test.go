package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShellCommandBash(t *testing.T) {
	l := newOfflineLab(t)
	home := t.TempDir()
	// A learner's bashrc that resets PATH and KUBECONFIG must not lose the lab.
	rc := "export PATH=/usr/bin:/bin\nexport KUBECONFIG=/learner/config\nPS1='learner> '\necho learner-rc\n"
	if err := os.WriteFile(filepath.Join(home, ".bashrc"), []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("SHELL", "/bin/bash")
	cmd := ShellCommand(l)
	cmd.Env = append(cmd.Env, "HOME="+home)
	cmd.Stdin = strings.NewReader(`echo "PS1=$PS1"; command -v kubectl; echo "KUBECONFIG=$KUBECONFIG"; pwd; exit` + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, want := range []string{
		"learner-rc\n",
		"PS1=(klab jobs-cronjobs · ctx) learner> \n",
		l.ShimDir + "/kubectl\n",
		"KUBECONFIG=" + l.Kubeconfig + "\n",
		l.Workspace + "\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("shell output lacks %q:\n%s", want, out)
		}
	}
}

func TestShellCommandOtherShell(t *testing.T) {
	l := newOfflineLab(t)
	t.Setenv("SHELL", "/bin/sh")
	t.Setenv("PS1", "")
	cmd := ShellCommand(l)
	cmd.Stdin = strings.NewReader(`echo "PS1=$PS1"; command -v k; exit` + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "PS1=(klab jobs-cronjobs · ctx) $ \n") || !strings.Contains(string(out), l.ShimDir+"/k\n") {
		t.Fatalf("output %s", out)
	}
}
