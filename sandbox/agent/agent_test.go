package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/klabdev/klab/sandbox/agent/images"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

// testPKI writes a CA, a serving certificate for 127.0.0.1 and a client certificate signed by the CA.
type testPKI struct {
	dir                   string
	caFile                string
	serverCert, serverKey string
	client                tls.Certificate
	caPool                *x509.CertPool
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	writePEM := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte { b, _ := x509.MarshalECPrivateKey(k); return b }
	p := &testPKI{dir: dir, caFile: writePEM("ca.crt", "CERTIFICATE", caDER), caPool: x509.NewCertPool()}
	p.caPool.AddCert(ca)
	sDER, sKey := issue(2, "klab-agent", x509.ExtKeyUsageServerAuth)
	p.serverCert, p.serverKey = writePEM("server.crt", "CERTIFICATE", sDER), writePEM("server.key", "EC PRIVATE KEY", keyDER(sKey))
	cDER, cKey := issue(3, "kube-apiserver-kubelet-client", x509.ExtKeyUsageClientAuth)
	p.client = tls.Certificate{Certificate: [][]byte{cDER}, PrivateKey: cKey}
	return p
}

type harness struct {
	t      *testing.T
	client *fake.Clientset
	dir    string
	pki    *testPKI
	cancel context.CancelFunc
	errc   chan error
	port   int            // kubelet API port of testNode, where createPod binds pods
	ports  map[string]int // kubelet API port of each node
}

// The harness's nodes, as on a kubeadm two-node cluster; createPod binds pods to the worker.
const (
	testControlPlane = "controlplane"
	testNode         = "node01"
)

func testNodes() []NodeConfig {
	return []NodeConfig{
		{Name: testControlPlane, ControlPlane: true, Taints: []corev1.Taint{ControlPlaneTaint()}},
		{Name: testNode},
	}
}

