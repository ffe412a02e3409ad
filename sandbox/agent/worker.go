package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/reference"
	podutil "k8s.io/kubernetes/pkg/api/v1/pod"
	kubecontainer "k8s.io/kubernetes/pkg/kubelet/container"
	"k8s.io/utils/ptr"

	"github.com/klabdev/klab/sandbox/agent/busybox"
	"github.com/klabdev/klab/sandbox/agent/images"
	"github.com/klabdev/klab/sandbox/agent/podnet"
)

// ctrState is what the agent knows about one container; it becomes a ContainerStatus.
type ctrState struct {
	name, image  string
	init         bool
	ephemeral    bool // an ephemeral container (kubectl debug): never restarted, no part of the pod's phase
	state        corev1.ContainerState
	last         corev1.ContainerState
	ready        bool
	started      bool
	restartCount int32
	containerID  string
	preStop      func(context.Context) error // set while running, when the container has an exec preStop hook
	term         func() bool                 // set while running: delivers SIGTERM; false when nothing handles it
	run          *running                    // set while running: what exec and attach reach (exec.go)
	root         string                      // the current run's root folder
	resources    corev1.ResourceRequirements // what the runtime applied (status.resources): the allocation at start, then each resize
	resizeKill   func()                      // set while running: kills the run for a resize that needs a restart
}

// podWorker runs one pod: volumes, init containers in order, then the containers, and reports status.
type podWorker struct {
	m    *podManager
	uid  types.UID
	dir  string
	ip   string
	done chan struct{}

	runCtx context.Context // cancelled to kill the pod's commands
	kill   context.CancelFunc

	mu          sync.Mutex
	pod         *corev1.Pod // latest seen
	startTime   metav1.Time
	ctrs        []*ctrState
	conds       map[corev1.PodConditionType]corev1.PodCondition
	phase       corev1.PodPhase
	reason, msg string
	volHash     map[string]string                      // volume name → hash of the files last written
	alloc       map[string]corev1.ResourceRequirements // container → allocated resources (resize.go)
	resizeMu    sync.Mutex                             // one resize at a time
	links       *busybox.Links                         // the interfaces its privileged containers added
	deleting    bool
	terminating chan struct{} // closed when a graceful deletion starts: no container starts or restarts after it
	deadline    bool
	finished    bool
	publishMu   sync.Mutex
	host        *podnet.Host // the pod's place in the pod network (nil if it could not join)

	vols      map[string]volume // the pod's volumes, once prepared (volsReady closed)
	volsReady chan struct{}
	ephRuns   sync.WaitGroup  // the ephemeral containers' runs
	ephCtx    context.Context // ends the ephemeral containers once the pod's own containers finished
	ephStop   context.CancelFunc

	deadlineTimer    *time.Timer // activeDeadlineSeconds
	deadlineSecs     *int64      // the value it was armed for
	deadlineWatching bool        // run() watches the deadline (until it ends): updates re-arm it
}

func newPodWorker(m *podManager, pod *corev1.Pod, ip string) *podWorker {
	ctx, cancel := context.WithCancel(m.ctx)
	w := &podWorker{
		m: m, uid: pod.UID, dir: m.podDir(pod.UID), ip: ip, done: make(chan struct{}),
		runCtx: ctx, kill: cancel, pod: pod, phase: corev1.PodPending, terminating: make(chan struct{}),
		conds: map[corev1.PodConditionType]corev1.PodCondition{}, volHash: map[string]string{}, volsReady: make(chan struct{}),
	}
	w.ephCtx, w.ephStop = context.WithCancel(ctx)
	w.initAllocation(pod)
	w.links = &busybox.Links{}
	if pod.Status.PodIP != "" {
		w.ip = pod.Status.PodIP
	}
	w.startTime = metav1.Now()
	if pod.Status.StartTime != nil {
		w.startTime = *pod.Status.StartTime
	}
	prev := map[string]int32{}
	for _, s := range append(slices.Clone(pod.Status.InitContainerStatuses), pod.Status.ContainerStatuses...) {
		prev[s.Name] = s.RestartCount
	}
	add := func(c corev1.Container, init bool) {
		w.ctrs = append(w.ctrs, &ctrState{
			name: c.Name, image: c.Image, init: init, restartCount: prev[c.Name],
			state: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}},
		})
	}
	for _, c := range pod.Spec.InitContainers {
		add(c, true)
	}
	for _, c := range pod.Spec.Containers {
		add(c, false)
	}
	// The kubelet's default waiting state: PodInitializing for every container of a pod with init
	// containers (until each is created), ContainerCreating otherwise.
	if len(pod.Spec.InitContainers) == 0 {
		for _, c := range w.ctrs {
			c.state.Waiting.Reason = "ContainerCreating"
		}
	}
	return w
}

func (w *podWorker) latest() *corev1.Pod {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod
}

// postStart runs c's postStart hook beside its main process, as the kubelet's startContainer does: the
// container turns running once the hook returns; a failed hook gives the kubelet's events
// (FailedPostStartHook "PostStartHook failed", Killing "FailedPostStartHook") and kills the container,
// which then restarts under its policy.
func (w *podWorker) postStart(ctx context.Context, st *ctrState, c *corev1.Container, hooks kubecontainer.HandlerRunner, setRunning, kill func()) {
	if _, err := w.runHook(ctx, st, c, hooks, c.Lifecycle.PostStart); err != nil {
		if ctx.Err() != nil {
			return
		}
		w.event(st, corev1.EventTypeWarning, "FailedPostStartHook", "PostStartHook failed")
		w.event(st, corev1.EventTypeNormal, "Killing", "FailedPostStartHook")
		kill()
		return
	}
	w.set(func() {
		if ctx.Err() == nil && st.state.Running == nil && st.state.Terminated == nil {
			setRunning()
		}
	})
}

