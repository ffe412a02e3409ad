// Package sandbox runs klab's embedded Kubernetes cluster in one process:
// the real etcd, kube-apiserver, a chosen set of kube-controller-manager
// controllers and kube-scheduler, plus klab's node agent (sandbox/agent).
// It is the only package that imports k8s.io/kubernetes and etcd.
//
// Feature gates, klog, metrics and /configz are process-global, so a process
// runs at most one control plane: Start may be called once per process.
//
// The data dir holds everything, and a restart on it keeps every object:
//
//	pki/           CA, apiserver, admin (system:masters), agent serving and
//	               apiserver→agent client certificates, service-account keys (0600)
//	etcd/          etcd data (fsync off: survives kill -9, not a power cut)
//	etcd.sock      etcd's client socket (elsewhere if this path is too long)
//	agent/         pod roots, volumes and logs of the node agent
//	kubeconfig     admin kubeconfig (0600), rewritten when the port changes
//	sandbox.lock   flock held while running, with the pid
//	sandbox.json   pid, start and ready times, apiserver port (reused on
//	               restart), etcd socket
//	sandbox.log    component logs
//
// etcd listens on a unix socket only its owner can reach; everything else
// on 127.0.0.1 with TLS and client authentication (see listeners); the
// kube-controller-manager and kube-scheduler serve nothing (secure port 0).
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/component-base/version"

	"github.com/klabdev/klab/sandbox/agent"
	"github.com/klabdev/klab/sandbox/agent/podnet"
	"github.com/klabdev/klab/sandbox/sandboxctl"
)

// Config configures Start.
type Config struct {
	DataDir string    // created if missing; keys, etcd data, agent data, kubeconfig
	Log     io.Writer // component logs; nil means <data>/sandbox.log
	// Nodes is how many nodes the agent registers (1 to MaxNodes; 0 means DefaultNodes): see NodeNames.
	// A restart with another count registers the nodes again (see agent.LayoutAnnotation); pods bound
	// to a node that is gone are deleted by the pod garbage collector and recreated by their controllers.
	Nodes int
}

// Timings are the durations of the start phases.
type Timings struct {
	Etcd        time.Duration // etcd ready
	APIServer   time.Duration // from etcd ready to apiserver /readyz ok
	Controllers time.Duration // from /readyz to default ServiceAccount and Ready nodes
	Total       time.Duration
}

