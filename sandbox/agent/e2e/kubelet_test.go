package e2e

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// An in-place resize through the API's resize subresource (what `kubectl patch --subresource resize`
// sends): the spec's generation moves, the agent allocates and applies it and reports it as a kubelet does.
func TestResizeSubresource(t *testing.T) {
	ns := namespace(t)
	pod := busybox("resized", corev1.RestartPolicyAlways, "while :; do cat /sys/fs/cgroup/cpu.max; sleep 0.2; done")
	q := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("32Mi")}
	pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{Requests: q, Limits: q.DeepCopy()}
	create(t, ns, pod)
	waitPod(t, ns, "resized", 30*time.Second, "Running", phase(corev1.PodRunning))
	patch := `{"spec":{"containers":[{"name":"main","resources":{"requests":{"cpu":"300m"},"limits":{"cpu":"300m"}}}]}}`
	p, err := cluster.Client.CoreV1().Pods(ns).Patch(context.Background(), "resized", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}, "resize")
	if err != nil {
		t.Fatal(err)
	}
	gen := p.Generation
	p = waitPod(t, ns, "resized", 30*time.Second, "resized", func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodResizePending || c.Type == corev1.PodResizeInProgress {
				return false
			}
		}
		cs := p.Status.ContainerStatuses
		return p.Status.ObservedGeneration == gen && len(cs) == 1 && cs[0].Resources != nil && cs[0].Resources.Limits.Cpu().String() == "300m"
	})
	if cs := p.Status.ContainerStatuses[0]; cs.RestartCount != 0 || cs.AllocatedResources.Cpu().String() != "300m" {
		t.Errorf("after the resize: %d restarts, allocated %v", cs.RestartCount, cs.AllocatedResources)
	}
	waitFor(t, 10*time.Second, "the new cpu.max in the container", func() bool {
		return logs(t, ns, "resized", &corev1.PodLogOptions{TailLines: ptr.To[int64](1)}) == "30000 100000\n"
	})
}

// securityContext.sysctls through the API: a safe one reaches the container's /proc/sys, an unsafe one
// gets the kubelet's SysctlForbidden.
func TestPodSysctls(t *testing.T) {
	ns := namespace(t)
	ok := busybox("safe", corev1.RestartPolicyNever, "sysctl net.ipv4.ip_unprivileged_port_start")
	ok.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.ipv4.ip_unprivileged_port_start", Value: "0"}}}
	create(t, ns, ok)
	bad := busybox("unsafe", corev1.RestartPolicyNever, "true")
	bad.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "kernel.msgmax", Value: "10000"}}}
	create(t, ns, bad)
	waitPod(t, ns, "safe", 30*time.Second, "Succeeded", phase(corev1.PodSucceeded))
	if got := logs(t, ns, "safe", &corev1.PodLogOptions{}); got != "net.ipv4.ip_unprivileged_port_start = 0\n" {
		t.Errorf("safe sysctl: %q", got)
	}
	p := waitPod(t, ns, "unsafe", 30*time.Second, "Failed", phase(corev1.PodFailed))
	if p.Status.Reason != "SysctlForbidden" {
		t.Errorf("unsafe sysctl: %q %q", p.Status.Reason, p.Status.Message)
	}
}
