// Package agent is the klab sandbox's node agent, our kubelet: it registers the sandbox's Nodes (the
// kubeadm layout: `controlplane`, tainted when there is a worker, and `node01`), keeps their Leases and
// Ready conditions fresh, runs every pod bound to any of them with the in-process busybox shell (no
// container engine, no host process), reports pod status like a kubelet, sends kubelet events from the
// pod's node, and serves each node's kubelet API (container logs) to the apiserver over mutual TLS.
//
// What a pod sees and how it behaves:
//   - Each run of a container gets a fresh root (<DataDir>/pods/<uid>/containers/<name>-<restart>/root)
//     laid out like a busybox image; every file access goes through os.Root (see package busybox).
//   - Volumes: emptyDir and configMap/secret/downwardAPI/projected live in <DataDir>/pods/<uid>/volumes;
//     hostPath P is <DataDir>/hostpath/P, never the real P; a PVC is <DataDir>/volumes/<ns>/<claim>,
//     bound by the agent's provisioner of the default StorageClass "standard".
//   - command/args follow Kubernetes; busybox/alpine-like images without a command run their shell,
//     which exits at once; other images without a command run until the pod is stopped.
//   - Status: Pending (ContainerCreating) → Running (startedAt) → Terminated (Completed | Error), pod phase
//     Succeeded/Failed for restartPolicy Never (and OnFailure once successful); OnFailure/Always restart
//     in place with restartCount+1 and CrashLoopBackOff in between. Back-off is BackoffInitial (0.5 s),
//     doubled per restart up to BackoffMax (5 s), reset after BackoffReset (60 s) of running; the
//     kubelet's figures are 10 s doubling to 5 min, too slow for a lesson.
//   - Network: each pod is a host of the in-memory pod network (package podnet) at its pod IP; server
//     images (nginx, httpd, redis…) listen on their ports there, and pods' wget and nc reach pod IPs,
//     Service ClusterIPs (through the ready endpoints of their EndpointSlices) and cluster DNS names.
//   - Probes: exec probes run in the container's shell and files, httpGet and tcpSocket probes connect
//     from the node to the pod's IP over the pod network, with the kubelet's request, results, messages
//     and events and the pod's own timings (liveness and startup failures restart the container,
//     readiness sets Ready); grpc probes succeed.
//   - activeDeadlineSeconds: commands killed (exit 137), phase Failed, reason DeadlineExceeded.
//   - Deletion: the apiserver sets deletionTimestamp; exec preStop hooks run (within the grace period),
//     then the commands are cancelled at once (a shell has no SIGTERM handler to wait for), the final status is written, then the pod is deleted with grace period 0 and a
//     UID precondition, as the kubelet does.
//   - Logs: <DataDir>/pods/<uid>/logs/<container>/<restart>.log, served on /containerLogs with follow,
//     tailLines, timestamps, sinceSeconds/sinceTime, limitBytes and previous.
//   - Exec and attach (exec.go, attach.go): /exec and /attach speak the kubelet's remote-command
//     protocols; the command runs in the container's shell, with a pseudo-terminal for -t; a container
//     with stdin/tty gets a stdin pipe or a terminal that attach reaches. /portForward and /run answer
//     400 "not supported by the klab sandbox".
package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/klabdev/klab/sandbox/agent/podnet"
)

// Config configures the agent.
type Config struct {
	Client kubernetes.Interface // admin client (QPS 200, burst 400)
	// Nodes are the Nodes the agent registers; it runs the pods bound to any of them, each node with its
	// own Lease, status, kubelet API and events, all in this process.
	Nodes        []NodeConfig
	DataDir      string // <sandbox data dir>/agent: pod roots, volumes, logs
	TLSCertFile  string // serving cert of the kubelet API of every node
	TLSKeyFile   string
	ClientCAFile string // CA that signed the apiserver's kubelet-client certificate (only it may call)
	// Network is the pod network the node's pods join (nil: the agent makes its own). Agents of several
	// nodes in one process share one, so that their pods reach each other.
	Network *podnet.Network
	Logf    func(format string, args ...any)
}

// Timings of the sandbox's kubelet. Back-off is shortened from the kubelet's 10 s doubling to 5 min, so
// that lessons see CrashLoopBackOff and restarts within seconds.
const (
	// BackoffInitial is the first CrashLoopBackOff delay; it doubles at each restart up to BackoffMax.
	BackoffInitial = 500 * time.Millisecond
	// BackoffMax caps the CrashLoopBackOff delay.
	BackoffMax = 5 * time.Second
	// BackoffReset: a container that ran this long without failing restarts with BackoffInitial again.
	BackoffReset = 60 * time.Second
	// HeartbeatPeriod is how often the Lease is renewed and the node status computed (the kubelet's
	// nodeStatusUpdateFrequency).
	HeartbeatPeriod = 10 * time.Second
	// NodeStatusReportFrequency: an unchanged node status is posted this often (the kubelet's default);
	// a change is posted at the next heartbeat.
	NodeStatusReportFrequency = 5 * time.Minute
	// LeaseDuration is the Lease's leaseDurationSeconds.
	LeaseDuration = 40
	// VolumeRefreshPeriod is how often ConfigMap, Secret and downward-API volumes follow their source.
	VolumeRefreshPeriod = 5 * time.Second
	// retryPeriod is how often a pod waiting on a missing ConfigMap/Secret is retried.
	retryPeriod = 2 * time.Second
	// configResync is the kubelet's pod-worker back-off after a failed sync (backOffPeriod, 10 s): how
	// often a container waiting in CreateContainerConfigError records its events again.
	configResync = 10 * time.Second
)

