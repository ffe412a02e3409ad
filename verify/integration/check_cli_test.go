package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestCheckCommand runs `klab check --sandbox` (the test binary's sandbox,
// found through KLAB_SANDBOX_DIR) on step 1 of the embedded lesson: precise
// failures before the learner acts, exit 1; then, with --wait while the Job
// the step asks for is created, every objective passes and it exits 0.
func TestCheckCommand(t *testing.T) {
	needSandbox(t)
	if cluster.Bin == "" {
		t.Fatal("sandboxtest gave no klab binary")
	}
	ns := fmt.Sprintf("verify-cli-%d", os.Getpid()%10000)
	t.Cleanup(func() {
		_ = cluster.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{})
	})
	check := func(args ...string) (string, string, int) {
		t.Helper()
		cmd := exec.Command(cluster.Bin, append([]string{"check", "--sandbox", "-n", ns, "jobs-cronjobs", "--step", "1"}, args...)...)
		cmd.Env = append(os.Environ(), "KLAB_SANDBOX_DIR="+cluster.DataDir, "XDG_STATE_HOME="+t.TempDir(), "NO_COLOR=1")
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	out, errs, code := check("-v")
	// The lesson's wording is its author's: check klab's parts of the lines.
	want := " — Job «\u00a0salut\u00a0» introuvable dans l'espace de noms " + ns + "\n"
	if code != 1 || strings.Count(out, "  ✗ ") != 2 || !strings.Contains(out, want) || !strings.Contains(out, "0/2 objectifs atteints") {
		t.Fatalf("before: exit %d\n%s\n%s\nwant exit 1, two ✗ and %q", code, out, errs, want)
	}
	if !strings.Contains(out, "\n      indice\u00a0: ") {
		t.Errorf("-v shows no hint:\n%s", out)
	}

	go func() {
		time.Sleep(time.Second)
		j := job("salut", "echo Salut tout le monde !", nil)
		if _, err := cluster.Client.BatchV1().Jobs(ns).Create(context.Background(), j, metav1.CreateOptions{}); err != nil {
			t.Error(err)
		}
	}()
	out, errs, code = check("--wait", "60s")
	if code != 0 || strings.Count(out, "  ✓ ") != 2 || !strings.Contains(out, "2/2 objectifs atteints") {
		t.Fatalf("after: exit %d\n%s\n%s", code, out, errs)
	}
	out, _, code = check("--json", "--lang", "en")
	if code != 0 || !strings.Contains(out, `"passed": true`) || !strings.Contains(out, `"status": "pass"`) {
		t.Fatalf("--json: exit %d\n%s", code, out)
	}
}

// TestCheckWaitTimeout: --wait that runs out exits 124 with the last results.
func TestCheckWaitTimeout(t *testing.T) {
	ns := namespace(t)
	cmd := exec.Command(cluster.Bin, "check", "--sandbox", "-n", ns, "jobs-cronjobs", "--step", "2", "--wait", "2s", "--lang", "en")
	cmd.Env = append(os.Environ(), "KLAB_SANDBOX_DIR="+cluster.DataDir, "XDG_STATE_HOME="+t.TempDir())
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 124 || !strings.Contains(string(out), "not found in namespace "+ns) {
		t.Fatalf("err %v, output:\n%s", err, out)
	}
}
