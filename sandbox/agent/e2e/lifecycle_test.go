package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"
)

// watchPod returns the pod's successive versions until it is deleted or the timeout ends.
func watchPod(t *testing.T, ns, name string, timeout time.Duration) <-chan *corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	w, err := cluster.Client.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	out := make(chan *corev1.Pod, 100)
	go func() {
		defer cancel()
		defer close(out)
		defer w.Stop()
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*corev1.Pod)
			if !ok {
				continue
			}
			if ev.Type == watch.Deleted {
				return
			}
			out <- p
		}
	}()
	return out
}

// TestGracefulTerminationRunsTrap: on deletion the container's shell gets SIGTERM, its trap runs while
// the pod is Terminating with the container still running, and the trap's exit code is the container's.
func TestGracefulTerminationRunsTrap(t *testing.T) {
	ns := namespace(t)
	create(t, ns, busybox("trapper", corev1.RestartPolicyNever, `_term() {
  echo got SIGTERM
  sleep 2
  exit 143
}
trap _term SIGTERM
echo started
while true; do sleep 1; done`))
	waitPod(t, ns, "trapper", 30*time.Second, "Running", phase(corev1.PodRunning))
	events := watchPod(t, ns, "trapper", 40*time.Second)
	start := time.Now()
	if err := cluster.Client.CoreV1().Pods(ns).Delete(context.Background(), "trapper", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](30)}); err != nil {
		t.Fatal(err)
	}
	var last *corev1.Pod
	sawTerminatingRunning := false
	for p := range events {
		if p.DeletionTimestamp != nil && p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 &&
			p.Status.ContainerStatuses[0].State.Running != nil {
			sawTerminatingRunning = true
		}
		last = p
	}
	took := time.Since(start)
	if !sawTerminatingRunning {
		t.Error("the pod was never seen Terminating with its container running")
	}
	if last == nil || last.Status.Phase != corev1.PodFailed {
		t.Fatalf("last status before the deletion: %+v", last)
	}
	term := last.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.ExitCode != 143 || term.Reason != "Error" {
		t.Fatalf("terminated state %+v", last.Status.ContainerStatuses[0].State)
	}
	// The trap's `sleep 2` ran: not killed at once, and not left for the whole 30 s.
	if took < 2*time.Second || took > 15*time.Second {
		t.Errorf("deletion took %v, want the trap's ~2-3 s", took)
	}
}

// TestGracePeriodMinimum: a pod whose shell ignores SIGTERM is killed after its grace period, and the
// kubelet's floor of 2 s applies to a 1 s grace period.
func TestGracePeriodMinimum(t *testing.T) {
	ns := namespace(t)
	pod := busybox("stubborn", corev1.RestartPolicyNever, "echo started; while true; do sleep 1; done")
	pod.Spec.TerminationGracePeriodSeconds = ptr.To[int64](1)
	create(t, ns, pod)
	waitPod(t, ns, "stubborn", 30*time.Second, "Running", phase(corev1.PodRunning))
	events := watchPod(t, ns, "stubborn", 30*time.Second)
	start := time.Now()
	if err := cluster.Client.CoreV1().Pods(ns).Delete(context.Background(), "stubborn", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var last *corev1.Pod
	for p := range events {
		last = p
	}
	took := time.Since(start)
	if took < 2*time.Second || took > 10*time.Second {
		t.Errorf("deletion took %v, want ~2 s", took)
	}
	if last == nil || last.Status.ContainerStatuses[0].State.Terminated == nil || last.Status.ContainerStatuses[0].State.Terminated.ExitCode != 137 {
		t.Fatalf("last status before the deletion: %+v", last)
	}
}

// TestContainerRestartPolicy: a container's own restartPolicy (OnFailure under a pod's Never) restarts it
// in place, and restartPolicyRules restart on the exit codes they name only.
func TestContainerRestartPolicy(t *testing.T) {
	ns := namespace(t)
	failOnce := `if [ -r /data/marker ]; then echo second; exit 0; fi; touch /data/marker; echo first; exit 42`
	withVolume := func(p *corev1.Pod) *corev1.Pod {
		p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		return p
	}
	onFailure := withVolume(busybox("onfailure", corev1.RestartPolicyNever, failOnce))
	onFailure.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyOnFailure)
	rule := withVolume(busybox("rule42", corev1.RestartPolicyNever, failOnce))
	rule.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyNever)
	rule.Spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{{Action: corev1.ContainerRestartRuleActionRestart,
		ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: corev1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{42}}}}
	otherCode := withVolume(busybox("rule7", corev1.RestartPolicyNever, failOnce))
	otherCode.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyNever)
	otherCode.Spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{{Action: corev1.ContainerRestartRuleActionRestart,
		ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: corev1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{7}}}}
	for _, p := range []*corev1.Pod{onFailure, rule, otherCode} {
		create(t, ns, p)
	}
	for _, name := range []string{"onfailure", "rule42"} {
		p := waitPod(t, ns, name, 30*time.Second, "Succeeded", phase(corev1.PodSucceeded))
		cs := p.Status.ContainerStatuses[0]
		if cs.RestartCount != 1 || cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.ExitCode != 42 {
			t.Errorf("%s: restartCount %d, last state %+v", name, cs.RestartCount, cs.LastTerminationState)
		}
		if got := logs(t, ns, name, &corev1.PodLogOptions{}); got != "second\n" {
			t.Errorf("%s: logs %q", name, got)
		}
	}
	p := waitPod(t, ns, "rule7", 30*time.Second, "Failed", phase(corev1.PodFailed))
	if cs := p.Status.ContainerStatuses[0]; cs.RestartCount != 0 || cs.State.Terminated == nil || cs.State.Terminated.ExitCode != 42 {
		t.Errorf("rule7: %+v", cs)
	}
}

// TestSidecarKeepsRunning: an init container with restartPolicy Always starts, keeps running while the
// main container runs (the pod is Initialized), and is stopped once the main container completed.
func TestSidecarKeepsRunning(t *testing.T) {
	ns := namespace(t)
	pod := busybox("withsidecar", corev1.RestartPolicyNever, "sleep 1; head -n 1 /shared/log")
	pod.Spec.Volumes = []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}}
	pod.Spec.InitContainers = []corev1.Container{{Name: "logger", Image: "busybox:1.36", RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways),
		Command:      []string{"sh", "-c", "while true; do echo tick >> /shared/log; sleep 0.1; done"},
		VolumeMounts: []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}}}}
	create(t, ns, pod)
	running := waitPod(t, ns, "withsidecar", 30*time.Second, "Running with its sidecar", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && len(p.Status.InitContainerStatuses) == 1 && p.Status.InitContainerStatuses[0].State.Running != nil &&
			len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].State.Running != nil
	})
	for _, c := range running.Status.Conditions {
		if c.Type == corev1.PodInitialized && c.Status != corev1.ConditionTrue {
			t.Errorf("Initialized %s while the sidecar runs", c.Status)
		}
	}
	p := waitPod(t, ns, "withsidecar", 30*time.Second, "Succeeded", phase(corev1.PodSucceeded))
	if got := logs(t, ns, "withsidecar", &corev1.PodLogOptions{Container: "main"}); got != "tick\n" {
		t.Errorf("main logs %q", got)
	}
	if s := p.Status.InitContainerStatuses[0]; s.State.Terminated == nil {
		t.Errorf("sidecar not stopped: %+v", s.State)
	}
}
