package sandbox_test

import (
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klabdev/klab/sandbox"
)

func TestReady(t *testing.T) {
	needCluster(t)
	ctx := context.Background()
	b, err := cluster.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil || string(b) != "ok" {
		t.Fatalf("/readyz = %q, %v", b, err)
	}
	for _, name := range []string{"controlplane", "node01"} {
		n, err := cluster.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("node %s: %v", name, err)
		}
		ready := false
		for _, c := range n.Status.Conditions {
			ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
		}
		if !ready {
			t.Errorf("node %s not Ready: %+v", name, n.Status.Conditions)
		}
	}
	if _, err := cluster.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Errorf("default ServiceAccount: %v", err)
	}
	v, err := cluster.Client.Discovery().ServerVersion()
	if err != nil || v.GitVersion != "v1.37.2" {
		t.Errorf("server version = %+v, %v; want v1.37.2 (the build must stamp it)", v, err)
	}
	// Listens on loopback only, with client-certificate auth.
	if !strings.HasPrefix(cluster.Config.Host, "https://127.0.0.1:") {
		t.Errorf("server %s is not https on 127.0.0.1", cluster.Config.Host)
	}
}

// TestCourseCommands runs every kubectl command of the Jobs & CronJobs course
// with the built-in kubectl and the machine's kubectl.
func TestCourseCommands(t *testing.T) {
	needCluster(t)
	for name, kubectl := range kubectls(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ns := namespace(t)
			k := func(args ...string) string {
				t.Helper()
				return mustRun(t, append(append(append([]string{}, kubectl...), "-n", ns), args...)...)
			}
			expect := func(out string, want ...string) {
				t.Helper()
				for _, w := range want {
					if !strings.Contains(out, w) {
						t.Errorf("output lacks %q:\n%s", w, out)
					}
				}
			}
			expect(k("create", "job", "hello", "--image=busybox", "--", "sh", "-c", "echo hello from $HOSTNAME"), "job.batch/hello created")
			expect(k("wait", "--for=condition=complete", "job/hello", "--timeout=120s"), "condition met")
			expect(k("get", "jobs"), "hello", "Complete", "1/1")
			expect(k("describe", "job", "hello"), "Name:", "hello", "1 Succeeded")
			expect(k("logs", "job/hello"), "hello from hello-")
			expect(k("logs", "-l", "job-name=hello"), "hello from hello-")
			expect(k("logs", "-f", "job/hello"), "hello from hello-")
			expect(k("get", "pods", "--selector=job-name=hello"), "hello-", "Completed")
			expect(k("describe", "pod", "-l", "job-name=hello"), "Started", "Completed")

			// get -w prints the current jobs, then waits: stop it after a few seconds.
			out, _ := run(t, 5*time.Second, append(append(append([]string{}, kubectl...), "-n", ns), "get", "jobs", "-w")...)
			expect(out, "hello")

			expect(k("create", "cronjob", "tick", "--image=busybox", "--schedule=*/1 * * * *", "--", "echo", "tick"), "cronjob.batch/tick created")
			expect(k("get", "cronjobs"), "tick", "*/1 * * * *")
			expect(k("create", "job", "manual", "--from=cronjob/tick"), "job.batch/manual created")
			k("wait", "--for=condition=complete", "job/manual", "--timeout=120s")
			expect(k("logs", "job/manual"), "tick")
			expect(k("patch", "cronjob", "tick", "-p", `{"spec":{"suspend":true}}`), "patched")
			expect(k("get", "cronjob", "tick", "-o", "jsonpath={.spec.suspend}"), "true")

			expect(k("delete", "job", "hello"), `job.batch "hello" deleted`)
			expect(k("delete", "job", "--all"), `"manual" deleted`)
			expect(k("delete", "cronjob", "--all"), `"tick" deleted`)
			expect(k("get", "jobs,cronjobs"), "No resources found")
			// Deleting a Job deletes its pods (garbage collector, background propagation).
			eventually(t, 60*time.Second, func() error {
				pods, err := cluster.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
				if err == nil && len(pods.Items) > 0 {
					return errorf("%d pods left after delete job --all", len(pods.Items))
				}
				return err
			})
		})
	}
}

// TestPortForwardNotSupported: port-forward answers at once with a clear
// error instead of hanging (exec, attach and cp work: exec_test.go).
func TestPortForwardNotSupported(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	kubectl := kubectls(t)["klab"]
	k := append(append([]string{}, kubectl...), "-n", ns)
	mustRun(t, append(k, "run", "web", "--image=busybox", "--restart=Never", "--", "sleep", "600")...)
	mustRun(t, append(k, "wait", "--for=condition=Ready", "pod/web", "--timeout=120s")...)
	for name, kubectl := range kubectls(t) {
		k := append(append([]string{}, kubectl...), "-n", ns)
		for _, args := range [][]string{
			{"port-forward", "pod/web", "18080:80"},
		} {
			t.Run(name+"/"+strings.Join(args[:2], " "), func(t *testing.T) {
				start := time.Now()
				out, err := run(t, 20*time.Second, append(k, args...)...)
				if err == nil {
					t.Fatalf("kubectl %s succeeded:\n%s", strings.Join(args, " "), out)
				}
				if !strings.Contains(out, "not supported by the klab sandbox") {
					t.Errorf("kubectl %s: %v\n%s\nwant a \"not supported by the klab sandbox\" error", strings.Join(args, " "), err, out)
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("kubectl %s took %s to fail", args[0], d)
				}
			})
		}
	}
}