// admitted is the pod as the worker has it and whether it is done (terminated): admission counts the
// pods a node runs.
func (w *podWorker) admitted() (*corev1.Pod, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.allocatedPodLocked(), w.finished
}

// update takes a newer copy of the pod; a deletion timestamp kills the pod's commands.
func (w *podWorker) update(pod *corev1.Pod) {
	defer w.syncEphemeral()
	w.mu.Lock()
	w.pod = pod
	if w.deadlineWatching {
		w.armDeadlineLocked(pod)
	}
	startDelete := pod.DeletionTimestamp != nil && !w.deleting
	if startDelete {
		w.deleting = true
	}
	finished := w.finished
	resize := !startDelete && !w.deleting && !finished && w.resizeWantedLocked()
	// A readiness gate's condition changed in the status: Ready follows, as at the kubelet's next sync.
	regate := false
	if len(pod.Spec.ReadinessGates) > 0 && !finished {
		was := w.conds[corev1.PodReady].Status
		w.computeLocked()
		_, c := podutil.GetPodConditionFromList(pod.Status.Conditions, corev1.PodReady)
		regate = c == nil || c.Status != w.conds[corev1.PodReady].Status || was != w.conds[corev1.PodReady].Status
	}
	w.mu.Unlock()
	if regate {
		go w.publish()
	}
	if resize {
		go w.resize()
	}
	if !startDelete {
		return
	}
	if finished {
		go w.m.deleteNow(pod)
		return
	}
	close(w.terminating)
	w.terminate(pod)
}

func (w *podWorker) isTerminating() bool {
	select {
	case <-w.terminating:
		return true
	default:
		return false
	}
}

// syncEphemeral starts the ephemeral containers added to the pod (kubectl debug) once its volumes are
// ready, as the kubelet does: each runs once, beside the others, with the pod's volumes and network.
func (w *podWorker) syncEphemeral() {
	select {
	case <-w.volsReady:
	default:
		return // run() calls again once the volumes are ready
	}
	w.mu.Lock()
	var start []corev1.Container
	if !w.finished && !w.deleting && w.ephCtx.Err() == nil {
		for _, ec := range w.pod.Spec.EphemeralContainers {
			if w.ctr(ec.Name) != nil {
				continue
			}
			w.ctrs = append(w.ctrs, &ctrState{name: ec.Name, image: ec.Image, ephemeral: true,
				state: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}})
			start = append(start, corev1.Container(ec.EphemeralContainerCommon))
			w.ephRuns.Add(1)
		}
	}
	w.mu.Unlock()
	for i := range start {
		go func() {
			defer w.ephRuns.Done()
			w.runContainer(w.ephCtx, &start[i], w.vols, corev1.RestartPolicyNever, nil)
		}()
	}
	if len(start) > 0 {
		w.publish()
	}
}

// minimumGracePeriod is the kubelet's floor for the time a container gets between SIGTERM and the kill.
const minimumGracePeriod = 2 * time.Second

// terminate stops a pod being deleted as the kubelet does: a Killing event per running container, the
// exec preStop hooks, then SIGTERM to each container's main process; the containers keep running (the
// pod shows Terminating) until they exit or the grace period ends (at least 2 s after the hooks), then
// they are killed. It returns at once: the wait happens in the background, never in the informer.
func (w *podWorker) terminate(pod *corev1.Pod) {
	grace := time.Duration(corev1.DefaultTerminationGracePeriodSeconds) * time.Second
	if pod.DeletionGracePeriodSeconds != nil {
		grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	} else if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	running := w.stopping("Killing")
	if len(running) == 0 || grace <= 0 {
		w.kill()
		return
	}
	go func() {
		deadline := time.Now().Add(grace)
		hctx, cancel := context.WithDeadline(w.runCtx, deadline)
		var wg sync.WaitGroup
		for _, c := range running {
			w.mu.Lock()
			hook := c.preStop
			w.mu.Unlock()
			if hook == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := hook(hctx); err != nil {
					// The kubelet leaves the message out of the event (it may hold secrets); klab's log has it.
					w.event(c, corev1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed")
				}
			}()
		}
		wg.Wait()
		cancel()
		if time.Until(deadline) < minimumGracePeriod {
			deadline = time.Now().Add(minimumGracePeriod)
		}
		w.mu.Lock()
		var terms []func() bool
		for _, c := range w.ctrs {
			if c.state.Running != nil && c.term != nil {
				terms = append(terms, c.term)
			}
		}
		w.mu.Unlock()
		for _, term := range terms {
			term()
		}
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for time.Now().Before(deadline) && w.anyRunning() {
			select {
			case <-tick.C:
			case <-w.runCtx.Done():
				return
			}
		}
		w.kill()
	}()
}

func (w *podWorker) anyRunning() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.ctrs {
		if c.state.Running != nil {
			return true
		}
	}
	return false
}