type agent struct {
	cfg         Config
	client      kubernetes.Interface
	logf        func(string, ...any)
	nodes       map[string]*node // by name
	nodeList    []*node          // in the order of cfg.Nodes
	capacity    corev1.ResourceList
	allocatable corev1.ResourceList
	pods        *podManager
	podIndex    cache.Indexer
	nodeLister  corelisters.NodeLister // the Node objects as the API has them (labels, taints): what admission reads
	started     time.Time              // when the nodes registered: what uptime counts from
	net         *podnet.Network
}

// nodeKey is the key of the request context's *node: the node whose kubelet API the request reached.
type nodeKey struct{}

// requestNode is the node whose kubelet API serves r.
func requestNode(r *http.Request) *node {
	n, _ := r.Context().Value(nodeKey{}).(*node)
	return n
}

// Run registers the Nodes, runs the pods bound to them and serves their kubelet APIs; ready is called
// once the nodes are registered and the pod informer has synced. It returns after ctx ends and every
// pod stopped.
func Run(ctx context.Context, cfg Config, ready func()) error {
	if cfg.Client == nil || cfg.DataDir == "" {
		return errors.New("agent config: Client and DataDir are required")
	}
	if err := validateNodes(cfg.Nodes); err != nil {
		return err
	}
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	for _, d := range []string{"pods", "hostpath", "volumes"} {
		if err := os.MkdirAll(filepath.Join(cfg.DataDir, d), 0o755); err != nil {
			return fmt.Errorf("agent data dir: %w", err)
		}
	}
	a := &agent{cfg: cfg, client: cfg.Client, logf: logf, started: time.Now(), nodes: map[string]*node{}, net: cfg.Network}
	a.capacity, a.allocatable = a.machineResources()
	if a.net == nil {
		a.net = podnet.New()
	}

	tlsCfg, err := serverTLS(cfg)
	if err != nil {
		return err
	}
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cfg.Client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	if err := a.setUpNodes(ctx, broadcaster); err != nil {
		return err
	}
	closeListeners := func() {
		for _, n := range a.nodeList {
			_ = n.ln.Close()
		}
	}

	if err := a.net.Watch(ctx, cfg.Client); err != nil {
		closeListeners()
		return err
	}
	// One informer for the pods of every node: a field selector cannot name a set of nodes, so with
	// several nodes it takes every bound pod and the pod manager keeps those of its nodes.
	selector := fields.OneTermNotEqualSelector("spec.nodeName", "")
	if len(a.nodeList) == 1 {
		selector = fields.OneTermEqualSelector("spec.nodeName", a.nodeList[0].Name)
	}
	// The Node objects, for admission (the kubelet reads its node from a lister too): a factory of their
	// own, since the pods' is filtered by spec.nodeName.
	nodeFactory := informers.NewSharedInformerFactory(cfg.Client, 0)
	// Not waited for: until it has synced, admission GETs the Node (the sandbox's start stays as fast).
	a.nodeLister = nodeFactory.Core().V1().Nodes().Lister()
	nodeFactory.Core().V1().Nodes().Informer()
	nodeFactory.Start(ctx.Done())
	defer nodeFactory.Shutdown()
	factory := informers.NewSharedInformerFactoryWithOptions(cfg.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = selector.String() }))
	podInformer := factory.Core().V1().Pods().Informer()
	a.podIndex = podInformer.GetIndexer()
	a.pods = newPodManager(ctx, a)
	if _, err := podInformer.AddEventHandler(a.pods.handler()); err != nil {
		closeListeners()
		return fmt.Errorf("pod informer: %w", err)
	}

	var wg sync.WaitGroup
	servers := a.serveKubeletAPIs(ctx, tlsCfg, &wg)
	closeServers := func() {
		for _, srv := range servers {
			_ = srv.Close()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.heartbeat(ctx)
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.runProvisioner(ctx)
	}()

	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), podInformer.HasSynced) {
		a.pods.stopAll()
		closeServers()
		wg.Wait()
		if ctx.Err() != nil {
			return nil
		}
		return errors.New("pod informer did not sync")
	}
	a.pods.cleanOrphans(func(uid types.UID) bool {
		for _, obj := range a.podIndex.List() {
			if p, ok := obj.(*corev1.Pod); ok && p.UID == uid {
				return true
			}
		}
		return false
	})
	for _, n := range a.nodeList {
		logf("agent: node %s registered, kubelet API on %s", n.Name, n.ln.Addr())
	}
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	factory.Shutdown()
	a.pods.stopAll()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(shutdownCtx)
	}
	wg.Wait()
	return nil
}