// TestKlabKubectlAnyKubeconfig: klab kubectl takes kubectl's own flags and
// the KUBECONFIG of the environment, like kubectl.
func TestKlabKubectlAnyKubeconfig(t *testing.T) {
	needCluster(t)
	for name, kubectl := range kubectls(t) {
		out := mustRun(t, append(append([]string{}, kubectl...), "get", "nodes", "-o", "wide")...)
		if !regexp.MustCompile(`controlplane\s+Ready\s+control-plane\s+\S+\s+v1\.37\.2\s+172\.30\.1\.2\s`).MatchString(out) ||
			!regexp.MustCompile(`node01\s+Ready\s+<none>\s+\S+\s+v1\.37\.2\s+172\.30\.2\.2\s`).MatchString(out) {
			t.Errorf("%s kubectl get nodes -o wide:\n%s", name, out)
		}
	}
	out := mustRun(t, cluster.Bin, "kubectl", "--kubeconfig="+cluster.Kubeconfig, "get", "nodes")
	if !regexp.MustCompile(`node01\s+Ready`).MatchString(out) {
		t.Errorf("get nodes:\n%s", out)
	}
	out = mustRun(t, cluster.Bin, "kubectl", "version", "--kubeconfig", cluster.Kubeconfig)
	if !strings.Contains(out, "Client Version: v1.37.2") || !strings.Contains(out, "Server Version: v1.37.2") || strings.Contains(out, "WARNING") {
		t.Errorf("kubectl version (want client and server v1.37.2, no skew warning):\n%s", out)
	}
	out, err := run(t, 30*time.Second, cluster.Bin, "kubectl", "--kubeconfig", cluster.Kubeconfig, "get", "nosuchkind")
	if err == nil || !strings.Contains(out, "the server doesn't have a resource type") {
		t.Errorf("get nosuchkind: err=%v\n%s", err, out)
	}
}

// TestNodeProxy: the apiserver reaches each node as it reaches a kubeadm node, at its InternalIP (not
// loopback) and the kubelet's port: the node proxy answers (`kubectl get --raw
// /api/v1/nodes/NODE/proxy/pods`, what the e2e framework's failure dumps read), and logs still work.
func TestNodeProxy(t *testing.T) {
	needCluster(t)
	ctx := context.Background()
	ns := namespace(t)
	k := append(append([]string{}, kubectls(t)["klab"]...), "-n", ns)
	mustRun(t, append(k, "run", "dumped", "--image=busybox", "--restart=Never", "--", "sh", "-c", "echo bonjour; sleep 600")...)
	mustRun(t, append(k, "wait", "--for=condition=Ready", "pod/dumped", "--timeout=120s")...)
	pod, err := cluster.Client.CoreV1().Pods(ns).Get(ctx, "dumped", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := cluster.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ips := sandbox.NodeIPs(len(nodes.Items))
	for i, name := range sandbox.NodeNames(len(nodes.Items)) {
		node, err := cluster.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range node.Status.Addresses {
			if a.Type == corev1.NodeInternalIP && (a.Address != ips[i] || net.ParseIP(a.Address).IsLoopback()) {
				t.Errorf("node %s: InternalIP %s, want %s", name, a.Address, ips[i])
			}
		}
		if p := node.Status.DaemonEndpoints.KubeletEndpoint.Port; p != 10250 {
			t.Errorf("node %s: kubelet port %d, want 10250 as a kubelet", name, p)
		}
		if name == pod.Spec.NodeName && pod.Status.HostIP != ips[i] {
			t.Errorf("pod hostIP %s, want its node's %s", pod.Status.HostIP, ips[i])
		}
		for kname, kubectl := range kubectls(t) {
			t.Run(name+"/"+kname, func(t *testing.T) {
				out := mustRun(t, append(append([]string{}, kubectl...), "get", "--raw", "/api/v1/nodes/"+name+"/proxy/pods")...)
				var list corev1.PodList
				if err := json.Unmarshal([]byte(out), &list); err != nil {
					t.Fatalf("node proxy /pods: %v\n%.300s", err, out)
				}
				found := false
				for _, p := range list.Items {
					found = found || p.Namespace == ns && p.Name == "dumped"
					if p.Spec.NodeName != name {
						t.Errorf("pod %s/%s of node %q listed by %s", p.Namespace, p.Name, p.Spec.NodeName, name)
					}
				}
				if found != (name == pod.Spec.NodeName) {
					t.Errorf("node %s lists %s/dumped: %v; the pod runs on %s", name, ns, found, pod.Spec.NodeName)
				}
				if out := mustRun(t, append(append([]string{}, kubectl...), "get", "--raw", "/api/v1/nodes/"+name+"/proxy/healthz")...); out != "ok" {
					t.Errorf("node proxy /healthz: %q", out)
				}
				// The kubelet's metrics, which the failure dumps grab (and retry for two minutes when missing).
				metrics := mustRun(t, append(append([]string{}, kubectl...), "get", "--raw", "/api/v1/nodes/"+name+"/proxy/metrics")...)
				for _, want := range []string{`kubelet_node_name{node="` + name + `"} 1`, "# TYPE kubelet_running_pods gauge", `kubelet_running_containers{container_state="running"} `} {
					if !strings.Contains(metrics, want) {
						t.Errorf("node proxy /metrics lacks %q:\n%s", want, metrics)
					}
				}
				// Other tests share the sandbox: the pod's node runs at least this pod's container.
				if name == pod.Spec.NodeName && regexpMatch(`kubelet_running_containers\{container_state="running"\} 0\n`, metrics) {
					t.Errorf("node %s runs dumped but its metrics count no running container:\n%s", name, metrics)
				}
				if out := mustRun(t, append(append([]string{}, kubectl...), "-n", ns, "logs", "dumped")...); out != "bonjour\n" {
					t.Errorf("logs through the tunnel: %q", out)
				}
			})
		}
	}
}
