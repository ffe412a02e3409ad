package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klabdev/klab/sandbox/sandboxctl"
)

// The sandbox's nodes are those of Killercoda's kubeadm images (controlplane, tainted, and node01), and
// the real kube-scheduler, controllers and kubectl treat them as they treat a kubeadm cluster's.

const controlPlaneTaint = "node-role.kubernetes.io/control-plane"

func TestNodesAsKubeadm(t *testing.T) {
	needCluster(t)
	ctx := context.Background()
	list, err := cluster.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	addrs := map[string]string{}
	for _, n := range list.Items {
		names = append(names, n.Name)
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
		}
		if !ready {
			t.Errorf("node %s not Ready: %+v", n.Name, n.Status.Conditions)
		}
		// As kubeadm's kubelets: each node at its own address, all on the kubelet's port.
		var ip string
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				ip = a.Address
			}
		}
		if other, dup := addrs[ip]; dup || ip == "" {
			t.Errorf("nodes %s and %s share the InternalIP %q", n.Name, other, ip)
		}
		addrs[ip] = n.Name
		if p := n.Status.DaemonEndpoints.KubeletEndpoint.Port; p != 10250 {
			t.Errorf("node %s: kubelet port %d, want 10250", n.Name, p)
		}
		for _, l := range []string{"kubernetes.io/os", "kubernetes.io/arch"} {
			if n.Labels[l] == "" {
				t.Errorf("node %s has no label %s: %v", n.Name, l, n.Labels)
			}
		}
		if n.Labels["kubernetes.io/hostname"] != n.Name {
			t.Errorf("node %s: kubernetes.io/hostname=%q", n.Name, n.Labels["kubernetes.io/hostname"])
		}
		lease, err := cluster.Client.CoordinationV1().Leases("kube-node-lease").Get(ctx, n.Name, metav1.GetOptions{})
		if err != nil || lease.Spec.RenewTime == nil || time.Since(lease.Spec.RenewTime.Time) > time.Minute {
			t.Errorf("lease of node %s: %v %v", n.Name, lease, err)
		}
		if n.Status.Allocatable.Cpu().IsZero() || n.Status.Allocatable.Memory().IsZero() {
			t.Errorf("node %s allocatable %v", n.Name, n.Status.Allocatable)
		}
		_, role := n.Labels["node-role.kubernetes.io/control-plane"]
		_, lb := n.Labels["node.kubernetes.io/exclude-from-external-load-balancers"]
		var taints []string
		for _, tt := range n.Spec.Taints {
			taints = append(taints, tt.ToString())
		}
		switch n.Name {
		case "controlplane":
			if !role || !lb || strings.Join(taints, ",") != controlPlaneTaint+":NoSchedule" {
				t.Errorf("controlplane: labels %v taints %v, want kubeadm's control-plane labels and taint", n.Labels, taints)
			}
		case "node01":
			if role || lb || len(taints) != 0 {
				t.Errorf("node01: labels %v taints %v, want a plain worker", n.Labels, taints)
			}
		}
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "controlplane node01" {
		t.Fatalf("nodes %v, want controlplane and node01", names)
	}
	for name, k := range kubectls(t) {
		out := mustRun(t, append(slices.Clone(k), "get", "nodes")...)
		if !regexpMatch(`(?m)^controlplane\s+Ready\s+control-plane\s`, out) || !regexpMatch(`(?m)^node01\s+Ready\s+<none>\s`, out) {
			t.Errorf("%s kubectl get nodes:\n%s", name, out)
		}
	}
}

// podNodes is pod name → node of the pods of ns matching selector.
func podNodes(t *testing.T, ns, selector string) map[string]string {
	t.Helper()
	pods, err := cluster.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			m[p.Name] = p.Spec.NodeName
		}
	}
	return m
}

func applyManifest(t *testing.T, k []string, manifest string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "m.yaml")
	if err := writeFile(path, manifest); err != nil {
		t.Fatal(err)
	}
	mustRun(t, append(slices.Clone(k), "apply", "-f", path)...)
}

