package agent

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klabdev/klab/sandbox/agent/busybox"
	"github.com/klabdev/klab/sandbox/agent/podnet"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/record"
	"k8s.io/kubernetes/pkg/kubelet/network/dns"
	"k8s.io/utils/ptr"
)

// KubeletVersion is what the node reports; the sandbox runs Kubernetes 1.37.2.
const KubeletVersion = "v1.37.2"

// runtimePrefix starts every node's status.nodeInfo.containerRuntimeVersion: it is how the agent knows
// the Nodes it (or an earlier klab) registered, whatever their names.
const runtimePrefix = "klab://"

const notReadyTaint = "node.kubernetes.io/not-ready"

// LayoutAnnotation is set on each Node the agent registers to the names of all the nodes it registered
// with it ("controlplane,node01"): a Node registered with another layout is registered again.
const LayoutAnnotation = "klab.dev/node-layout"

// Labels and taint kubeadm puts on a control-plane node (kubeadm init, phase mark-control-plane).
const (
	ControlPlaneLabel   = "node-role.kubernetes.io/control-plane"
	excludeFromLBsLabel = "node.kubernetes.io/exclude-from-external-load-balancers"
)

// ControlPlaneTaint is the taint kubeadm puts on a control-plane node: pods without a toleration for
// it run on the workers.
func ControlPlaneTaint() corev1.Taint {
	return corev1.Taint{Key: ControlPlaneLabel, Effect: corev1.TaintEffectNoSchedule}
}

// NodeConfig is one Node the agent registers and runs the pods of.
type NodeConfig struct {
	Name string
	// ControlPlane gives the node kubeadm's control-plane labels (node-role.kubernetes.io/control-plane,
	// node.kubernetes.io/exclude-from-external-load-balancers).
	ControlPlane bool
	// Taints are registered with a new Node, as the kubelet's --register-with-taints: a Node that
	// exists keeps its own (a `kubectl taint` survives a restart, as on kubeadm).
	Taints []corev1.Taint
	// IP is the node's InternalIP and its pods' hostIP. With one, the node's kubelet API listens on the
	// pod network at IP:Port (Port 0: 10250, the kubelet's), where the apiserver and pods reach it as
	// they reach a kubeadm node. Without one (tests), it listens on the machine at Addr
	// ("127.0.0.1:0" when empty) and the node's address is 127.0.0.1.
	IP   string
	Port int
	Addr string
}

// node is a registered Node: its kubelet API, its event recorder, the images it has pulled.
type node struct {
	NodeConfig
	ln       net.Listener
	port     int
	recorder record.EventRecorderLogger
	images   pulledImages
	net      *podnet.Host    // the node's own network namespace: where its probes connect from
	dns      *dns.Configurer // the kubelet's DNS configurer: each pod's resolv.conf from its dnsPolicy

	probeOnce sync.Once
	probeHTTP *http.Transport // its HTTP probes' transport (probeTransport)

	reported   string    // the last node status posted, its heartbeat times left out (heartbeat's goroutine only)
	reportedAt time.Time // when it was posted
}

