package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runKlab(t *testing.T, args ...string) (int, string) {
	t.Helper()
	root := NewRootCommand()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	code := Execute(context.Background(), root, &errb)
	return code, out.String() + errb.String()
}

func TestRunNeedsATerminal(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	code, out := runKlab(t, "run", "jobs-cronjobs")
	if code != ExitUsage || !strings.Contains(out, "klab run needs a terminal") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestRunBadLesson(t *testing.T) {
	code, out := runKlab(t, "run", "no-such-lesson")
	if code != ExitUsage || !strings.Contains(out, `no lesson "no-such-lesson"`) {
		t.Fatalf("exit %d, output %q", code, out)
	}
	// A lesson folder with errors names them with file:line.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.json"), []byte("{\n  \"title\": 3\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out = runKlab(t, "run", dir)
	if code != ExitUsage || !strings.Contains(out, "index.json:") {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestRunRestartFlag(t *testing.T) {
	root := NewRootCommand()
	run, _, err := root.Find([]string{"run"})
	if err != nil || run.Flags().Lookup("restart") == nil || root.Flags().Lookup("restart") == nil {
		t.Fatalf("--restart missing on run or root: %v", err)
	}
}
