// Package runner runs lesson commands and scripts: it selects the cluster
// (embedded sandbox, microk8s, or a kubeconfig), prepares a lab environment per
// lesson (workspace, lab kubeconfig and namespace, kubectl/k/microk8s shims on
// PATH), runs bash under a pseudo-terminal with streamed, interruptible output,
// and ends every process it started. It never imports Bubble Tea.
package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/klabdev/klab/internal/dirs"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"mvdan.cc/sh/v3/shell"

	"github.com/klabdev/klab/assets"
	"github.com/klabdev/klab/sandbox/sandboxctl"
)

// Cluster kinds.
const (
	KindSandbox    = "sandbox"
	KindMicrok8s   = "microk8s"
	KindKubeconfig = "kubeconfig"
)

// Cluster is the cluster a lab runs against, and how to reach it.
type Cluster struct {
	// Name is what the learner sees: "sandbox", "microk8s" or the kubeconfig context.
	Name string
	// Kind is KindSandbox, KindMicrok8s or KindKubeconfig.
	Kind string
	// Kubeconfig reaches the cluster (for KindKubeconfig it may be a
	// KUBECONFIG-style list of files).
	Kubeconfig string
	// Context is the kubeconfig context to use ("" = the file's current one).
	Context string
	// Kubectl is the argv prefix of the kubectl flavour, its program resolved
	// to an absolute path when found: [/usr/bin/kubectl], [/snap/bin/microk8s kubectl],
	// [/path/to/klab kubectl].
	Kubectl []string
	// Started reports that Select started the sandbox (it keeps running after klab exits).
	Started bool
	// DataDir is the sandbox data dir (KindSandbox only).
	DataDir string
}

// SelectOptions say how to choose the cluster (they mirror the CLI flags).
type SelectOptions struct {
	Sandbox    bool   // --sandbox
	Kubectl    string // --kubectl: "", "auto", "microk8s kubectl", "kubectl", a path
	Kubeconfig string // --kubeconfig (explicit; KUBECONFIG and ~/.kube/config are the defaults)
	Context    string // --context
	SandboxDir string // sandbox data dir (default sandboxctl.DefaultDataDir())
	// SandboxNodes is the node count the lesson needs from the sandbox (0: any; the sandbox's default
	// when klab starts it). See lessons.Lesson.Nodes.
	SandboxNodes int
	KlabBin      string // klab executable for `klab sandbox` / `klab kubectl` (default os.Executable())
	Log          io.Writer
	// StateDir is where Select writes the kubeconfig it derives from
	// `microk8s config` (default $XDG_STATE_HOME/klab/clusters).
	StateDir string
	// Lang is the language of the messages written to Log (default en).
	Lang string
	// ProbeTimeout bounds each reachability probe (default 5s: exec credential
	// plugins such as cloud token helpers take a second or two).
	ProbeTimeout time.Duration
}

// Select chooses the cluster, in order: the sandbox when asked; microk8s when
// it runs (or when the kubectl flavour names it); a reachable cluster from the
// kubeconfig; else the sandbox, saying so on Log. An explicit --kubeconfig or
// --context is honoured before microk8s detection and is an error when it
// does not answer (no silent fallback).
func Select(ctx context.Context, o SelectOptions) (*Cluster, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 5 * time.Second
	}
	if o.KlabBin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the klab executable: %w", err)
		}
		o.KlabBin = exe
	}
	msg := assets.Catalog(o.Lang)

	flavour, err := parseKubectl(o.Kubectl)
	if err != nil {
		return nil, err
	}
	explicitMicrok8s := flavour != nil && isMicrok8s(flavour)

	switch {
	case o.Sandbox:
		return selectSandbox(ctx, o, flavour, false)
	case explicitMicrok8s:
		c, err := selectMicrok8s(ctx, o, flavour)
		if err != nil {
			return nil, err
		}
		return c, nil
	}

	if o.Kubeconfig != "" || o.Context != "" {
		c, err := selectKubeconfig(ctx, o, flavour)
		if err != nil {
			return nil, err
		}
		return c, nil
	}

	if flavour == nil {
		if path, err := exec.LookPath("microk8s"); err == nil && microk8sRunning(ctx, path, o.ProbeTimeout*3) {
			return selectMicrok8s(ctx, o, []string{path, "kubectl"})
		}
	}
	if c, err := selectKubeconfig(ctx, o, flavour); err == nil {
		return c, nil
	} else if !errors.Is(err, errNoKubeconfig) {
		fmt.Fprintln(o.Log, msg.T("runner.select.unreachable", err))
	}
	return selectSandbox(ctx, o, flavour, true)
}

var errNoKubeconfig = errors.New("no kubeconfig")