// setUpNodes opens each node's kubelet API listener and event recorder, deletes the stale Nodes and
// registers the configured ones; on failure, the listeners are closed.
func (a *agent) setUpNodes(ctx context.Context, broadcaster record.EventBroadcaster) (err error) {
	defer func() {
		if err != nil {
			for _, n := range a.nodeList {
				_ = n.ln.Close()
			}
		}
	}()
	for _, nc := range a.cfg.Nodes {
		n := &node{NodeConfig: nc}
		if n.ln, err = a.listenKubeletAPI(n); err != nil {
			return fmt.Errorf("kubelet API of node %s: %w", nc.Name, err)
		}
		n.port = n.ln.Addr().(*net.TCPAddr).Port
		n.recorder = broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "kubelet", Host: nc.Name})
		n.dns = a.dnsConfigurer(n)
		a.nodes[nc.Name] = n
		a.nodeList = append(a.nodeList, n)
	}
	if err := a.writeNodeFiles(); err != nil {
		return err
	}
	if err := a.removeStaleNodes(ctx); err != nil {
		return err
	}
	for _, n := range a.nodeList {
		if err := a.registerNode(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// listenKubeletAPI opens the node's kubelet API listener (see NodeConfig) and its host on the pod
// network, filling in the node's address.
func (a *agent) listenKubeletAPI(n *node) (net.Listener, error) {
	if n.IP == "" {
		n.IP = "127.0.0.1"
		n.net = a.net.Node(n.IP)
		addr := cmp.Or(n.Addr, "127.0.0.1:0")
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
		return ln, nil
	}
	n.net = a.net.Node(n.IP)
	return n.net.Listen("tcp", net.JoinHostPort(n.IP, strconv.Itoa(cmp.Or(n.Port, 10250))))
}

// serveKubeletAPIs serves each node's kubelet API on its listener, in goroutines of wg; a handler
// finds the node its request reached with requestNode.
func (a *agent) serveKubeletAPIs(ctx context.Context, tlsCfg *tls.Config, wg *sync.WaitGroup) []*http.Server {
	var servers []*http.Server
	for _, n := range a.nodeList {
		srv := a.logServer(tlsCfg)
		srv.BaseContext = func(net.Listener) context.Context { return context.WithValue(ctx, nodeKey{}, n) }
		servers = append(servers, srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.ServeTLS(n.ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.logf("agent: kubelet API of node %s: %v", n.Name, err)
			}
		}()
	}
	return servers
}

// hostIP is the address of the pod's node (its status.hostIP).
func (w *podWorker) hostIP() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hostIPLocked()
}

// hostIPLocked is hostIP for a caller that holds w.mu.
func (w *podWorker) hostIPLocked() string {
	if n := w.m.a.nodes[w.pod.Spec.NodeName]; n != nil {
		return n.IP
	}
	return "127.0.0.1"
}

// node is the node a pod worker runs on (spec.nodeName does not change once set).
func (w *podWorker) node() *node {
	return w.m.a.nodes[w.latest().Spec.NodeName]
}

// machineResources is what every node reports as its capacity. The nodes are kubeadm nodes on one
// host, as kind's are: each reports the whole machine (its CPUs, its memory, the file system of the
// data dir), since the pods of every node really share them; halving them would invent two smaller
// machines that do not exist. Allocatable is what the kubelet's defaults leave (no reserved
// resources, as kubeadm configures it; eviction-hard memory.available<100Mi and nodefs.available<10%).
func (a *agent) machineResources() (capacity, allocatable corev1.ResourceList) {
	cpus := int64(runtime.NumCPU())
	mem, err := machineMemory()
	if err != nil || mem <= 0 {
		a.logf("agent: machine memory: %v", err)
		mem = 1 << 30
	}
	disk, err := fsSize(a.cfg.DataDir)
	if err != nil || disk <= 0 {
		a.logf("agent: data dir file system size: %v", err)
		disk = 10 << 30
	}
	capacity = corev1.ResourceList{
		corev1.ResourceCPU:              *resource.NewQuantity(cpus, resource.DecimalSI),
		corev1.ResourceMemory:           *resource.NewQuantity(mem, resource.BinarySI),
		corev1.ResourcePods:             *resource.NewQuantity(110, resource.DecimalSI),
		corev1.ResourceEphemeralStorage: *resource.NewQuantity(disk, resource.BinarySI),
	}
	allocatable = capacity.DeepCopy()
	allocatable[corev1.ResourceMemory] = *resource.NewQuantity(max(mem-100<<20, 0), resource.BinarySI)
	allocatable[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(disk/10*9, resource.DecimalSI)
	return capacity, allocatable
}

// shellNode is what pods' commands see of the node (nproc, free, uptime): its registered capacity,
// the same on every node (see machineResources).
func (a *agent) shellNode() busybox.Node {
	return busybox.Node{CPUs: a.capacity.Cpu().Value(), MemoryBytes: a.capacity.Memory().Value(), Started: a.started}
}

func (a *agent) nodeStatus(n *node, now metav1.Time) corev1.NodeStatus {
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	return corev1.NodeStatus{
		Capacity:    a.capacity,
		Allocatable: a.allocatable,
		Phase:       corev1.NodeRunning,
		Conditions: []corev1.NodeCondition{
			cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
		},
		// Every node is the same host, so the same address: the apiserver reaches each node's kubelet
		// API on its own port.
		Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: n.IP},
			{Type: corev1.NodeHostName, Address: n.Name},
		},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(n.port)}},
		NodeInfo: corev1.NodeSystemInfo{
			MachineID:               "klab-" + n.Name,
			SystemUUID:              "klab-" + n.Name,
			BootID:                  fmt.Sprintf("klab-%d", time.Now().UnixNano()),
			KernelVersion:           "klab",
			OSImage:                 "klab sandbox (in-process pods)",
			ContainerRuntimeVersion: runtimePrefix + KubeletVersion,
			KubeletVersion:          KubeletVersion,
			OperatingSystem:         "linux",
			Architecture:            runtime.GOARCH,
		},
	}
}

