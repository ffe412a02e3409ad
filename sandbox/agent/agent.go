// Package agent is the klab sandbox's node agent, our kubelet: it registers one Node, keeps its Lease and
// Ready condition fresh, runs every pod bound to it with the in-process busybox shell (no container
// engine, no host process), reports pod status like a kubelet, sends kubelet events, and serves
// container logs to the apiserver over mutual TLS.
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
//     tailLines, timestamps, sinceSeconds/sinceTime, limitBytes and previous; /exec, /attach,
//     /portForward and /run answer 400 "not supported by the klab sandbox".
package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
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
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/klabdev/klab/sandbox/agent/podnet"
)

// Config configures the agent.
type Config struct {
	Client       kubernetes.Interface // admin client (QPS 200, burst 400)
	NodeName     string               // "klab-sandbox"
	DataDir      string               // <sandbox data dir>/agent: pod roots, volumes, logs
	Addr         string               // "127.0.0.1:0": listen address of the HTTPS log server
	Listener     net.Listener         // if set, the log server serves on it instead of listening on Addr
	TLSCertFile  string               // serving cert of the log server
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
	// HeartbeatPeriod is how often the Lease and the Ready condition are renewed.
	HeartbeatPeriod = 10 * time.Second
	// LeaseDuration is the Lease's leaseDurationSeconds.
	LeaseDuration = 40
	// VolumeRefreshPeriod is how often ConfigMap, Secret and downward-API volumes follow their source.
	VolumeRefreshPeriod = 5 * time.Second
	// retryPeriod is how often a pod waiting on a missing ConfigMap/Secret is retried.
	retryPeriod = 2 * time.Second
)

type agent struct {
	cfg      Config
	client   kubernetes.Interface
	recorder record.EventRecorder
	logf     func(string, ...any)
	port     int
	pods     *podManager
	podIndex cache.Indexer
	started  time.Time    // when the node registered: what uptime counts from
	images   pulledImages // the images the node has pulled
	net      *podnet.Network
	nodeNet  *podnet.Host // the node's own namespace: where the probes connect from

	probeOnce sync.Once
	probeHTTP *http.Transport // the HTTP probes' transport (probeTransport)
}

// Run registers the Node, runs the pods bound to it and serves their logs; ready is called once the node
// is registered and the pod informer has synced. It returns after ctx ends and every pod stopped.
func Run(ctx context.Context, cfg Config, ready func()) error {
	if cfg.Client == nil || cfg.NodeName == "" || cfg.DataDir == "" {
		return errors.New("agent config: Client, NodeName and DataDir are required")
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
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
	a := &agent{cfg: cfg, client: cfg.Client, logf: logf, started: time.Now(), net: cfg.Network}
	if a.net == nil {
		a.net = podnet.New()
	}
	a.nodeNet = a.net.Node(nodeIP)

	tlsCfg, err := serverTLS(cfg)
	if err != nil {
		return err
	}
	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return fmt.Errorf("log server listen on %s: %w", cfg.Addr, err)
		}
	}
	a.port = ln.Addr().(*net.TCPAddr).Port

	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cfg.Client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	a.recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: cfg.NodeName})

	if err := a.registerNode(ctx); err != nil {
		_ = ln.Close()
		return err
	}

	if err := a.net.Watch(ctx, cfg.Client); err != nil {
		_ = ln.Close()
		return err
	}

	factory := informers.NewSharedInformerFactoryWithOptions(cfg.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", cfg.NodeName).String()
		}))
	podInformer := factory.Core().V1().Pods().Informer()
	a.podIndex = podInformer.GetIndexer()
	a.pods = newPodManager(ctx, a)
	if _, err := podInformer.AddEventHandler(a.pods.handler()); err != nil {
		_ = ln.Close()
		return fmt.Errorf("pod informer: %w", err)
	}

	var wg sync.WaitGroup
	srv := a.logServer(tlsCfg)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logf("agent: log server: %v", err)
		}
	}()
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
		_ = srv.Close()
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
	logf("agent: node %s registered, log server on %s", cfg.NodeName, ln.Addr())
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	factory.Shutdown()
	a.pods.stopAll()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	wg.Wait()
	return nil
}
