package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// securityContext.sysctls: a safe one is what the container's /proc/sys shows; another one is refused at
// admission with the kubelet's SysctlForbidden, as by a kubelet without --allowed-unsafe-sysctls.
func TestSysctls(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("sysctl", corev1.RestartPolicyNever, "/bin/sysctl kernel.shm_rmid_forced net.ipv4.ip_local_port_range; cat /proc/sys/kernel/shm_rmid_forced")
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{
		{Name: "kernel.shm_rmid_forced", Value: "1"}, {Name: "net/ipv4/ip_local_port_range", Value: "1024 65535"}}}
	h.createPod(pod)
	h.waitPod("sysctl", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if got := h.logs(t, "sysctl", "main", ""); got != "kernel.shm_rmid_forced = 1\nnet.ipv4.ip_local_port_range = 1024\t65535\n1\n" {
		t.Errorf("logs %q", got)
	}
	bad := busyboxPod("unsafe", corev1.RestartPolicyNever, "true")
	bad.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}}}
	h.createPod(bad)
	p := h.waitPod("unsafe", "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if p.Status.Reason != "SysctlForbidden" || p.Status.Message != `Pod was rejected: forbidden sysctl: "net.core.somaxconn" not allowlisted` {
		t.Errorf("unsafe sysctl: %q %q", p.Status.Reason, p.Status.Message)
	}
}

// An in-place resize: the new resources are allocated and applied to the running container's cgroup
// (cpu.max), without a restart; memory, whose policy is RestartContainer, restarts it.
func TestResizeInPlace(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("resize", corev1.RestartPolicyAlways, "while :; do cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/memory.max | tr '\\n' ' '; echo; sleep 0.05; done")
	res := func(cpu, mem string) corev1.ResourceRequirements {
		l := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
		return corev1.ResourceRequirements{Requests: l, Limits: l.DeepCopy()}
	}
	pod.Spec.Containers[0].Resources = res("100m", "64Mi")
	pod.Spec.Containers[0].ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceMemory, RestartPolicy: corev1.RestartContainer}}
	pod.Generation = 1
	h.createPod(pod)
	p := h.waitPod("resize", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	if cs := p.Status.ContainerStatuses[0]; cs.Resources == nil || cs.Resources.Limits.Cpu().String() != "100m" || cs.AllocatedResources.Memory().String() != "64Mi" {
		t.Fatalf("status resources %+v, allocated %v", cs.Resources, cs.AllocatedResources)
	}
	resize := func(r corev1.ResourceRequirements) {
		t.Helper()
		p, err := h.client.CoreV1().Pods("default").Get(context.Background(), "resize", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p.Spec.Containers[0].Resources = r
		p.Generation++
		if _, err := h.client.CoreV1().Pods("default").Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	resize(res("200m", "64Mi"))
	done := func(gen int64, cpu, mem string) func(*corev1.Pod) bool {
		return func(p *corev1.Pod) bool {
			cs := p.Status.ContainerStatuses[0]
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodResizeInProgress || c.Type == corev1.PodResizePending {
					return false
				}
			}
			return p.Status.ObservedGeneration == gen && cs.Resources != nil && cs.Resources.Limits.Cpu().String() == cpu &&
				cs.Resources.Limits.Memory().String() == mem && cs.State.Running != nil
		}
	}
	p = h.waitPod("resize", "resized in place", done(2, "200m", "64Mi"))
	if n := p.Status.ContainerStatuses[0].RestartCount; n != 0 {
		t.Errorf("a cpu resize restarted the container (%d restarts)", n)
	}
	h.waitEvent("resize", "ResizeCompleted", `Pod resize completed: {"containers":[{"name":"main","resources":{"limits":{"cpu":"200m","memory":"64Mi"},"requests":{"cpu":"200m","memory":"64Mi"}}}],"generation":2}`)
	waitLog := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if strings.Contains(h.logs(t, "resize", "main", "tailLines=1"), want) {
				return
			}
		}
		t.Fatalf("the container's cgroup never showed %q: %q", want, h.logs(t, "resize", "main", "tailLines=3"))
	}
	waitLog("20000 100000 67108864")
	resize(res("200m", "128Mi"))
	p = h.waitPod("resize", "restarted for memory", done(3, "200m", "128Mi"))
	if n := p.Status.ContainerStatuses[0].RestartCount; n != 1 {
		t.Errorf("a memory resize with RestartContainer: %d restarts, want 1", n)
	}
	waitLog("20000 100000 134217728")
	// More CPU than the node has can never be allocated: Infeasible, and the allocation stays.
	resize(res("1000", "128Mi"))
	p = h.waitPod("resize", "Infeasible", func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodResizePending && c.Reason == corev1.PodReasonInfeasible && c.ObservedGeneration == 4 {
				return true
			}
		}
		return false
	})
	if got := p.Status.ContainerStatuses[0].AllocatedResources.Cpu().String(); got != "200m" {
		t.Errorf("allocated cpu after an infeasible resize: %s", got)
	}
}