func startAgent(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, client: fake.NewClientset(), dir: t.TempDir(), pki: newTestPKI(t), errc: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	ready := make(chan struct{})
	go func() {
		h.errc <- Run(ctx, Config{Client: h.client, Nodes: testNodes(), DataDir: h.dir,
			TLSCertFile: h.pki.serverCert, TLSKeyFile: h.pki.serverKey, ClientCAFile: h.pki.caFile, Logf: t.Logf}, func() { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-h.errc:
		t.Fatalf("agent: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("agent not ready")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-h.errc:
			if err != nil {
				t.Errorf("agent Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("agent did not stop")
		}
	})
	h.ports = map[string]int{}
	for _, n := range testNodes() {
		node, err := h.client.CoreV1().Nodes().Get(context.Background(), n.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		h.ports[n.Name] = int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	}
	h.port = h.ports[testNode]
	return h
}

func (h *harness) createPod(pod *corev1.Pod) {
	h.t.Helper()
	if pod.Namespace == "" {
		pod.Namespace = "default"
	}
	if pod.Spec.NodeName == "" {
		pod.Spec.NodeName = testNode
	}
	pod.UID = k8stypes.UID("uid-" + uidOf(pod.Name))
	if _, err := h.client.CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

func uidOf(s string) string { return strings.ReplaceAll(s, "/", "-") + "-0000-0000" }

func (h *harness) waitPod(name string, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var pod *corev1.Pod
	for time.Now().Before(deadline) {
		p, err := h.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			pod = p
			if ok(p) {
				return p
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("pod %s never %s; last status %+v", name, what, pod.Status)
	return nil
}

func busyboxPod(name string, policy corev1.RestartPolicy, script string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{"batch.kubernetes.io/job-completion-index": "3"}},
		Spec: corev1.PodSpec{RestartPolicy: policy, DNSPolicy: corev1.DNSClusterFirst, Containers: []corev1.Container{{
			Name: "main", Image: "busybox:1.36", Command: []string{"sh", "-c", script},
			Env: []corev1.EnvVar{{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
				FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}},
		}}},
	}
}

func TestNodesRegistered(t *testing.T) {
	h := startAgent(t)
	if h.ports[testControlPlane] == h.ports[testNode] {
		t.Fatalf("both nodes serve their kubelet API on port %d", h.port)
	}
	for _, name := range []string{testControlPlane, testNode} {
		node, err := h.client.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ready := false
		for _, c := range node.Status.Conditions {
			ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
		}
		if !ready || node.Status.Addresses[0].Address != "127.0.0.1" || h.ports[name] == 0 {
			t.Fatalf("node %s status %+v", name, node.Status)
		}
		if node.Labels["kubernetes.io/hostname"] != name || node.Status.Addresses[1].Address != name {
			t.Errorf("node %s: labels %v, addresses %v", name, node.Labels, node.Status.Addresses)
		}
		_, cp := node.Labels[ControlPlaneLabel]
		if want := name == testControlPlane; cp != want || (len(node.Spec.Taints) == 1) != want {
			t.Errorf("node %s: control-plane label %v, taints %v", name, cp, node.Spec.Taints)
		}
		cpu, mem := node.Status.Capacity.Cpu().Value(), node.Status.Capacity.Memory().Value()
		if cpu != int64(runtime.NumCPU()) || mem <= 0 || node.Status.Allocatable.Memory().Value() >= mem || node.Status.Capacity.Pods().Value() != 110 {
			t.Errorf("node %s: capacity %v allocatable %v, want the machine's %d CPUs", name, node.Status.Capacity, node.Status.Allocatable, runtime.NumCPU())
		}
		lease, err := h.client.CoordinationV1().Leases("kube-node-lease").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil || *lease.Spec.HolderIdentity != name {
			t.Fatalf("lease of %s: %v %v", name, lease, err)
		}
	}
}

// Each node's kubelet API knows its own pods only, and the kubelet events name the pod's node.
func TestPodsOfEachNode(t *testing.T) {
	h := startAgent(t)
	for _, n := range []string{testControlPlane, testNode} {
		pod := busyboxPod("on-"+n, corev1.RestartPolicyNever, "echo on $NODE")
		pod.Spec.NodeName = n
		pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}}}
		h.createPod(pod)
	}
	for _, n := range []string{testControlPlane, testNode} {
		h.waitPod("on-"+n, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		other := testControlPlane
		if n == testControlPlane {
			other = testNode
		}
		h.port = h.ports[n]
		if got := h.logs(t, "on-"+n, "main", ""); got != "on "+n+"\n" {
			t.Errorf("logs of on-%s from its node: %q", n, got)
		}
		h.port = h.ports[other]
		code, body := h.get(t, "/containerLogs/default/on-"+n+"/main", true)
		if code != http.StatusNotFound || !strings.Contains(body, "on node "+other) {
			t.Errorf("logs of on-%s from node %s: %d %s", n, other, code, body)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs, err := h.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		hosts := map[string]string{}
		for _, e := range evs.Items {
			if e.Reason == "Started" {
				hosts[e.InvolvedObject.Name] = e.Source.Host
			}
		}
		if hosts["on-"+testControlPlane] == testControlPlane && hosts["on-"+testNode] == testNode {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Started events' hosts: %v", hosts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Nodes an earlier agent registered and this one does not run are deleted, so are those registered
// with another node layout (to be registered again); others' Nodes are kept.
func TestStaleNodesDeleted(t *testing.T) {
	klabNode := func(name, layout string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{LayoutAnnotation: layout}},
			Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{ContainerRuntimeVersion: "klab://v1.37.2"}}}
	}
	for _, tc := range []struct {
		layout string // of the existing control plane
		taints int    // it has after the start
	}{
		{"controlplane", 1},        // the same layout: kept as it was (a `kubectl taint` survives)
		{"controlplane,node01", 0}, // another layout: registered again, untainted as a lone control plane
		{"", 0},                    // registered by a klab before layouts
	} {
		t.Run("layout="+tc.layout, func(t *testing.T) {
			cp := klabNode(testControlPlane, tc.layout)
			cp.Spec.Taints = []corev1.Taint{ControlPlaneTaint()}
			client := fake.NewClientset(klabNode("klab-sandbox", ""), klabNode(testNode, "controlplane,node01"), cp,
				&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses"}})
			pki := newTestPKI(t)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			ready := make(chan struct{})
			go func() {
				done <- Run(ctx, Config{Client: client, Nodes: []NodeConfig{{Name: testControlPlane, ControlPlane: true}},
					DataDir: t.TempDir(), TLSCertFile: pki.serverCert, TLSKeyFile: pki.serverKey, ClientCAFile: pki.caFile}, func() { close(ready) })
			}()
			select {
			case <-ready:
			case err := <-done:
				t.Fatalf("Run: %v", err)
			case <-time.After(20 * time.Second):
				t.Fatal("not ready")
			}
			list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, n := range list.Items {
				names = append(names, n.Name)
				if n.Name == testControlPlane {
					if len(n.Spec.Taints) != tc.taints || n.Annotations[LayoutAnnotation] != "controlplane" {
						t.Errorf("control plane: taints %v, annotations %v; want %d taints and the layout", n.Spec.Taints, n.Annotations, tc.taints)
					}
				}
			}
			sort.Strings(names)
			if strings.Join(names, ",") != "controlplane,someone-elses" {
				t.Errorf("nodes %v", names)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
	}
}

func TestConfigRejectsBadNodes(t *testing.T) {
	pki := newTestPKI(t)
	for _, tc := range []struct {
		nodes []NodeConfig
		want  string
	}{
		{nil, "Nodes is empty"},
		{[]NodeConfig{{Name: ""}}, "Nodes[0].Name is empty"},
		{[]NodeConfig{{Name: "a"}, {Name: "a"}}, "node a is listed twice"},
	} {
		err := Run(context.Background(), Config{Client: fake.NewClientset(), Nodes: tc.nodes, DataDir: t.TempDir(),
			TLSCertFile: pki.serverCert, TLSKeyFile: pki.serverKey, ClientCAFile: pki.caFile}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("nodes %v: got %v, want %q", tc.nodes, err, tc.want)
		}
	}
}

func TestPodSucceeds(t *testing.T) {
	h := startAgent(t)
	h.createPod(busyboxPod("ok", corev1.RestartPolicyNever, "echo index=$JOB_COMPLETION_INDEX host=$HOSTNAME"))
	pod := h.waitPod("ok", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	cs := pod.Status.ContainerStatuses[0]
	if cs.State.Terminated == nil || cs.State.Terminated.Reason != "Completed" || cs.State.Terminated.ExitCode != 0 {
		t.Fatalf("container status %+v", cs)
	}
	if got := h.logs(t, "ok", "main", ""); got != "index=3 host=ok\n" {
		t.Fatalf("logs %q", got)
	}
}

func TestPodFails(t *testing.T) {
	h := startAgent(t)
	h.createPod(busyboxPod("ko", corev1.RestartPolicyNever, "echo bad >&2; exit 3"))
	pod := h.waitPod("ko", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	term := pod.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.ExitCode != 3 || term.Reason != "Error" {
		t.Fatalf("terminated %+v", term)
	}
}

func TestOnFailureRestartsInPlace(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("retry", corev1.RestartPolicyOnFailure,
		`if [ -f /trace/seen ]; then echo second; else touch /trace/seen; echo first; exit 1; fi`)
	pod.Spec.Volumes = []corev1.Volume{{Name: "trace", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "trace", MountPath: "/trace"}}
	h.createPod(pod)
	got := h.waitPod("retry", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	cs := got.Status.ContainerStatuses[0]
	if cs.RestartCount != 1 || cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 1 {
		t.Fatalf("status %+v", cs)
	}
	if l := h.logs(t, "retry", "main", ""); l != "second\n" {
		t.Fatalf("current logs %q", l)
	}
	if l := h.logs(t, "retry", "main", "previous=true"); l != "first\n" {
		t.Fatalf("previous logs %q", l)
	}
}

func TestCrashLoopBackOff(t *testing.T) {
	h := startAgent(t)
	h.createPod(busyboxPod("loop", corev1.RestartPolicyAlways, "exit 2"))
	h.waitPod("loop", "in CrashLoopBackOff", func(p *corev1.Pod) bool {
		if len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		cs := p.Status.ContainerStatuses[0]
		return cs.RestartCount >= 2 && cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" && p.Status.Phase == corev1.PodRunning
	})
}

func TestActiveDeadline(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("slow", corev1.RestartPolicyNever, "sleep 60")
	pod.Spec.ActiveDeadlineSeconds = ptr.To[int64](1)
	start := time.Now()
	h.createPod(pod)
	got := h.waitPod("slow", "DeadlineExceeded", func(p *corev1.Pod) bool {
		return p.Status.Reason == "DeadlineExceeded" && p.Status.Phase == corev1.PodFailed
	})
	if time.Since(start) > 5*time.Second {
		t.Fatalf("deadline took %v", time.Since(start))
	}
	_ = got
}

// deletePod marks the pod deleted with a grace period, as the apiserver's graceful deletion does (the
// agent finishes the delete).
func (h *harness) deletePod(name string, grace int64) {
	h.t.Helper()
	p, err := h.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	now := metav1.Now()
	p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, ptr.To(grace)
	if _, err := h.client.CoreV1().Pods("default").Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		h.t.Fatal(err)
	}
}

// watchGone starts watching pod name; the returned func waits until the agent finished its deletion
// and returns the last status it published.
func (h *harness) watchGone(name string) func(within time.Duration) *corev1.Pod {
	h.t.Helper()
	wi, err := h.client.CoreV1().Pods("default").Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return func(within time.Duration) *corev1.Pod {
		h.t.Helper()
		defer wi.Stop()
		var last *corev1.Pod
		timeout := time.After(within)
		for {
			select {
			case ev := <-wi.ResultChan():
				p, ok := ev.Object.(*corev1.Pod)
				if !ok || p.Name != name {
					continue
				}
				if ev.Type == "DELETED" {
					return last
				}
				last = p
			case <-timeout:
				h.t.Fatalf("pod %s not deleted within %v", name, within)
			}
		}
	}
}

func TestGracefulDeletion(t *testing.T) {
	h := startAgent(t)
	// No trap: the container's main process ignores SIGTERM, so it runs until the grace period ends.
	h.createPod(busyboxPod("long", corev1.RestartPolicyNever, "sleep 600"))
	h.waitPod("long", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	start := time.Now()
	gone := h.watchGone("long")
	h.deletePod("long", 3)
	time.Sleep(1500 * time.Millisecond)
	p, err := h.client.CoreV1().Pods("default").Get(context.Background(), "long", metav1.GetOptions{})
	if err != nil || p.Status.ContainerStatuses[0].State.Running == nil {
		t.Fatalf("within the grace period the container must still run: %v %+v", err, p)
	}
	gone(10 * time.Second)
	if d := time.Since(start); d < 3*time.Second {
		t.Errorf("killed after %v, before the 3 s grace period", d)
	}

	// A trap on TERM runs at once and its exit code is the container's.
	// As on a real node, a TERM that arrives before the shell has run `trap` is ignored by PID 1: the
	// test deletes the pod once the container's log shows the trap is set.
	h.createPod(busyboxPod("trap", corev1.RestartPolicyNever, "trap 'echo term; exit 143' TERM; echo armed; while true; do sleep 0.1; done"))
	h.waitPod("trap", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(h.logs(t, "trap", "main", ""), "armed"); {
		if time.Now().After(deadline) {
			t.Fatal("the trap pod never logged that its trap is set")
		}
		time.Sleep(20 * time.Millisecond)
	}
	gone = h.watchGone("trap")
	h.deletePod("trap", 30)
	// Well within the 30 s grace period: only a trap that ran ends the container this early.
	last := gone(15 * time.Second)
	term := last.Status.ContainerStatuses[0].State.Terminated
	if last.Status.Phase != corev1.PodFailed || term == nil || term.ExitCode != 143 || term.Reason != "Error" {
		t.Fatalf("last status: phase %s, %+v", last.Status.Phase, last.Status.ContainerStatuses[0].State)
	}
}

func TestInitContainersRunFirst(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("init", corev1.RestartPolicyNever, "cat /work/msg")
	pod.Spec.Volumes = []corev1.Volume{{Name: "work", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}
	pod.Spec.InitContainers = []corev1.Container{{Name: "prep", Image: "busybox", Command: []string{"sh", "-c", "echo prepared > /work/msg"},
		VolumeMounts: []corev1.VolumeMount{{Name: "work", MountPath: "/work"}}}}
	h.createPod(pod)
	h.waitPod("init", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if l := h.logs(t, "init", "main", ""); l != "prepared\n" {
		t.Fatalf("logs %q", l)
	}
}

func TestEnvAndConfigVolumes(t *testing.T) {
	h := startAgent(t)
	ctx := context.Background()
	_, _ = h.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data: map[string]string{"color": "blue", "size": "L"}}, metav1.CreateOptions{})
	_, _ = h.client.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec"},
		Data: map[string][]byte{"pw": []byte("s3cret")}}, metav1.CreateOptions{})
	pod := busyboxPod("env", corev1.RestartPolicyNever, "echo $COLOR $PW $X_size $GREETING; cat /cfg/color; echo; cat /sec/pw")
	c := &pod.Spec.Containers[0]
	c.Env = append(c.Env,
		corev1.EnvVar{Name: "COLOR", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "color"}}},
		corev1.EnvVar{Name: "PW", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sec"}, Key: "pw"}}},
		corev1.EnvVar{Name: "GREETING", Value: "hello-$(COLOR)"})
	c.EnvFrom = []corev1.EnvFromSource{{Prefix: "X_", ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		{Name: "sec", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sec"}}},
	}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/cfg"}, {Name: "sec", MountPath: "/sec"}}
	h.createPod(pod)
	h.waitPod("env", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if l := h.logs(t, "env", "main", ""); l != "blue s3cret L hello-blue\nblue\ns3cret" {
		t.Fatalf("logs %q", l)
	}
}

// waitEvent waits for an event of the pod with that reason and message (the recorder posts them
// asynchronously).
func (h *harness) waitEvent(pod, reason, msg string) {
	h.t.Helper()
	var got []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		evs, _ := h.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
		got = got[:0]
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == pod {
				if e.Reason == reason && e.Message == msg {
					return
				}
				got = append(got, e.Reason+": "+e.Message)
			}
		}
	}
	h.t.Fatalf("no event %s %q for pod %s; events: %q", reason, msg, pod, got)
}

func waitingIs(reason, msg string) func(*corev1.Pod) bool {
	return func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == reason && p.Status.ContainerStatuses[0].State.Waiting.Message == msg
	}
}

// TestCreateContainerConfigError: a missing ConfigMap, Secret or key referenced by env or envFrom keeps
// the container waiting in CreateContainerConfigError with the kubelet's message (makeEnvironmentVariables'
// errors, the ConfigMap and Secret managers' NotFound), a Failed event "Error: …" as kuberuntime records
// it, and the pod still Pending.
func TestCreateContainerConfigError(t *testing.T) {
	h := startAgent(t)
	ref := func(n string) corev1.LocalObjectReference { return corev1.LocalObjectReference{Name: n} }
	_, _ = h.client.CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm-sans-cle"},
		Data: map[string]string{"autre": "x"}}, metav1.CreateOptions{})
	_, _ = h.client.CoreV1().Secrets("default").Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sec-sans-cle"},
		Data: map[string][]byte{"autre": []byte("x")}}, metav1.CreateOptions{})
	for _, tc := range []struct {
		name    string
		env     []corev1.EnvVar
		envFrom []corev1.EnvFromSource
		msg     string
	}{
		{name: "cm-key-ref", msg: `configmap "app-config" not found`,
			env: []corev1.EnvVar{{Name: "V", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: ref("app-config"), Key: "v"}}}}},
		{name: "secret-key-ref", msg: `secret "db" not found`,
			env: []corev1.EnvVar{{Name: "V", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: ref("db"), Key: "v"}}}}},
		{name: "cm-env-from", msg: `configmap "app-env" not found`,
			envFrom: []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: ref("app-env")}}}},
		{name: "secret-env-from", msg: `secret "app-secret" not found`,
			envFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: ref("app-secret")}}}},
		{name: "cm-missing-key", msg: "couldn't find key v in ConfigMap default/cm-sans-cle",
			env: []corev1.EnvVar{{Name: "V", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: ref("cm-sans-cle"), Key: "v"}}}}},
		{name: "secret-missing-key", msg: "couldn't find key v in Secret default/sec-sans-cle",
			env: []corev1.EnvVar{{Name: "V", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: ref("sec-sans-cle"), Key: "v"}}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := busyboxPod(tc.name, corev1.RestartPolicyNever, "echo $V")
			pod.Spec.Containers[0].Env, pod.Spec.Containers[0].EnvFrom = tc.env, tc.envFrom
			h.createPod(pod)
			p := h.waitPod(tc.name, "waiting in CreateContainerConfigError", waitingIs("CreateContainerConfigError", tc.msg))
			if p.Status.Phase != corev1.PodPending {
				t.Errorf("phase %s, want Pending", p.Status.Phase)
			}
			h.waitEvent(tc.name, "Failed", "Error: "+tc.msg)
		})
	}
}

