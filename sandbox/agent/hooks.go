package agent

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	kubecontainer "k8s.io/kubernetes/pkg/kubelet/container"
	"k8s.io/kubernetes/pkg/kubelet/lifecycle"
	httpprobe "k8s.io/kubernetes/pkg/probe/http"
	utilexec "k8s.io/utils/exec"

	"github.com/klabdev/klab/sandbox/agent/busybox"
)

// Lifecycle hooks (postStart, preStop) run through the kubelet's own handler runner
// (lifecycle.NewHandlerRunner): exec in the container's shell, httpGet from the node over the pod network
// with the kubelet's insecure lifecycle client, sleep. Its messages are the kubelet's ("Exec lifecycle hook
// ([sh -c exit 1]) for Container "c" in Pod "p_ns(uid)" failed - error: command 'sh -c exit 1' exited with
// 1: , message: """).

// hookExec runs a hook's command beside the container's main process, as a CRI ExecSync: its output is
// returned, a non-zero exit is a CodeExitError worded as containerd's.
type hookExec struct {
	w    *podWorker
	c    *corev1.Container
	fsys *busybox.FS
	env  []string
}

func (h *hookExec) RunInContainer(ctx context.Context, _ kubecontainer.ContainerID, cmd []string, timeout time.Duration) ([]byte, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var stdout, stderr bytes.Buffer
	code, err := h.w.shell(h.c, h.fsys, h.env, &stdout, &stderr).Run(ctx, cmd)
	if err != nil {
		return append(stdout.Bytes(), stderr.Bytes()...), fmt.Errorf("exec %q: %w", strings.Join(cmd, " "), err)
	}
	out := append(stdout.Bytes(), stderr.Bytes()...)
	if code != 0 {
		return out, utilexec.CodeExitError{Err: fmt.Errorf("command '%s' exited with %d: %s", strings.Join(cmd, " "), code, stderr.String()), Code: code}
	}
	return out, nil
}

// hookPods answers the runner's question for an httpGet hook without a host: the pod's IP.
type hookPods struct{ ip string }

func (p hookPods) GetPod(_ context.Context, uid types.UID) (*kubecontainer.Pod, error) {
	return &kubecontainer.Pod{ID: uid}, nil
}

func (p hookPods) GetPodStatus(_ context.Context, pod *kubecontainer.Pod) (*kubecontainer.PodStatus, error) {
	return &kubecontainer.PodStatus{ID: pod.ID, IPs: []string{p.ip}}, nil
}

// hookRunner is the kubelet's handler runner for one run of container c.
func (w *podWorker) hookRunner(c *corev1.Container, fsys *busybox.FS, env []string) kubecontainer.HandlerRunner {
	n := w.node() // the worker's pod is bound to one of the agent's nodes
	client := &http.Client{Transport: n.probeTransport(), CheckRedirect: httpprobe.RedirectChecker(false)}
	return lifecycle.NewHandlerRunner(client, &hookExec{w: w, c: c, fsys: fsys, env: env}, hookPods{ip: w.ip}, n.recorder)
}

// runHook runs one of c's lifecycle hooks; msg is the kubelet's message when it fails.
func (w *podWorker) runHook(ctx context.Context, st *ctrState, c *corev1.Container, runner kubecontainer.HandlerRunner, h *corev1.LifecycleHandler) (string, error) {
	w.mu.Lock()
	id := st.containerID
	w.mu.Unlock()
	typ, cid, _ := strings.Cut(id, "://")
	msg, err := runner.Run(ctx, kubecontainer.ContainerID{Type: typ, ID: cid}, w.latest(), c, h)
	if err != nil {
		w.m.a.logf("agent: %s", msg)
	}
	return msg, err //nolint:wrapcheck // the kubelet's runner words the message
}
