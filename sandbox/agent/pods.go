package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/kubernetes/pkg/kubelet/lifecycle"
	schedulerframework "k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/utils/ptr"
)

// podManager starts one worker per pod bound to one of the agent's nodes and routes informer events to it.
type podManager struct {
	a       *agent
	ctx     context.Context // the agent's: API calls end with it
	mu      sync.Mutex
	workers map[types.UID]*podWorker
	// rejected are the pods admission refused: their status says Failed, the informer may not know yet.
	rejected map[types.UID]bool
	nextIP   int
	wg       sync.WaitGroup
	logs     *logRegistry
	// sysctls is the kubelet's sysctl admission over the sandbox's safe set, built once.
	sysctls    lifecycle.PodAdmitHandler
	sysctlsErr error
}

func newPodManager(ctx context.Context, a *agent) *podManager {
	m := &podManager{a: a, ctx: ctx, workers: map[types.UID]*podWorker{}, rejected: map[types.UID]bool{}, logs: newLogRegistry()}
	m.sysctls, m.sysctlsErr = sysctlAdmitHandler()
	return m
}

func (m *podManager) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { m.sync(obj) },
		UpdateFunc: func(_, obj any) { m.sync(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if pod, ok := obj.(*corev1.Pod); ok {
				m.remove(pod)
			}
		},
	}
}

func (m *podManager) podDir(uid types.UID) string {
	return filepath.Join(m.a.cfg.DataDir, "pods", string(uid))
}

func terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func (m *podManager) sync(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || m.a.nodes[pod.Spec.NodeName] == nil {
		return // a pod of a node the agent does not run
	}
	m.mu.Lock()
	w := m.workers[pod.UID]
	if w == nil {
		if m.ctx.Err() != nil {
			m.mu.Unlock()
			return
		}
		if terminal(pod) {
			m.mu.Unlock()
			if pod.DeletionTimestamp != nil {
				go m.deleteNow(pod)
			}
			return
		}
		if m.rejected[pod.UID] {
			m.mu.Unlock()
			return
		}
		if pod.DeletionTimestamp == nil {
			if ok, reason, msg := m.admitLocked(pod); !ok {
				m.rejected[pod.UID] = true
				m.mu.Unlock()
				m.reject(pod, reason, msg)
				return
			}
		}
		var ip string
		if n := m.a.nodes[pod.Spec.NodeName]; pod.Spec.HostNetwork && n != nil {
			ip = n.IP // a hostNetwork pod has its node's address
		} else {
			m.nextIP++
			ip = fmt.Sprintf("10.244.%d.%d", (m.nextIP/250)%250, m.nextIP%250+2)
		}
		w = newPodWorker(m, pod, ip)
		m.workers[pod.UID] = w
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			w.run()
		}()
	}
	m.mu.Unlock()
	w.update(pod)
}

// admitLocked runs the kubelet's own pod admission for a new pod against the pods its node already
// runs, as the kubelet's HandlePodAdditions does. m.mu is held.
func (m *podManager) admitLocked(pod *corev1.Pod) (ok bool, reason, msg string) {
	return m.admit(pod, m.othersLocked(pod), lifecycle.AddOperation)
}

// othersLocked are the pods pod's node runs besides it, each with its allocated resources. m.mu is held.
func (m *podManager) othersLocked(pod *corev1.Pod) []*corev1.Pod {
	var others []*corev1.Pod
	for _, w := range m.workers {
		if p, done := w.admitted(); !done && p.UID != pod.UID && p.Spec.NodeName == pod.Spec.NodeName {
			others = append(others, p)
		}
	}
	return others
}

// admit runs the kubelet's admission handlers: lifecycle.NewPredicateAdmitHandler (resources against the
// node's allocatable, node affinity and selector, nodeName, host ports, NoExecute taints) and the sysctl
// allowlist. The Node comes from the informer's lister, as the kubelet's does.
func (m *podManager) admit(pod *corev1.Pod, others []*corev1.Pod, op lifecycle.Operation) (ok bool, reason, msg string) {
	node, err := m.a.nodeLister.Get(pod.Spec.NodeName)
	if err != nil { // the informer has not synced yet
		node, err = m.a.client.CoreV1().Nodes().Get(m.ctx, pod.Spec.NodeName, metav1.GetOptions{})
	}
	if err != nil {
		m.a.logf("agent: admit pod %s/%s: node %s: %v", pod.Namespace, pod.Name, pod.Spec.NodeName, err)
		return true, "", "" // the kubelet falls back to the node it knows; so do we: admit
	}
	if ok, reason, msg := admitLinuxOS(pod); !ok {
		return false, reason, msg
	}
	pod, node = hostOSView(pod, node)
	handlers := []lifecycle.PodAdmitHandler{lifecycle.NewPredicateAdmitHandler(
		func(context.Context, bool) (*corev1.Node, error) { return node, nil },
		lifecycle.NewAdmissionFailureHandlerStub(),
		func(*schedulerframework.NodeInfo, *lifecycle.PodAdmitAttributes) error { return nil })}
	if op == lifecycle.AddOperation {
		if m.sysctlsErr != nil {
			return false, "UnexpectedAdmissionError", m.sysctlsErr.Error()
		}
		handlers = append(handlers, m.sysctls)
	}
	for _, h := range handlers {
		if r := h.Admit(m.ctx, &lifecycle.PodAdmitAttributes{Pod: pod, OtherPods: others, Operation: op}); !r.Admit {
			return false, r.Reason, r.Message
		}
	}
	return true, "", ""
}