// TestMissingConfigMapWaits: the container follows what is fixed, as the kubelet's next sync does:
// creating the ConfigMap without the key changes the message, adding the key starts the container
// without touching the pod.
func TestMissingConfigMapWaits(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("wait", corev1.RestartPolicyNever, "echo $V")
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "V", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "later"}, Key: "v"}}}}
	h.createPod(pod)
	h.waitPod("wait", "waiting for its ConfigMap", waitingIs("CreateContainerConfigError", `configmap "later" not found`))
	cms := h.client.CoreV1().ConfigMaps("default")
	cm, err := cms.Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "later"},
		Data: map[string]string{"w": "wrong key"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h.waitPod("wait", "waiting for the key", waitingIs("CreateContainerConfigError", "couldn't find key v in ConfigMap default/later"))
	h.waitEvent("wait", "Failed", "Error: couldn't find key v in ConfigMap default/later")
	cm.Data = map[string]string{"v": "now"}
	if _, err := cms.Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitPod("wait", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if l := h.logs(t, "wait", "main", ""); strings.TrimSpace(l) != "now" {
		t.Fatalf("logs %q", l)
	}
}

func TestServerImageRunsUntilDeleted(t *testing.T) {
	h := startAgent(t)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}}}
	h.createPod(pod)
	h.waitPod("web", "Running and Ready", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready
	})
	time.Sleep(300 * time.Millisecond)
	p, _ := h.client.CoreV1().Pods("default").Get(context.Background(), "web", metav1.GetOptions{})
	if p.Status.Phase != corev1.PodRunning {
		t.Fatalf("phase %s", p.Status.Phase)
	}
}

