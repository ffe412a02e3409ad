package e2e

import (
	"bytes"
	"context"
	"fmt"
	"github.com/klabdev/klab/sandbox/agent/internal/canary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/klabdev/klab/sandbox/agent"
	"github.com/klabdev/klab/sandbox/sandboxtest"
)

var cluster *sandboxtest.Cluster

func TestMain(m *testing.M) { os.Exit(sandboxtest.Main(m, &cluster)) }

var nsCounter atomic.Int64

// namespace creates a fresh namespace for one test and waits for its default ServiceAccount.
func namespace(t testing.TB) string {
	t.Helper()
	if cluster == nil {
		t.Skip("no sandbox (-short)")
	}
	ctx := context.Background()
	name := fmt.Sprintf("agent-e2e-%d-%d", time.Now().UnixNano()%100000, nsCounter.Add(1))
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	waitFor(t, 20*time.Second, "default ServiceAccount in "+name, func() bool {
		_, err := cluster.Client.CoreV1().ServiceAccounts(name).Get(ctx, "default", metav1.GetOptions{})
		return err == nil
	})
	return name
}

func waitFor(t testing.TB, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", timeout, what)
}

func busybox(name string, policy corev1.RestartPolicy, script string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{RestartPolicy: policy, TerminationGracePeriodSeconds: ptr.To[int64](30),
			Containers: []corev1.Container{{Name: "main", Image: "busybox:1.36", Command: []string{"sh", "-c", script}}}},
	}
}

func create(t testing.TB, ns string, pod *corev1.Pod) {
	t.Helper()
	if _, err := cluster.Client.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitPod(t testing.TB, ns, name string, timeout time.Duration, what string, ok func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = p
			if ok(p) {
				return p
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("pod %s/%s not %s after %v: phase %s, statuses %+v", ns, name, what, timeout, last.Status.Phase, last.Status.ContainerStatuses)
	}
	t.Fatalf("pod %s/%s not found", ns, name)
	return nil
}

func phase(want corev1.PodPhase) func(*corev1.Pod) bool {
	return func(p *corev1.Pod) bool { return p.Status.Phase == want }
}

func logs(t testing.TB, ns, pod string, o *corev1.PodLogOptions) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rc, err := cluster.Client.CoreV1().Pods(ns).GetLogs(pod, o).Stream(ctx)
	if err != nil {
		t.Fatalf("logs %s/%s: %v", ns, pod, err)
	}
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("logs %s/%s: %v", ns, pod, err)
	}
	return string(b)
}

func TestPodSucceededAndLogs(t *testing.T) {
	ns := namespace(t)
	create(t, ns, busybox("hello", corev1.RestartPolicyNever, "echo Salut from $HOSTNAME; seq 3"))
	p := waitPod(t, ns, "hello", 30*time.Second, "Succeeded", phase(corev1.PodSucceeded))
	term := p.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.Reason != "Completed" || term.ExitCode != 0 || term.StartedAt.IsZero() {
		t.Fatalf("terminated state %+v", term)
	}
	if got := logs(t, ns, "hello", &corev1.PodLogOptions{}); got != "Salut from hello\n1\n2\n3\n" {
		t.Fatalf("logs %q", got)
	}
	if got := logs(t, ns, "hello", &corev1.PodLogOptions{TailLines: ptr.To[int64](1)}); got != "3\n" {
		t.Fatalf("tail logs %q", got)
	}
}

func TestPodFailed(t *testing.T) {
	ns := namespace(t)
	create(t, ns, busybox("ko", corev1.RestartPolicyNever, "echo failing; exit 7"))
	p := waitPod(t, ns, "ko", 30*time.Second, "Failed", phase(corev1.PodFailed))
	term := p.Status.ContainerStatuses[0].State.Terminated
	if term == nil || term.Reason != "Error" || term.ExitCode != 7 {
		t.Fatalf("terminated state %+v", term)
	}
}

func TestOnFailureRestartCountAndPreviousLogs(t *testing.T) {
	ns := namespace(t)
	pod := busybox("retry", corev1.RestartPolicyOnFailure,
		`n=$(cat /trace/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /trace/n; echo "try $n"; [ $n -ge 3 ]`)
	pod.Spec.Volumes = []corev1.Volume{{Name: "trace", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "trace", MountPath: "/trace"}}
	create(t, ns, pod)
	p := waitPod(t, ns, "retry", 60*time.Second, "Succeeded", phase(corev1.PodSucceeded))
	if rc := p.Status.ContainerStatuses[0].RestartCount; rc != 2 {
		t.Fatalf("restartCount %d, want 2", rc)
	}
	if got := logs(t, ns, "retry", &corev1.PodLogOptions{}); got != "try 3\n" {
		t.Fatalf("logs %q", got)
	}
	if got := logs(t, ns, "retry", &corev1.PodLogOptions{Previous: true}); got != "try 2\n" {
		t.Fatalf("previous logs %q", got)
	}
}