// reject fails a pod admission refused, as the kubelet's rejectPod: a Warning event with the reason, and
// the status Failed with "Pod was rejected: <message>".
func (m *podManager) reject(pod *corev1.Pod, reason, msg string) {
	if n := m.a.nodes[pod.Spec.NodeName]; n != nil {
		n.recorder.Event(pod, corev1.EventTypeWarning, reason, msg)
	}
	p := pod.DeepCopy()
	p.Status = corev1.PodStatus{Phase: corev1.PodFailed, Reason: reason, Message: "Pod was rejected: " + msg, QOSClass: pod.Status.QOSClass}
	if _, err := m.a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(m.ctx, p, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) && m.ctx.Err() == nil {
		m.a.logf("agent: reject pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

// remove forgets a pod the apiserver deleted: its commands stop and its folder is removed.
func (m *podManager) remove(pod *corev1.Pod) {
	m.mu.Lock()
	w := m.workers[pod.UID]
	delete(m.workers, pod.UID)
	delete(m.rejected, pod.UID)
	m.mu.Unlock()
	if w != nil {
		w.stop()
		<-w.done
	}
	m.logs.forgetPod(pod.UID)
	if err := os.RemoveAll(m.podDir(pod.UID)); err != nil {
		m.a.logf("agent: remove pod %s/%s files: %v", pod.Namespace, pod.Name, err)
	}
}

// deleteNow finishes a graceful deletion the way the kubelet does once the pod's containers stopped:
// a delete with grace period 0, preconditioned on the UID.
func (m *podManager) deleteNow(pod *corev1.Pod) {
	err := m.a.client.CoreV1().Pods(pod.Namespace).Delete(m.ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      metav1.NewUIDPreconditions(string(pod.UID)),
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) && m.ctx.Err() == nil {
		m.a.logf("agent: delete pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
}

// stopAll stops every pod (agent shutdown) and waits for them.
func (m *podManager) stopAll() {
	m.mu.Lock()
	ws := make([]*podWorker, 0, len(m.workers))
	for _, w := range m.workers {
		ws = append(ws, w)
	}
	m.mu.Unlock()
	for _, w := range ws {
		w.stop()
	}
	m.wg.Wait()
}

// cleanOrphans removes the folders of pods that no longer exist (deleted while the agent was down).
func (m *podManager) cleanOrphans(known func(types.UID) bool) {
	ents, err := os.ReadDir(filepath.Join(m.a.cfg.DataDir, "pods"))
	if err != nil {
		return
	}
	for _, e := range ents {
		if !known(types.UID(e.Name())) {
			_ = os.RemoveAll(filepath.Join(m.a.cfg.DataDir, "pods", e.Name()))
		}
	}
}

// admitLinuxOS is the predicate's two OS checks (rejectPodAdmissionBasedOnOSSelector and …OSField, with
// their reasons and messages) for the sandbox's nodes, which are Linux nodes whatever the host's OS.
func admitLinuxOS(pod *corev1.Pod) (ok bool, reason, msg string) {
	if os, set := pod.Labels[corev1.LabelOSStable]; set && os != "linux" {
		return false, lifecycle.PodOSSelectorNodeLabelDoesNotMatch, "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label"
	}
	if pod.Spec.OS != nil && pod.Spec.OS.Name != corev1.Linux {
		return false, lifecycle.PodOSNotSupported, "Failed to admit pod as the OS field doesn't match node OS"
	}
	return true, "", ""
}

// hostOSView gives the predicate, which compares the pod's OS with runtime.GOOS, copies that say the
// host's OS where they say linux (on macOS); on Linux it returns them as they are.
func hostOSView(pod *corev1.Pod, node *corev1.Node) (*corev1.Pod, *corev1.Node) {
	if runtime.GOOS == "linux" {
		return pod, node
	}
	pod, node = pod.DeepCopy(), node.DeepCopy()
	if pod.Spec.OS != nil {
		pod.Spec.OS.Name = corev1.OSName(runtime.GOOS)
	}
	if _, set := pod.Labels[corev1.LabelOSStable]; set {
		pod.Labels[corev1.LabelOSStable] = runtime.GOOS
	}
	if node.Labels == nil {
		node.Labels = map[string]string{}
	}
	node.Labels[corev1.LabelOSStable] = runtime.GOOS
	return pod, node
}