func TestHostPathStaysInDataDir(t *testing.T) {
	h := startAgent(t)
	canary := filepath.Join(t.TempDir(), "var", "log")
	if err := os.MkdirAll(canary, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(canary, "host.log"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	pod := busyboxPod("hp", corev1.RestartPolicyNever, "touch /var/log/pod.log; find /var/log -name '*.log' -delete; ls /var/log | wc -l")
	pod.Spec.Volumes = []corev1.Volume{{Name: "logs", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: canary}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "logs", MountPath: "/var/log"}}
	h.createPod(pod)
	h.waitPod("hp", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if b, err := os.ReadFile(filepath.Join(canary, "host.log")); err != nil || string(b) != "keep" {
		t.Fatalf("host canary touched: %q %v", b, err)
	}
	if _, err := os.Stat(HostPathDir(h.dir, canary)); err != nil {
		t.Fatalf("hostPath folder not under the data dir: %v", err)
	}
}

// logs fetches /containerLogs over mutual TLS, as the apiserver does.
func (h *harness) logs(t *testing.T, pod, ctr, query string) string {
	t.Helper()
	code, body := h.get(t, fmt.Sprintf("/containerLogs/default/%s/%s?%s", pod, ctr, query), true)
	if code != http.StatusOK {
		t.Fatalf("logs %s: %d %s", pod, code, body)
	}
	return body
}

func (h *harness) get(t *testing.T, path string, withCert bool) (int, string) {
	t.Helper()
	cfg := &tls.Config{RootCAs: h.pki.caPool}
	if withCert {
		cfg.Certificates = []tls.Certificate{h.pki.client}
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
	resp, err := c.Get(fmt.Sprintf("https://127.0.0.1:%d%s", h.port, path))
	if err != nil {
		return 0, err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLogServer(t *testing.T) {
	h := startAgent(t)
	h.createPod(busyboxPod("lines", corev1.RestartPolicyNever, "seq 5; printf tail"))
	h.waitPod("lines", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if l := h.logs(t, "lines", "main", "tailLines=2"); l != "5\ntail" {
		t.Errorf("tailLines: %q", l)
	}
	if l := h.logs(t, "lines", "main", "limitBytes=3"); l != "1\n2" {
		t.Errorf("limitBytes: %q", l)
	}
	if l := h.logs(t, "lines", "main", "timestamps=true&tailLines=1"); !strings.HasSuffix(l, " tail") || !strings.HasPrefix(l, "20") {
		t.Errorf("timestamps: %q", l)
	}
	if l := h.logs(t, "lines", "main", "sinceSeconds=3600"); !strings.HasPrefix(l, "1\n") {
		t.Errorf("sinceSeconds: %q", l)
	}
	if code, body := h.get(t, "/containerLogs/default/lines/main?previous=true", true); code != http.StatusBadRequest || !strings.Contains(body, "previous terminated container") {
		t.Errorf("previous without restart: %d %s", code, body)
	}
	if code, _ := h.get(t, "/containerLogs/default/lines/main", false); code == http.StatusOK {
		t.Errorf("a client without certificate was served")
	}
	if code, body := h.get(t, "/portForward/default/lines", true); code != http.StatusBadRequest || !strings.Contains(body, "not supported by the klab sandbox") {
		t.Errorf("/portForward: %d %s", code, body)
	}
	// The container has exited: the kubelet's answer when the runtime has no such running container.
	if code, body := h.get(t, "/exec/default/lines/main?command=sh&output=1", true); code != http.StatusInternalServerError || !strings.Contains(body, `container not found ("main")`) {
		t.Errorf("/exec into an exited container: %d %s", code, body)
	}
	if code, body := h.get(t, "/exec/default/nosuchpod/main?command=sh&output=1", true); code != http.StatusNotFound {
		t.Errorf("/exec into a missing pod: %d %s", code, body)
	}
}

func TestLogFollow(t *testing.T) {
	h := startAgent(t)
	h.createPod(busyboxPod("follow", corev1.RestartPolicyNever, "echo one; sleep 1; echo two"))
	h.waitPod("follow", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	start := time.Now()
	l := h.logs(t, "follow", "main", "follow=true")
	if l != "one\ntwo\n" || time.Since(start) < 500*time.Millisecond {
		t.Fatalf("follow got %q after %v", l, time.Since(start))
	}
}

func TestContainerArgv(t *testing.T) {
	tests := []struct {
		name   string
		c      corev1.Container
		want   []string
		server bool
	}{
		{"busybox no command", corev1.Container{Image: "busybox:1.36"}, []string{"sh"}, false},
		{"alpine digest", corev1.Container{Image: "docker.io/library/alpine@sha256:" + strings.Repeat("ab", 32)}, []string{"/bin/sh"}, false},
		{"args only", corev1.Container{Image: "busybox", Args: []string{"echo", "$(A)"}}, []string{"echo", "x"}, false},
		{"command and args", corev1.Container{Image: "nginx", Command: []string{"sh", "-c"}, Args: []string{"echo $$A $(A) $(B)"}}, []string{"sh", "-c", "echo $A x $(B)"}, false},
		{"server", corev1.Container{Image: "registry.k8s.io/pause:3.10"}, nil, true},
		{"server with args", corev1.Container{Image: "nginx", Args: []string{"nginx", "-g"}}, []string{"", "nginx", "-g"}, true},
		{"agnhost entrypoint as command", corev1.Container{Image: "registry.k8s.io/e2e-test-images/agnhost:2.66.1", Command: []string{"/agnhost", "grpc-health-checking"}, Args: []string{"--port=$(A)"}}, []string{"/agnhost", "grpc-health-checking", "--port=x"}, true},
		{"agnhost link as command", corev1.Container{Image: "registry.k8s.io/e2e-test-images/agnhost:2.66.1", Command: []string{"/agnhost-2"}, Args: []string{"entrypoint-tester"}}, []string{"/agnhost-2", "entrypoint-tester"}, true},
		{"agnhost shell command", corev1.Container{Image: "registry.k8s.io/e2e-test-images/agnhost:2.66.1", Command: []string{"sh", "-c", "echo"}}, []string{"sh", "-c", "echo"}, false},
		{"agnhost subcommand", corev1.Container{Image: "registry.k8s.io/e2e-test-images/agnhost:2.55", Args: []string{"serve-hostname", "--port=$(A)"}}, []string{"/agnhost", "serve-hostname", "--port=x"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := images.Lookup(tt.c.Image)
			if err != nil {
				t.Fatal(err)
			}
			got, server := containerArgv(&tt.c, []string{"A=x"}, ref.Image)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) || server != tt.server {
				t.Fatalf("got %q %v, want %q %v", got, server, tt.want, tt.server)
			}
		})
	}
}

func TestFieldValue(t *testing.T) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Labels: map[string]string{"a": "b"},
		Annotations: map[string]string{"batch.kubernetes.io/job-completion-index": "7"}}}
	for fp, want := range map[string]string{
		"metadata.name": "p", "metadata.namespace": "ns", "metadata.labels['a']": "b",
		`metadata.annotations["batch.kubernetes.io/job-completion-index"]`: "7", "status.podIP": "10.244.0.9", "status.hostIP": "172.30.1.2",
	} {
		got, err := fieldValue(pod, fp, "10.244.0.9", "172.30.1.2")
		if err != nil || got != want {
			t.Errorf("%s: got %q %v, want %q", fp, got, err, want)
		}
	}
	if _, err := fieldValue(pod, "spec.nope", "", ""); err == nil {
		t.Error("unknown field path accepted")
	}
}

func TestLogCapped(t *testing.T) {
	h := startAgent(t)
	h.createPod(busyboxPod("flood", corev1.RestartPolicyNever, "seq 3000000; echo after"))
	h.waitPod("flood", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	files, _ := filepath.Glob(filepath.Join(h.dir, "pods", "*", "logs", "main", "0.log"))
	if len(files) != 1 {
		t.Fatalf("log files %v", files)
	}
	fi, err := os.Stat(files[0])
	if err != nil || fi.Size() > MaxLogBytes+1024 {
		t.Fatalf("log file %v size %d over the cap", err, fi.Size())
	}
	if l := h.logs(t, "flood", "main", "tailLines=1"); !strings.Contains(l, "truncated") {
		t.Fatalf("last line %q", l)
	}
}

func TestSubPathFileMountAndEscape(t *testing.T) {
	h := startAgent(t)
	_, _ = h.client.CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "conf"},
		Data: map[string]string{"app.conf": "port=8080\n"}}, metav1.CreateOptions{})
	pod := busyboxPod("sub", corev1.RestartPolicyNever, "cat /etc/app.conf; ls /etc | grep -c app.conf")
	pod.Spec.Volumes = []corev1.Volume{{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "conf"}}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "conf", MountPath: "/etc/app.conf", SubPath: "app.conf"}}
	h.createPod(pod)
	h.waitPod("sub", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if l := h.logs(t, "sub", "main", ""); l != "port=8080\n1\n" {
		t.Fatalf("logs %q", l)
	}

	// An init container plants a symlink to / in an emptyDir; a subPath through it must not reach the host.
	evil := busyboxPod("evil", corev1.RestartPolicyNever, "ls /host")
	evil.Spec.Volumes = []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	evil.Spec.InitContainers = []corev1.Container{{Name: "plant", Image: "busybox", Command: []string{"sh", "-c", "ln -s / /d/up"},
		VolumeMounts: []corev1.VolumeMount{{Name: "d", MountPath: "/d"}}}}
	evil.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "d", MountPath: "/host", SubPath: "up"}}
	h.createPod(evil)
	h.waitPod("evil", "refused (CreateContainerError)", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Waiting != nil &&
			p.Status.ContainerStatuses[0].State.Waiting.Reason == "CreateContainerError"
	})
}