// stopping lists the running containers and records, for each, the kubelet's event that it is being
// stopped (reason Killing, or the one the caller gives).
func (w *podWorker) stopping(reason string) []*ctrState {
	w.mu.Lock()
	var running []*ctrState
	for _, c := range w.ctrs {
		if c.state.Running != nil {
			running = append(running, c)
		}
	}
	w.mu.Unlock()
	for _, c := range running {
		w.event(c, corev1.EventTypeNormal, reason, fmt.Sprintf("Stopping container %s", c.name))
	}
	return running
}

// killAll stops the pod's commands at once (activeDeadlineSeconds), with a Killing event per running
// container.
func (w *podWorker) killAll(reason string) {
	w.stopping(reason)
	w.kill()
}

func (w *podWorker) stop() { w.kill() }

func (w *podWorker) event(c *ctrState, typ, reason, msg string) {
	pod := w.latest()
	ref, err := reference.GetReference(scheme.Scheme, pod)
	if err != nil {
		return
	}
	if c != nil {
		switch {
		case c.ephemeral:
			ref.FieldPath = fmt.Sprintf("spec.ephemeralContainers{%s}", c.name)
		case c.init:
			ref.FieldPath = fmt.Sprintf("spec.initContainers{%s}", c.name)
		default:
			ref.FieldPath = fmt.Sprintf("spec.containers{%s}", c.name)
		}
	}
	w.node().recorder.Event(ref, typ, reason, msg)
}

func (w *podWorker) ctr(name string) *ctrState {
	for _, c := range w.ctrs {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (w *podWorker) setCond(t corev1.PodConditionType, ok bool, reason, msg string) {
	s := corev1.ConditionFalse
	if ok {
		s = corev1.ConditionTrue
	}
	old, had := w.conds[t]
	c := corev1.PodCondition{Type: t, Status: s, Reason: reason, Message: msg, LastTransitionTime: metav1.Now()}
	if had && old.Status == s {
		c.LastTransitionTime = old.LastTransitionTime
	}
	w.conds[t] = c
}

// computeLocked derives the pod conditions (and the non-terminal phase) from the container states.
func (w *podWorker) computeLocked() {
	var initDone = true
	var notReady []string
	regular, running, terminated := 0, 0, 0
	for _, c := range w.ctrs {
		if c.ephemeral {
			continue
		}
		if c.init {
			if c.state.Terminated == nil || c.state.Terminated.ExitCode != 0 {
				if !c.started || c.state.Running == nil || !isSidecar(w.pod, c.name) {
					initDone = false
				}
			}
			if isSidecar(w.pod, c.name) && !c.ready { // a sidecar's readiness counts, as in GenerateContainersReadyCondition
				notReady = append(notReady, c.name)
			}
			continue
		}
		regular++
		if c.state.Running != nil {
			running++
		}
		if c.state.Terminated != nil {
			terminated++
		}
		if !c.ready {
			notReady = append(notReady, c.name)
		}
	}
	if w.phase != corev1.PodSucceeded && w.phase != corev1.PodFailed {
		switch {
		case !initDone:
			w.phase = corev1.PodPending
		case running > 0:
			w.phase = corev1.PodRunning
		case terminated > 0 || w.anyRestarted():
			w.phase = corev1.PodRunning
		default:
			w.phase = corev1.PodPending
		}
	}
	w.setCond(corev1.PodInitialized, initDone, map[bool]string{false: "ContainersNotInitialized"}[initDone], "")
	if !initDone {
		w.conds[corev1.PodInitialized] = withMsg(w.conds[corev1.PodInitialized], "containers with incomplete status: "+fmt.Sprint(w.pendingInit()))
	}
	ready := len(notReady) == 0 && initDone
	reason, msg := "", ""
	switch {
	case w.phase == corev1.PodSucceeded || w.phase == corev1.PodFailed:
		ready, reason, msg = false, "PodCompleted", ""
	case !ready && initDone:
		reason, msg = "ContainersNotReady", fmt.Sprintf("containers with unready status: %v", notReady)
	case !ready:
		reason, msg = "ContainersNotInitialized", "containers with incomplete status: "+fmt.Sprint(w.pendingInit())
	}
	w.setCond(corev1.ContainersReady, ready, reason, msg)
	if gates := w.unreadyGatesLocked(); ready && gates != "" {
		ready, reason, msg = false, readinessGatesNotReady, gates
	}
	w.setCond(corev1.PodReady, ready, reason, msg)
}

// readinessGatesNotReady is the kubelet's reason (pkg/kubelet/status.ReadinessGatesNotReady).
const readinessGatesNotReady = "ReadinessGatesNotReady"

// unreadyGatesLocked is the kubelet's message for the pod's readiness gates whose condition (set by
// someone else, in the status) is missing or not True; "" when they all are (GeneratePodReadyCondition).
func (w *podWorker) unreadyGatesLocked() string {
	var msgs []string
	for _, rg := range w.pod.Spec.ReadinessGates {
		_, c := podutil.GetPodConditionFromList(w.pod.Status.Conditions, rg.ConditionType)
		if c == nil {
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", string(rg.ConditionType)))
		} else if c.Status != corev1.ConditionTrue {
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", string(rg.ConditionType), c.Status))
		}
	}
	return strings.Join(msgs, ", ")
}

func withMsg(c corev1.PodCondition, msg string) corev1.PodCondition {
	c.Message = msg
	return c
}

func (w *podWorker) pendingInit() []string {
	var out []string
	for _, c := range w.ctrs {
		if c.init && (c.state.Terminated == nil || c.state.Terminated.ExitCode != 0) && !isSidecar(w.pod, c.name) {
			out = append(out, c.name)
		}
	}
	return out
}

func (w *podWorker) anyRestarted() bool {
	for _, c := range w.ctrs {
		if !c.init && !c.ephemeral && c.restartCount > 0 {
			return true
		}
	}
	return false
}

func isSidecar(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		}
	}
	return false
}

