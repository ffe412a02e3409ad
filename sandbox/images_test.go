package sandbox_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// waitingReason waits until the pod's first container waits with reason and returns the pod.
func waitingReason(t *testing.T, ns, pod, reason string) *corev1.Pod {
	t.Helper()
	var got *corev1.Pod
	eventually(t, 30*time.Second, func() error {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(context.Background(), pod, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cs := p.Status.ContainerStatuses; len(cs) > 0 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == reason {
			got = p
			return nil
		}
		return fmt.Errorf("pod %s: %+v, want waiting %s", pod, p.Status.ContainerStatuses, reason)
	})
	return got
}

func podEvents(t *testing.T, ns, pod string) []string {
	t.Helper()
	evs, err := cluster.Client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.name", pod).String()})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs.Items {
		out = append(out, e.Type+" "+e.Reason+" "+e.Message)
	}
	return out
}

// TestImageTypo: an image that does not exist fails as on a kubeadm cluster (containerd's message,
// ErrImagePull, then ImagePullBackOff, the kubelet's events), and fixing the image starts the pod.
func TestImageTypo(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	k := append(slices.Clone(kubectls(t)["klab"]), "-n", ns)
	mustRun(t, append(slices.Clone(k), "run", "web", "--image=ngnix")...)
	const pullMsg = `failed to pull and unpack image "docker.io/library/ngnix:latest": failed to resolve reference "docker.io/library/ngnix:latest": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`
	p := waitingReason(t, ns, "web", "ImagePullBackOff")
	if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; msg != `Back-off pulling image "ngnix": ErrImagePull: `+pullMsg {
		t.Fatalf("ImagePullBackOff message %q", msg)
	}
	// Events travel through the recorder's asynchronous broadcaster, as a kubelet's do: the status can
	// show ImagePullBackOff before its event is stored, so wait for them as kubectl events would show them.
	eventually(t, 10*time.Second, func() error {
		evs := strings.Join(podEvents(t, ns, "web"), "\n")
		for _, want := range []string{
			`Normal Pulling Pulling image "ngnix"`,
			`Warning Failed Failed to pull image "ngnix": ` + pullMsg,
			`Warning Failed Error: ErrImagePull`,
			`Normal BackOff Back-off pulling image "ngnix"`,
			`Warning Failed Error: ImagePullBackOff`,
		} {
			if !strings.Contains(evs, want) {
				return fmt.Errorf("no event %q in:\n%s", want, evs)
			}
		}
		return nil
	})
	if out := mustRun(t, append(slices.Clone(k), "get", "pod", "web")...); !strings.Contains(out, "ImagePullBackOff") && !strings.Contains(out, "ErrImagePull") {
		t.Errorf("kubectl get pod:\n%s", out)
	}
	mustRun(t, append(slices.Clone(k), "set", "image", "pod/web", "web=nginx")...)
	eventually(t, 20*time.Second, func() error {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("phase %s after fixing the image", p.Status.Phase)
		}
		return nil
	})
}

// TestImageBadTagAndName: a tag the registry lacks fails with "not found"; a reference that does not
// parse is InvalidImageName.
func TestImageBadTagAndName(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	k := append(slices.Clone(kubectls(t)["klab"]), "-n", ns)
	mustRun(t, append(slices.Clone(k), "run", "tag", "--image=nginx:1.99")...)
	p := waitingReason(t, ns, "tag", "ImagePullBackOff")
	if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; !strings.HasSuffix(msg, `docker.io/library/nginx:1.99: not found`) {
		t.Fatalf("bad tag message %q", msg)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "name"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "c", Image: "Nginx"}}}}
	if _, err := cluster.Client.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p = waitingReason(t, ns, "name", "InvalidImageName")
	if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; !strings.Contains(msg, `invalid reference format: repository name (library/Nginx) must be lowercase`) {
		t.Fatalf("invalid name message %q", msg)
	}
}