// pendingMessage waits until the pod is Pending with the scheduler's PodScheduled=False condition.
func pendingMessage(t *testing.T, ns, pod string) string {
	t.Helper()
	var msg string
	eventually(t, 30*time.Second, func() error {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(context.Background(), pod, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
				msg = c.Message
				return nil
			}
		}
		return fmt.Errorf("pod %s: phase %s node %q conditions %+v, want unschedulable", pod, p.Status.Phase, p.Spec.NodeName, p.Status.Conditions)
	})
	return msg
}

func TestSchedulingAsKubeadm(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	k := append(slices.Clone(kubectls(t)["klab"]), "-n", ns)
	kc := func(args ...string) string { return strings.TrimSpace(mustRun(t, append(slices.Clone(k), args...)...)) }

	// A Deployment's pods go to the worker: the control plane is tainted.
	kc("create", "deployment", "web", "--image=nginx", "--replicas=3")
	kc("rollout", "status", "deployment/web", "--timeout=60s")
	for pod, node := range podNodes(t, ns, "app=web") {
		if node != "node01" {
			t.Errorf("pod %s on %s, want node01", pod, node)
		}
	}

	applyManifest(t, k, `apiVersion: v1
kind: Pod
metadata: {name: on-cp}
spec:
  nodeSelector: {kubernetes.io/hostname: controlplane}
  containers: [{name: c, image: busybox, command: [sh, -c, "echo hello from $(cat /etc/hostname); sleep 3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: on-cp-tolerating}
spec:
  nodeSelector: {kubernetes.io/hostname: controlplane}
  tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]
  containers: [{name: c, image: busybox, command: [sh, -c, "echo hello; sleep 3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: by-name}
spec:
  nodeName: controlplane
  containers: [{name: c, image: busybox, command: [sh, -c, "echo bound by name; sleep 3600"]}]
`)
	// A nodeSelector on the control plane without the toleration: Pending, with the scheduler's reasons.
	want := "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint(s). " +
		"preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
	if msg := pendingMessage(t, ns, "on-cp"); msg != want {
		t.Errorf("on-cp unschedulable: %q, want %q", msg, want)
	}
	// With the toleration it runs there; nodeName skips the scheduler (and NoSchedule taints).
	kc("wait", "--for=condition=Ready", "pod/on-cp-tolerating", "pod/by-name", "--timeout=60s")
	nodes := podNodes(t, ns, "")
	if nodes["on-cp-tolerating"] != "controlplane" || nodes["by-name"] != "controlplane" {
		t.Errorf("pods on %v, want on-cp-tolerating and by-name on controlplane", nodes)
	}
	// The apiserver reaches the control plane's kubelet API for the logs of its pods.
	if out := kc("logs", "by-name"); out != "bound by name" {
		t.Errorf("logs of a pod on controlplane: %q", out)
	}
	if out := kc("get", "pod", "by-name", "-o", "wide"); !regexpMatch(`by-name\s+1/1\s+Running\s+0\s+\S+\s+\S+\s+controlplane\s`, out) {
		t.Errorf("get pod -o wide:\n%s", out)
	}
}

