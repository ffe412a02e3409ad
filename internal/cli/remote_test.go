package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// gitT runs git for a test.
func gitT(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// courseRepo makes a bare repository holding a course of two lessons
// (lessons/demo, lessons/other) and returns its file:// URL. No network.
func courseRepo(t *testing.T, root string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	work := filepath.Join(root, "work")
	files := map[string]string{
		"structure.json": `{"items": [{"path": "lessons/demo"}, {"path": "lessons/other"}]}`,
		"lessons/demo/index.json": `{"id": "demo", "lang": "fr", "title": "Démo distante",
 "details": {"intro": {"title": "Intro", "text": "intro.md", "background": "setup.sh"},
  "steps": [{"title": "Une ConfigMap", "text": "step1.md", "objectives": "objectives.yaml"}]}}`,
		"lessons/demo/intro.md": "# Démo\n\nUne leçon venue d'un dépôt git.\n",
		"lessons/demo/setup.sh": "echo prepared > prepared.txt\n",
		"lessons/demo/step1.md": "Créez la ConfigMap :\n\n```\nkubectl create configmap demo --from-literal=k=v\n```{{exec}}\n",
		"lessons/demo/objectives.yaml": "objectives:\n  - id: cm\n    title: La ConfigMap demo existe\n" +
			"    target: {kind: ConfigMap, name: demo}\n    match: {data: {k: v}}\n",
		"lessons/other/index.json": `{"id": "other", "lang": "fr", "title": "Autre leçon",
 "details": {"steps": [{"title": "Rien", "text": "s.md"}]}}`,
		"lessons/other/s.md": "Rien à faire.\n",
	}
	for name, body := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitT(t, root, "init", "-q", "-b", "main", work)
	gitT(t, work, "add", ".")
	gitT(t, work, "commit", "-q", "-m", "course")
	bare := filepath.Join(root, "course.git")
	gitT(t, root, "clone", "-q", "--bare", work, bare)
	return "file://" + bare
}

func TestRemoteListLintAndErrors(t *testing.T) {
	root := t.TempDir()
	url := courseRepo(t, root)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(root, "cache"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(root, "state"))

	code, out := runKlab(t, "list", url)
	if code != ExitOK || !strings.Contains(out, "demo") || !strings.Contains(out, "Autre leçon") {
		t.Fatalf("list of the course: exit %d\n%s", code, out)
	}
	if strings.Index(out, "demo") > strings.Index(out, "other") {
		t.Fatalf("list does not follow structure.json:\n%s", out)
	}
	clones, _ := filepath.Glob(filepath.Join(root, "cache", "klab", "git", "*", ".git"))
	if len(clones) != 1 {
		t.Fatalf("clones in the cache: %v", clones)
	}
	// The same URL again reuses the clone; a subfolder and a ref work.
	code, out = runKlab(t, "list", url+"//lessons/demo?ref=main", "--json")
	if code != ExitOK || !strings.Contains(out, `"id": "demo"`) || strings.Contains(out, `"other"`) {
		t.Fatalf("list of one lesson: exit %d\n%s", code, out)
	}
	if code, out := runKlab(t, "lint", url+"//lessons/demo"); code != ExitOK {
		t.Fatalf("lint: exit %d\n%s", code, out)
	}
	// A remote lesson is never trusted by itself.
	if code, out := runKlab(t, "trust", url+"//lessons/demo"); code != ExitUsage || !strings.Contains(out, "setup.sh  (background") ||
		!strings.Contains(out, url+"//lessons/demo") {
		t.Fatalf("trust without a terminal: exit %d\n%s", code, out)
	}
	// Errors: a missing repository, a missing folder, no git: exit 2.
	if code, out := runKlab(t, "list", "file://"+filepath.Join(root, "nope.git")); code != ExitUsage || !strings.Contains(out, "cannot get") {
		t.Fatalf("missing repository: exit %d\n%s", code, out)
	}
	if code, out := runKlab(t, "validate", url+"//nope"); code != ExitUsage || !strings.Contains(out, `no folder "nope"`) {
		t.Fatalf("missing folder: exit %d\n%s", code, out)
	}
	t.Setenv("PATH", t.TempDir())
	if code, out := runKlab(t, "run", url); code != ExitUsage || !strings.Contains(out, "git is not installed") {
		t.Fatalf("without git: exit %d\n%s", code, out)
	}
}

// klabTestBin is $KLAB_TEST_BIN, else bin/klab built with make.
func klabTestBin(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("KLAB_TEST_BIN"); b != "" {
		return b
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "-s", "build")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	return filepath.Join(root, "bin", "klab")
}

// `klab validate <git URL> --sandbox` on a private sandbox: the lesson's
// scripts run because validate trusts what it validates, and says so.
func TestRemoteValidateSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a sandbox")
	}
	bin := klabTestBin(t)
	root, err := os.MkdirTemp("", "klab-remote-") // short: unix socket paths
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	url := courseRepo(t, root) + "//lessons/demo"
	cmd := exec.Command(bin, "validate", url, "--sandbox", "--json", "--timeout", "5m")
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+filepath.Join(root, "cache"), "XDG_STATE_HOME="+filepath.Join(root, "state"),
		"HOME="+root, "KUBECONFIG="+filepath.Join(root, "none"))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("validate %s: %v\nstdout:\n%s\nstderr:\n%s", url, err, out, stderr.String())
	}
	var doc struct {
		Status  string `json:"status"`
		Lessons []struct {
			ID    string `json:"id"`
			Trust string `json:"trust"`
		} `json:"lessons"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if doc.Status != "pass" || len(doc.Lessons) != 1 || doc.Lessons[0].ID != "demo" || doc.Lessons[0].Trust != "this-run" {
		t.Fatalf("report: %s", out)
	}
	if _, err := os.Stat(filepath.Join(root, "state", "klab", "trust.json")); err == nil {
		t.Fatal("validate remembered its trust")
	}
	t.Logf("validate of a git URL on a private sandbox: %s", time.Since(start).Round(100*time.Millisecond))
}
