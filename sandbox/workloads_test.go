package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The workload controllers of a kubeadm cluster run in the sandbox: these tests drive them with the
// commands CKAD lessons use, with both kubectls, and check what kubectl shows.

func TestDeploymentLifecycle(t *testing.T) {
	needCluster(t)
	for name, k := range kubectls(t) {
		t.Run(name, func(t *testing.T) {
			ns := namespace(t)
			kc := func(args ...string) string { return mustRun(t, append(append(slices.Clone(k), "-n", ns), args...)...) }
			kc("create", "deployment", "web", "--image=nginx", "--replicas=3")
			kc("rollout", "status", "deployment/web", "--timeout=60s")
			if out := kc("get", "deployment", "web", "-o", "jsonpath={.status.availableReplicas}"); out != "3" {
				t.Fatalf("available replicas = %q, want 3", out)
			}
			kc("set", "image", "deployment/web", "nginx=nginx:1.27")
			kc("rollout", "status", "deployment/web", "--timeout=60s")
			if out := kc("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].spec.containers[0].image}"); strings.Count(out, "nginx:1.27") != 3 {
				t.Fatalf("after set image: %q, want 3 pods on nginx:1.27", out)
			}
			kc("rollout", "undo", "deployment/web")
			kc("rollout", "status", "deployment/web", "--timeout=60s")
			eventually(t, 30*time.Second, func() error {
				out := kc("get", "pods", "-l", "app=web", "--field-selector=status.phase=Running", "-o", "jsonpath={.items[*].spec.containers[0].image}")
				if f := strings.Fields(out); len(f) != 3 || slices.Contains(f, "nginx:1.27") {
					return fmt.Errorf("after undo: %q, want 3 pods on nginx", out)
				}
				return nil
			})
			if out := kc("rollout", "history", "deployment/web"); !strings.Contains(out, "REVISION") || !strings.Contains(out, "3") {
				t.Fatalf("rollout history:\n%s", out)
			}
			kc("scale", "deployment", "web", "--replicas=5")
			eventually(t, 30*time.Second, func() error {
				if out := kc("get", "deployment", "web", "-o", "jsonpath={.status.readyReplicas}"); out != "5" {
					return fmt.Errorf("ready replicas %q, want 5", out)
				}
				return nil
			})
			kc("expose", "deployment", "web", "--port=80")
			eventually(t, 30*time.Second, func() error {
				slices, err := cluster.Client.DiscoveryV1().EndpointSlices(ns).List(context.Background(),
					metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
				if err != nil {
					return err
				}
				ready := 0
				for _, s := range slices.Items {
					for _, e := range s.Endpoints {
						if e.Conditions.Ready != nil && *e.Conditions.Ready {
							ready++
						}
					}
				}
				if ready != 5 {
					return fmt.Errorf("%d ready endpoints, want the 5 pods", ready)
				}
				return nil
			})
		})
	}
}

func TestStatefulSetAndDaemonSet(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	k := append(slices.Clone(kubectls(t)["klab"]), "-n", ns)
	manifest := `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: busybox
        command: ["sh", "-c", "echo $HOSTNAME > /data/who; sleep 3600"]
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers:
      - {name: a, image: busybox, command: ["sleep", "3600"]}
`
	path := t.TempDir() + "/m.yaml"
	if err := writeFile(path, manifest); err != nil {
		t.Fatal(err)
	}
	mustRun(t, append(slices.Clone(k), "apply", "-f", path)...)
	mustRun(t, append(slices.Clone(k), "rollout", "status", "statefulset/db", "--timeout=90s")...)
	mustRun(t, append(slices.Clone(k), "rollout", "status", "daemonset/agent", "--timeout=60s")...)
	out := mustRun(t, append(slices.Clone(k), "get", "pvc", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}")...)
	if strings.TrimSpace(out) != "data-db-0=Bound data-db-1=Bound" {
		t.Fatalf("claims: %q, want data-db-0 and data-db-1 Bound", out)
	}
	// No toleration for the control plane's taint: one pod, on node01 (TestDaemonSetOnEveryNode has both).
	if out := mustRun(t, append(slices.Clone(k), "get", "daemonset", "agent", "-o", "jsonpath={.status.numberReady}")...); out != "1" {
		t.Fatalf("daemonset ready on %s nodes, want node01's 1", out)
	}
	// Deleting the StatefulSet leaves its claims (retain policy by default); deleting a claim releases its
	// volume, which the default class's reclaim policy (Delete) removes, as a provisioner does.
	pvName := strings.TrimSpace(mustRun(t, append(slices.Clone(k), "get", "pvc", "data-db-0", "-o", "jsonpath={.spec.volumeName}")...))
	mustRun(t, append(slices.Clone(k), "delete", "statefulset", "db", "--wait=true")...)
	mustRun(t, append(slices.Clone(k), "delete", "pvc", "data-db-0", "--wait=true", "--timeout=90s")...)
	eventually(t, 60*time.Second, func() error {
		_, err := cluster.Client.CoreV1().PersistentVolumes().Get(context.Background(), pvName, metav1.GetOptions{})
		if err == nil {
			return fmt.Errorf("volume %s of the deleted claim is still there", pvName)
		}
		if !apierrors.IsNotFound(err) {
			return err
		}
		return nil
	})
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
