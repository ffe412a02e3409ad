package runner

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klabdev/klab/lessons"
)

// A lesson script runs in the workspace with the lab kubeconfig and
// namespace, and its last output is kept in the workspace's log file.
func TestScriptEnvironmentAndKeptOutput(t *testing.T) {
	l := newOfflineLab(t)
	s := &lessons.Script{Path: "step1/verify.sh", Body: "pwd; echo \"$KUBECONFIG $KLAB_NAMESPACE\"; exit 3\n"}
	r, err := l.RunScript(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := strings.ReplaceAll(r.Output, "\r", "")
	if r.ExitCode != 3 || !strings.Contains(out, l.Workspace+"\n") || !strings.Contains(out, l.Kubeconfig+" "+l.Namespace) {
		t.Fatalf("exit %d, output %q", r.ExitCode, out)
	}
	if err := l.KeepOutput(s, r); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(l.Workspace, ".klab-step1-verify.sh.log")
	if l.LogPath(s) != want {
		t.Fatalf("log path %s, want %s", l.LogPath(s), want)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "# step1/verify.sh: exit 3 in ") || !strings.Contains(string(b), l.Kubeconfig) {
		t.Fatalf("kept output:\n%s", b)
	}
}
