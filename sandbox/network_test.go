package sandbox_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The pod network and the probes, driven as a lesson would: kubectl apply, rollout status, exec-less
// busybox clients whose logs show what they got.

const probedDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s}
spec:
  replicas: %[3]d
  progressDeadlineSeconds: %[4]d
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{name: http, containerPort: 80}]
        readinessProbe:
          httpGet: {path: %[2]s, port: http}
          periodSeconds: 1
`

// waitEventMsg waits for an event in ns whose reason is reason and whose message contains msg.
func waitEventMsg(t *testing.T, ns, reason, msg string) {
	t.Helper()
	eventually(t, 30*time.Second, func() error {
		evs, err := cluster.Client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range evs.Items {
			if e.Reason == reason && strings.Contains(e.Message, msg) {
				return nil
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return fmt.Errorf("no %s event with %q among:\n%s", reason, msg, strings.Join(seen, "\n"))
	})
}

func TestReadinessDrivesRollouts(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	k := append(slices.Clone(kubectls(t)["klab"]), "-n", ns)
	applyManifest(t, k, fmt.Sprintf(probedDeployment, "good", "/", 2, 600))
	applyManifest(t, k, fmt.Sprintf(probedDeployment, "stuck", "/healthz", 1, 6))
	mustRun(t, append(slices.Clone(k), "rollout", "status", "deployment/good", "--timeout=60s")...)
	if out := mustRun(t, append(slices.Clone(k), "get", "deployment", "good", "-o", "jsonpath={.status.availableReplicas}")...); out != "2" {
		t.Fatalf("good: %q available, want 2", out)
	}
	// The bad probe stalls the rollout until its progress deadline, as on kubeadm.
	out, err := run(t, 90*time.Second, append(slices.Clone(k), "rollout", "status", "deployment/stuck", "--timeout=60s")...)
	if err == nil || !strings.Contains(out, `Waiting for deployment "stuck" rollout to finish: 0 of 1 updated replicas are available...`) ||
		!strings.Contains(out, `error: deployment "stuck" exceeded its progress deadline`) {
		t.Fatalf("rollout status of the stuck deployment: %v\n%s", err, out)
	}
	cond := mustRun(t, append(slices.Clone(k), "get", "deployment", "stuck", "-o", `jsonpath={.status.conditions[?(@.type=="Progressing")].reason}`)...)
	if cond != "ProgressDeadlineExceeded" {
		t.Errorf("Progressing reason %q, want ProgressDeadlineExceeded", cond)
	}
	pods := mustRun(t, append(slices.Clone(k), "get", "pods", "-l", "app=stuck", "--no-headers")...)
	if f := strings.Fields(pods); len(f) < 3 || f[1] != "0/1" || f[2] != "Running" {
		t.Errorf("stuck pods:\n%s", pods)
	}
	waitEventMsg(t, ns, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 404")

	// EndpointSlices list the ready pods as ready and the unready one as not ready.
	mustRun(t, append(slices.Clone(k), "expose", "deployment", "good", "--port=80")...)
	mustRun(t, append(slices.Clone(k), "expose", "deployment", "stuck", "--port=80")...)
	count := func(svc string) (ready, notReady int, err error) {
		list, err := cluster.Client.DiscoveryV1().EndpointSlices(ns).List(context.Background(),
			metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
		if err != nil {
			return 0, 0, err
		}
		for _, s := range list.Items {
			for _, e := range s.Endpoints {
				if e.Conditions.Ready != nil && *e.Conditions.Ready {
					ready++
				} else {
					notReady++
				}
			}
		}
		return ready, notReady, nil
	}
	eventually(t, 30*time.Second, func() error {
		g, gn, err := count("good")
		if err != nil {
			return err
		}
		s, sn, err := count("stuck")
		if err != nil {
			return err
		}
		if g != 2 || gn != 0 || s != 0 || sn != 1 {
			return fmt.Errorf("good %d ready %d not, stuck %d ready %d not; want 2/0 and 0/1", g, gn, s, sn)
		}
		return nil
	})
	// Through the Services: the ready pods answer, the Service whose only pod is unready refuses.
	stuckIP := mustRun(t, append(slices.Clone(k), "get", "service", "stuck", "-o", "jsonpath={.spec.clusterIP}")...)
	script := "wget -qO- http://good | grep '<h1>'; wget -qO- good." + ns + ":80 | grep -c nginx; " +
		"wget -q --spider http://good." + ns + ".svc.cluster.local/ && echo fqdn ok; wget -qO- http://stuck/; echo stuck=$?"
	mustRun(t, append(slices.Clone(k), "run", "client", "--image=busybox:1.36", "--restart=Never", "--", "sh", "-c", script)...)
	eventually(t, 60*time.Second, func() error {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(context.Background(), "client", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodSucceeded {
			return fmt.Errorf("client is %s", p.Status.Phase)
		}
		return nil
	})
	want := "<h1>Welcome to nginx!</h1>\n6\nfqdn ok\nwget: can't connect to remote host (" + stuckIP + "): Connection refused\nstuck=1\n"
	if got := mustRun(t, append(slices.Clone(k), "logs", "client")...); got != want {
		t.Errorf("client log:\n%q\nwant\n%q", got, want)
	}
}

func TestTCPLivenessProbeRestarts(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	k := append(slices.Clone(kubectls(t)["klab"]), "-n", ns)
	applyManifest(t, k, `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: nginx
    image: nginx
    livenessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
      failureThreshold: 2
