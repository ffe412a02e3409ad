package agent

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func nginxPod(name string, readiness *corev1.Probe) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name: "nginx", Image: "nginx:1.27.3", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}}, ReadinessProbe: readiness}}}}
}

func httpProbe(path string, port intstr.IntOrString) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: port}},
		PeriodSeconds: 1, TimeoutSeconds: 1, FailureThreshold: 1, SuccessThreshold: 1}
}

// waitEventContaining waits for an event of the pod whose reason is reason and whose message contains msg.
func (h *harness) waitEventContaining(pod, reason, msg string) {
	h.t.Helper()
	var seen []string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		evs, _ := h.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
		seen = seen[:0]
		for _, e := range evs.Items {
			if e.InvolvedObject.Name != pod {
				continue
			}
			if e.Reason == reason && strings.Contains(e.Message, msg) {
				return
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
	}
	h.t.Fatalf("pod %s: no %s event with %q; events:\n%s", pod, reason, msg, strings.Join(seen, "\n"))
}

func ready(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready
}

func TestNginxHTTPProbes(t *testing.T) {
	h := startAgent(t)
	h.createPod(nginxPod("good", httpProbe("/", intstr.FromString("http"))))
	h.createPod(nginxPod("bad", httpProbe("/healthz", intstr.FromInt32(80))))
	h.createPod(nginxPod("closed", httpProbe("/", intstr.FromInt32(8080))))
	h.createPod(nginxPod("noport", httpProbe("/", intstr.FromString("web"))))
	good := h.waitPod("good", "ready", ready)
	if ip := good.Status.PodIP; !strings.HasPrefix(ip, "10.244.") {
		t.Fatalf("pod IP %q", ip)
	}
	h.waitEventContaining("bad", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 404")
	bad := h.waitPod("bad", "running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	h.waitEventContaining("closed", "Unhealthy", `Readiness probe failed: Get "http://`+podIP(t, h, "closed")+`:8080/": dial tcp `+podIP(t, h, "closed")+":8080: connect: connection refused")
	h.waitEventContaining("noport", "Unhealthy", `Readiness probe errored and resulted in unknown state: port "web" not found`)
	if ready(bad) {
		t.Error("the pod whose probe gets a 404 is ready")
	}
	// nginx listens before its first probe: the good pod never had a failed one.
	evs, _ := h.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	for _, e := range evs.Items {
		if e.InvolvedObject.Name == "good" && e.Reason == "Unhealthy" {
			t.Errorf("good pod: %s", e.Message)
		}
	}
	// nginx logged the probes as nginx does: an access line per request, an error line for the 404.
	logs := h.logs(t, "good", "nginx", "")
	if !strings.Contains(logs, `"GET / HTTP/1.1" 200 615 "-" "kube-probe/`) || !strings.Contains(logs, "[notice] 1#1: nginx/1.27.3") {
		t.Errorf("nginx log:\n%s", logs)
	}
	logs = h.logs(t, "bad", "nginx", "")
	if !strings.Contains(logs, `open() "/usr/share/nginx/html/healthz" failed (2: No such file or directory), client: 127.0.0.1, server: localhost, request: "GET /healthz HTTP/1.1", host: "`+bad.Status.PodIP+`:80"`) {
		t.Errorf("nginx log of the 404s:\n%s", logs)
	}
}

func podIP(t *testing.T, h *harness, name string) string {
	t.Helper()
	return h.waitPod(name, "given an IP", func(p *corev1.Pod) bool { return p.Status.PodIP != "" }).Status.PodIP
}

func TestTCPLivenessOnAWrongPortRestarts(t *testing.T) {
	h := startAgent(t)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "redis"}, Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{{
		Name: "redis", Image: "redis:7",
		LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(6380)}},
			PeriodSeconds: 1, TimeoutSeconds: 1, FailureThreshold: 2},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(6379)}},
			PeriodSeconds: 1, TimeoutSeconds: 1},
	}}}}
	h.createPod(pod)
	h.waitPod("redis", "ready on 6379", ready)
	ip := podIP(t, h, "redis")
	h.waitPod("redis", "restarted by its liveness probe", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1
	})
	h.waitEventContaining("redis", "Unhealthy", "Liveness probe failed: dial tcp "+ip+":6380: connect: connection refused")
	h.waitEventContaining("redis", "Killing", "Container redis failed liveness probe, will be restarted")
}