// nodeLabels are the labels the kubelet and kubeadm put on the node.
func nodeLabels(n NodeConfig) map[string]string {
	l := map[string]string{
		"kubernetes.io/hostname": n.Name,
		"kubernetes.io/os":       "linux",
		"kubernetes.io/arch":     runtime.GOARCH,
	}
	if n.ControlPlane {
		l[ControlPlaneLabel] = ""
		l[excludeFromLBsLabel] = ""
	}
	return l
}

// layout names the agent's nodes, in order: the value of LayoutAnnotation.
func (a *agent) layout() string {
	names := make([]string, 0, len(a.nodeList))
	for _, n := range a.nodeList {
		names = append(names, n.Name)
	}
	return strings.Join(names, ",")
}

// removeStaleNodes deletes the Nodes an agent registered that are not configured now (a sandbox
// restarted with fewer nodes, or the single node of an older klab): the scheduler would otherwise
// bind pods to a node nobody runs. The pod garbage collector then deletes the pods bound to them, and
// their controllers recreate them on the nodes that exist. A configured Node registered with another
// layout is deleted as well, to be registered again with this layout's labels and taints (the
// control plane is tainted only when a worker exists); one of the same layout keeps what was done to
// it (`kubectl taint`, `cordon`), as a kubeadm node does across kubelet restarts.
func (a *agent) removeStaleNodes(ctx context.Context) error {
	list, err := a.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	for _, n := range list.Items {
		if !strings.HasPrefix(n.Status.NodeInfo.ContainerRuntimeVersion, runtimePrefix) {
			continue // not ours: a Node object someone created
		}
		if _, configured := a.nodes[n.Name]; configured && n.Annotations[LayoutAnnotation] == a.layout() {
			continue
		}
		err := a.client.CoreV1().Nodes().Delete(ctx, n.Name, metav1.DeleteOptions{Preconditions: metav1.NewUIDPreconditions(string(n.UID))})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("delete the stale node %s: %w", n.Name, err)
		}
		// Its Lease too (the garbage collector would, later): one renewed for a new Node of that name
		// must not keep the old Node as owner.
		err = a.client.CoordinationV1().Leases(corev1.NamespaceNodeLease).Delete(ctx, n.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete the lease of the stale node %s: %w", n.Name, err)
		}
		a.logf("agent: deleted node %s, registered by an earlier start with another node layout", n.Name)
	}
	return nil
}

// registerNode creates or refreshes the Node, marks it Ready and removes the not-ready taint that
// admission adds to new nodes (there is no node-lifecycle controller to do it).
func (a *agent) registerNode(ctx context.Context, n *node) error {
	nodes := a.client.CoreV1().Nodes()
	now := metav1.Now()
	obj := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   n.Name,
			Labels: nodeLabels(n.NodeConfig),
			// As kubeadm's kubelets: the attach-detach controller manages volumes, no TTL on node objects.
			Annotations: map[string]string{
				"node.alpha.kubernetes.io/ttl":                           "0",
				"volumes.kubernetes.io/controller-managed-attach-detach": "true",
				LayoutAnnotation: a.layout(),
			},
		},
		Spec:   corev1.NodeSpec{Taints: n.Taints},
		Status: a.nodeStatus(n, now),
	}
	_, err := nodes.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s: %w", n.Name, err)
	}
	if err := a.updateNodeStatus(ctx, n, true); err != nil {
		return err
	}
	return a.removeNotReadyTaint(ctx, n)
}

func (a *agent) removeNotReadyTaint(ctx context.Context, n *node) error {
	nodes := a.client.CoreV1().Nodes()
	for attempt := 0; ; attempt++ {
		obj, err := nodes.Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get node %s: %w", n.Name, err)
		}
		var keep []corev1.Taint
		for _, t := range obj.Spec.Taints {
			if t.Key != notReadyTaint && t.Key != "node.kubernetes.io/unreachable" {
				keep = append(keep, t)
			}
		}
		if len(keep) == len(obj.Spec.Taints) {
			return nil
		}
		obj.Spec.Taints = keep
		_, err = nodes.Update(ctx, obj, metav1.UpdateOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt > 5 {
			return fmt.Errorf("remove the not-ready taint from node %s: %w", n.Name, err)
		}
	}
}