// statusLocked builds the pod status to publish.
func (w *podWorker) statusLocked() corev1.PodStatus {
	w.computeLocked()
	st := corev1.PodStatus{
		Phase:     w.phase,
		Reason:    w.reason,
		Message:   w.msg,
		HostIP:    w.hostIPLocked(),
		HostIPs:   []corev1.HostIP{{IP: w.hostIPLocked()}},
		PodIP:     w.ip,
		PodIPs:    []corev1.PodIP{{IP: w.ip}},
		StartTime: &w.startTime,
		QOSClass:  w.pod.Status.QOSClass,
		// The kubelet reports the generation of the spec it acted on (PodObservedGenerationTracking).
		ObservedGeneration: w.pod.Generation,
	}
	// Conditions the agent does not own (PodScheduled, DisruptionTarget…) are kept.
	for _, c := range w.pod.Status.Conditions {
		switch c.Type {
		case corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady, "PodReadyToStartContainers",
			corev1.PodResizePending, corev1.PodResizeInProgress:
		default:
			st.Conditions = append(st.Conditions, c)
		}
	}
	for _, t := range []corev1.PodConditionType{"PodReadyToStartContainers", corev1.PodInitialized, corev1.ContainersReady, corev1.PodReady} {
		if c, ok := w.conds[t]; ok {
			c.ObservedGeneration = w.pod.Generation
			st.Conditions = append(st.Conditions, c)
		}
	}
	for _, t := range []corev1.PodConditionType{corev1.PodResizePending, corev1.PodResizeInProgress} {
		if c, ok := w.conds[t]; ok { // these keep the generation of the resize they are about
			st.Conditions = append(st.Conditions, c)
		}
	}
	for _, c := range w.ctrs {
		cs := corev1.ContainerStatus{
			Name: c.name, Image: c.image, ImageID: imageID(c.image), ContainerID: c.containerID,
			State: c.state, LastTerminationState: c.last, Ready: c.ready, RestartCount: c.restartCount,
			Started: ptrBool(c.started),
		}
		cs.Resources, cs.AllocatedResources = w.statusResourcesLocked(c)
		switch {
		case c.ephemeral:
			st.EphemeralContainerStatuses = append(st.EphemeralContainerStatuses, cs)
		case c.init:
			st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
		default:
			st.ContainerStatuses = append(st.ContainerStatuses, cs)
		}
	}
	return st
}

func ptrBool(b bool) *bool { return &b }

func imageID(image string) string {
	ref := image
	if !strings.Contains(strings.SplitN(ref, "/", 2)[0], ".") {
		if !strings.Contains(ref, "/") {
			ref = "library/" + ref
		}
		ref = "docker.io/" + ref
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref + "@sha256:" + fmt.Sprintf("%064x", len(image))
}

// publish sends the current status to the apiserver (a merge patch of the status subresource,
// preconditioned on the UID, as the kubelet's status manager does).
func (w *podWorker) publish() {
	w.publishMu.Lock()
	defer w.publishMu.Unlock()
	w.mu.Lock()
	st := w.statusLocked()
	pod := w.pod
	w.mu.Unlock()
	body, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": pod.UID}, "status": st})
	if err != nil {
		w.m.a.logf("agent: pod %s/%s status: %v", pod.Namespace, pod.Name, err)
		return
	}
	for attempt := 0; attempt < 5 && w.m.ctx.Err() == nil; attempt++ {
		_, err = w.m.a.client.CoreV1().Pods(pod.Namespace).Patch(w.m.ctx, pod.Name, types.MergePatchType, body, metav1.PatchOptions{}, "status")
		if err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) || apierrors.IsInvalid(err) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil && !apierrors.IsNotFound(err) && w.m.ctx.Err() == nil {
		w.m.a.logf("agent: pod %s/%s status: %v", pod.Namespace, pod.Name, err)
	}
}

func (w *podWorker) set(fn func()) {
	w.mu.Lock()
	fn()
	w.mu.Unlock()
	w.publish()
}

// run is the pod's whole life on the node.
func (w *podWorker) run() {
	defer close(w.done)
	defer w.kill()
	pod := w.latest()
	if pod.DeletionTimestamp != nil {
		w.finish()
		return
	}
	stopDeadline := w.watchDeadline(pod)
	defer stopDeadline()
	defer w.joinNetwork(pod)()

	// Three status writes for a simple pod, as a kubelet does: Pending (ContainerCreating), Running,
	// then terminated; volumes that wait for a ConfigMap publish the Pending status earlier.
	w.mu.Lock()
	w.setCond("PodReadyToStartContainers", false, "", "")
	w.mu.Unlock()
	vols, err := w.prepareVolumes()
	if err != nil { // only when killed while waiting for a ConfigMap/Secret
		w.finish()
		return
	}
	w.set(func() { w.setCond("PodReadyToStartContainers", true, "", "") })
	go w.refreshVolumes()
	w.vols = vols
	close(w.volsReady)
	w.syncEphemeral()

	policy := pod.Spec.RestartPolicy
	sidecars := sync.WaitGroup{}
	sideCtx, stopSidecars := context.WithCancel(w.runCtx)
	defer stopSidecars()
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if isSidecar(pod, c.Name) {
			sidecars.Add(1)
			started := make(chan struct{})
			go func() {
				defer sidecars.Done()
				w.runContainer(sideCtx, c, vols, corev1.RestartPolicyAlways, started)
			}()
			select {
			case <-started:
			case <-w.runCtx.Done():
			}
			w.waitStarted(c.Name) // as the kubelet: the next container waits for the sidecar's startup probe
			continue
		}
		initPolicy := policy
		if initPolicy == corev1.RestartPolicyAlways {
			initPolicy = corev1.RestartPolicyOnFailure
		}
		code, killed := w.runContainer(w.runCtx, c, vols, initPolicy, nil)
		if killed || w.isTerminating() {
			break
		}
		if code != 0 { // restartPolicy Never: the pod fails
			w.set(func() {
				w.phase = corev1.PodFailed
				for _, s := range w.ctrs {
					if !s.init && s.state.Waiting != nil {
						s.state.Waiting.Reason = "PodInitializing"
					}
				}
			})
			break
		}
	}
	w.mu.Lock()
	initOK := w.phase != corev1.PodFailed && w.runCtx.Err() == nil && !w.isTerminating()
	w.mu.Unlock()
	if initOK {
		var wg sync.WaitGroup
		for i := range pod.Spec.Containers {
			c := &pod.Spec.Containers[i]
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.runContainer(w.runCtx, c, vols, policy, nil)
			}()
		}
		wg.Wait()
	}
	stopSidecars()
	sidecars.Wait()
	w.ephStop()
	w.ephRuns.Wait()
	w.finish()
}