func TestHostPathPlantedSymlink(t *testing.T) {
	h := startAgent(t)
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("CANARY"), 0o644); err != nil {
		t.Fatal(err)
	}
	plant := busyboxPod("plant", corev1.RestartPolicyNever, "ln -s "+outside+" /host/escape; ln -s / /host/root")
	plant.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
	plant.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "h", MountPath: "/host"}}
	h.createPod(plant)
	h.waitPod("plant", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	for _, hp := range []string{"/escape", "/root" + outside} {
		name := "use" + uidOf(strings.ReplaceAll(hp, "/", ""))[:4]
		use := busyboxPod(name, corev1.RestartPolicyNever, "cat /mnt/secret; rm -rf /mnt/*")
		use.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hp}}}}
		use.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "h", MountPath: "/mnt"}}
		h.createPod(use)
		time.Sleep(500 * time.Millisecond)
		p, _ := h.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
		if p.Status.Phase == corev1.PodSucceeded {
			if l := h.logs(t, name, "main", ""); strings.Contains(l, "CANARY") {
				t.Fatalf("hostPath %s read a host file through a planted symlink: %q", hp, l)
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(outside, "secret")); err != nil || string(b) != "CANARY" {
		t.Fatalf("host file changed: %q %v", b, err)
	}
}