// parseKubectl splits an explicit --kubectl value into an argv prefix with
// its program resolved on PATH; "auto" and "" give nil.
func parseKubectl(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "auto" {
		return nil, nil
	}
	argv, err := shell.Fields(s, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("--kubectl %q: %w", s, err)
	}
	if len(argv) == 0 {
		return nil, nil
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("--kubectl %q: %w", s, err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	argv[0] = path
	return argv, nil
}

// isMicrok8s reports whether argv is `microk8s kubectl` or `microk8s.kubectl`.
func isMicrok8s(argv []string) bool {
	base := filepath.Base(argv[0])
	return base == "microk8s.kubectl" || (base == "microk8s" && len(argv) > 1 && argv[1] == "kubectl")
}

// microk8sRunning runs `microk8s status` and looks for "microk8s is running".
func microk8sRunning(ctx context.Context, microk8s string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, microk8s, "status").Output()
	return err == nil && bytes.Contains(out, []byte("microk8s is running"))
}

func selectMicrok8s(ctx context.Context, o SelectOptions, kubectl []string) (*Cluster, error) {
	// `microk8s.kubectl` has a sibling `microk8s` for config and status.
	microk8s := kubectl[0]
	if filepath.Base(microk8s) == "microk8s.kubectl" {
		microk8s = filepath.Join(filepath.Dir(microk8s), "microk8s")
		if _, err := os.Stat(microk8s); err != nil {
			p, lerr := exec.LookPath("microk8s")
			if lerr != nil {
				return nil, fmt.Errorf("microk8s.kubectl given but no microk8s command: %w", lerr)
			}
			microk8s = p
		}
	}
	if !microk8sRunning(ctx, microk8s, o.ProbeTimeout*3) {
		return nil, fmt.Errorf("microk8s is not running (`%s status` does not say \"microk8s is running\")", microk8s)
	}
	cctx, cancel := context.WithTimeout(ctx, o.ProbeTimeout*3)
	defer cancel()
	cfg, err := exec.CommandContext(cctx, microk8s, "config").Output()
	if err != nil {
		return nil, fmt.Errorf("%s config: %w", microk8s, err)
	}
	if _, err := clientcmd.Load(cfg); err != nil {
		return nil, fmt.Errorf("%s config printed no valid kubeconfig: %w", microk8s, err)
	}
	dir := o.StateDir
	if dir == "" {
		dir = filepath.Join(dirs.State(), "clusters")
	}
	dir = filepath.Join(dir, "microk8s")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	path := filepath.Join(dir, "kubeconfig")
	if err := writeFileAtomic(path, cfg, 0o600); err != nil {
		return nil, err
	}
	return &Cluster{Name: KindMicrok8s, Kind: KindMicrok8s, Kubeconfig: path, Kubectl: kubectl}, nil
}

func selectKubeconfig(ctx context.Context, o SelectOptions, flavour []string) (*Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	source := o.Kubeconfig
	if source != "" {
		rules.ExplicitPath = source
	} else {
		var found []string
		for _, p := range rules.Precedence {
			if _, err := os.Stat(p); err == nil {
				found = append(found, p)
			}
		}
		if len(found) == 0 {
			return nil, errNoKubeconfig
		}
		source = strings.Join(found, string(os.PathListSeparator))
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context})
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig %s: %w", source, err)
	}
	name := o.Context
	if name == "" {
		name = raw.CurrentContext
	}
	if name == "" {
		return nil, fmt.Errorf("kubeconfig %s: no current context (use --context)", source)
	}
	if _, ok := raw.Contexts[name]; !ok {
		return nil, fmt.Errorf("kubeconfig %s: no context %q", source, name)
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s context %s: %w", source, name, err)
	}
	if err := probe(ctx, cfg, o.ProbeTimeout); err != nil {
		return nil, fmt.Errorf("cluster of context %s (%s) does not answer: %w", name, source, err)
	}
	if flavour == nil {
		flavour = defaultKubectl(o.KlabBin)
	}
	return &Cluster{Name: name, Kind: KindKubeconfig, Kubeconfig: source, Context: name, Kubectl: flavour}, nil
}

func selectSandbox(ctx context.Context, o SelectOptions, flavour []string, fallback bool) (*Cluster, error) {
	msg := assets.Catalog(o.Lang)
	dir := o.SandboxDir
	if dir == "" {
		dir = sandboxctl.DefaultDataDir()
	}
	if fallback {
		fmt.Fprintln(o.Log, msg.T("runner.select.fallback"))
	}
	kubeconfig, started, err := sandboxctl.Ensure(ctx, dir, o.KlabBin, o.SandboxNodes)
	if err != nil {
		return nil, fmt.Errorf("start the sandbox in %s: %w", dir, err)
	}
	if started {
		stop := "klab sandbox down"
		if dir != sandboxctl.DefaultDataDir() {
			stop += " --data-dir " + shq(dir)
		}
		fmt.Fprintln(o.Log, msg.T("runner.select.started", dir, stop))
	}
	if flavour == nil {
		flavour = defaultKubectl(o.KlabBin)
	}
	return &Cluster{Name: KindSandbox, Kind: KindSandbox, Kubeconfig: kubeconfig, Kubectl: flavour, Started: started, DataDir: dir}, nil
}

// defaultKubectl is kubectl from PATH, else klab's built-in `klab kubectl`.
func defaultKubectl(klabBin string) []string {
	if p, err := exec.LookPath("kubectl"); err == nil {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		return []string{p}
	}
	return []string{klabBin, "kubectl"}
}

// probe asks the apiserver for /version within timeout.
func probe(ctx context.Context, cfg *rest.Config, timeout time.Duration) error {
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = timeout
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := cs.Discovery().RESTClient().Get().AbsPath("/version").DoRaw(ctx); err != nil {
		return fmt.Errorf("GET /version: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to path through a temporary file and a rename.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp, perm)
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}