// finish sets the terminal phase, publishes it, and completes a pending deletion.
func (w *podWorker) finish() {
	if w.m.ctx.Err() != nil { // the agent stops: leave the status as it is for the next start
		return
	}
	w.mu.Lock()
	if w.phase != corev1.PodFailed {
		// Every container that must finish exited 0: Succeeded; else (an error, a kill, a deadline): Failed.
		failed := w.deadline
		for _, c := range w.ctrs {
			if c.ephemeral || c.init && isSidecar(w.pod, c.name) {
				continue
			}
			if c.state.Terminated == nil || c.state.Terminated.ExitCode != 0 {
				failed = true
			}
		}
		w.phase = corev1.PodSucceeded
		if failed {
			w.phase = corev1.PodFailed
		}
	}
	for _, c := range w.ctrs {
		c.ready = c.init && !isSidecar(w.pod, c.name) && c.state.Terminated != nil && c.state.Terminated.ExitCode == 0
		if c.state.Waiting != nil && w.deleting { // never started, or waiting to restart: as the kubelet reports it
			c.state = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "ContainerStatusUnknown",
				Message: "The container could not be located when the pod was terminated"}}
		}
	}
	w.mu.Unlock()
	w.publish()
	w.mu.Lock()
	w.finished = true
	deleting := w.deleting
	pod := w.pod
	w.mu.Unlock()
	if deleting {
		w.m.deleteNow(pod)
	}
}

// watchDeadline fails the pod when it has been active longer than activeDeadlineSeconds; an update of the
// field (it may only be lowered or set) re-arms it, as the kubelet's active deadline handler checks it at
// each sync. The returned func stops it.
func (w *podWorker) watchDeadline(pod *corev1.Pod) func() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadlineWatching = true
	w.armDeadlineLocked(pod)
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.deadlineWatching = false
		if w.deadlineTimer != nil {
			w.deadlineTimer.Stop()
		}
	}
}

// armDeadlineLocked (re)starts the deadline timer for pod's activeDeadlineSeconds when it changed. w.mu held.
func (w *podWorker) armDeadlineLocked(pod *corev1.Pod) {
	secs := pod.Spec.ActiveDeadlineSeconds
	if !w.deadlineWatching || secs == nil || w.deadlineSecs != nil && *w.deadlineSecs == *secs {
		return
	}
	w.deadlineSecs = ptr.To(*secs)
	if w.deadlineTimer != nil {
		w.deadlineTimer.Stop()
	}
	left := time.Until(w.startTime.Add(time.Duration(*secs) * time.Second))
	w.deadlineTimer = time.AfterFunc(max(left, 0), func() {
		w.mu.Lock()
		if w.finished || w.deleting {
			w.mu.Unlock()
			return
		}
		w.deadline = true
		w.phase = corev1.PodFailed
		w.reason = "DeadlineExceeded"
		w.msg = "Pod was active on the node longer than the specified deadline"
		w.mu.Unlock()
		w.event(nil, corev1.EventTypeNormal, "DeadlineExceeded", w.msg)
		w.killAll("Killing")
	})
}