func (t Timings) String() string {
	return fmt.Sprintf("ready in %s: etcd %s, apiserver %s, controllers %s",
		secs(t.Total), secs(t.Etcd), secs(t.APIServer), secs(t.Controllers))
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s" }

// Sandbox is a running control plane.
type Sandbox struct {
	DataDir    string
	Kubeconfig string // admin kubeconfig path
	Server     string // https://127.0.0.1:PORT
	Timings    Timings
	RestConfig *rest.Config
	Client     kubernetes.Interface
	// StaleLockPID is the pid of a killed sandbox whose lock was cleared (0 if none).
	StaleLockPID int

	lock   *sandboxctl.Lock
	ctx    context.Context    // the sandbox's life: ends on Stop or when the caller's context ends
	cancel context.CancelFunc // asks for a stop
	tiers  [3]tier            // etcd, apiserver, the rest: stopped last to first
	mu     sync.Mutex
	errs   []error
	done   chan struct{}
	closer []func()
	podNet *podnet.Network // the pods' network: the agent's pods join it, the apiserver reaches it by egress
}

// Shutdown tiers: each stops only once every higher tier has stopped, so
// that the apiserver still answers while controllers and the agent stop,
// and etcd still answers while the apiserver drains.
const (
	tierEtcd = iota
	tierAPIServer
	tierComponents
)

type tier struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// stopTimeout bounds the stop of one tier.
const stopTimeout = 20 * time.Second

var started sync.Once

// Start starts the control plane and the node agent on cfg.DataDir, takes
// the data-dir lock, and returns once the cluster is ready: /readyz ok, the
// `default` ServiceAccount exists in `default`, the nodes are Ready. Cancelling
// ctx stops everything; Wait returns when it has stopped.
func Start(ctx context.Context, cfg Config) (*Sandbox, error) {
	first := false
	started.Do(func() { first = true })
	if !first {
		return nil, errors.New("sandbox: one control plane per process (feature gates and metrics are global)")
	}
	t0 := time.Now()
	if cfg.Nodes == 0 {
		cfg.Nodes = DefaultNodes
	}
	if cfg.Nodes < 1 || cfg.Nodes > MaxNodes {
		return nil, fmt.Errorf("sandbox: %d nodes asked, the sandbox runs 1 to %d (Killercoda's kubeadm images)", cfg.Nodes, MaxNodes)
	}
	if v := version.Get().GitVersion; strings.HasPrefix(v, "v0.0.0") {
		return nil, fmt.Errorf("this klab binary carries no Kubernetes version (%s), so kubectl could not talk to its sandbox: build it with `make build` (it stamps k8s.io/component-base/version with -ldflags)", v)
	}
	s, err := newSandbox(ctx, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Sandbox, error) {
		s.cancel()
		<-s.done
		return nil, err
	}
	if err := s.openLog(cfg.Log); err != nil {
		return fail(err)
	}
	st := sandboxctl.State{PID: os.Getpid(), Started: t0, Nodes: cfg.Nodes}
	p, ls, err := s.certificatesAndListeners(&st)
	if err != nil {
		return fail(err)
	}
	if err := s.runEtcd(ls, st); err != nil {
		return fail(err)
	}
	s.Timings.Etcd = time.Since(t0)
	t1 := time.Now()
	if err := s.runAPIServer(p, ls, st); err != nil {
		return fail(err)
	}
	s.Timings.APIServer = time.Since(t1)
	t2 := time.Now()
	if err := s.runComponents(p, nodeLayout(cfg.Nodes)); err != nil {
		return fail(err)
	}
	s.Timings.Controllers = time.Since(t2)
	s.Timings.Total = time.Since(t0)

	st.Ready = time.Now()
	st.ReadyLine = s.ReadyLine()
	if err := sandboxctl.WriteState(s.DataDir, st); err != nil {
		return fail(err)
	}
	log.Print(st.ReadyLine)
	// Building the API (OpenAPI specs above all) leaves much garbage: give
	// the freed pages back now rather than when the scavenger gets to them.
	debug.FreeOSMemory()
	return s, nil
}

// newSandbox takes the data dir's lock and prepares the shutdown: when ctx ends (or a stage fails),
// the components stop tier by tier and done is closed.
func newSandbox(ctx context.Context, dataDir string) (*Sandbox, error) {
	data, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("sandbox data dir: %w", err)
	}
	lock, err := sandboxctl.Acquire(data)
	if err != nil {
		return nil, err //nolint:wrapcheck // already says what and where
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Sandbox{DataDir: data, Kubeconfig: sandboxctl.KubeconfigPath(data), lock: lock, cancel: cancel,
		StaleLockPID: lock.StalePID, done: make(chan struct{}), ctx: ctx, podNet: podnet.New()}
	for i := range s.tiers {
		s.tiers[i].ctx, s.tiers[i].cancel = context.WithCancel(context.WithoutCancel(ctx))
	}
	go func() {
		<-ctx.Done()
		s.shutdown()
		close(s.done)
	}()
	return s, nil
}

// openLog sends the components' logs to w, else to the data dir's log file.
func (s *Sandbox) openLog(w io.Writer) error {
	if w == nil {
		f, err := os.OpenFile(sandboxctl.LogPath(s.DataDir), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("open sandbox log: %w", err)
		}
		s.closer = append(s.closer, func() { _ = f.Close() })
		w = f
	}
	setupLogging(w)
	log.Printf("klab sandbox starting in %s (pid %d)", s.DataDir, os.Getpid())
	if s.StaleLockPID != 0 && s.StaleLockPID != os.Getpid() {
		log.Printf("cleared the stale lock of pid %d", s.StaleLockPID)
	}
	return nil
}

// certificatesAndListeners makes the data dir private, the certificates and the kubeconfig, and opens
// every listener (see listeners): the apiserver's and the agent's are handed over, so that no port is
// taken between choice and bind.
func (s *Sandbox) certificatesAndListeners(st *sandboxctl.State) (pki, *listeners, error) {
	if err := privateDataDir(s.DataDir, log.Printf); err != nil {
		return pki{}, nil, fmt.Errorf("sandbox data dir: %w", err)
	}
	p := pki{dir: filepath.Join(s.DataDir, "pki")}
	if err := p.ensure(); err != nil {
		return pki{}, nil, err
	}
	prev, _ := sandboxctl.ReadState(s.DataDir)
	ls, err := openListeners(s.DataDir, prev.APIServerPort)
	if err != nil {
		return pki{}, nil, err
	}
	s.closer = append(s.closer, ls.close)
	for _, l := range ls.describe() {
		log.Printf("listening: %s", l)
	}
	st.APIServerPort = ls.apiserverPort()
	st.Server = "https://127.0.0.1:" + strconv.Itoa(st.APIServerPort)
	st.EtcdSocket = ls.etcdSocket
	st.EgressSocket = ls.egressSocket
	s.Server = st.Server
	if err := writeKubeconfig(s.Kubeconfig, st.Server, p); err != nil {
		return pki{}, nil, err
	}
	return p, ls, nil
}

// runEtcd starts etcd on its socket and records the sandbox's state.
func (s *Sandbox) runEtcd(ls *listeners, st sandboxctl.State) error {
	etcd, err := startEtcd(filepath.Join(s.DataDir, "etcd"), ls.etcdSocket, sandboxctl.LogPath(s.DataDir))
	if err != nil {
		return err
	}
	if err := sandboxctl.WriteState(s.DataDir, st); err != nil {
		etcd.Close()
		return err
	}
	s.goRun(tierEtcd, "etcd", func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			etcd.Close()
			return nil
		case err := <-etcd.Err():
			etcd.Close()
			return err
		}
	})
	return nil
}