// The kubelet-managed /etc/hosts: a pod's own, unless a container mounts a file over it; a hostNetwork pod
// gets the node's file under the host-network header, its node's address and name.
func TestEtcHosts(t *testing.T) {
	h := startAgent(t)
	hostPath := func(p *corev1.Pod, mounts ...string) {
		p.Spec.Volumes = []corev1.Volume{{Name: "hosts", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
			Path: "/etc/hosts", Type: ptr.To(corev1.HostPathFileOrCreate)}}}}
		for _, m := range mounts {
			p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "hosts", MountPath: m})
		}
	}
	own := busyboxPod("own", corev1.RestartPolicyNever, "head -n 1 /etc/hosts; tail -n 1 /etc/hosts-original")
	hostPath(own, "/etc/hosts-original")
	over := busyboxPod("over", corev1.RestartPolicyNever, "head -n 1 /etc/hosts; tail -n 1 /etc/hosts")
	hostPath(over, "/etc/hosts-original", "/etc/hosts")
	hostNet := busyboxPod("hostnet", corev1.RestartPolicyNever, "head -n 2 /etc/hosts; hostname; cat /etc/resolv.conf")
	hostNet.Spec.HostNetwork = true
	for _, p := range []*corev1.Pod{own, over, hostNet} {
		h.createPod(p)
	}
	node, err := h.client.CoreV1().Nodes().Get(context.Background(), testNode, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodeIP := node.Status.Addresses[0].Address
	for name, want := range map[string]string{
		"own":     "# Kubernetes-managed hosts file.\n" + nodeIP + "\tnode01\n",
		"over":    "127.0.0.1\tlocalhost\n" + nodeIP + "\tnode01\n",
		"hostnet": "# Kubernetes-managed hosts file (host network).\n127.0.0.1\tlocalhost\nnode01\nnameserver 127.0.0.53\noptions edns0 trust-ad\n",
	} {
		p := h.waitPod(name, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		if got := h.logs(t, name, "main", ""); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
		if name == "hostnet" && p.Status.PodIP != nodeIP {
			t.Errorf("hostNetwork pod IP %s, want its node's", p.Status.PodIP)
		}
	}
	bad := busyboxPod("notdir", corev1.RestartPolicyNever, "true")
	bad.Spec.Volumes = []corev1.Volume{{Name: "d", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
		Path: "/etc/hosts", Type: ptr.To(corev1.HostPathDirectory)}}}}
	h.createPod(bad)
	h.waitEvent("notdir", "FailedMount", `MountVolume.SetUp failed for volume "d" : hostPath type check failed: /etc/hosts is not a directory`)
}