// runContainer runs one container until it ends for good under policy; it returns the last exit code and
// whether it was killed. started (if not nil) is closed once the first run began.
func (w *podWorker) runContainer(ctx context.Context, c *corev1.Container, vols map[string]volume, policy corev1.RestartPolicy, started chan struct{}) (int, bool) {
	w.mu.Lock()
	st := w.ctr(c.Name)
	w.mu.Unlock()
	backoff := BackoffInitial
	for {
		if w.isTerminating() {
			return 137, true
		}
		// As the kubelet does: the image first, then the container's configuration (env).
		img := w.pull(ctx, st, c)
		if img == nil {
			return 137, true
		}
		env, err := w.waitEnv(ctx, st, c)
		if errors.Is(err, errConfigRetry) {
			continue
		}
		if err != nil {
			return 137, true
		}
		argv, server := containerArgv(c, env, img)
		srv := serverOf(img)
		if !server {
			srv = nil
		}
		root, fsys, err := w.containerFS(st, c, vols, env, img)
		if err != nil {
			w.m.a.logf("agent: %v", err)
			w.set(func() {
				st.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerError", Message: err.Error()}}
			})
			w.event(st, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
			if !sleepCtx(ctx, retryPeriod) {
				return 137, true
			}
			continue
		}
		w.event(st, corev1.EventTypeNormal, "Created", "Created container: "+c.Name)
		w.mu.Lock()
		idx := st.restartCount
		w.mu.Unlock()
		logPath := w.logPath(c.Name, idx)
		lw, err := w.m.logs.create(w.uid, logPath)
		if err != nil {
			_ = fsys.Close()
			w.m.a.logf("agent: %v", err)
			return 1, false
		}
		begin := metav1.Now()
		// As the kubelet: a container with a postStart hook is not running until the hook returns.
		postStart := c.Lifecycle != nil && c.Lifecycle.PostStart != nil
		setRunning := func() {
			st.state = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: begin}}
			st.started = c.StartupProbe == nil
			st.ready = (!st.init || isSidecar(w.pod, c.Name)) && c.ReadinessProbe == nil && c.StartupProbe == nil
		}
		w.set(func() {
			st.containerID = fmt.Sprintf("klab://%s-%s-%d", string(w.uid)[:8], c.Name, idx)
			if !postStart {
				setRunning()
			}
		})
		w.event(st, corev1.EventTypeNormal, "Started", "Started container "+c.Name)
		if started != nil {
			close(started)
			started = nil
		}
		runCtx, stopRun := context.WithCancel(ctx)
		var hooks kubecontainer.HandlerRunner
		if c.Lifecycle != nil && (c.Lifecycle.PreStop != nil || postStart) {
			hooks = w.hookRunner(c, fsys, env)
		}
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
			w.mu.Lock()
			st.preStop = func(hctx context.Context) error {
				_, err := w.runHook(hctx, st, c, hooks, c.Lifecycle.PreStop)
				return err
			}
			w.mu.Unlock()
		}
		sig := &busybox.Signals{}
		cio, err := newContainerIO(c, lw)
		if err != nil {
			stopRun()
			lw.close()
			_ = fsys.Close()
			w.m.a.logf("agent: %v", err)
			return 1, false
		}
		sh := w.shell(c, fsys, env, cio.stdout(), cio.stderr())
		sh.Stdin, sh.Signals, sh.TTY = cio.stdin(), sig, c.TTY
		cio.sh = sh
		w.mu.Lock()
		st.run = &running{ctx: runCtx, sh: sh, io: cio}
		if server {
			// A server image (pause, nginx…) stops on SIGTERM, as those images do.
			st.term = func() bool { stopRun(); return true }
		} else {
			st.term = func() bool { return sig.Send("TERM") }
		}
		w.mu.Unlock()
		// A server binds its ports before the probes start, as a real one does in the moment between
		// its container's start and the kubelet's first probe.
		serverExit := w.startServer(runCtx, srv, c, argv, fsys, lw.stream("stdout"), lw.stream("stderr"))
		var probeKilled, resizeKilled atomic.Bool
		w.mu.Lock()
		st.resizeKill = func() { resizeKilled.Store(true); stopRun() }
		w.mu.Unlock()
		waitProbes := w.startProbes(&probeRun{ctx: runCtx, w: w, st: st, c: c, fsys: fsys, env: env,
			kill: func() { probeKilled.Store(true); stopRun() }})
		if postStart {
			go w.postStart(runCtx, st, c, hooks, setRunning, func() { probeKilled.Store(true); stopRun() })
		}
		var code int
		switch {
		case srv != nil:
			code = <-serverExit
			if runCtx.Err() != nil {
				code = 137
			}
		case server:
			<-runCtx.Done()
			code = 137
		default:
			var err error
			code, err = sh.Run(runCtx, argv)
			if err != nil {
				fmt.Fprintf(lw.stream("stderr"), "%v\n", err)
			}
		}
		stopRun()
		waitProbes()
		w.mu.Lock()
		st.preStop, st.term, st.run, st.resizeKill = nil, nil, nil, nil
		w.mu.Unlock()
		if probeKilled.Load() || resizeKilled.Load() {
			code = 137
		}
		cio.close()
		lw.close()
		message := terminationMessage(c, fsys, logPath, code)
		_ = fsys.Close()
		killed := ctx.Err() != nil
		if killed {
			code = 137
		}
		end := metav1.Now()
		reason := "Completed"
		if code != 0 {
			reason = "Error"
		}
		term := &corev1.ContainerStateTerminated{ExitCode: int32(code), Reason: reason, Message: message, StartedAt: begin, FinishedAt: end, ContainerID: st.containerID}
		// A resize whose policy is RestartContainer restarts the container at once, whatever its policy.
		resized := resizeKilled.Load() && !killed && !w.isTerminating()
		restart := resized || !killed && !w.isTerminating() && restartOnExit(c, policy, code)
		if resized {
			w.set(func() {
				st.last = corev1.ContainerState{Terminated: term}
				st.restartCount++
				st.ready = false
				st.started = false
				st.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
			})
			_ = os.RemoveAll(filepath.Dir(root))
			continue
		}
		if !restart {
			w.set(func() {
				st.state = corev1.ContainerState{Terminated: term}
				// The kubelet reports an init container that completed as ready.
				st.ready = st.init && !isSidecar(w.pod, c.Name) && code == 0
			})
			// An exited container's writable layer is not needed any more (its logs and volumes stay).
			_ = os.RemoveAll(filepath.Dir(root))
			return code, killed
		}
		if end.Sub(begin.Time) > BackoffReset {
			backoff = BackoffInitial
		}
		w.set(func() {
			st.last = corev1.ContainerState{Terminated: term}
			st.restartCount++
			st.ready = false
			pod := w.pod
			st.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
				Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", backoff, c.Name, pod.Name, pod.Namespace, pod.UID)}}
		})
		pod := w.latest()
		w.event(st, corev1.EventTypeWarning, "BackOff", fmt.Sprintf("Back-off restarting failed container %s in pod %s_%s(%s)", c.Name, pod.Name, pod.Namespace, pod.UID))
		// The previous container's root goes away, as with a real restart.
		_ = os.RemoveAll(filepath.Dir(root))
		if !sleepCtx(ctx, backoff, w.terminating) {
			w.set(func() { st.state = corev1.ContainerState{Terminated: term} })
			return code, true
		}
		backoff = min(backoff*2, BackoffMax)
	}
}

