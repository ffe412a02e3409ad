package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A lesson with a lint error stops validate before any cluster is reached or
// any command runs: the kubeconfig below points nowhere, and --sandbox is off.
func TestValidateLintErrorExits2BeforeRunning(t *testing.T) {
	root := NewRootCommand()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs([]string{"validate", "--kubeconfig", "/nonexistent/kubeconfig", "../validate/testdata/lint-error"})
	code := Execute(context.Background(), root, &errb)
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, ExitUsage, errb.String())
	}
	if !strings.Contains(errb.String(), "objectives.yaml:2") {
		t.Fatalf("the error does not name file:line:\n%s", errb.String())
	}
	if !strings.Contains(errb.String(), "nothing was run") {
		t.Fatalf("stderr does not say nothing ran:\n%s", errb.String())
	}
	if out.Len() != 0 {
		t.Fatalf("a report was printed: %s", out.String())
	}
}

func TestUnknownFlagIsUsageError(t *testing.T) {
	root := NewRootCommand()
	var errb bytes.Buffer
	root.SetOut(&errb)
	root.SetErr(&errb)
	root.SetArgs([]string{"version", "--no-such-flag"})
	if code := Execute(context.Background(), root, &errb); code != ExitUsage {
		t.Fatalf("exit %d, want %d", code, ExitUsage)
	}
}