// TestKubeletAdmission: a pod bound by nodeName skips the scheduler, so the node's kubelet admits it or not
// with its own checks (host ports, resources), as on kubeadm: rejected, it is Failed at once with the
// kubelet's reason and message and a Warning event.
func TestKubeletAdmission(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	k := append(slices.Clone(kubectls(t)["klab"]), "-n", ns)
	applyManifest(t, k, `apiVersion: v1
kind: Pod
metadata: {name: holder}
spec:
  nodeName: controlplane
  containers: [{name: c, image: busybox, command: [sh, -c, "sleep 3600"], ports: [{containerPort: 80, hostPort: 31417}]}]
`)
	mustRun(t, append(slices.Clone(k), "wait", "--for=condition=Ready", "pod/holder", "--timeout=60s")...)
	applyManifest(t, k, `apiVersion: v1
kind: Pod
metadata: {name: same-port}
spec:
  nodeName: controlplane
  containers: [{name: c, image: busybox, command: [sh, -c, "sleep 3600"], ports: [{containerPort: 80, hostPort: 31417}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: too-big}
spec:
  nodeName: controlplane
  containers: [{name: c, image: busybox, command: [sh, -c, "sleep 3600"], resources: {requests: {cpu: "100000"}}}]
`)
	for pod, want := range map[string][2]string{
		"same-port": {"NodePorts", `^Pod was rejected: Predicate NodePorts failed: node\(s\) didn't have free ports for the requested pod ports$`},
		"too-big":   {"OutOfcpu", `^Pod was rejected: Node didn't have enough resource: cpu, requested: 100000000, used: \d+, capacity: \d+$`},
	} {
		eventually(t, 30*time.Second, func() error {
			p, err := cluster.Client.CoreV1().Pods(ns).Get(context.Background(), pod, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if p.Status.Phase != corev1.PodFailed || p.Status.Reason != want[0] || !regexpMatch(want[1], p.Status.Message) {
				return fmt.Errorf("pod %s: phase %s, reason %q, message %q", pod, p.Status.Phase, p.Status.Reason, p.Status.Message)
			}
			return nil
		})
		eventually(t, 10*time.Second, func() error {
			for _, e := range podEvents(t, ns, pod) {
				if strings.HasPrefix(e, "Warning "+want[0]+" ") {
					return nil
				}
			}
			return fmt.Errorf("no Warning %s event for %s: %v", want[0], pod, podEvents(t, ns, pod))
		})
	}
	if out := mustRun(t, append(slices.Clone(k), "get", "pod", "same-port")...); !strings.Contains(out, "NodePorts") {
		t.Errorf("kubectl get pod shows the reason as STATUS:\n%s", out)
	}
}

func TestDaemonSetOnEveryNode(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	k := append(slices.Clone(kubectls(t)["klab"]), "-n", ns)
	ds := `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: %s}
spec:
  selector: {matchLabels: {app: %s}}
  template:
    metadata: {labels: {app: %s}}
    spec:
      %s
      containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
`
	applyManifest(t, k, fmt.Sprintf(ds, "everywhere", "everywhere", "everywhere",
		"tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]")+"---\n"+
		fmt.Sprintf(ds, "workers", "workers", "workers", ""))
	for _, name := range []string{"everywhere", "workers"} {
		mustRun(t, append(slices.Clone(k), "rollout", "status", "daemonset/"+name, "--timeout=60s")...)
	}
	for name, want := range map[string]string{"everywhere": "controlplane node01", "workers": "node01"} {
		var got []string
		for _, n := range podNodes(t, ns, "app="+name) {
			got = append(got, n)
		}
		sort.Strings(got)
		if strings.Join(got, " ") != want {
			t.Errorf("daemonset %s pods on %v, want %s", name, got, want)
		}
		out := mustRun(t, append(slices.Clone(k), "get", "daemonset", name, "-o", "jsonpath={.status.desiredNumberScheduled}/{.status.numberReady}")...)
		if n := len(strings.Fields(want)); out != fmt.Sprintf("%d/%d", n, n) {
			t.Errorf("daemonset %s desired/ready %s, want %d/%d", name, out, n, n)
		}
	}
}

// waitNoPodsElsewhere waits until node01 runs pods of ns only, so that drain meets no pod of another test.
func waitNoPodsElsewhere(t *testing.T, ns string) {
	t.Helper()
	eventually(t, 90*time.Second, func() error {
		pods, err := cluster.Client.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{FieldSelector: "spec.nodeName=node01"})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			if p.Namespace != ns {
				return fmt.Errorf("pod %s/%s still on node01", p.Namespace, p.Name)
			}
		}
		return nil
	})
}