func TestNotReadyTaintRemovedOnExistingNode(t *testing.T) {
	client := fake.NewClientset(&corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: testNode},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{
			{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoSchedule},
			{Key: "example.com/keep", Effect: corev1.TaintEffectNoSchedule},
		}},
	})
	pki := newTestPKI(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() {
		done <- Run(ctx, Config{Client: client, Nodes: []NodeConfig{{Name: testNode}}, DataDir: t.TempDir(), TLSCertFile: pki.serverCert,
			TLSKeyFile: pki.serverKey, ClientCAFile: pki.caFile}, func() { close(ready) })
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("not ready")
	}
	node, err := client.CoreV1().Nodes().Get(ctx, testNode, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(node.Spec.Taints) != 1 || node.Spec.Taints[0].Key != "example.com/keep" {
		t.Fatalf("taints %+v", node.Spec.Taints)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestConfigRequiresTLS(t *testing.T) {
	err := Run(context.Background(), Config{Client: fake.NewClientset(), Nodes: []NodeConfig{{Name: "n"}}, DataDir: t.TempDir()}, nil)
	if err == nil || !strings.Contains(err.Error(), "ClientCAFile") {
		t.Fatalf("got %v", err)
	}
}

func TestConfigMapVolumeFollowsUpdates(t *testing.T) {
	h := startAgent(t)
	ctx := context.Background()
	cm, err := h.client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "live"},
		Data: map[string]string{"color": "blue"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := busyboxPod("watcher", corev1.RestartPolicyNever,
		`cat /cfg/color; echo; while [ "$(cat /cfg/color)" = blue ]; do sleep 0.2; done; cat /cfg/color; echo; ls /cfg; ls -a /cfg | grep -c '^\.\.data$'`)
	pod.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "live"}}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cfg", MountPath: "/cfg"}}
	h.createPod(pod)
	h.waitPod("watcher", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	cm.Data = map[string]string{"color": "green", "size": "L"}
	if _, err := h.client.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitPod("watcher", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if l := h.logs(t, "watcher", "main", ""); l != "blue\ngreen\ncolor\nsize\n1\n" {
		t.Fatalf("logs %q", l)
	}
}

func TestTerminationMessage(t *testing.T) {
	h := startAgent(t)
	a := busyboxPod("msg", corev1.RestartPolicyNever, "echo 'all good' > /dev/termination-log")
	b := busyboxPod("fallback", corev1.RestartPolicyNever, "echo first; echo boom; exit 2")
	b.Spec.Containers[0].TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
	h.createPod(a)
	h.createPod(b)
	pa := h.waitPod("msg", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	pb := h.waitPod("fallback", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if m := pa.Status.ContainerStatuses[0].State.Terminated.Message; m != "all good\n" {
		t.Errorf("message %q", m)
	}
	if m := pb.Status.ContainerStatuses[0].State.Terminated.Message; m != "first\nboom\n" {
		t.Errorf("fallback message %q", m)
	}
}

func TestLivenessProbeRestarts(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("live", corev1.RestartPolicyAlways, "touch /tmp/healthy; sleep 2; rm -f /tmp/healthy; sleep 600")
	pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/healthy"}}},
		InitialDelaySeconds: 1, PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 1}
	h.createPod(pod)
	p := h.waitPod("live", "restarted by its liveness probe", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated
	if last == nil || last.ExitCode != 137 || last.FinishedAt.Sub(last.StartedAt.Time) < 2*time.Second {
		t.Fatalf("last state %+v (it should have run healthy for 2 s first)", last)
	}
	// Events are posted asynchronously by the recorder: the restart may be seen before them.
	seen := map[string]bool{}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		evs, _ := h.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
		for _, e := range evs.Items {
			seen[e.Reason] = seen[e.Reason] || strings.Contains(e.Message, "robe")
		}
		if seen["Unhealthy"] && seen["Killing"] {
			return
		}
	}
	t.Errorf("events %v, want Unhealthy and Killing naming the probe", seen)
}

func TestReadinessProbe(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("ready", corev1.RestartPolicyNever, "sleep 1; touch /tmp/ready; sleep 600")
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"test", "-f", "/tmp/ready"}}},
		PeriodSeconds: 1, FailureThreshold: 1, TimeoutSeconds: 1}
	h.createPod(pod)
	h.waitPod("ready", "Running but not ready", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 && !p.Status.ContainerStatuses[0].Ready
	})
	h.waitPod("ready", "ready", func(p *corev1.Pod) bool {
		if len(p.Status.ContainerStatuses) != 1 || !p.Status.ContainerStatuses[0].Ready {
			return false
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				return c.Status == corev1.ConditionTrue
			}
		}
		return false
	})
}

