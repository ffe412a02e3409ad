package sandbox_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/klabdev/klab/sandbox/sandboxctl"
)

var readyLine = `^ready in [0-9.]+s: etcd [0-9.]+s, apiserver [0-9.]+s, controllers [0-9.]+s — KUBECONFIG=`

// TestDetachedLifecycle drives a second sandbox through its whole life with
// bin/klab: up --detach, status, restart, kill -9, stale lock, busy port, down.
func TestDetachedLifecycle(t *testing.T) {
	needCluster(t)
	dir := t.TempDir()
	bin := cluster.Bin
	sb := func(args ...string) (string, error) {
		return run(t, 3*time.Minute, append([]string{bin, "sandbox"}, append(args, "--data-dir", dir)...)...)
	}
	mustSb := func(args ...string) string {
		t.Helper()
		out, err := sb(args...)
		if err != nil {
			t.Fatalf("klab sandbox %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	t.Cleanup(func() {
		if pid, ok := sandboxctl.Running(dir); ok {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	client := func() kubernetes.Interface {
		t.Helper()
		rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := kubernetes.NewForConfig(rc)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()

	// up --detach returns once ready with the ready line.
	out := mustSb("up", "--detach")
	if !regexpMatch(readyLine, out) {
		t.Fatalf("up --detach printed %q, want the ready line", out)
	}
	pid, ok := sandboxctl.Running(dir)
	if !ok {
		t.Fatal("not running after up --detach")
	}
	if out := mustSb("status"); !strings.Contains(out, "running (pid "+strconv.Itoa(pid)+")") || !strings.Contains(out, "pods:") {
		t.Errorf("status:\n%s", out)
	}
	if out := mustSb("up", "--detach"); !strings.Contains(out, "already running") {
		t.Errorf("second up --detach: %s", out)
	}
	if out, err := sb("up"); err == nil || !strings.Contains(out, "already running") {
		t.Errorf("foreground up on a running data dir: %v %s", err, out)
	}
	if out := mustSb("env"); out != "export KUBECONFIG="+filepath.Join(dir, "kubeconfig")+"\n" {
		t.Errorf("env = %q", out)
	}
	if out := mustSb("kubeconfig"); !strings.Contains(out, "server: https://127.0.0.1:") {
		t.Errorf("kubeconfig:\n%s", out)
	}
	for _, f := range []string{"kubeconfig", "pki/ca.key", "pki/admin.key", "pki/sa.key", "pki/apiserver.key"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", f, st.Mode().Perm(), err)
		}
	}
	caBefore, _ := os.ReadFile(filepath.Join(dir, "pki", "ca.crt"))
	mkCM := func(name string) {
		t.Helper()
		_, err := client().CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"k": name}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create configmap %s: %v", name, err)
		}
	}
	hasCM := func(names ...string) {
		t.Helper()
		for _, n := range names {
			cm, err := client().CoreV1().ConfigMaps("default").Get(ctx, n, metav1.GetOptions{})
			if err != nil || cm.Data["k"] != n {
				t.Errorf("configmap %s after restart: %v", n, err)
			}
		}
	}
	mkCM("before-down")

	// down: no process left, lock released.
	if out := mustSb("down"); !strings.Contains(out, "sandbox stopped (pid "+strconv.Itoa(pid)+")") {
		t.Errorf("down: %s", out)
	}
	if processExists(pid) {
		t.Errorf("pid %d still exists after down", pid)
	}
	if _, ok := sandboxctl.Running(dir); ok {
		t.Error("still running after down")
	}
	if out, err := sb("status"); err == nil || !strings.Contains(out, "not running") {
		t.Errorf("status after down: %v %s", err, out)
	}
	if out := mustSb("down"); !strings.Contains(out, "no sandbox running") {
		t.Errorf("second down: %s", out)
	}

	// restart keeps objects and certificates.
	mustSb("up", "--detach")
	hasCM("before-down")
	if caAfter, _ := os.ReadFile(filepath.Join(dir, "pki", "ca.crt")); string(caAfter) != string(caBefore) {
		t.Error("the CA changed across a restart")
	}
	mkCM("before-kill")

	// kill -9: the lock file stays but is stale; up again takes it over.
	pid, _ = sandboxctl.Running(dir)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The group leader turns zombie before its other threads have exited and
	// closed their files: wait for the lock to be released too.
	eventually(t, 10*time.Second, func() error {
		if processExists(pid) {
			return errorf("pid %d still alive", pid)
		}
		if _, ok := sandboxctl.Running(dir); ok {
			return errorf("the lock of killed pid %d is still held", pid)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(dir, sandboxctl.LockFile)); err != nil {
		t.Fatalf("lock file after kill -9: %v (the test needs a stale lock)", err)
	}
	if _, ok := sandboxctl.Running(dir); ok {
		t.Fatal("a killed sandbox still counts as running")
	}
	if out, err := sb("status"); err == nil || !strings.Contains(out, "not running") {
		t.Errorf("status after kill -9: %v %s", err, out)
	}

	// busy port: another process took the apiserver's port meanwhile.
	st, err := sandboxctl.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(st.APIServerPort))
	if err != nil {
		t.Fatalf("occupy port %d: %v", st.APIServerPort, err)
	}
	defer func() { _ = l.Close() }()
	mustSb("up", "--detach")
	st2, err := sandboxctl.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st2.APIServerPort == st.APIServerPort {
		t.Errorf("apiserver port %d reused although busy", st.APIServerPort)
	}
	kc, _ := os.ReadFile(filepath.Join(dir, "kubeconfig"))
	if !strings.Contains(string(kc), "https://127.0.0.1:"+strconv.Itoa(st2.APIServerPort)) {
		t.Errorf("kubeconfig not rewritten for port %d:\n%s", st2.APIServerPort, kc)
	}
	hasCM("before-down", "before-kill")
	log, _ := os.ReadFile(filepath.Join(dir, sandboxctl.LogFile))
	if !strings.Contains(string(log), "cleared the stale lock of pid "+strconv.Itoa(pid)) {
		t.Error("the log does not mention the stale lock")
	}
	if out, err := run(t, time.Minute, "kubectl", "--kubeconfig", filepath.Join(dir, "kubeconfig"), "get", "configmaps"); err == nil && !strings.Contains(out, "before-kill") {
		t.Errorf("kubectl get configmaps:\n%s", out)
	}

	pid, _ = sandboxctl.Running(dir)
	mustSb("down")
	if processExists(pid) {
		t.Errorf("pid %d still exists after down", pid)
	}
}

func processExists(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// TestEnsure: Ensure starts a detached sandbox once, then reuses it, even
// when several callers ask at the same time.
func TestEnsure(t *testing.T) {
	needCluster(t)
	dir := t.TempDir()
	t.Cleanup(func() {
		if _, err := sandboxctl.Stop(context.Background(), dir, 30*time.Second); err != nil {
			t.Error(err)
		}
	})
	ctx := context.Background()
	type result struct {
		kc      string
		started bool
		err     error
	}
	results := make(chan result, 3)
	for range 3 {
		go func() {
			kc, started, err := sandboxctl.Ensure(ctx, dir, cluster.Bin, 0)
			results <- result{kc, started, err}
		}()
	}
	starts := 0
	for range 3 {
		r := <-results
		if r.err != nil {
			t.Fatalf("Ensure: %v", r.err)
		}
		if r.kc != filepath.Join(dir, "kubeconfig") {
			t.Errorf("kubeconfig = %s", r.kc)
		}
		if r.started {
			starts++
		}
	}
	if starts != 1 {
		t.Errorf("%d of 3 concurrent Ensure calls started a sandbox, want 1", starts)
	}
	kc, started, err := sandboxctl.Ensure(ctx, dir, cluster.Bin, 0)
	if err != nil || started || kc != filepath.Join(dir, "kubeconfig") {
		t.Errorf("Ensure on a running sandbox = %s, %v, %v", kc, started, err)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Nodes().Get(ctx, "node01", metav1.GetOptions{}); err != nil {
		t.Errorf("node of the ensured sandbox: %v", err)
	}
}