// runAPIServer starts kube-apiserver and waits until it is ready; it builds the sandbox's client.
func (s *Sandbox) runAPIServer(p pki, ls *listeners, st sandboxctl.State) error {
	egressCfg := filepath.Join(s.DataDir, egressConfigName)
	if err := writeFileAtomic(egressCfg, []byte(egressConfig(ls.egressSocket))); err != nil {
		return fmt.Errorf("egress selector config: %w", err)
	}
	eg, err := newEgress(ls.egressSocket, clusterDialer(s.podNet, NodeIPs(1)[0]), log.Printf)
	if err != nil {
		return err
	}
	s.goRun(tierAPIServer, "egress tunnel", func(ctx context.Context) error {
		go func() { <-ctx.Done(); eg.close() }()
		return eg.serve()
	})
	apiserverDone, err := startAPIServer(s.tiers[tierAPIServer].ctx, ls.apiserver, apiserverArgs(p, st.APIServerPort, ls.etcdSocket, egressCfg, s.DataDir))
	if err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	apiserverErr := make(chan error, 1)
	s.goRun(tierAPIServer, "kube-apiserver", func(context.Context) error {
		err := <-apiserverDone
		apiserverErr <- err
		return err
	})
	rc, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		return fmt.Errorf("load %s: %w", s.Kubeconfig, err)
	}
	rc.QPS, rc.Burst = 200, 400
	s.RestConfig = rc
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	s.Client = client
	ctx := s.ctx
	if err := waitFor(ctx, apiserverErr, 2*time.Minute, func() bool {
		b, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(b) == "ok"
	}); err != nil {
		return fmt.Errorf("kube-apiserver /readyz: %w", err)
	}
	return nil
}