func TestCordonAndDrain(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	k := append(slices.Clone(kubectls(t)["klab"]), "-n", ns)
	kc := func(args ...string) string { return strings.TrimSpace(mustRun(t, append(slices.Clone(k), args...)...)) }
	t.Cleanup(func() { _, _ = run(t, 30*time.Second, append(slices.Clone(k), "uncordon", "node01")...) })

	// Cordoned, node01 takes no new pod: with the control plane tainted, the pod stays Pending.
	if out := kc("cordon", "node01"); out != "node/node01 cordoned" {
		t.Errorf("cordon: %q", out)
	}
	if out := kc("get", "node", "node01"); !regexpMatch(`node01\s+Ready,SchedulingDisabled\s+<none>`, out) {
		t.Errorf("get node after cordon:\n%s", out)
	}
	kc("run", "late", "--image=busybox", "--restart=Never", "--", "sleep", "3600")
	want := "0/2 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable. " +
		"preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
	if msg := pendingMessage(t, ns, "late"); msg != want {
		t.Errorf("pod on a cordoned cluster: %q, want %q", msg, want)
	}
	if out := kc("uncordon", "node01"); out != "node/node01 uncordoned" {
		t.Errorf("uncordon: %q", out)
	}
	kc("wait", "--for=condition=Ready", "pod/late", "--timeout=60s")
	kc("delete", "pod", "late", "--now")

	// drain: evictions through the Eviction API, which honours a PodDisruptionBudget; DaemonSet pods stay.
	applyManifest(t, k, `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 2
      containers: [{name: c, image: nginx, volumeMounts: [{name: cache, mountPath: /cache}]}]
      volumes: [{name: cache, emptyDir: {}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 1
  selector: {matchLabels: {app: web}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: logger}
spec:
  selector: {matchLabels: {app: logger}}
  template:
    metadata: {labels: {app: logger}}
    spec:
      containers: [{name: c, image: busybox, command: [sleep, "3600"]}]
`)
	kc("rollout", "status", "deployment/web", "--timeout=60s")
	kc("rollout", "status", "daemonset/logger", "--timeout=60s")
	eventually(t, 30*time.Second, func() error {
		if out := kc("get", "pdb", "web", "-o", "jsonpath={.status.currentHealthy}/{.status.disruptionsAllowed}"); out != "2/1" {
			return fmt.Errorf("pdb healthy/allowed %s, want 2/1 (the disruption controller computes it)", out)
		}
		return nil
	})
	waitNoPodsElsewhere(t, ns)

	// With the budget, one pod is evicted, its replacement cannot be scheduled, so the second eviction
	// is refused until drain gives up.
	drain := append(slices.Clone(k), "drain", "node01", "--ignore-daemonsets", "--delete-emptydir-data")
	out, err := run(t, 60*time.Second, append(slices.Clone(drain), "--timeout=8s")...)
	if err == nil || !strings.Contains(out, "evicting pod "+ns+"/web-") || !strings.Contains(out, "Cannot evict pod as it would violate the pod's disruption budget") ||
		!strings.Contains(out, "Warning: ignoring DaemonSet-managed Pods: "+ns+"/logger-") {
		t.Errorf("drain with a budget (err %v):\n%s", err, out)
	}
	if out := kc("get", "pods", "-l", "app=web", "--field-selector=status.phase=Pending", "-o", "name"); len(strings.Fields(out)) != 1 {
		t.Errorf("after a refused eviction: pending %q, want the one evicted pod's replacement", out)
	}

	// Without it, drain evicts them all: the Deployment's pods go Pending (nowhere to go), the
	// DaemonSet's stays.
	kc("delete", "pdb", "web")
	out = mustRun(t, append(slices.Clone(drain), "--timeout=60s")...)
	if !strings.Contains(out, "node/node01 drained") || !strings.Contains(out, " evicted") {
		t.Errorf("drain:\n%s", out)
	}
	eventually(t, 30*time.Second, func() error {
		pods := podNodes(t, ns, "app=web")
		if len(pods) != 2 {
			return fmt.Errorf("web pods %v, want 2", pods)
		}
		for pod, node := range pods {
			if node != "" {
				return fmt.Errorf("pod %s on %s, want Pending", pod, node)
			}
		}
		return nil
	})
	if msg := pendingMessage(t, ns, firstKey(podNodes(t, ns, "app=web"))); msg != want {
		t.Errorf("pod after drain: %q, want %q", msg, want)
	}
	if got := podNodes(t, ns, "app=logger"); len(got) != 1 || firstValue(got) != "node01" {
		t.Errorf("logger pods %v, want its pod on node01 kept (--ignore-daemonsets)", got)
	}
	kc("uncordon", "node01")
	kc("rollout", "status", "deployment/web", "--timeout=60s")
}

