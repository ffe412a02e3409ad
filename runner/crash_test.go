package runner

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klabdev/klab/internal/platform"
	"github.com/klabdev/klab/lessons"
)

// crashHelper is the test binary run as a stand-in klab: it starts script
// as a run and as a background script, prints both session ids, and waits
// to be killed.
func crashHelper(script string) int {
	dir := os.Getenv("KLAB_RUNNER_TEST_DIR")
	kc := filepath.Join(dir, "source-kubeconfig")
	if err := os.WriteFile(kc, []byte(offlineKubeconfig), 0o600); err != nil {
		fmt.Println(err)
		return 1
	}
	l, err := prepareLab(&Cluster{Name: "x", Kind: KindKubeconfig, Kubeconfig: kc, Kubectl: []string{"/bin/false"}},
		"crash", LabOptions{StateDir: filepath.Join(dir, "labs")})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	bg := &lessons.Script{Path: "bg.sh", Body: script}
	if err := l.StartBackground(context.Background(), bg); err != nil {
		fmt.Println(err)
		return 1
	}
	_, _ = l.Run(context.Background(), script, func(b []byte) { _, _ = os.Stdout.Write(b) })
	return 0
}

// When klab dies without a chance to Close (SIGKILL, a crash), what it
// started must not live on: the terminal of a run hangs up when klab's end
// closes, and background scripts get the same terminal treatment.
func TestNoOrphansWhenKlabIsKilled(t *testing.T) {
	dir := t.TempDir()
	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(),
		"KLAB_RUNNER_TEST_HELPER=echo pid=$$; sleep 100 & sleep 100",
		"KLAB_RUNNER_TEST_DIR="+dir)
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = helper.Process.Kill(); _ = helper.Wait() }()

	// The run's session id comes on stdout, the background one in its log.
	lines := bufio.NewScanner(out)
	var run int
	for run == 0 && lines.Scan() {
		if s, ok := strings.CutPrefix(lines.Text(), "pid="); ok {
			run, _ = strconv.Atoi(strings.TrimSpace(s))
		}
	}
	log := filepath.Join(dir, "labs", "crash", "workspace", ".klab-bg.sh.log")
	var bg int
	for deadline := time.Now().Add(10 * time.Second); bg == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		data, _ := os.ReadFile(log)
		if s, ok := strings.CutPrefix(string(data), "pid="); ok && strings.Contains(s, "\n") {
			bg, _ = strconv.Atoi(strings.Fields(s)[0])
		}
	}
	if run == 0 || bg == 0 {
		t.Fatalf("helper did not start both (run %d, background %d)", run, bg)
	}
	if len(platform.SessionMembers(run)) == 0 || len(platform.SessionMembers(bg)) == 0 {
		t.Fatal("the processes ended before klab was killed")
	}
	if err := helper.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	for _, sid := range []int{run, bg} {
		if left := alive(sid); len(left) > 0 {
			t.Errorf("processes %v of session %d outlived the killed klab", left, sid)
			for _, pid := range left {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}
