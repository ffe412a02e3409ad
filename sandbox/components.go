package sandbox

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/client-go/rest"
	cliflag "k8s.io/component-base/cli/flag"
	"k8s.io/klog/v2"
	apiserverapp "k8s.io/kubernetes/cmd/kube-apiserver/app"
	apiserveroptions "k8s.io/kubernetes/cmd/kube-apiserver/app/options"
	cmapp "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	cmoptions "k8s.io/kubernetes/cmd/kube-controller-manager/app/options"
	schedapp "k8s.io/kubernetes/cmd/kube-scheduler/app"
	schedoptions "k8s.io/kubernetes/cmd/kube-scheduler/app/options"
)

// controllers are the kube-controller-manager controllers the sandbox runs: those a kubeadm cluster
// runs, except the ones that need a cloud, node IPAM or real nodes' kubelets (node-lifecycle: the
// agent keeps its nodes' leases and conditions itself; attach-detach: no volume plugin attaches).
// The horizontal-pod-autoscaler runs and reports, as on a cluster without metrics-server, that no
// metrics exist.
func controllers() []string {
	return []string{
		"job-controller",
		"cronjob-controller",
		"deployment-controller",
		"replicaset-controller",
		"statefulset-controller",
		"daemonset-controller",
		"replicationcontroller-controller",
		"endpoints-controller",
		"endpointslice-controller",
		"endpointslice-mirroring-controller",
		"resourcequota-controller",
		"disruption-controller",
		"horizontal-pod-autoscaler-controller",
		"persistentvolume-binder-controller",
		"persistentvolume-expander-controller",
		"persistentvolumeclaim-protection-controller",
		"persistentvolume-protection-controller",
		"ephemeral-volume-controller",
		"garbage-collector-controller",
		"ttl-after-finished-controller",
		"ttl-controller",
		"serviceaccount-controller",
		"serviceaccount-token-controller",
		"root-ca-certificate-publisher-controller",
		"clusterrole-aggregation-controller",
		"namespace-controller",
		"pod-garbage-collector-controller",
		"taint-eviction-controller",
	}
}

// setupLogging sends klog, the standard logger and client-go warnings to w.
func setupLogging(w io.Writer) {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	_ = fs.Set("v", "0")
	// klog writes a message to the output of its severity and of every lower
	// one: only the INFO output is kept, so each line appears once.
	klog.SetOutputBySeverity("INFO", w)
	for _, sev := range []string{"WARNING", "ERROR", "FATAL"} {
		klog.SetOutputBySeverity(sev, io.Discard)
	}
	log.SetOutput(w)
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	rest.SetDefaultWarningHandler(rest.NoWarnings{})
}

// startEtcd starts embedded etcd with its client endpoint on the unix
// socket sock and waits until it serves.
func startEtcd(dir, sock, logPath string) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = "klab-sandbox"
	cfg.Dir = dir
	client := url.URL{Scheme: "unix", Path: sock}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	// A single member has no peer to talk to: no peer listener. It still
	// needs a peer URL as its name in the membership (its member ID derives
	// from it), which nothing dials: etcd's default. A member created by an
	// older klab keeps the 127.0.0.1 peer URL it was created with, just as
	// undialled.
	cfg.ListenPeerUrls = nil
	cfg.AdvertisePeerUrls = []url.URL{{Scheme: "http", Host: "localhost:2380"}}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{logPath}
	// A throw-away learning cluster: data survives a killed process (the page
	// cache keeps it) but not a power cut, and every write is much faster.
	cfg.UnsafeNoFsync = true
	// One member: nobody to wait for, so elect at once (default 100 ms ticks, 1 s election).
	cfg.TickMs, cfg.ElectionMs = 10, 100
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start etcd in %s: %w", dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
		// The socket's directory already keeps others out; owner-only
		// permissions on the socket itself make that hold on their own.
		if err := os.Chmod(sock, 0o600); err != nil {
			e.Close()
			return nil, fmt.Errorf("etcd socket: %w", err)
		}
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd: %w", err)
	case <-time.After(time.Minute):
		e.Close()
		return nil, fmt.Errorf("etcd in %s: not ready within a minute", dir)
	}
}

