package integration

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/verify"
)

// TestWatchReconnects stops a second sandbox under a live Watch: results turn
// to errors saying the cluster is unreachable, then back to pass by
// themselves when it restarts (same data dir, same address).
func TestWatchReconnects(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and stops a second sandbox")
	}
	dir := filepath.Join(t.TempDir(), "sb")
	sandbox := func(args ...string) {
		t.Helper()
		out, err := exec.Command(cluster.Bin, append([]string{"sandbox"}, append(args, "--data-dir", dir)...)...).CombinedOutput()
		switch {
		case err != nil && args[0] == "down":
			// `down` kills the sandbox when it does not stop in time: it is down either way.
			t.Logf("klab sandbox down: %v\n%s", err, out)
		case err != nil:
			t.Fatalf("klab sandbox %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	sandbox("up", "--detach")
	t.Cleanup(func() { _ = exec.Command(cluster.Bin, "sandbox", "down", "--data-dir", dir).Run() })
	rc, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(rc)
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings"},
		Data: map[string]string{"color": "blue"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	v, err := verify.New(verify.Config{RestConfig: rc, Namespace: "default", Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	ch := v.Watch(ctx, []*lessons.Objective{{ID: "cm", Target: &lessons.Target{Kind: "ConfigMap", Name: "settings"},
		Match: map[string]any{"data": map[string]any{"color": "blue"}}}})
	await := func(want verify.Status, prefix string) {
		t.Helper()
		for rs := range ch {
			if rs[0].Status == want && strings.HasPrefix(rs[0].Message, prefix) {
				return
			}
		}
		t.Fatalf("no %s result starting with %q before the deadline", want, prefix)
	}
	await(verify.StatusPass, "")
	sandbox("down")
	await(verify.StatusError, "cluster unreachable: ")
	sandbox("up", "--detach")
	start := time.Now()
	await(verify.StatusPass, "")
	t.Logf("pass again %s after the sandbox was back", time.Since(start))
}