// The nodes' /etc/hosts lives in the tree hostPath volumes share: a symlink a pod planted there never
// makes the agent read a file of the real host into a hostNetwork pod.
func TestNodeHostsPlantedSymlink(t *testing.T) {
	h := startAgent(t)
	hosts := filepath.Join(h.dir, "hostpath", "etc", "hosts")
	if err := os.Remove(hosts); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", hosts); err != nil {
		t.Fatal(err)
	}
	pod := busyboxPod("planted", corev1.RestartPolicyNever, "cat /etc/hosts")
	pod.Spec.HostNetwork = true
	h.createPod(pod)
	p := h.waitPod("planted", "refused", func(p *corev1.Pod) bool {
		w := p.Status.ContainerStatuses
		return len(w) == 1 && w[0].State.Waiting != nil && w[0].State.Waiting.Reason == "CreateContainerError"
	})
	if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; !strings.Contains(msg, "node hosts file") {
		t.Errorf("message %q", msg)
	}
}

// The hostname a pod's commands see: hostnameOverride wins (with no domain), setHostnameAsFQDN gives the
// fully qualified name (the short one stays in /etc/hosts), hostNetwork the node's.
func TestHostnames(t *testing.T) {
	h := startAgent(t)
	override := busyboxPod("override", corev1.RestartPolicyNever, "hostname; echo $HOSTNAME; tail -n 1 /etc/hosts; echo $(hostname)';'$(hostname -f)';'")
	override.Spec.Containers[0].Image = "registry.k8s.io/e2e-test-images/glibc-dns-testing:2.1.1"
	override.Spec.HostnameOverride, override.Spec.Hostname, override.Spec.Subdomain = ptr.To("my.host"), "short", "sub"
	fqdn := busyboxPod("fqdn", corev1.RestartPolicyNever, "hostname; cat /etc/hostname; sysctl -n kernel.hostname; tail -n 1 /etc/hosts; hostname -s; hostname -f; hostname -d")
	fqdn.Spec.Hostname, fqdn.Spec.Subdomain, fqdn.Spec.SetHostnameAsFQDN = "db-0", "db", ptr.To(true)
	for _, p := range []*corev1.Pod{override, fqdn} {
		h.createPod(p)
	}
	ip := func(name string) string {
		return h.waitPod(name, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded }).Status.PodIP
	}
	oip, fip := ip("override"), ip("fqdn")
	if got, want := h.logs(t, "override", "main", ""), "my.host\nmy.host\n"+oip+"\tmy.host\nmy.host;my.host;\n"; got != want {
		t.Errorf("hostnameOverride: %q, want %q", got, want)
	}
	full := "db-0.db.default.svc.cluster.local"
	if got, want := h.logs(t, "fqdn", "main", ""), full+"\n"+full+"\n"+full+"\n"+fip+"\t"+full+"\tdb-0\n"+"db-0\n"+full+"\ndb.default.svc.cluster.local\n"; got != want {
		t.Errorf("setHostnameAsFQDN: %q, want %q", got, want)
	}
}

// A readiness gate holds Ready until its condition, set in the status by someone else, is True.
func TestReadinessGates(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("gated", corev1.RestartPolicyNever, "sleep 600")
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}}
	h.createPod(pod)
	ready := func(want corev1.ConditionStatus, reason, msg string) func(*corev1.Pod) bool {
		return func(p *corev1.Pod) bool {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady {
					return c.Status == want && c.Reason == reason && c.Message == msg
				}
			}
			return false
		}
	}
	p := h.waitPod("gated", "held by its gate", ready(corev1.ConditionFalse, "ReadinessGatesNotReady",
		`corresponding condition of pod readiness gate "example.com/lb" does not exist.`))
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: "example.com/lb", Status: corev1.ConditionTrue})
	if _, err := h.client.CoreV1().Pods("default").UpdateStatus(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.waitPod("gated", "Ready once its gate is True", ready(corev1.ConditionTrue, "", ""))
}

