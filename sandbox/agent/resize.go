package agent

import (
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/kubelet/events"
	"k8s.io/kubernetes/pkg/kubelet/lifecycle"
)

// In-place pod resize, as the kubelet's allocation manager and runtime do it: a change of a container's
// resources in the spec is admitted against the node (the other pods' allocations), then allocated
// (status.containerStatuses[].allocatedResources), then actuated: the container's cgroup files change, or,
// when its resizePolicy says RestartContainer for a resource that changed, the container restarts. The
// conditions PodResizePending (Deferred, Infeasible) and PodResizeInProgress, and the events ResizeStarted,
// ResizeCompleted, ResizeDeferred and ResizeInfeasible, are the kubelet's.

// resizeRestartWait bounds the wait for a container restarted by a resize to run again.
const resizeRestartWait = time.Minute

// initAllocation records the resources the pod was admitted with.
func (w *podWorker) initAllocation(pod *corev1.Pod) {
	w.alloc = map[string]corev1.ResourceRequirements{}
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		w.alloc[c.Name] = *c.Resources.DeepCopy()
	}
}

// allocatedLocked is a copy of a container's allocated resources. w.mu is held.
func (w *podWorker) allocatedLocked(name string) *corev1.ResourceRequirements {
	r := w.alloc[name]
	return r.DeepCopy()
}

// allocatedPodLocked is the pod with its allocated resources, what admission counts. w.mu is held.
func (w *podWorker) allocatedPodLocked() *corev1.Pod {
	p := w.pod.DeepCopy()
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for i := range cs {
			if r, ok := w.alloc[cs[i].Name]; ok {
				cs[i].Resources = *r.DeepCopy()
			}
		}
	}
	return p
}

// changedLocked are the containers whose spec asks for resources other than their allocation. w.mu is held.
func (w *podWorker) changedLocked() []string {
	var changed []string
	for _, c := range slices.Concat(w.pod.Spec.InitContainers, w.pod.Spec.Containers) {
		if !apiequality.Semantic.DeepEqual(c.Resources, w.alloc[c.Name]) {
			changed = append(changed, c.Name)
		}
	}
	return changed
}

// resizeWantedLocked says whether there is a resize to handle. w.mu is held.
func (w *podWorker) resizeWantedLocked() bool {
	_, pending := w.conds[corev1.PodResizePending] // a resize reverted while pending clears its condition
	return pending || len(w.changedLocked()) > 0
}

// resize handles the spec's resources: one resize at a time, for the latest spec.
func (w *podWorker) resize() {
	w.resizeMu.Lock()
	defer w.resizeMu.Unlock()
	w.mu.Lock()
	pod := w.pod
	if w.finished || w.deleting || !w.resizeWantedLocked() {
		w.mu.Unlock()
		return
	}
	changed := w.changedLocked()
	w.mu.Unlock()
	if len(changed) == 0 {
		w.set(func() { delete(w.conds, corev1.PodResizePending) })
		return
	}
	if ok, reason, msg := w.admitResize(pod); !ok {
		w.resizePending(pod, reason, msg)
		return
	}
	w.set(func() {
		for _, name := range changed {
			if c := specContainer(pod, name); c != nil {
				w.alloc[name] = *c.Resources.DeepCopy()
			}
		}
		delete(w.conds, corev1.PodResizePending)
		w.conds[corev1.PodResizeInProgress] = corev1.PodCondition{Type: corev1.PodResizeInProgress, Status: corev1.ConditionTrue,
			ObservedGeneration: pod.Generation, LastProbeTime: metav1.Now(), LastTransitionTime: metav1.Now()}
	})
	w.event(nil, corev1.EventTypeNormal, events.ResizeStarted, events.PodResizeStartedMsg(klog.Background(), w.allocatedPod(), pod.Generation))
	for _, name := range changed {
		w.actuate(name)
	}
	w.set(func() { delete(w.conds, corev1.PodResizeInProgress) })
	w.event(nil, corev1.EventTypeNormal, events.ResizeCompleted, events.PodResizeCompletedMsg(klog.Background(), w.allocatedPod(), pod.Generation))
}

func (w *podWorker) allocatedPod() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.allocatedPodLocked()
}

func specContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
	}
	return nil
}