`)
	var ip string
	eventually(t, 60*time.Second, func() error {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		ip = p.Status.PodIP
		if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].RestartCount < 1 {
			return fmt.Errorf("not restarted yet: %+v", p.Status.ContainerStatuses)
		}
		return nil
	})
	waitEventMsg(t, ns, "Unhealthy", "Liveness probe failed: dial tcp "+ip+":8080: connect: connection refused")
	waitEventMsg(t, ns, "Killing", "Container nginx failed liveness probe, will be restarted")
}

// TestAPIServerReachesPods: the apiserver's pod and Service proxies reach the pod network through the
// egress tunnel, as on kubeadm (`kubectl get --raw …/services/NAME:PORT/proxy/`).
func TestAPIServerReachesPods(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	k := append(slices.Clone(kubectls(t)["klab"]), "-n", ns)
	applyManifest(t, k, fmt.Sprintf(probedDeployment, "web", "/", 1, 600))
	mustRun(t, append(slices.Clone(k), "expose", "deployment", "web", "--port=80")...)
	mustRun(t, append(slices.Clone(k), "rollout", "status", "deployment/web", "--timeout=120s")...)
	pods, err := cluster.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("pods of web: %v %v", pods, err)
	}
	for name, kubectl := range kubectls(t) {
		for _, path := range []string{
			"/api/v1/namespaces/" + ns + "/services/web:80/proxy/",
			"/api/v1/namespaces/" + ns + "/pods/" + pods.Items[0].Name + ":80/proxy/",
		} {
			t.Run(name+path, func(t *testing.T) {
				out := mustRun(t, append(slices.Clone(kubectl), "get", "--raw", path)...)
				if !strings.Contains(out, "<title>Welcome to nginx!</title>") {
					t.Errorf("GET %s: %.300s", path, out)
				}
			})
		}
	}
	// A port nothing listens on is refused, as a real pod's would be.
	out, err := run(t, 30*time.Second, append(slices.Clone(kubectls(t)["klab"]), "get", "--raw",
		"/api/v1/namespaces/"+ns+"/pods/"+pods.Items[0].Name+":8080/proxy/")...)
	if err == nil || !strings.Contains(out, "connect: connection refused") {
		t.Errorf("proxy to a closed port: %v\n%s", err, out)
	}
}