func TestLogsFollow(t *testing.T) {
	ns := namespace(t)
	create(t, ns, busybox("ticker", corev1.RestartPolicyNever, "for i in 1 2 3; do echo tick $i; sleep 0.5; done"))
	waitPod(t, ns, "ticker", 30*time.Second, "Running", phase(corev1.PodRunning))
	start := time.Now()
	got := logs(t, ns, "ticker", &corev1.PodLogOptions{Follow: true})
	if got != "tick 1\ntick 2\ntick 3\n" {
		t.Fatalf("followed logs %q", got)
	}
	if time.Since(start) < 500*time.Millisecond {
		t.Fatalf("follow returned after %v, before the container ended", time.Since(start))
	}
}

func TestIndexedJobCompletionIndex(t *testing.T) {
	ns := namespace(t)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "idx"},
		Spec: batchv1.JobSpec{
			Completions: ptr.To[int32](3), Parallelism: ptr.To[int32](2), CompletionMode: ptr.To(batchv1.IndexedCompletion),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "w", Image: "busybox:1.36", Command: []string{"sh", "-c", "echo index=$JOB_COMPLETION_INDEX"}}}}},
		},
	}
	ctx := context.Background()
	if _, err := cluster.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "job idx complete", func() bool {
		j, err := cluster.Client.BatchV1().Jobs(ns).Get(ctx, "idx", metav1.GetOptions{})
		return err == nil && j.Status.Succeeded == 3 && j.Status.CompletedIndexes == "0-2"
	})
	pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=idx"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodSucceeded {
			seen[strings.TrimSpace(logs(t, ns, p.Name, &corev1.PodLogOptions{}))] = true
		}
	}
	for _, want := range []string{"index=0", "index=1", "index=2"} {
		if !seen[want] {
			t.Errorf("no pod logged %q (got %v)", want, seen)
		}
	}
}

func TestBackoffLimitJobFails(t *testing.T) {
	ns := namespace(t)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "casse"},
		Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](0),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "c", Image: "busybox", Command: []string{"sh", "-c", "exit 1"}}}}}},
	}
	ctx := context.Background()
	if _, err := cluster.Client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "job casse Failed with BackoffLimitExceeded", func() bool {
		j, err := cluster.Client.BatchV1().Jobs(ns).Get(ctx, "casse", metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range j.Status.Conditions {
			if c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue && c.Reason == "BackoffLimitExceeded" {
				return j.Status.Failed == 1
			}
		}
		return false
	})
}

func TestActiveDeadlineAndDeletion(t *testing.T) {
	ns := namespace(t)
	pod := busybox("slow", corev1.RestartPolicyNever, "sleep 600")
	pod.Spec.ActiveDeadlineSeconds = ptr.To[int64](2)
	create(t, ns, pod)
	waitPod(t, ns, "slow", 30*time.Second, "Failed with DeadlineExceeded", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodFailed && p.Status.Reason == "DeadlineExceeded"
	})

	// `sleep` as the container's main process ignores SIGTERM: it is killed when the grace period ends.
	long := busybox("long", corev1.RestartPolicyNever, "sleep 600")
	long.Spec.TerminationGracePeriodSeconds = ptr.To[int64](3)
	create(t, ns, long)
	waitPod(t, ns, "long", 30*time.Second, "Running", phase(corev1.PodRunning))
	start := time.Now()
	if err := cluster.Client.CoreV1().Pods(ns).Delete(context.Background(), "long", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "pod long deleted", func() bool {
		_, err := cluster.Client.CoreV1().Pods(ns).Get(context.Background(), "long", metav1.GetOptions{})
		return err != nil
	})
	if d := time.Since(start); d < 3*time.Second {
		t.Errorf("deleted after %v, before its 3 s grace period", d)
	}
	t.Logf("graceful deletion of a running pod took %v", time.Since(start))
}

func hostPathPod(name, hostPath, mountPath, script string) *corev1.Pod {
	pod := busybox(name, corev1.RestartPolicyNever, script)
	pod.Spec.Volumes = []corev1.Volume{{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: hostPath}}}}
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "host", MountPath: mountPath}}
	return pod
}