// waitStarted waits until the container is running and started (its startup probe passed, its postStart
// hook returned), or the pod is killed.
func (w *podWorker) waitStarted(name string) {
	for {
		w.mu.Lock()
		st := w.ctr(name)
		ok := st == nil || st.started && st.state.Running != nil
		w.mu.Unlock()
		if ok || !sleepCtx(w.runCtx, 50*time.Millisecond, w.terminating) {
			return
		}
	}
}

// sleepCtx waits d; false when ctx ends first or one of stop closes.
// restartOnExit is the kubelet's decision once a container exited with code: the container's
// restartPolicyRules first (the first rule matching the exit code decides), then its own restartPolicy
// (ContainerRestartRules, beta in 1.37), else fallback, the policy the pod gives this container.
func restartOnExit(c *corev1.Container, fallback corev1.RestartPolicy, code int) bool {
	for _, r := range c.RestartPolicyRules {
		if r.ExitCodes == nil || r.Action != corev1.ContainerRestartRuleActionRestart {
			continue
		}
		in := slices.Contains(r.ExitCodes.Values, int32(code))
		if in == (r.ExitCodes.Operator == corev1.ContainerRestartRuleOnExitCodesOpIn) {
			return true
		}
	}
	policy := fallback
	if c.RestartPolicy != nil && *c.RestartPolicy != "" {
		policy = corev1.RestartPolicy(*c.RestartPolicy)
	}
	return policy == corev1.RestartPolicyAlways || (policy == corev1.RestartPolicyOnFailure && code != 0)
}

func sleepCtx(ctx context.Context, d time.Duration, stop ...<-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	var s <-chan struct{}
	if len(stop) > 0 {
		s = stop[0]
	}
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s:
		return false
	}
}

// errConfigRetry tells runContainer that the container's configuration still fails after one kubelet
// sync period: it starts over from the image, as the kubelet's next sync does.
var errConfigRetry = errors.New("container configuration not ready: retry the sync")

// waitEnv resolves the container's environment. While a referenced ConfigMap, Secret or key is
// missing, the container waits in CreateContainerConfigError with the kubelet's message (the latest
// one: creating the ConfigMap without the key turns "configmap … not found" into "couldn't find key
// …"), with a Failed event "Error: <message>" per sync, as kuberuntime's startContainer records it.
// The kubelet retries a failed sync after its pod-worker back-off (10 s); the agent looks again every
// retryPeriod, so a fix is picked up within seconds, and returns errConfigRetry once configResync has
// passed so that the next sync pulls again (Pulled events) and records Failed again, counting up as on
// a kubelet.
func (w *podWorker) waitEnv(ctx context.Context, st *ctrState, c *corev1.Container) ([]string, error) {
	deadline := time.Now().Add(configResync)
	last := ""
	for {
		env, err := w.containerEnv(ctx, c)
		if err == nil {
			err = subPathsReady(c, env)
		}
		if err == nil {
			err = verifyRunAsNonRoot(w.latest(), c)
		}
		if err == nil {
			return env, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if msg := err.Error(); msg != last {
			w.set(func() {
				st.state = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: msg}}
			})
			w.event(st, corev1.EventTypeWarning, "Failed", "Error: "+msg)
			last = msg
		}
		if !time.Now().Before(deadline) {
			return nil, errConfigRetry
		}
		if !sleepCtx(ctx, retryPeriod) {
			return nil, ctx.Err()
		}
	}
}