// admitResize runs admission for the resized pod against the other pods of its node; a request the
// node could never hold is Infeasible, as the kubelet says (status_manager: any other reason is Deferred).
func (w *podWorker) admitResize(pod *corev1.Pod) (ok bool, reason, msg string) {
	for _, rn := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		amount := (*resource.Quantity).Value // bytes; CPU in millicores
		if rn == corev1.ResourceCPU {
			amount = (*resource.Quantity).MilliValue
		}
		var req int64
		for _, c := range pod.Spec.Containers {
			q := c.Resources.Requests[rn]
			req += amount(&q)
		}
		allocatable := w.m.a.allocatable[rn]
		if capacity := amount(&allocatable); req > capacity {
			return false, corev1.PodReasonInfeasible, fmt.Sprintf("Node didn't have enough capacity: %s, requested: %d, capacity: %d", rn, req, capacity)
		}
	}
	w.m.mu.Lock()
	others := w.m.othersLocked(pod)
	w.m.mu.Unlock()
	return w.m.admit(pod, others, lifecycle.ResizeOperation)
}

// resizePending records a resize the node cannot take now (Deferred) or ever (Infeasible).
func (w *podWorker) resizePending(pod *corev1.Pod, reason, msg string) {
	event := events.ResizeInfeasible
	if reason != corev1.PodReasonInfeasible {
		reason, event = corev1.PodReasonDeferred, events.ResizeDeferred
	}
	changed := false
	w.set(func() {
		old, had := w.conds[corev1.PodResizePending]
		changed = !had || old.Reason != reason || old.ObservedGeneration != pod.Generation
		c := corev1.PodCondition{Type: corev1.PodResizePending, Status: corev1.ConditionTrue, Reason: reason, Message: msg,
			ObservedGeneration: pod.Generation, LastProbeTime: metav1.Now(), LastTransitionTime: metav1.Now()}
		if had {
			c.LastTransitionTime = old.LastTransitionTime
		}
		w.conds[corev1.PodResizePending] = c
	})
	if changed {
		w.event(nil, corev1.EventTypeWarning, event, events.PodResizePendingMsg(klog.Background(), pod, reason, msg, pod.Generation))
	}
}

// actuate applies a container's new allocation: in place (its cgroup files), or by a restart when its
// resizePolicy asks for one for a resource that changed.
func (w *podWorker) actuate(name string) {
	w.mu.Lock()
	st := w.ctr(name)
	c := specContainer(w.pod, name)
	if st == nil || c == nil {
		w.mu.Unlock()
		return
	}
	want := *w.allocatedLocked(name)
	running := st.state.Running != nil && st.run != nil
	if !running {
		st.resources = want
		w.mu.Unlock()
		return
	}
	if needsRestart(c, st.resources, want) && st.resizeKill != nil {
		restarts := st.restartCount
		kill := st.resizeKill
		w.mu.Unlock()
		kill()
		deadline := time.Now().Add(resizeRestartWait)
		for time.Now().Before(deadline) && sleepCtx(w.runCtx, 50*time.Millisecond) {
			w.mu.Lock()
			again := st.restartCount > restarts && st.state.Running != nil
			w.mu.Unlock()
			if again {
				break
			}
		}
		return
	}
	root := st.root
	st.resources = want
	w.mu.Unlock()
	if err := writeFiles(root, prefixed("sys/fs/cgroup/", cgroupFiles(want))); err != nil {
		w.m.a.logf("agent: resize container %s: %v", name, err)
	}
}

func prefixed(prefix string, files map[string]string) map[string]string {
	out := make(map[string]string, len(files))
	for k, v := range files {
		out[prefix+k] = v
	}
	return out
}

// needsRestart says whether a resource that changed has the RestartContainer resize policy.
func needsRestart(c *corev1.Container, old, want corev1.ResourceRequirements) bool {
	for _, p := range c.ResizePolicy {
		if p.RestartPolicy != corev1.RestartContainer {
			continue
		}
		o, n := old.Requests[p.ResourceName], want.Requests[p.ResourceName]
		ol, nl := old.Limits[p.ResourceName], want.Limits[p.ResourceName]
		if o.Cmp(n) != 0 || ol.Cmp(nl) != 0 {
			return true
		}
	}
	return false
}

// statusResources is a container's status.resources and status.allocatedResources, as the kubelet's
// convertContainerStatusResources: the allocation, with the applied values while it runs. w.mu is held.
func (w *podWorker) statusResourcesLocked(st *ctrState) (*corev1.ResourceRequirements, corev1.ResourceList) {
	if st.ephemeral {
		return nil, nil
	}
	alloc := w.alloc[st.name]
	res := alloc.DeepCopy()
	if st.state.Running != nil {
		res = st.resources.DeepCopy()
	}
	return res, alloc.DeepCopy().Requests
}