// runAsNonRoot is checked against the user the container would run as: the image's USER (nonroot's
// 1234) or runAsUser; root gives the kubelet's CreateContainerConfigError.
func TestRunAsNonRoot(t *testing.T) {
	h := startAgent(t)
	mk := func(name, image string, uid *int64) *corev1.Pod {
		p := busyboxPod(name, corev1.RestartPolicyNever, "id -u")
		p.Spec.Containers[0].Image = image
		p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: uid}
		return p
	}
	nonroot := "registry.k8s.io/e2e-test-images/nonroot:1.4"
	h.createPod(mk("image-user", nonroot, nil))
	h.createPod(mk("explicit", "busybox:1.36", ptr.To[int64](1000)))
	h.createPod(mk("implicit-root", "busybox:1.36", nil))
	h.createPod(mk("explicit-root", nonroot, ptr.To[int64](0)))
	for name, want := range map[string]string{"image-user": "1234\n", "explicit": "1000\n"} {
		h.waitPod(name, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		if got := h.logs(t, name, "main", ""); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	for name, msg := range map[string]string{
		"implicit-root": `container has runAsNonRoot and image will run as root (pod: "implicit-root_default(uid-implicit-root-0000-0000)", container: main)`,
		"explicit-root": `container's runAsUser breaks non-root policy (pod: "explicit-root_default(uid-explicit-root-0000-0000)", container: main)`,
	} {
		h.waitPod(name, "refused", waitingIs("CreateContainerConfigError", msg))
		h.waitEvent(name, "Failed", "Error: "+msg)
	}
}

// A sidecar's readiness counts in the pod's: a failing readiness probe keeps the pod unready.
func TestSidecarReadiness(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("sided", corev1.RestartPolicyNever, "sleep 600")
	pod.Spec.InitContainers = []corev1.Container{{Name: "side", Image: "busybox:1.36", Command: []string{"sleep", "600"},
		RestartPolicy:  ptr.To(corev1.ContainerRestartPolicyAlways),
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"false"}}}, PeriodSeconds: 1}}}
	h.createPod(pod)
	h.waitPod("sided", "Running, unready because of its sidecar", func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				return p.Status.Phase == corev1.PodRunning && c.Status == corev1.ConditionFalse && c.Message == "containers with unready status: [side]"
			}
		}
		return false
	})
}

// Liveness probes stop once the pod is being deleted (the kubelet's prober): a container whose SIGTERM
// handler breaks its liveness is not reported unhealthy while it shuts down.
func TestLivenessStopsWhenTerminating(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("quiet", corev1.RestartPolicyNever, "trap 'rm -f /tmp/live; sleep 3; exit 0' TERM; touch /tmp/live; while :; do sleep 0.1; done")
	pod.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/tmp/live"}}},
		PeriodSeconds: 1, FailureThreshold: 1}
	h.createPod(pod)
	h.waitPod("quiet", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	time.Sleep(1500 * time.Millisecond)
	h.deletePod("quiet", 30)
	time.Sleep(2500 * time.Millisecond)
	evs, err := h.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs.Items {
		if e.InvolvedObject.Name == "quiet" && e.Reason == "Unhealthy" {
			t.Errorf("liveness probed during termination: %s", e.Message)
		}
	}
}