func (w *podWorker) logPath(container string, restart int32) string {
	return filepath.Join(w.dir, "logs", container, fmt.Sprintf("%d.log", restart))
}

// containerFS lays out a fresh root for this run of the container and opens it with its mounts.
func (w *podWorker) containerFS(st *ctrState, c *corev1.Container, vols map[string]volume, env []string, img *images.Image) (string, *busybox.FS, error) {
	w.mu.Lock()
	n := st.restartCount
	w.mu.Unlock()
	root := filepath.Join(w.dir, "containers", fmt.Sprintf("%s-%d", c.Name, n), "root")
	_ = os.RemoveAll(filepath.Dir(root))
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", nil, fmt.Errorf("container %s root: %w", c.Name, err)
	}
	if err := layImage(root, utsHostname(w.latest()), img); err != nil {
		return "", nil, fmt.Errorf("container %s: %w", c.Name, err)
	}
	if err := w.writeNetworkFiles(root, w.latest()); err != nil {
		return "", nil, fmt.Errorf("container %s: %w", c.Name, err)
	}
	// The runtime provides the termination-message file.
	tmPath := filepath.Join(root, filepath.FromSlash(busybox.Clean(terminationMessagePath(c))))
	if err := os.MkdirAll(filepath.Dir(tmPath), 0o755); err == nil {
		_ = os.WriteFile(tmPath, nil, 0o666)
	}
	if c.WorkingDir != "" { // the runtime creates a missing working directory
		if err := os.MkdirAll(filepath.Join(root, filepath.FromSlash(busybox.Clean(c.WorkingDir))), 0o755); err != nil {
			return "", nil, fmt.Errorf("container %s working dir: %w", c.Name, err)
		}
	}
	mounts, err := containerMounts(c, vols, env)
	if err != nil {
		return "", nil, err
	}
	w.mu.Lock()
	st.root = root
	st.resources = *w.allocatedLocked(c.Name)
	kv := &kernelView{pod: w.pod, c: c, resources: st.resources, mounts: mounts,
		cpus: w.m.a.capacity.Cpu().Value(), memory: w.m.a.capacity.Memory().Value()}
	w.mu.Unlock()
	if err := kv.write(root); err != nil {
		for _, m := range mounts {
			if m.Root != nil {
				_ = m.Root.Close()
			}
		}
		return "", nil, fmt.Errorf("container %s: %w", c.Name, err)
	}
	fsys, err := busybox.NewFS(root, mounts)
	if err != nil {
		return "", nil, fmt.Errorf("container %s: %w", c.Name, err)
	}
	if sc := c.SecurityContext; sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem {
		fsys.MakeRootReadOnly()
	}
	return root, fsys, nil
}

// podHostname is the pod's hostname: spec.hostname when set, else its name (truncated to 63 characters
// like the kubelet does).
func podHostname(pod *corev1.Pod) string {
	if pod.Spec.HostNetwork { // the node's own UTS namespace
		return pod.Spec.NodeName
	}
	h := pod.Name
	if pod.Spec.HostnameOverride != nil { // as the kubelet's GeneratePodHostNameAndDomain: it wins, with no domain
		h = *pod.Spec.HostnameOverride
	} else if pod.Spec.Hostname != "" {
		h = pod.Spec.Hostname
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// utsHostname is the hostname the container's commands see (hostname, $HOSTNAME, /etc/hostname): the
// pod's, or its fully qualified name with setHostnameAsFQDN and a subdomain, as the kubelet sets the
// sandbox's (the name stays short in /etc/hosts).
func utsHostname(pod *corev1.Pod) string {
	h := podHostname(pod)
	if pod.Spec.SetHostnameAsFQDN != nil && *pod.Spec.SetHostnameAsFQDN && pod.Spec.Subdomain != "" &&
		pod.Spec.HostnameOverride == nil && !pod.Spec.HostNetwork {
		h = fmt.Sprintf("%s.%s.%s.svc.cluster.local", h, pod.Spec.Subdomain, pod.Namespace)
	}
	return h
}

func terminationMessagePath(c *corev1.Container) string {
	if c.TerminationMessagePath != "" {
		return c.TerminationMessagePath
	}
	return corev1.TerminationMessagePathDefault
}

// terminationMessage reads what the container wrote to its termination-message file (4 KiB at most),
// or with FallbackToLogsOnError and a failure, the end of its log, as the kubelet does.
func terminationMessage(c *corev1.Container, fsys *busybox.FS, logPath string, code int) string {
	const maxMsg = 4096
	if b, err := fsys.ReadFile(terminationMessagePath(c)); err == nil && len(b) > 0 {
		if len(b) > maxMsg {
			b = b[:maxMsg]
		}
		return string(b)
	}
	if c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError || code == 0 {
		return ""
	}
	f, err := os.Open(logPath)
	if err != nil {
		return ""
	}
	defer func() { _ = f.Close() }()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if e, ok := parseLogLine(sc.Text()); ok {
			if !e.partial {
				e.text += "\n"
			}
			lines = append(lines, e.text)
			if len(lines) > 80 {
				lines = lines[1:]
			}
		}
	}
	msg := strings.Join(lines, "")
	if len(msg) > 2048 {
		msg = msg[len(msg)-2048:]
	}
	return msg
}
