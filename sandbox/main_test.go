package sandbox_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klabdev/klab/sandbox/sandboxtest"
)

// cluster is the sandbox of this test binary, run by bin/klab as a child.
var cluster *sandboxtest.Cluster

func TestMain(m *testing.M) {
	if spec := os.Getenv(otherUserProbeEnv); spec != "" { // TestOtherUserIsLockedOut's probe, run as another user
		os.Exit(otherUserProbe(spec))
	}
	os.Exit(sandboxtest.Main(m, &cluster))
}

func needCluster(t testing.TB) {
	t.Helper()
	if cluster == nil {
		t.Skip("no sandbox (-short)")
	}
}

// kubectls are the two kubectls every course command must work with: the
// built-in one and the one installed on the machine (when there is one).
func kubectls(t *testing.T) map[string][]string {
	t.Helper()
	k := map[string][]string{"klab": {cluster.Bin, "kubectl", "--kubeconfig", cluster.Kubeconfig}}
	if p, err := exec.LookPath("kubectl"); err == nil {
		k["system"] = []string{p, "--kubeconfig", cluster.Kubeconfig}
	} else {
		t.Logf("no kubectl on PATH: only klab kubectl is tested")
	}
	return k
}

// run runs argv with a timeout and returns its combined output.
func run(t testing.TB, timeout time.Duration, argv ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), fmt.Errorf("%s: timed out after %s", strings.Join(argv, " "), timeout)
	}
	return out.String(), err
}

// mustRun runs argv and fails the test if it fails.
func mustRun(t testing.TB, argv ...string) string {
	t.Helper()
	out, err := run(t, 2*time.Minute, argv...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return out
}

// namespace creates a fresh namespace for one test and deletes it afterwards.
func namespace(t *testing.T) string {
	t.Helper()
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 50 {
		name = name[:50]
	}
	name = strings.Trim(name, "-") + fmt.Sprintf("-%d", time.Now().UnixNano()%100000)
	ctx := context.Background()
	_, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	// Pods are refused until the namespace's default ServiceAccount exists.
	eventually(t, 30*time.Second, func() error {
		_, err := cluster.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	t.Cleanup(func() {
		_ = cluster.Client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// eventually retries f every 200ms until it returns nil, or fails the test
// with f's last error after timeout.
func eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not true within %s: %v", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