// A privileged container may add a network interface; an unprivileged one of the same pod may not. A pod
// whose os or kubernetes.io/os label is not linux is refused as on a Linux kubelet.
func TestPrivilegedAndOS(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("priv", corev1.RestartPolicyNever, "ip link add dummy1 type dummy && echo added")
	pod.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
	pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: "plain", Image: "busybox:1.36",
		Command: []string{"sh", "-c", "sleep 0.5; ip link add dummy2 type dummy; ip link | grep -c dummy1"}})
	h.createPod(pod)
	h.waitPod("priv", "done", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	})
	if got := h.logs(t, "priv", "main", ""); got != "added\n" {
		t.Errorf("privileged: %q", got)
	}
	if got := h.logs(t, "priv", "plain", ""); got != "ip: RTNETLINK answers: Operation not permitted\n1\n" {
		t.Errorf("unprivileged: %q", got)
	}
	win := busyboxPod("windows", corev1.RestartPolicyNever, "true")
	win.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
	h.createPod(win)
	p := h.waitPod("windows", "rejected", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	if p.Status.Reason != "PodOSNotSupported" {
		t.Errorf("windows pod: %q %q", p.Status.Reason, p.Status.Message)
	}
	linux := busyboxPod("linux", corev1.RestartPolicyNever, "true")
	linux.Spec.OS = &corev1.PodOS{Name: corev1.Linux}
	linux.Labels = map[string]string{corev1.LabelOSStable: "linux"}
	h.createPod(linux)
	h.waitPod("linux", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
}

// The nonewprivs image's setuid program runs as root unless allowPrivilegeEscalation is false.
func TestNoNewPrivs(t *testing.T) {
	h := startAgent(t)
	for name, allow := range map[string]*bool{"unset": nil, "true": ptr.To(true), "false": ptr.To(false)} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "nnp-" + name}, Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			DNSPolicy: corev1.DNSClusterFirst, Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/e2e-test-images/nonewprivs:1.4",
				SecurityContext: &corev1.SecurityContext{RunAsUser: ptr.To[int64](1000), AllowPrivilegeEscalation: allow}}}}}
		h.createPod(p)
	}
	for name, want := range map[string]string{"unset": "Effective uid: 0\n", "true": "Effective uid: 0\n", "false": "Effective uid: 1000\n"} {
		h.waitPod("nnp-"+name, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
		if got := h.logs(t, "nnp-"+name, "main", ""); got != want {
			t.Errorf("allowPrivilegeEscalation %s: %q, want %q", name, got, want)
		}
	}
}

// An image volume holds the image's files (the kitten image's picture, data.json and Alpine os-release),
// read-only; a server image's content is there for a container that runs a command instead of its server.
func TestImageVolume(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("imgvol", corev1.RestartPolicyNever, "grep -c kitten.jpg /volume/data.json; grep -o 'Alpine Linux' /volume/etc/os-release; "+
		"ls /volume/kitten.jpg; touch /volume/x")
	pod.Spec.Volumes = []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{
		Reference: "registry.k8s.io/e2e-test-images/kitten:1.8", PullPolicy: corev1.PullAlways}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "v", MountPath: "/volume"}}
	h.createPod(pod)
	web := busyboxPod("nginx-cmd", corev1.RestartPolicyNever, "grep -o 'Welcome to nginx!' /usr/share/nginx/html/index.html | head -n 1")
	web.Spec.Containers[0].Image = "nginx:1.27"
	h.createPod(web)
	for name, want := range map[string]string{
		"imgvol":    "1\nAlpine Linux\nAlpine Linux\n/volume/kitten.jpg\ntouch: /volume/x: Read-only file system\n",
		"nginx-cmd": "Welcome to nginx!\n",
	} {
		h.waitPod(name, "done", func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		})
		if got := h.logs(t, name, "main", ""); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

// A sidecar with a startup probe holds the next containers until the probe passes, as the kubelet does.
func TestSidecarStartupProbeHoldsMain(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("held", corev1.RestartPolicyNever, "cat /shared/up")
	pod.Spec.Volumes = []corev1.Volume{{Name: "shared", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "shared", MountPath: "/shared"}}
	pod.Spec.InitContainers = []corev1.Container{{Name: "side", Image: "busybox:1.36", Command: []string{"sh", "-c", "sleep 1.5; echo up > /shared/up; sleep 600"},
		RestartPolicy: ptr.To(corev1.ContainerRestartPolicyAlways), VolumeMounts: pod.Spec.Containers[0].VolumeMounts,
		StartupProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"cat", "/shared/up"}}}, PeriodSeconds: 1, FailureThreshold: 30}}}
	h.createPod(pod)
	h.waitPod("held", "Succeeded", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	})
	if got := h.logs(t, "held", "main", ""); got != "up\n" {
		t.Errorf("main ran before its sidecar started: %q", got)
	}
}
