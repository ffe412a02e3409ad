package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	utilsysctl "k8s.io/component-helpers/node/util/sysctl"
	"k8s.io/kubernetes/pkg/kubelet/lifecycle"
	"k8s.io/kubernetes/pkg/kubelet/qos"
	kubeletsysctl "k8s.io/kubernetes/pkg/kubelet/sysctl"

	"github.com/klabdev/klab/sandbox/agent/busybox"
)

// The kernel as a container sees it: the files of /proc and /sys that commands and tests read (sysctl,
// the cgroup's limits, /proc/self/status, /proc/mounts). The runtime writes them in each container's root
// when it is created, and the resize of a running container rewrites its cgroup files, as the kubelet's
// UpdateContainerResources changes the real cgroup.

// namespacedSysctl is a sysctl the kernel namespaces per pod, with its default on a current kernel.
type namespacedSysctl struct {
	name  string
	value string // tab-separated when the kernel prints several numbers
	safe  bool   // in the kubelet's safe set (pkg/kubelet/sysctl safeSysctls), allowed without --allowed-unsafe-sysctls
}

// podSysctls is the sandbox's table of namespaced sysctls: what /proc/sys shows in a pod and which of them
// a pod may set (the safe ones, as a kubelet with no --allowed-unsafe-sysctls). The safe names are the
// kubelet's list on a kernel recent enough for all of them (6.x, Killercoda's and kind's).
func podSysctls() []namespacedSysctl {
	return []namespacedSysctl{
		{"kernel.shm_rmid_forced", "0", true},
		{"net.ipv4.ip_local_port_range", "32768\t60999", true},
		{"net.ipv4.tcp_syncookies", "1", true},
		{"net.ipv4.ping_group_range", "1\t0", true},
		{"net.ipv4.ip_unprivileged_port_start", "1024", true},
		{"net.ipv4.ip_local_reserved_ports", "", true},
		{"net.ipv4.tcp_keepalive_time", "7200", true},
		{"net.ipv4.tcp_fin_timeout", "60", true},
		{"net.ipv4.tcp_keepalive_intvl", "75", true},
		{"net.ipv4.tcp_keepalive_probes", "9", true},
		{"net.ipv4.tcp_rmem", "4096\t131072\t6291456", true},
		{"net.ipv4.tcp_wmem", "4096\t16384\t4194304", true},
		{"net.ipv4.tcp_slow_start_after_idle", "1", true},
		{"net.ipv4.tcp_notsent_lowat", "4294967295", true},
		{"net.core.somaxconn", "4096", false},
		{"net.ipv4.ip_forward", "1", false},
		{"kernel.msgmax", "8192", false},
		{"kernel.msgmnb", "16384", false},
		{"kernel.sem", "32000\t1024000000\t500\t32000", false},
		{"kernel.shmmax", "18446744073692774399", false},
	}
}

// sysctlAdmitHandler is the kubelet's own sysctl admission (pkg/kubelet/sysctl) over the safe set: a pod
// naming another sysctl fails with SysctlForbidden, as on a kubelet without --allowed-unsafe-sysctls.
func sysctlAdmitHandler() (lifecycle.PodAdmitHandler, error) {
	var safe []string
	for _, s := range podSysctls() {
		if s.safe {
			safe = append(safe, s.name)
		}
	}
	h, err := kubeletsysctl.NewAllowlist(safe)
	if err != nil {
		return nil, fmt.Errorf("sysctl allowlist: %w", err)
	}
	return h, nil
}

// kernelView is what one container's /proc and /sys show.
type kernelView struct {
	pod       *corev1.Pod
	c         *corev1.Container
	resources corev1.ResourceRequirements // the container's current (actuated) resources
	mounts    []busybox.Mount
	cpus      int64 // the node's CPUs
	memory    int64 // the node's memory capacity, in bytes
}

// write lays the view out in a new container root.
func (k *kernelView) write(root string) error {
	files := map[string]string{}
	values := map[string]string{}
	for _, s := range podSysctls() {
		values[s.name] = s.value
	}
	values["kernel.hostname"] = utsHostname(k.pod)
	if sc := k.pod.Spec.SecurityContext; sc != nil {
		for _, s := range sc.Sysctls {
			values[utilsysctl.NormalizeName(s.Name)] = strings.Join(strings.Fields(s.Value), "\t")
		}
	}
	for name, v := range values {
		files["proc/sys/"+strings.ReplaceAll(name, ".", "/")] = v + "\n"
	}
	status := k.status()
	files["proc/self/status"] = status
	files["proc/1/status"] = status
	files["proc/1/oom_score_adj"] = strconv.Itoa(qos.GetContainerOOMScoreAdjust(k.pod, k.c, k.memory)) + "\n"
	files["proc/mounts"] = k.procMounts()
	files["proc/self/mounts"] = files["proc/mounts"]
	for name, v := range cgroupFiles(k.resources) {
		files["sys/fs/cgroup/"+name] = v
	}
	if err := writeFiles(root, files); err != nil {
		return fmt.Errorf("kernel files: %w", err)
	}
	return nil
}