func TestPreStopHookRunsBeforeKill(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("hook", corev1.RestartPolicyNever, "sleep 600")
	pod.Spec.Volumes = []corev1.Volume{{Name: "out", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/hook-out"}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "out", MountPath: "/out"}}
	pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{
		Command: []string{"sh", "-c", "sleep 0.3; echo bye > /out/prestop"}}}}
	h.createPod(pod)
	h.waitPod("hook", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	p, _ := h.client.CoreV1().Pods("default").Get(context.Background(), "hook", metav1.GetOptions{})
	now := metav1.Now()
	p.DeletionTimestamp, p.DeletionGracePeriodSeconds = &now, ptr.To[int64](10)
	if _, err := h.client.CoreV1().Pods("default").Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor := time.Now().Add(10 * time.Second)
	for time.Now().Before(waitFor) {
		if _, err := h.client.CoreV1().Pods("default").Get(context.Background(), "hook", metav1.GetOptions{}); err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, err := os.ReadFile(filepath.Join(HostPathDir(h.dir, "/hook-out"), "prestop"))
	if err != nil || string(b) != "bye\n" {
		t.Fatalf("preStop output %q %v", b, err)
	}
}

// subPathExpr expands as the kubelet's ExpandContainerVolumeMounts and makeMounts do, with their errors.
func TestSubPathExpr(t *testing.T) {
	env := []string{"POD_NAME=foo", "ANNOTATION=mypath", "EMPTY=", "UP=.."}
	for _, tt := range []struct {
		vm      corev1.VolumeMount
		want    string
		wantErr string
	}{
		{corev1.VolumeMount{SubPath: "plain"}, "plain", ""},
		{corev1.VolumeMount{SubPathExpr: "$(ANNOTATION)/$(POD_NAME)"}, "mypath/foo", ""},
		{corev1.VolumeMount{SubPathExpr: "$(NOPE)/$(EMPTY)/$(POD_NAME)"}, "", "missing value for EMPTY, NOPE"},
		{corev1.VolumeMount{SubPathExpr: "/$(POD_NAME)"}, "", "error SubPath `/foo` must not be an absolute path"},
		{corev1.VolumeMount{SubPathExpr: "a/$(UP)/b"}, "", "unable to provision SubPath `a/../b`: must not contain '..'"},
		{corev1.VolumeMount{SubPathExpr: "$$(POD_NAME)"}, "$(POD_NAME)", ""},
	} {
		got, err := subPath(tt.vm, env)
		if (err == nil) != (tt.wantErr == "") || err != nil && err.Error() != tt.wantErr || got != tt.want {
			t.Errorf("%+v: %q, %v; want %q, %q", tt.vm, got, err, tt.want, tt.wantErr)
		}
	}
}

// postStart hooks run as the kubelet's: the container is running only once the hook returned; a failing
// hook gives FailedPostStartHook and Killing events and a restart; httpGet hooks reach a server over the
// pod network from the node.
func TestPostStartHook(t *testing.T) {
	h := startAgent(t)
	withOut := func(pod *corev1.Pod, hook corev1.LifecycleHandler) *corev1.Pod {
		pod.Spec.Volumes = []corev1.Volume{{Name: "out", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/poststart-out"}}}}
		pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "out", MountPath: "/out"}}
		pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &hook}
		return pod
	}
	h.createPod(withOut(busyboxPod("slow-hook", corev1.RestartPolicyNever, "sleep 600"), corev1.LifecycleHandler{Exec: &corev1.ExecAction{
		Command: []string{"sh", "-c", "sleep 0.5; echo hello > /out/slow-hook"}}}))
	h.waitPod("slow-hook", "Running", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
	})
	if b, err := os.ReadFile(filepath.Join(HostPathDir(h.dir, "/poststart-out"), "slow-hook")); err != nil || string(b) != "hello\n" {
		t.Errorf("the container runs before its postStart hook ended: %q %v", b, err)
	}

	h.createPod(withOut(busyboxPod("bad-hook", corev1.RestartPolicyAlways, "sleep 600"), corev1.LifecycleHandler{Exec: &corev1.ExecAction{
		Command: []string{"sh", "-c", "exit 3"}}}))
	h.waitEvent("bad-hook", "FailedPostStartHook", "PostStartHook failed")
	h.waitEvent("bad-hook", "Killing", "FailedPostStartHook")
	h.waitPod("bad-hook", "restarted", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount > 0
	})

	web := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: "node01", Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}}}}
	h.createPod(web)
	ip := podIP(t, h, "web")
	// As on a node, the container runs before nginx listens: the hook's target must be up first.
	h.waitPod("web", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(h.logs(t, "web", "nginx", ""), "start worker process"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("nginx never started")
		}
	}
	h.createPod(withOut(busyboxPod("http-hook", corev1.RestartPolicyNever, "sleep 600"), corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{
		Host: ip, Port: intstr.FromInt32(80), Path: "/echo?msg=poststart"}}))
	h.waitEventContaining("http-hook", "Started", "Started container")
	if got := h.logs(t, "web", "nginx", ""); !strings.Contains(got, `"GET /echo?msg=poststart HTTP/1.1" 404`) {
		t.Errorf("nginx did not log the hook's request:\n%s", got)
	}
}