// updateNodeStatus patches the node's status (full on registration, heartbeat times otherwise).
func (a *agent) updateNodeStatus(ctx context.Context, n *node, full bool) error {
	st := a.nodeStatus(n, metav1.Now())
	if !full {
		// Keep the transition times: only the heartbeat moves.
		if old, err := a.client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{}); err == nil {
			for i, c := range st.Conditions {
				for _, oc := range old.Status.Conditions {
					if oc.Type == c.Type && oc.Status == c.Status {
						st.Conditions[i].LastTransitionTime = oc.LastTransitionTime
					}
				}
			}
			st.NodeInfo.BootID = old.Status.NodeInfo.BootID
		}
	}
	patch, err := json.Marshal(map[string]any{"status": st})
	if err != nil {
		return fmt.Errorf("node status patch: %w", err)
	}
	_, err = a.client.CoreV1().Nodes().Patch(ctx, n.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		return fmt.Errorf("update node %s status: %w", n.Name, err)
	}
	return nil
}

// reportNodeStatus posts the node's status when it changed, or when NodeStatusReportFrequency passed
// since the last post, as the kubelet does since node leases: the Lease is the heartbeat, the status is
// posted infrequently.
func (a *agent) reportNodeStatus(ctx context.Context, n *node) error {
	st := a.nodeStatus(n, metav1.Time{})
	key, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("node status: %w", err)
	}
	if string(key) == n.reported && time.Since(n.reportedAt) < NodeStatusReportFrequency {
		return nil
	}
	if err := a.updateNodeStatus(ctx, n, false); err != nil {
		return err
	}
	n.reported, n.reportedAt = string(key), time.Now()
	return nil
}

// renewLease creates or renews the node's Lease in kube-node-lease.
func (a *agent) renewLease(ctx context.Context, n *node) error {
	leases := a.client.CoordinationV1().Leases(corev1.NamespaceNodeLease)
	now := metav1.NewMicroTime(time.Now())
	l, err := leases.Get(ctx, n.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		owner := []metav1.OwnerReference{}
		if obj, nerr := a.client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{}); nerr == nil {
			owner = append(owner, metav1.OwnerReference{APIVersion: "v1", Kind: "Node", Name: obj.Name, UID: obj.UID})
		}
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: n.Name, Namespace: corev1.NamespaceNodeLease, OwnerReferences: owner},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity:       ptr.To(n.Name),
				LeaseDurationSeconds: ptr.To[int32](LeaseDuration),
				RenewTime:            &now,
			},
		}, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("create lease of node %s: %w", n.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("get lease of node %s: %w", n.Name, err)
	}
	l.Spec.HolderIdentity = ptr.To(n.Name)
	l.Spec.LeaseDurationSeconds = ptr.To[int32](LeaseDuration)
	l.Spec.RenewTime = &now
	if _, err := leases.Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("renew lease of node %s: %w", n.Name, err)
	}
	return nil
}

// heartbeat keeps every node's Lease and Ready condition fresh until ctx ends.
func (a *agent) heartbeat(ctx context.Context) {
	beat := func() {
		for _, n := range a.nodeList {
			if err := a.renewLease(ctx, n); err != nil && ctx.Err() == nil {
				a.logf("agent: %v", err)
			}
			if err := a.reportNodeStatus(ctx, n); err != nil && ctx.Err() == nil {
				a.logf("agent: %v", err)
			}
		}
	}
	beat()
	t := time.NewTicker(HeartbeatPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			beat()
		}
	}
}

// validateNodes checks the configured nodes: at least one, names that are valid and distinct.
func validateNodes(nodes []NodeConfig) error {
	if len(nodes) == 0 {
		return errors.New("agent config: Nodes is empty (the agent runs the pods of at least one node)")
	}
	seen := map[string]bool{}
	for i, n := range nodes {
		if n.Name == "" {
			return fmt.Errorf("agent config: Nodes[%d].Name is empty", i)
		}
		if seen[n.Name] {
			return fmt.Errorf("agent config: node %s is listed twice", n.Name)
		}
		seen[n.Name] = true
	}
	return nil
}