func apiserverArgs(p pki, port int, etcdSocket, egressConfigFile, data string) []string {
	return []string{
		"--etcd-servers=unix://" + etcdSocket,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(data, "pki", "apiserver-generated"),
		"--tls-cert-file=" + p.crt(apiserverName),
		"--tls-private-key-file=" + p.key(apiserverName),
		"--client-ca-file=" + p.crt(caName),
		"--anonymous-auth=false",
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.path(saKeyName+".pub"),
		"--service-account-signing-key-file=" + p.key(saKeyName),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--endpoint-reconciler-type=none",
		"--kubelet-preferred-address-types=InternalIP",
		// Every connection to a node or a pod goes through the egress tunnel (see egress).
		"--egress-selector-config-file=" + egressConfigFile,
		"--kubelet-client-certificate=" + p.crt(kubeletClientName),
		"--kubelet-client-key=" + p.key(kubeletClientName),
		"--kubelet-certificate-authority=" + p.crt(caName),
		"--profiling=false",
		"--enable-priority-and-fairness=false",
		// As kubeadm, kind and microk8s do: privileged pods are admitted. The agent gives a privileged
		// container nothing more (same in-process shell, same os.Root confinement).
		"--allow-privileged=true",
	}
}

// parse parses args into the flag sets (ContinueOnError: a bad flag is an error, not an exit).
func parse(name string, nfs cliflag.NamedFlagSets, args []string) error {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	for _, s := range nfs.FlagSets {
		fs.AddFlagSet(s)
	}
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%s flags %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// startAPIServer builds kube-apiserver from its options and runs it; the
// returned channel receives its end.
func startAPIServer(ctx context.Context, ln net.Listener, args []string) (<-chan error, error) {
	s := apiserveroptions.NewServerRunOptions()
	if err := parse("kube-apiserver", s.Flags(), args); err != nil {
		_ = ln.Close()
		return nil, err
	}
	s.SecureServing.Listener = ln
	if err := s.GenericServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return nil, fmt.Errorf("feature gates: %w", err)
	}
	completed, err := s.Complete(ctx)
	if err != nil {
		return nil, fmt.Errorf("complete options: %w", err)
	}
	if errs := completed.Validate(); len(errs) != 0 {
		return nil, fmt.Errorf("validate options: %v", errs)
	}
	config, err := apiserverapp.NewConfig(completed)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	cc, err := config.Complete()
	if err != nil {
		return nil, fmt.Errorf("complete config: %w", err)
	}
	server, err := apiserverapp.CreateServerChain(cc)
	if err != nil {
		return nil, fmt.Errorf("create server chain: %w", err)
	}
	prepared, err := server.PrepareRun()
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- prepared.Run(ctx) }()
	return done, nil
}

// startControllerManager runs the chosen kube-controller-manager controllers.
func startControllerManager(ctx context.Context, kubeconfig string, p pki) (<-chan error, error) {
	s, err := cmoptions.NewKubeControllerManagerOptions()
	if err != nil {
		return nil, fmt.Errorf("options: %w", err)
	}
	known, disabled, aliases := cmapp.KnownControllers(), cmapp.ControllersDisabledByDefault(), cmapp.ControllerAliases()
	nfs := s.Flags(known, disabled, aliases)
	s.ParsedFlags = &nfs
	if err := parse("kube-controller-manager", nfs, []string{
		"--kubeconfig=" + kubeconfig,
		"--controllers=" + strings.Join(controllers(), ","),
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file=" + p.key(saKeyName),
		"--root-ca-file=" + p.crt(caName),
		"--kube-api-qps=200",
		"--kube-api-burst=400",
	}); err != nil {
		return nil, err
	}
	c, err := s.Config(ctx, known, disabled, aliases)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmapp.Run(ctx, c.Complete()) }()
	return done, nil
}

// startScheduler runs kube-scheduler with its default profile.
func startScheduler(ctx context.Context, kubeconfig string) (<-chan error, error) {
	o := schedoptions.NewOptions()
	if err := parse("kube-scheduler", *o.Flags, []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--kube-api-qps=200",
		"--kube-api-burst=400",
	}); err != nil {
		return nil, err
	}
	cc, sched, err := schedapp.Setup(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- schedapp.Run(ctx, cc, sched) }()
	return done, nil
}
