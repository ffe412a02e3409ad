// Package sandboxtest gives a test binary one real klab sandbox cluster.
// It runs `$KLAB_TEST_BIN sandbox up --data-dir <tmp>` as a child process of
// the test binary (KLAB_TEST_BIN is set by `make test`; when unset it runs
// `make -s build` in the repository root and uses bin/klab), waits until the
// cluster is ready, and stops it after the tests, leaving no process behind.
//
//	var cluster *sandboxtest.Cluster
//	func TestMain(m *testing.M) { os.Exit(sandboxtest.Main(m, &cluster)) }
package sandboxtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/klabdev/klab/sandbox/sandboxctl"
)

// Cluster is the sandbox of a test binary.
type Cluster struct {
	DataDir    string
	Kubeconfig string
	Bin        string // the klab binary that runs the sandbox (also usable for `klab kubectl`)
	Config     *rest.Config
	Client     kubernetes.Interface
}

// Main starts the sandbox, stores it in *c, runs the tests, stops the
// sandbox and returns the exit code for os.Exit. With `go test -short` no
// sandbox is started and *c stays nil (tests should t.Skip then).
func Main(m *testing.M, c **Cluster) int {
	if flagShort() {
		return m.Run()
	}
	cluster, proc, err := start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandboxtest: %v\n", err)
		return 1
	}
	*c = cluster
	code := m.Run()
	if err := proc.Stop(30 * time.Second); err != nil {
		fmt.Fprintf(os.Stderr, "sandboxtest: stop the sandbox: %v (log: %s)\n", err, sandboxctl.LogPath(cluster.DataDir))
		if code == 0 {
			code = 1
		}
	}
	if code == 0 {
		_ = os.RemoveAll(cluster.DataDir)
	} else {
		fmt.Fprintf(os.Stderr, "sandboxtest: sandbox data kept in %s\n", cluster.DataDir)
	}
	return code
}

func flagShort() bool {
	for _, a := range os.Args[1:] {
		if a == "-test.short" || a == "-test.short=true" {
			return true
		}
	}
	return false
}

func start() (*Cluster, *sandboxctl.Process, error) {
	bin, err := Bin()
	if err != nil {
		return nil, nil, err
	}
	dir, err := os.MkdirTemp("", "klab-sandboxtest-")
	if err != nil {
		return nil, nil, fmt.Errorf("temp dir: %w", err)
	}
	proc, err := sandboxctl.Start(context.Background(), dir, bin, sandboxctl.StartOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("start the sandbox with %s: %w", bin, err)
	}
	c := &Cluster{DataDir: dir, Kubeconfig: sandboxctl.KubeconfigPath(dir), Bin: bin}
	c.Config, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err == nil {
		c.Config.QPS, c.Config.Burst = 200, 400
		c.Client, err = kubernetes.NewForConfig(c.Config)
	}
	if err != nil {
		_ = proc.Stop(30 * time.Second)
		return nil, nil, fmt.Errorf("client for %s: %w", c.Kubeconfig, err)
	}
	fmt.Fprintf(os.Stderr, "sandboxtest: %s\n", proc.ReadyLine)
	return c, proc, nil
}

// Bin returns the klab binary for tests: $KLAB_TEST_BIN, else bin/klab after
// `make -s build` in the repository root.
func Bin() (string, error) {
	if b := os.Getenv("KLAB_TEST_BIN"); b != "" {
		return b, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command("make", "-s", "build")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make -s build in %s: %w\n%s", root, err, out)
	}
	return filepath.Join(root, "bin", "klab"), nil
}

// repoRoot walks up from the working directory to klab's go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working dir: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/klabdev/klab\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("KLAB_TEST_BIN is unset and no klab go.mod was found above the working dir")
		}
		dir = parent
	}
}
