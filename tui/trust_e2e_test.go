package tui

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestE2ETrustTmux drives `klab run` in tmux on a lesson whose intro
// background script writes a canary file: nothing is written before the
// learner trusts the lesson on the trust screen; trusting runs it; an
// edited script asks again; --trust skips the question; an embedded lesson
// never asks.
func TestE2ETrustTmux(t *testing.T) {
	bin, dir := tmuxTest(t, "trust")
	lesson := filepath.Join(dir, "lesson")
	canary := filepath.Join(dir, "canary")
	setup := "#!/bin/bash\n# writes the canary\necho canari > " + canary + "\n"
	files := map[string]string{
		"index.json": `{"id": "canari", "lang": "fr", "title": "Leçon canari",
 "details": {"intro": {"title": "Intro", "text": "intro.md", "background": "setup.sh"},
  "steps": [{"title": "Seule étape", "text": "step1.md"}]}}`,
		"intro.md": "# Canari\n\nUne leçon dont le script d'arrière-plan écrit un fichier.\n",
		"step1.md": "Rien à faire.\n",
		"setup.sh": setup,
	}
	if err := os.MkdirAll(lesson, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(lesson, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sandboxDir := filepath.Join(dir, "sb")
	state := filepath.Join(dir, "state")
	s := tmuxSession{t: t, sock: filepath.Join(dir, "tmux.sock")}
	t.Cleanup(func() {
		_, _ = s.run("kill-server")
		stopSandbox(t, bin, sandboxDir)
	})
	env := []string{
		"XDG_STATE_HOME=" + state, "XDG_CACHE_HOME=" + filepath.Join(dir, "cache"), "KLAB_SANDBOX_DIR=" + sandboxDir,
		"TERM=xterm-256color", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "KUBECONFIG=" + filepath.Join(dir, "none"), "HOME=" + dir,
	}
	start := func(args string) { startRun(t, s, env, bin+" run "+args+" --sandbox") }
	noCanary := func(when string) {
		t.Helper()
		if _, err := os.Stat(canary); err == nil {
			t.Fatalf("%s: the background script ran (canary written)", when)
		}
	}
	const asks = "script(s) qui s'exécuteront sur votre machine"

	// 1. Not trusted: the trust screen, and no canary while the lesson is connected.
	start(lesson)
	s.waitScreen(30*time.Second, asks, "▸ setup.sh · arrière-plan", "echo canari > "+canary)
	s.send("n")
	s.waitScreen(3*time.Minute, "● sandbox", "Scripts de la leçon non approuvés")
	time.Sleep(2 * time.Second)
	noCanary("before trust")
	// 2. a, then y: trusted, the intro's background script runs.
	s.send("a")
	s.waitScreen(30*time.Second, asks)
	s.send("y")
	waitFile(t, canary, "canari")
	s.waitScreen(30*time.Second, "Scripts approuvés")
	s.send("q")
	waitFile(t, filepath.Join(state, "klab", "trust.json"), "sha256:")

	// 3. Trusted content: no question the next time.
	if err := os.Remove(canary); err != nil {
		t.Fatal(err)
	}
	start(lesson)
	s.waitScreen(time.Minute, "● sandbox", "Une leçon dont le script")
	waitFile(t, canary, "canari")
	if screen, _ := s.run("capture-pane", "-p", "-t", "e2e"); strings.Contains(screen, asks) || strings.Contains(screen, "non approuvés") {
		t.Fatalf("a trusted lesson asked again:\n%s", screen)
	}
	s.send("q")

	// 4. An edited script asks again and does not run.
	if err := os.Remove(canary); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lesson, "setup.sh"), []byte(setup+"# edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start(lesson)
	s.waitScreen(30*time.Second, asks, "# edited")
	s.send("n")
	s.waitScreen(time.Minute, "● sandbox", "Scripts de la leçon non approuvés")
	time.Sleep(2 * time.Second)
	noCanary("after an edit, before trust")
	s.send("q")

	// 5. --trust: no question, the script runs, nothing remembered.
	start(lesson + " --trust")
	s.waitScreen(time.Minute, "● sandbox", "Une leçon dont le script")
	waitFile(t, canary, "canari")
	if screen, _ := s.run("capture-pane", "-p", "-t", "e2e"); strings.Contains(screen, asks) {
		t.Fatalf("--trust asked:\n%s", screen)
	}
	s.send("q")
	time.Sleep(500 * time.Millisecond)
	if b, _ := os.ReadFile(filepath.Join(state, "klab", "trust.json")); strings.Count(string(b), "sha256:") != 1 {
		t.Fatalf("--trust changed the trust store:\n%s", b)
	}

	// 6. An embedded lesson never asks.
	start("jobs-cronjobs")
	s.waitScreen(time.Minute, "● sandbox", "Jobs")
	if screen, _ := s.run("capture-pane", "-p", "-t", "e2e"); strings.Contains(screen, asks) || strings.Contains(screen, "non approuvés") {
		t.Fatalf("the embedded lesson asked:\n%s", screen)
	}
	s.send("q")
}

// TestE2ERemoteRunTmux: `klab run file:///…/repo.git//lessons/demo` clones
// the lesson, asks for trust (a remote lesson is never trusted by itself),
// runs it; `klab run` of the course's URL opens the picker with its lessons.
func TestE2ERemoteRunTmux(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	bin, dir := tmuxTest(t, "remote")
	// The course: the e2e fixture lesson under lessons/demo, and a second one.
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(filepath.Join(work, "lessons"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-r", "testdata/e2e", filepath.Join(work, "lessons", "demo")).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	for name, body := range map[string]string{
		"structure.json":           `{"items": [{"path": "lessons/demo"}, {"path": "lessons/other"}]}`,
		"lessons/demo/setup.sh":    "echo prêt > prepared.txt\n",
		"lessons/other/index.json": `{"id": "other", "lang": "fr", "title": "Autre leçon", "details": {"steps": [{"title": "Rien", "text": "s.md"}]}}`,
		"lessons/other/s.md":       "Rien.\n",
	} {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	idx := filepath.Join(work, "lessons", "demo", "index.json")
	b, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), `"text": "intro.md"}`, `"text": "intro.md", "background": "setup.sh"}`, 1))
	if err := os.WriteFile(idx, b, 0o644); err != nil {
		t.Fatal(err)
	}
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git(work, "init", "-q", "-b", "main")
	git(work, "add", ".")
	git(work, "commit", "-q", "-m", "course")
	bare := filepath.Join(dir, "course.git")
	git(dir, "clone", "-q", "--bare", work, bare)
	url := "file://" + bare

	sandboxDir := filepath.Join(dir, "sb")
	state := filepath.Join(dir, "state")
	s := tmuxSession{t: t, sock: filepath.Join(dir, "tmux.sock")}
	t.Cleanup(func() {
		_, _ = s.run("kill-server")
		stopSandbox(t, bin, sandboxDir)
	})
	env := []string{
		"XDG_STATE_HOME=" + state, "XDG_CACHE_HOME=" + filepath.Join(dir, "cache"), "KLAB_SANDBOX_DIR=" + sandboxDir,
		"TERM=xterm-256color", "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "KUBECONFIG=" + filepath.Join(dir, "none"), "HOME=" + dir,
	}
	start := func(args string) { startRun(t, s, env, bin+" run "+args+" --sandbox") }
	start(url + "//lessons/demo")
	s.waitScreen(30*time.Second, "Leçon de test e2e", "▸ setup.sh · arrière-plan")
	s.send("y")
	s.waitScreen(3*time.Minute, "● sandbox", "Cette leçon sert au test")
	s.send("Enter")
	s.waitScreen(time.Minute, "Étape 1/2 · Une ConfigMap", "La ConfigMap e2e existe")
	s.send("1")
	s.waitScreen(time.Minute, "✓ La ConfigMap e2e existe", "configmap/e2e created")
	s.send("q")
	// The trusted background script ran in the lab workspace.
	waitFile(t, filepath.Join(state, "klab", "labs", "e2e", "workspace", "prepared.txt"), "prêt")

	start(url)
	s.waitScreen(30*time.Second, "Leçon de test e2e", "Autre leçon")
	s.send("q")
}

// startRun runs cmdline in the e2e session: a new session the first time,
// then the same pane respawned (killing the last session would stop the
// tmux server under the next new-session).
func startRun(t *testing.T, s tmuxSession, env []string, cmdline string) {
	t.Helper()
	cmdline = "env " + strings.Join(env, " ") + " " + cmdline + "; sleep 60"
	if _, err := s.run("has-session", "-t", "e2e"); err == nil {
		if out, err := s.run("respawn-pane", "-k", "-t", "e2e", cmdline); err != nil {
			t.Fatalf("tmux respawn-pane: %v %s", err, out)
		}
		return
	}
	if out, err := s.run("new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", cmdline); err != nil {
		t.Fatalf("tmux new-session: %v %s", err, out)
	}
}