// runComponents starts the controllers, the scheduler and the node agent, and waits until the nodes
// this process registered are Ready and pods can be created (the default ServiceAccount exists).
func (s *Sandbox) runComponents(p pki, nodes []agent.NodeConfig) error {
	cctx := s.tiers[tierComponents].ctx
	cmDone, err := startControllerManager(cctx, s.Kubeconfig, p)
	if err != nil {
		return fmt.Errorf("kube-controller-manager: %w", err)
	}
	s.goRun(tierComponents, "kube-controller-manager", func(context.Context) error { return <-cmDone })
	schedDone, err := startScheduler(cctx, s.Kubeconfig)
	if err != nil {
		return fmt.Errorf("kube-scheduler: %w", err)
	}
	s.goRun(tierComponents, "kube-scheduler", func(context.Context) error { return <-schedDone })
	agentDone := make(chan error, 1)
	agentReady := make(chan struct{})
	var readyOnce sync.Once
	client := s.Client
	s.goRun(tierComponents, "agent", func(ctx context.Context) error {
		err := runAgent(ctx, client, s.DataDir, p, nodes, s.podNet, log.Printf, func() { readyOnce.Do(func() { close(agentReady) }) })
		agentDone <- err
		return err
	})
	ctx := s.ctx
	if err := waitFor(ctx, agentDone, 2*time.Minute, func() bool {
		select {
		case <-agentReady: // registered by this process, not a Node left from the last run
		default:
			return false
		}
		if _, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			return false
		}
		for _, nc := range nodes {
			if !nodeReady(ctx, client, nc.Name) {
				return false
			}
		}
		return true
	}); err != nil {
		return fmt.Errorf("wait for the default ServiceAccount and %d Ready nodes: %w", len(nodes), err)
	}
	return nil
}

func nodeReady(ctx context.Context, client kubernetes.Interface, name string) bool {
	n, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// ReadyLine is the line `klab sandbox up` prints once ready.
func (s *Sandbox) ReadyLine() string {
	return s.Timings.String() + " — KUBECONFIG=" + s.Kubeconfig
}

// Stop stops every component; Wait then returns.
func (s *Sandbox) Stop() { s.cancel() }

// Done is closed once every component has stopped.
func (s *Sandbox) Done() <-chan struct{} { return s.done }

// Wait waits until every component has stopped and returns their errors.
func (s *Sandbox) Wait() error {
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.errs...)
}

// goRun runs a component in a tier; a component that ends stops the sandbox.
func (s *Sandbox) goRun(tier int, name string, run func(ctx context.Context) error) {
	t := &s.tiers[tier]
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		err := run(t.ctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			log.Printf("%s stopped: %v", name, err)
			s.mu.Lock()
			s.errs = append(s.errs, fmt.Errorf("%s: %w", name, err))
			s.mu.Unlock()
		}
		s.cancel()
	}()
}

// shutdown stops the tiers from the last to the first, each bounded by stopTimeout.
func (s *Sandbox) shutdown() {
	for i := len(s.tiers) - 1; i >= 0; i-- {
		t := &s.tiers[i]
		t.cancel()
		stopped := make(chan struct{})
		go func() { t.wg.Wait(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(stopTimeout):
			log.Printf("shutdown: tier %d still running after %s, going on", i, stopTimeout)
		}
	}
	log.Print("klab sandbox stopped")
	s.release()
}

func (s *Sandbox) release() {
	// The state file stays: it keeps the ports for the next start.
	s.lock.Release()
	for _, c := range s.closer {
		c()
	}
}

// waitFor polls ok every 100ms until it is true, ctx ends, timeout passes or
// a component reports on died.
func waitFor(ctx context.Context, died <-chan error, timeout time.Duration, ok func() bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if ok() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted: %w", ctx.Err())
		case err := <-died:
			if err == nil {
				err = errors.New("stopped")
			}
			return fmt.Errorf("component stopped: %w", err)
		case <-deadline.C:
			return fmt.Errorf("not ready within %s", timeout)
		case <-t.C:
		}
	}
}

// writeKubeconfig writes the admin kubeconfig (mode 0600) for server.
func writeKubeconfig(path, server string, p pki) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["klab-sandbox"] = &clientcmdapi.Cluster{Server: server, CertificateAuthority: p.crt(caName)}
	cfg.AuthInfos["klab-admin"] = &clientcmdapi.AuthInfo{ClientCertificate: p.crt(adminName), ClientKey: p.key(adminName)}
	cfg.Contexts["klab-sandbox"] = &clientcmdapi.Context{Cluster: "klab-sandbox", AuthInfo: "klab-admin", Namespace: "default"}
	cfg.CurrentContext = "klab-sandbox"
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	return writeFileAtomic(path, b)
}