// As the kubelet: the containers of a pod with init containers wait as PodInitializing until each starts.
func TestPodInitializing(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("init", corev1.RestartPolicyNever, "sleep 600")
	pod.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox", Command: []string{"sh", "-c", "sleep 1"}}}
	h.createPod(pod)
	p := h.waitPod("init", "initializing", func(p *corev1.Pod) bool {
		return len(p.Status.InitContainerStatuses) == 1 && p.Status.InitContainerStatuses[0].State.Running != nil
	})
	if cs := p.Status.ContainerStatuses; len(cs) != 1 || cs[0].State.Waiting == nil || cs[0].State.Waiting.Reason != "PodInitializing" {
		t.Errorf("app container while the init container runs: %+v", cs)
	}
	p = h.waitPod("init", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	if is := p.Status.InitContainerStatuses; len(is) != 1 || !is[0].Ready || is[0].State.Terminated == nil {
		t.Errorf("a completed init container is ready, as the kubelet reports it: %+v", is)
	}
}

// The namespace's Services reach a pod's environment as the kubelet's envvars.FromServices makes them,
// unless enableServiceLinks is false.
func TestServiceEnvironment(t *testing.T) {
	h := startAgent(t)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "fooservice", Namespace: "default"}, Spec: corev1.ServiceSpec{
		ClusterIP: "10.96.5.5", Ports: []corev1.ServicePort{{Port: 8765, Protocol: corev1.ProtocolTCP}}}}
	if _, err := h.client.CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the network's informer sees it
	h.createPod(busyboxPod("linked", corev1.RestartPolicyNever, "env | grep ^FOOSERVICE | sort"))
	unlinked := busyboxPod("unlinked", corev1.RestartPolicyNever, "env | grep -c ^FOOSERVICE")
	unlinked.Spec.EnableServiceLinks = ptr.To(false)
	h.createPod(unlinked)
	h.waitPod("linked", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	want := "FOOSERVICE_PORT=tcp://10.96.5.5:8765\nFOOSERVICE_PORT_8765_TCP=tcp://10.96.5.5:8765\nFOOSERVICE_PORT_8765_TCP_ADDR=10.96.5.5\n" +
		"FOOSERVICE_PORT_8765_TCP_PORT=8765\nFOOSERVICE_PORT_8765_TCP_PROTO=tcp\nFOOSERVICE_SERVICE_HOST=10.96.5.5\nFOOSERVICE_SERVICE_PORT=8765\n"
	if got := h.logs(t, "linked", "main", ""); got != want {
		t.Errorf("service variables %q, want %q", got, want)
	}
	h.waitPod("unlinked", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if got := h.logs(t, "unlinked", "main", ""); got != "0\n" {
		t.Errorf("enableServiceLinks false: %q", got)
	}
}

// An ephemeral container added to a running pod (kubectl debug) runs once beside its containers, reports in
// ephemeralContainerStatuses and does not change the pod's phase.
func TestEphemeralContainer(t *testing.T) {
	h := startAgent(t)
	h.createPod(busyboxPod("target", corev1.RestartPolicyNever, "sleep 600"))
	p := h.waitPod("target", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debugger", Image: "busybox", Command: []string{"sh", "-c", "echo polo; hostname"}}}}
	if _, err := h.client.CoreV1().Pods("default").Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	p = h.waitPod("target", "debugger completed", func(p *corev1.Pod) bool {
		es := p.Status.EphemeralContainerStatuses
		return len(es) == 1 && es[0].State.Terminated != nil
	})
	if ex := p.Status.EphemeralContainerStatuses[0].State.Terminated.ExitCode; ex != 0 || p.Status.Phase != corev1.PodRunning {
		t.Errorf("debugger exit %d, pod phase %s", ex, p.Status.Phase)
	}
	if got := h.logs(t, "target", "debugger", ""); got != "polo\ntarget\n" {
		t.Errorf("debugger logs %q", got)
	}
	h.waitEvent("target", "Started", "Started container debugger")
}

// resourceFieldRef values are the kubelet's: a limit the container does not set is the node's allocatable.
func TestResourceFieldRef(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("res", corev1.RestartPolicyNever, "echo $CPU_LIMIT $MEM_LIMIT $MEM_REQUEST")
	c := &pod.Spec.Containers[0]
	c.Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
	ref := func(res, div string) *corev1.EnvVarSource {
		return &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: res, Divisor: resource.MustParse(div)}}
	}
	c.Env = []corev1.EnvVar{{Name: "CPU_LIMIT", ValueFrom: ref("limits.cpu", "1")}, {Name: "MEM_LIMIT", ValueFrom: ref("limits.memory", "1")},
		{Name: "MEM_REQUEST", ValueFrom: ref("requests.memory", "1Mi")}}
	h.createPod(pod)
	p := h.waitPod("res", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	node, err := h.client.CoreV1().Nodes().Get(context.Background(), p.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d %d 64\n", node.Status.Allocatable.Cpu().Value(), node.Status.Allocatable.Memory().Value())
	if got := h.logs(t, "res", "main", ""); got != want {
		t.Errorf("env %q, want %q (the node's allocatable)", got, want)
	}
}

// readOnlyRootFilesystem: writing to the root fails as busybox says it on a read-only root; volumes stay
// writable.
func TestReadOnlyRootFilesystem(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("ro", corev1.RestartPolicyNever, "echo test > /file; echo ok > /data/file && cat /data/file")
	pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
	pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true)}
	h.createPod(pod)
	h.waitPod("ro", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if got := h.logs(t, "ro", "main", ""); got != "sh: can't create /file: Read-only file system\nok\n" {
		t.Errorf("logs %q", got)
	}
}

// activeDeadlineSeconds lowered (or set) on a running pod takes effect, as the kubelet checks it at each sync.
func TestActiveDeadlineUpdated(t *testing.T) {
	h := startAgent(t)
	h.createPod(busyboxPod("late", corev1.RestartPolicyNever, "sleep 600"))
	p := h.waitPod("late", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	p.Spec.ActiveDeadlineSeconds = ptr.To[int64](1)
	if _, err := h.client.CoreV1().Pods("default").Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	p = h.waitPod("late", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if p.Status.Reason != "DeadlineExceeded" {
		t.Errorf("reason %q", p.Status.Reason)
	}
}

// runAsUser and runAsGroup: the container's commands see that user, named from the image's /etc/passwd.
func TestRunAsUser(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("nobody", corev1.RestartPolicyNever, "id; whoami; id -u; id -gn; grep ^Uid /proc/self/status")
	pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsUser: ptr.To[int64](65534)}
	h.createPod(pod)
	pod2 := busyboxPod("numeric", corev1.RestartPolicyNever, "id; test $(id -u) -eq 1000 && echo ok; whoami")
	pod2.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000), RunAsGroup: ptr.To[int64](3000)}
	h.createPod(pod2)
	h.waitPod("nobody", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if got := h.logs(t, "nobody", "main", ""); got != "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\nnobody\n65534\nnogroup\nUid:\t65534\t65534\t65534\t65534\n" {
		t.Errorf("runAsUser 65534: %q", got)
	}
	h.waitPod("numeric", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if got := h.logs(t, "numeric", "main", ""); got != "uid=1000 gid=3000 groups=3000\nok\nwhoami: unknown uid 1000\n" {
		t.Errorf("runAsUser 1000, runAsGroup 3000: %q", got)
	}
}