// status is /proc/self/status of the container's first process.
func (k *kernelView) status() string {
	uid, gid := runAs(k.pod, k.c)
	g := int64(0)
	if gid != nil {
		g = *gid
	}
	ids := fmt.Sprintf("Uid:\t%[1]d\t%[1]d\t%[1]d\t%[1]d\nGid:\t%[2]d\t%[2]d\t%[2]d\t%[2]d\n", uid, g)
	cpus := "0"
	if k.cpus > 1 {
		cpus = fmt.Sprintf("0-%d", k.cpus-1)
	}
	mask := strconv.FormatUint(uint64(1)<<min(k.cpus, 63)-1, 16)
	return "Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t1\nNgid:\t0\nPid:\t1\nPPid:\t0\n" +
		ids + "Threads:\t1\n" +
		"Cpus_allowed:\t" + mask + "\nCpus_allowed_list:\t" + cpus + "\nMems_allowed:\t1\nMems_allowed_list:\t0\n"
}

// procMounts is /proc/mounts as containerd sets a container up: the overlay root, the kernel file
// systems (/sys and its cgroup2 read-only), the files the kubelet mounts, then the pod's volumes.
func (k *kernelView) procMounts() string {
	lines := []string{
		"overlay / overlay rw,relatime,lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs 0 0",
		"proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0",
		"tmpfs /dev tmpfs rw,nosuid,size=65536k,mode=755 0 0",
		"devpts /dev/pts devpts rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=666 0 0",
		"mqueue /dev/mqueue mqueue rw,nosuid,nodev,noexec,relatime 0 0",
		"sysfs /sys sysfs ro,nosuid,nodev,noexec,relatime 0 0",
		"cgroup /sys/fs/cgroup cgroup2 ro,nosuid,nodev,noexec,relatime 0 0",
		"/dev/root /etc/hosts ext4 rw,relatime 0 0",
		"/dev/root /dev/termination-log ext4 rw,relatime 0 0",
		"/dev/root /etc/hostname ext4 rw,relatime 0 0",
		"/dev/root /etc/resolv.conf ext4 rw,relatime 0 0",
		"shm /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k 0 0",
	}
	ms := append([]busybox.Mount(nil), k.mounts...)
	sort.SliceStable(ms, func(i, j int) bool { return busybox.Clean(ms[i].Path) < busybox.Clean(ms[j].Path) })
	for _, m := range ms {
		mode := "rw"
		if m.ReadOnly {
			mode = "ro"
		}
		lines = append(lines, fmt.Sprintf("/dev/root %s ext4 %s,relatime 0 0", busybox.Clean(m.Path), mode))
	}
	return strings.Join(lines, "\n") + "\n"
}

// quotaPeriod is the CFS period the kubelet uses (cm.QuotaPeriod, 100 ms in µs).
const quotaPeriod = 100000

// cgroupFiles are the cgroup v2 files of a container with these resources, as the kubelet sets them
// (cm.MilliCPUToQuota, cm.MilliCPUToShares, then runc's shares-to-weight conversion): cpu.max,
// cpu.weight, memory.max.
func cgroupFiles(r corev1.ResourceRequirements) map[string]string {
	cpuMax := fmt.Sprintf("max %d", quotaPeriod)
	if l, ok := r.Limits[corev1.ResourceCPU]; ok && !l.IsZero() {
		cpuMax = fmt.Sprintf("%d %d", max(l.MilliValue()*quotaPeriod/1000, 1000), quotaPeriod)
	}
	req := r.Requests[corev1.ResourceCPU]
	if _, ok := r.Requests[corev1.ResourceCPU]; !ok {
		req = r.Limits[corev1.ResourceCPU] // the API defaults requests to limits
	}
	shares := int64(2) // cm.MinShares
	if m := req.MilliValue(); m > 0 {
		shares = min(max(m*1024/1000, 2), 262144)
	}
	weight := 1 + ((shares-2)*9999)/262142
	memMax := "max"
	if l, ok := r.Limits[corev1.ResourceMemory]; ok && !l.IsZero() {
		memMax = strconv.FormatInt(l.Value(), 10)
	}
	return map[string]string{
		"cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
		"cpu.max":            cpuMax + "\n",
		"cpu.weight":         strconv.FormatInt(weight, 10) + "\n",
		"memory.max":         memMax + "\n",
	}
}

// writeFiles writes name → content under root, a folder the agent made (names are pod paths the agent
// or the image catalogue chose: "/usr/share/nginx/html/index.html", "proc/sys/…").
func writeFiles(root string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(busybox.Clean(name)))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}
