package sandbox_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klabdev/klab/internal/platform"
	"github.com/klabdev/klab/sandbox/sandboxctl"
)

// TestPrivateSandboxDiesWithKlab: `klab validate --sandbox` runs a private
// sandbox as its child; when klab is killed with -9 (no chance to stop it),
// the sandbox sees its lifeline cut, stops cleanly and leaves no process
// and no held lock behind. This is the path macOS relies on too (it has no
// parent-death signal).
func TestPrivateSandboxDiesWithKlab(t *testing.T) {
	needCluster(t)
	tmp := t.TempDir()
	cmd := exec.Command(cluster.Bin, "validate", "--sandbox", filepath.Join("..", "lessons", "jobs-cronjobs"))
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "XDG_STATE_HOME="+filepath.Join(tmp, "state"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	// The private sandbox is ready once its state records a ready time.
	var dir string
	var pid int
	deadline := time.Now().Add(3 * time.Minute)
	for {
		dirs, _ := filepath.Glob(filepath.Join(tmp, "klab-validate-sandbox-*"))
		if len(dirs) == 1 {
			if st, ok := sandboxctl.Ready(dirs[0]); ok {
				dir, pid = dirs[0], st.PID
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no private sandbox ready under %s: %v", tmp, dirs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if pid == cmd.Process.Pid {
		t.Fatal("the sandbox runs in klab's own process: not the child this test needs")
	}

	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed := time.Now()
	for platform.Alive(pid) {
		if time.Since(killed) > 30*time.Second {
			t.Fatalf("the private sandbox (pid %d) still runs 30s after klab was killed", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("private sandbox gone %s after kill -9 of klab", time.Since(killed).Round(time.Millisecond))
	if p, ok := sandboxctl.Running(dir); ok {
		t.Errorf("the lock of %s is still held (pid %d)", dir, p)
	}
	log, err := os.ReadFile(sandboxctl.LogPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "parent process gone, stopping") {
		t.Errorf("the sandbox log does not say it stopped because its parent died:\n%s", log)
	}
}