func TestPodsTalkOverThePodNetwork(t *testing.T) {
	h := startAgent(t)
	h.createPod(nginxPod("web1", nil))
	h.createPod(nginxPod("web2", nil))
	h.createPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cache"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "redis", Image: "redis"}}}})
	ip1, ip2, ipc := podIP(t, h, "web1"), podIP(t, h, "web2"), podIP(t, h, "cache")
	h.waitPod("web1", "ready", ready)
	h.waitPod("web2", "ready", ready)
	h.waitPod("cache", "ready", ready)
	script := "wget -qO- http://" + ip1 + "/ | grep -c 'Welcome to nginx!'; wget -qO- http://" + ip2 + ":80/ | grep title; " +
		"wget -q -O /dev/null http://" + ip1 + "/missing; echo 404=$?; printf 'PING\\r\\nSET k v\\r\\nGET k\\r\\n' | nc " + ipc + " 6379; " +
		"nc -z " + ip1 + " 443 || echo 443 closed"
	h.createPod(busyboxPod("client", corev1.RestartPolicyNever, script))
	h.waitPod("client", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	want := "2\n<title>Welcome to nginx!</title>\nwget: server returned error: HTTP/1.1 404 Not Found\n404=1\n+PONG\r\n+OK\r\n$1\r\nv\r\n443 closed\n"
	if got := h.logs(t, "client", "main", ""); got != want {
		t.Errorf("client log %q, want %q", got, want)
	}
	if logs := h.logs(t, "web1", "nginx", ""); !strings.Contains(logs, `"GET /missing HTTP/1.1" 404 153 "-" "Wget" "-"`) {
		t.Errorf("web1 log:\n%s", logs)
	}
}

// A server that accepts and never answers: the probe's own timeout, with the kubelet's message.
func TestHTTPProbeTimesOut(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("mute", corev1.RestartPolicyNever, "sleep 600 | nc -lk -p 8080")
	pod.Spec.Containers[0].ReadinessProbe = httpProbe("/healthz", intstr.FromInt32(8080))
	h.createPod(pod)
	ip := podIP(t, h, "mute")
	h.waitEventContaining("mute", "Unhealthy", `Readiness probe failed: Get "http://`+ip+`:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)
}

// /etc/hosts and /etc/resolv.conf are the kubelet's: the pod's IP and name, its namespace's search path.
func TestPodNetworkFiles(t *testing.T) {
	h := startAgent(t)
	pod := busyboxPod("named", corev1.RestartPolicyNever, "tail -n 1 /etc/hosts; head -n 1 /etc/resolv.conf; wget -qO- http://named:8080/ 2>&1; true")
	pod.Namespace = "shop"
	h.createPod(pod)
	var p *corev1.Pod
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got, err := h.client.CoreV1().Pods("shop").Get(context.Background(), "named", metav1.GetOptions{}); err == nil && got.Status.Phase == corev1.PodSucceeded {
			p = got
			break
		}
	}
	if p == nil {
		t.Fatal("pod never Succeeded")
	}
	code, body := h.get(t, "/containerLogs/shop/named/main", true)
	want := p.Status.PodIP + "\tnamed\nsearch shop.svc.cluster.local svc.cluster.local cluster.local\nwget: can't connect to remote host (" + p.Status.PodIP + "): Connection refused\n"
	if code != 200 || body != want {
		t.Errorf("log %d %q, want %q", code, body, want)
	}
}

// gRPC probes call grpc.health.v1.Health as the kubelet's prober: agnhost's grpc-health-checking (its
// /agnhost entrypoint named in the command) makes the pod ready on 5000, a liveness probe on a port nothing
// serves fails with the kubelet's message and restarts the container.
func TestGRPCProbes(t *testing.T) {
	h := startAgent(t)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "grpc"}, Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyAlways, Containers: []corev1.Container{{
		Name: "agnhost", Image: "registry.k8s.io/e2e-test-images/agnhost:2.66.1", Command: []string{"/agnhost", "grpc-health-checking"},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 5000}}, PeriodSeconds: 1, TimeoutSeconds: 1},
		LivenessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 2333}},
			InitialDelaySeconds: 2, PeriodSeconds: 1, TimeoutSeconds: 1, FailureThreshold: 1},
	}}}}
	h.createPod(pod)
	h.waitPod("grpc", "ready on 5000", ready)
	ip := podIP(t, h, "grpc")
	h.waitEventContaining("grpc", "Unhealthy", `Liveness probe failed: timeout: failed to connect service "`+ip+`:2333" within 1s: context deadline exceeded`)
	h.waitPod("grpc", "restarted by its liveness probe", func(p *corev1.Pod) bool {
		return len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount > 0
	})
}

// spec.hostAliases land in /etc/hosts as the kubelet writes them, and the pod's commands resolve them
// there first, as the C library does.
func TestHostAliases(t *testing.T) {
	h := startAgent(t)
	h.createPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}}}})
	ip := podIP(t, h, "web")
	h.waitPod("web", "running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	pod := busyboxPod("aliased", corev1.RestartPolicyNever, "tail -n 2 /etc/hosts; wget -qO- http://bar.remote/ | head -n 1")
	pod.Spec.HostAliases = []corev1.HostAlias{{IP: ip, Hostnames: []string{"foo.remote", "bar.remote"}}}
	h.createPod(pod)
	h.waitPod("aliased", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	want := "# Entries added by HostAliases.\n" + ip + "\tfoo.remote\tbar.remote\n<!DOCTYPE html>\n"
	if got := h.logs(t, "aliased", "main", ""); got != want {
		t.Errorf("log %q, want %q", got, want)
	}
	// agnhost etc-hosts prints the file, as the e2e test of hostAliases reads it.
	ag := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "agnhost-hosts"}, Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
		HostAliases: []corev1.HostAlias{{IP: "123.45.67.89", Hostnames: []string{"foo", "bar"}}},
		Containers:  []corev1.Container{{Name: "agnhost", Image: "registry.k8s.io/e2e-test-images/agnhost:2.66.1", Args: []string{"etc-hosts"}}}}}
	h.createPod(ag)
	h.waitPod("agnhost-hosts", "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	if got := h.logs(t, "agnhost-hosts", "agnhost", ""); !strings.Contains(got, "# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\n") {
		t.Errorf("agnhost etc-hosts:\n%s", got)
	}
}

// curl is there in the images that ship it (curlimages/curl, whose args run curl; nginx; agnhost), not in
// busybox's.
func TestImageCommands(t *testing.T) {
	h := startAgent(t)
	h.createPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{DNSPolicy: corev1.DNSClusterFirst,
		Containers: []corev1.Container{{Name: "nginx", Image: "nginx:1.27"}}}})
	ip := podIP(t, h, "web")
	h.waitPod("web", "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	h.createPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "curl"}, Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, DNSPolicy: corev1.DNSClusterFirst,
		Containers: []corev1.Container{{Name: "main", Image: "curlimages/curl:8.12.1", Args: []string{"-s", "-o", "/dev/null", "-w", `%{http_code}\n`, "http://" + ip + "/"}}}}})
	h.createPod(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "from-agnhost"}, Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, DNSPolicy: corev1.DNSClusterFirst,
		Containers: []corev1.Container{{Name: "main", Image: "registry.k8s.io/e2e-test-images/agnhost:2.66.1", Command: []string{"sh", "-c", "curl -sI http://" + ip + "/ | head -n 1"}}}}})
	h.createPod(busyboxPod("no-curl", corev1.RestartPolicyNever, "curl http://"+ip+"/; echo $?; wget -qO- http://"+ip+"/ | grep -c Welcome"))
	for name, want := range map[string]string{
		"curl":         "200\n",
		"from-agnhost": "HTTP/1.1 200 OK\r\n",
		"no-curl":      "sh: curl: not found\n127\n2\n",
	} {
		h.waitPod(name, "done", func(p *corev1.Pod) bool {
			return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
		})
		if got := h.logs(t, name, "main", ""); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}