func firstKey(m map[string]string) string {
	for k := range m {
		return k
	}
	return ""
}

func firstValue(m map[string]string) string {
	for _, v := range m {
		return v
	}
	return ""
}

// TestOneNode: `klab sandbox up --nodes 1` is Killercoda's one-node image: controlplane alone, with its
// labels and without the taint, so plain pods run there. Restarted with two nodes, the layout follows.
func TestOneNode(t *testing.T) {
	needCluster(t)
	if testing.Short() {
		t.Skip("starts two more sandboxes")
	}
	dir := t.TempDir()
	ctx := context.Background()
	p, err := sandboxctl.Start(ctx, dir, cluster.Bin, sandboxctl.StartOptions{Nodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Stop(30 * time.Second) }()
	kc := sandboxctl.KubeconfigPath(dir)
	k := []string{cluster.Bin, "kubectl", "--kubeconfig", kc}
	out := strings.TrimSpace(mustRun(t, append(slices.Clone(k), "get", "nodes", "--no-headers")...))
	if !regexpMatch(`^controlplane\s+Ready\s+control-plane\s+\S+\s+v1\.37\.2$`, out) {
		t.Fatalf("get nodes on one node:\n%s", out)
	}
	if out := strings.TrimSpace(mustRun(t, append(slices.Clone(k), "get", "node", "controlplane", "-o", "jsonpath={.spec.taints}")...)); out != "" {
		t.Errorf("one-node control plane taints: %s, want none", out)
	}
	mustRun(t, append(slices.Clone(k), "run", "plain", "--image=busybox", "--", "sleep", "3600")...)
	mustRun(t, append(slices.Clone(k), "wait", "--for=condition=Ready", "pod/plain", "--timeout=60s")...)
	if out := mustRun(t, append(slices.Clone(k), "get", "pod", "plain", "-o", "jsonpath={.spec.nodeName}")...); out != "controlplane" {
		t.Errorf("plain pod on %q, want controlplane", out)
	}
	// A caller that needs two nodes is told, rather than given one.
	_, _, err = sandboxctl.Ensure(ctx, dir, cluster.Bin, 2)
	var other *sandboxctl.ErrOtherNodes
	if !errors.As(err, &other) || other.Running != 1 || other.Want != 2 {
		t.Errorf("Ensure(2 nodes) on a one-node sandbox: %v", err)
	}
	if err := p.Stop(30 * time.Second); err != nil {
		t.Fatal(err)
	}

	// The same data dir with two nodes: controlplane is registered again, tainted, and node01 joins.
	p2, err := sandboxctl.Start(ctx, dir, cluster.Bin, sandboxctl.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p2.Stop(30 * time.Second) }()
	out = mustRun(t, append(slices.Clone(k), "get", "nodes", "--no-headers")...)
	if !regexpMatch(`(?m)^controlplane\s+Ready\s+control-plane\s`, out) || !regexpMatch(`(?m)^node01\s+Ready\s+<none>\s`, out) {
		t.Fatalf("get nodes after a restart with two nodes:\n%s", out)
	}
	if out := mustRun(t, append(slices.Clone(k), "get", "node", "controlplane", "-o", "jsonpath={.spec.taints[*].key}")...); out != controlPlaneTaint {
		t.Errorf("control plane taints after the restart: %q", out)
	}
	// The new layout schedules as kubeadm: a plain pod goes to the worker.
	mustRun(t, append(slices.Clone(k), "run", "plain2", "--image=busybox", "--", "sleep", "3600")...)
	mustRun(t, append(slices.Clone(k), "wait", "--for=condition=Ready", "pod/plain2", "--timeout=60s")...)
	if out := mustRun(t, append(slices.Clone(k), "get", "pod", "plain2", "-o", "jsonpath={.spec.nodeName}")...); out != "node01" {
		t.Errorf("plain pod on %q after the restart with two nodes, want node01", out)
	}
	// A one-node lesson runs on the two-node sandbox: its controlplane is there.
	if _, started, err := sandboxctl.Ensure(ctx, dir, cluster.Bin, 1); err != nil || started {
		t.Errorf("Ensure(1 node) on a two-node sandbox: started %v, %v; want it reused", started, err)
	}
}