func TestHostIsolation(t *testing.T) {
	ns := namespace(t)
	canaryDir, check := canary.Plant(t)
	realLogs := listLogs(t, "/var/log")
	pods := []*corev1.Pod{
		hostPathPod("mkfile", filepath.Join(canaryDir, "var/log"), "/var/log", "echo pod > /var/log/pod.log; ls /var/log"),
		hostPathPod("varlog", filepath.Join(canaryDir, "var/log"), "/var/log", "ls -R /var/log; find /var/log -name '*.log' -delete; find /var/log"),
		hostPathPod("reallog", "/var/log", "/var/log", "find /var/log -name '*.log' -delete; echo done"),
		hostPathPod("root", "/", "/host", "rm -rf /host/*; rm -rf /; echo x > "+canaryDir+"/etc/passwd"),
		busybox("shadow", corev1.RestartPolicyNever, "cat /etc/shadow "+canaryDir+"/etc/shadow; cat ../../../../../../../../../.."+canaryDir+"/etc/shadow"),
		busybox("passwd", corev1.RestartPolicyNever, "echo hacked > /etc/passwd; echo hacked > "+canaryDir+"/etc/passwd"),
		busybox("symlink", corev1.RestartPolicyNever, "ln -s / x; ls x; cat x"+canaryDir+"/etc/shadow; ln -s ../../../../../../../.. up; cat up"+canaryDir+"/etc/shadow; rm -rf x/ up/"),
	}
	// Privileged or not, a pod gets the same confinement: the same attacks as privileged pods.
	for _, p := range slices.Clone(pods) {
		priv := p.DeepCopy()
		priv.Name += "-privileged"
		priv.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
		pods = append(pods, priv)
	}
	// One after the other: the hostPath "/" pod empties <data>/hostpath, the other pods' volumes too.
	for _, p := range pods {
		create(t, ns, p)
		waitPod(t, ns, p.Name, 30*time.Second, "finished", func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		})
		if l := logs(t, ns, p.Name, &corev1.PodLogOptions{}); strings.Contains(l, "CANARY") {
			t.Errorf("pod %s read a host file: %q", p.Name, l)
		}
		if strings.HasPrefix(p.Name, "mkfile") {
			inData := filepath.Join(agent.HostPathDir(filepath.Join(cluster.DataDir, "agent"), filepath.Join(canaryDir, "var/log")), "pod.log")
			if b, err := os.ReadFile(inData); err != nil || string(b) != "pod\n" {
				t.Errorf("hostPath file not under the data dir (%s): %q %v", inData, b, err)
			}
			if _, err := os.Stat(filepath.Join(canaryDir, "var/log/pod.log")); err == nil {
				t.Errorf("a pod wrote into the real host path %s", canaryDir)
			}
		}
	}
	check()
	if after := listLogs(t, "/var/log"); after != realLogs {
		t.Errorf("the real /var/log changed:\nbefore %s\nafter  %s", realLogs, after)
	}
}

// listLogs lists the *.log files under dir (what a pod's `find -name '*.log' -delete` would target).
func listLogs(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".log") {
			names = append(names, p)
		}
		return nil
	})
	return strings.Join(names, ",")
}

// TestExecIntoServerImage: kubectl exec reaches a server image's container (no shell as its main
// process) through the apiserver; port-forward answers at once that it is not supported.
func TestExecIntoServerImage(t *testing.T) {
	ns := namespace(t)
	create(t, ns, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}}})
	waitPod(t, ns, "web", 30*time.Second, "Running", phase(corev1.PodRunning))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kubectls := [][]string{{cluster.Bin, "kubectl"}}
	if k, err := exec.LookPath("kubectl"); err == nil {
		kubectls = append(kubectls, []string{k})
	}
	for _, kubectl := range kubectls {
		run := func(args ...string) (string, error) {
			var out bytes.Buffer
			argv := append(append(append([]string{}, kubectl[1:]...), "--kubeconfig", cluster.Kubeconfig, "-n", ns), args...)
			cmd := exec.CommandContext(ctx, kubectl[0], argv...)
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			return out.String(), err
		}
		if out, err := run("exec", "web", "--", "cat", "/etc/hostname"); err != nil || !strings.HasSuffix(out, "web\n") {
			t.Errorf("%v exec: err %v, output %q", kubectl, err, out)
		}
		hosts := filepath.Join(t.TempDir(), "h")
		if out, err := run("cp", "web:/etc/hosts", hosts); err != nil {
			t.Errorf("%v cp: err %v, output %q", kubectl, err, out)
		} else if b, _ := os.ReadFile(hosts); !strings.Contains(string(b), "web") {
			t.Errorf("%v cp: /etc/hosts copied as %q", kubectl, b)
		}
		if out, err := run("port-forward", "pod/web", "0:80"); err == nil || !strings.Contains(out, "not supported by the klab sandbox") {
			t.Errorf("%v port-forward: err %v, output %q", kubectl, err, out)
		}
	}
	if ctx.Err() != nil {
		t.Fatal("kubectl hung")
	}
}

// BenchmarkPodStartToSucceeded measures a busybox pod from create to phase Succeeded.
func BenchmarkPodStartToSucceeded(b *testing.B) {
	ns := namespace(b)
	ctx := context.Background()
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("bench-%d", i)
		start := time.Now()
		create(b, ns, busybox(name, corev1.RestartPolicyNever, "echo hi"))
		waitPod(b, ns, name, 30*time.Second, "Succeeded", phase(corev1.PodSucceeded))
		total += time.Since(start)
		_ = cluster.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/pod")
}
