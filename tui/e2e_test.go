package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klabdev/klab/sandbox/sandboxctl"
)

// klabBin is $KLAB_TEST_BIN (set by make), else bin/klab built with make.
func klabBin(t *testing.T) string {
	t.Helper()
	if b := os.Getenv("KLAB_TEST_BIN"); b != "" {
		return b
	}
	root, err := filepath.Abs("..")
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

// tmuxSession drives one tmux server on a private socket.
type tmuxSession struct {
	t    *testing.T
	sock string
}

func (s tmuxSession) run(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-S", s.sock}, args...)...).CombinedOutput()
	return string(out), err
}

func (s tmuxSession) send(keys ...string) {
	s.t.Helper()
	if out, err := s.run(append([]string{"send-keys", "-t", "e2e"}, keys...)...); err != nil {
		s.t.Fatalf("tmux send-keys %v: %v %s", keys, err, out)
	}
}

// waitScreen polls capture-pane until every want is on screen.
func (s tmuxSession) waitScreen(d time.Duration, wants ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(d)
	var screen string
	for time.Now().Before(deadline) {
		out, err := s.run("capture-pane", "-p", "-t", "e2e")
		if err == nil {
			screen = out
			ok := true
			for _, w := range wants {
				if !strings.Contains(screen, w) {
					ok = false
					break
				}
			}
			if ok {
				return screen
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Fatalf("after %s the screen lacks one of %q:\n%s", d, wants, screen)
	return ""
}

// tmuxTest skips a tmux end-to-end test that cannot run here (no tmux, -short: it starts the
// sandbox) and returns the klab binary and a fresh folder with a short path (unix sockets of tmux and
// etcd have a ~100 byte limit), removed after the test.
func tmuxTest(t *testing.T, name string) (bin, dir string) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	if testing.Short() {
		t.Skip("starts the sandbox")
	}
	bin = klabBin(t)
	dir, err := os.MkdirTemp("", "klab-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return bin, dir
}

// TestE2ETmux runs `klab run <fixture> --sandbox` in a 120x40 tmux, runs
// block 1, waits for the objective's ✓ and goes to step 2.
func TestE2ETmux(t *testing.T) {
	bin, dir := tmuxTest(t, "e2e")
	lesson, err := filepath.Abs("testdata/e2e")
	if err != nil {
		t.Fatal(err)
	}
	sandboxDir := filepath.Join(dir, "sb")
	state := filepath.Join(dir, "state")
	s := tmuxSession{t: t, sock: filepath.Join(dir, "tmux.sock")}
	t.Cleanup(func() {
		_, _ = s.run("kill-server")
		stopSandbox(t, bin, sandboxDir)
	})
	env := []string{
		"XDG_STATE_HOME=" + state, "KLAB_SANDBOX_DIR=" + sandboxDir, "TERM=xterm-256color",
		"LANG=C.UTF-8", "LC_ALL=C.UTF-8", "KUBECONFIG=" + filepath.Join(dir, "none"), "HOME=" + dir,
	}
	cmdline := "env " + strings.Join(env, " ") + " " + bin + " run " + lesson + " --sandbox; sleep 30"
	if out, err := s.run("new-session", "-d", "-s", "e2e", "-x", "120", "-y", "40", cmdline); err != nil {
		t.Fatalf("tmux new-session: %v %s", err, out)
	}
	s.waitScreen(30*time.Second, "Leçon de test e2e", "Cette leçon sert au test")
	s.send("Enter")
	s.waitScreen(3*time.Minute, "Étape 1/2 · Une ConfigMap", "● sandbox", "La ConfigMap e2e existe")
	s.send("1")
	s.waitScreen(time.Minute, "✓ La ConfigMap e2e existe", "configmap/e2e created", "n : étape suivante")
	s.send("n")
	s.waitScreen(30*time.Second, "Étape 2/2 · Fin du test", "Rien à faire ici")
	s.send("q")
	data := waitFile(t, filepath.Join(state, "klab", "progress.json"), `"step": 2`)
	t.Logf("progress.json: %s", data)
}

func waitFile(t *testing.T, path, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), want) {
			return string(b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(path)
	t.Fatalf("%s lacks %q: %s", path, want, b)
	return ""
}

// stopSandbox stops the sandbox the run started (it outlives klab run).
func stopSandbox(t *testing.T, bin, dataDir string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "sandbox", "down", "--data-dir", dataDir).CombinedOutput(); err != nil {
		t.Logf("sandbox down: %v %s", err, out)
	}
	if pid, ok := sandboxctl.Running(dataDir); ok {
		t.Logf("sandbox %d still running: killing it", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// TestE2ETerminalPane is the "done when": in a 160x45 tmux the
// learner opens step 1 of the shipped lesson, focuses the terminal, types
// the salut Job by hand, and the checklist beside it turns green without
// leaving the screen; at 100x32 the same works with the terminal below the
// text. Quitting leaves no shell behind.
func TestE2ETerminalPane(t *testing.T) {
	bin, dir := tmuxTest(t, "pane")
	sandboxDir := filepath.Join(dir, "sb")
	t.Cleanup(func() { stopSandbox(t, bin, sandboxDir) })
	for _, tt := range []struct {
		name string
		w, h int
		ns   string
	}{{"beside", 160, 45, "klab-e2e-beside"}, {"below", 100, 32, "klab-e2e-below"}} {
		t.Run(tt.name, func(t *testing.T) {
			state := filepath.Join(dir, "state-"+tt.name)
			s := tmuxSession{t: t, sock: filepath.Join(dir, "tmux-"+tt.name+".sock")}
			t.Cleanup(func() { _, _ = s.run("kill-server") })
			env := []string{
				"XDG_STATE_HOME=" + state, "KLAB_SANDBOX_DIR=" + sandboxDir, "TERM=xterm-256color", "SHELL=/bin/bash",
				"LANG=C.UTF-8", "LC_ALL=C.UTF-8", "KUBECONFIG=" + filepath.Join(dir, "none"), "HOME=" + dir,
			}
			cmdline := "env " + strings.Join(env, " ") + " " + bin + " run jobs-cronjobs --sandbox -n " + tt.ns + "; sleep 30"
			if out, err := s.run("new-session", "-d", "-s", "e2e", "-x", fmt.Sprint(tt.w), "-y", fmt.Sprint(tt.h), cmdline); err != nil {
				t.Fatalf("tmux new-session: %v %s", err, out)
			}
			s.waitScreen(3*time.Minute, "● sandbox", "Terminal · t : taper ici")
			s.send("Enter")
			s.waitScreen(30*time.Second, "Étape 1/7 · Premier Job", "Objectifs 0/2", "Terminal · t : taper ici", tt.ns)
			s.send("t")
			s.waitScreen(30*time.Second, "Ctrl+G : revenir à la leçon")
			s.send("-l", "kubectl create job salut --image=busybox:1.36 -- echo 'Salut depuis le terminal'")
			s.send("Enter")
			screen := s.waitScreen(2*time.Minute, "job.batch/salut created", "Objectifs 2/2",
				"salut\u202f» s'est terminé avec succès", "affiche un message avec «\u202fSalut",
				"Ctrl+G : revenir à la leçon")
			if strings.Count(screen, "✓ Le Job") != 2 {
				t.Fatalf("the checklist is not green:\n%s", screen)
			}
			t.Logf("%dx%d:\n%s", tt.w, tt.h, screen)
			s.send("C-g")
			s.send("q")
			waitFile(t, filepath.Join(state, "klab", "progress.json"), `"unlocked": [`)
			pgrep, err := exec.LookPath("pgrep")
			if err != nil {
				t.Fatalf("pgrep (procps) is needed to see that no shell is left: %v", err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				// pgrep exits 1 when nothing matches, 0 with the pids.
				out, err := exec.Command(pgrep, "-f", "--", "--rcfile "+state).Output()
				var ee *exec.ExitError
				if errors.As(err, &ee) && ee.ExitCode() == 1 {
					break
				}
				if err != nil && !errors.As(err, &ee) {
					t.Fatalf("pgrep: %v", err)
				}
				if time.Now().After(deadline) {
					t.Fatalf("the lab shell outlived klab: pids %s", out)
				}
				time.Sleep(200 * time.Millisecond)
			}
		})
	}
}
