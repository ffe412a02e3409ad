package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/creack/pty"
)

func writeTrustLesson(t *testing.T, dir, setup string) {
	t.Helper()
	files := map[string]string{
		"index.json": `{"id": "canari", "lang": "en", "title": "Canary",
 "details": {"intro": {"text": "intro.md", "background": "setup.sh"}, "steps": [{"title": "S", "text": "s.md"}]}}`,
		"intro.md": "# Intro\n",
		"s.md":     "Step\n",
		"setup.sh": setup,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// trustOnTTY runs `klab trust dir` with a terminal as stdin answering answer.
func trustOnTTY(t *testing.T, dir, answer string) (int, string) {
	t.Helper()
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer func() { _ = master.Close() }()
	defer func() { _ = slave.Close() }()
	if _, err := master.WriteString(answer + "\n"); err != nil {
		t.Fatal(err)
	}
	root := NewRootCommand()
	var out bytes.Buffer
	root.SetIn(slave)
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"trust", dir})
	code := Execute(context.Background(), root, &out)
	return code, out.String()
}

// klab trust asks y/N on a terminal, remembers a yes, asks again after an
// edit; untrust forgets; without a terminal it needs --yes.
func TestTrustCommand(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	dir := t.TempDir()
	writeTrustLesson(t, dir, "#!/bin/bash\necho hello > canary\n")

	code, out := trustOnTTY(t, dir, "n")
	if code != ExitFailed || !strings.Contains(out, "setup.sh  (background, ") || !strings.Contains(out, "│ echo hello > canary") ||
		!strings.Contains(out, "[y/N]") || !strings.Contains(out, "Not trusted") {
		t.Fatalf("answer n: exit %d\n%s", code, out)
	}
	code, out = trustOnTTY(t, dir, "y")
	if code != ExitOK || !strings.Contains(out, "canari: trusted ("+dir+")") {
		t.Fatalf("answer y: exit %d\n%s", code, out)
	}
	if code, out := runKlab(t, "trust", dir); code != ExitOK || !strings.Contains(out, "already trusted") {
		t.Fatalf("again: exit %d\n%s", code, out)
	}
	writeTrustLesson(t, dir, "#!/bin/bash\necho hello > canary\nrm -rf \"$HOME\"\n")
	if code, out := runKlab(t, "trust", dir); code != ExitUsage || !strings.Contains(out, `rm -rf "$HOME"`) || !strings.Contains(out, "--yes") {
		t.Fatalf("after an edit, no terminal: exit %d\n%s", code, out)
	}
	if code, out := runKlab(t, "trust", dir, "--yes"); code != ExitOK || !strings.Contains(out, "trusted") {
		t.Fatalf("--yes: exit %d\n%s", code, out)
	}
	if code, out := runKlab(t, "untrust", dir); code != ExitOK || !strings.Contains(out, "no longer trusted") {
		t.Fatalf("untrust: exit %d\n%s", code, out)
	}
	if code, out := runKlab(t, "untrust", dir); code != ExitOK || !strings.Contains(out, "was not trusted") {
		t.Fatalf("untrust again: exit %d\n%s", code, out)
	}
	if code, out := runKlab(t, "trust", "jobs-cronjobs", "--lang", "en"); code != ExitOK || !strings.Contains(out, "embedded in klab, always trusted") {
		t.Fatalf("embedded: exit %d\n%s", code, out)
	}
	if code, _ := runKlab(t, "trust", filepath.Join(dir, "nope")); code != ExitUsage {
		t.Fatalf("missing folder: exit %d", code)
	}
}
