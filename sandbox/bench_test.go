package sandbox_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/klabdev/klab/sandbox/sandboxctl"
)

var phases = regexp.MustCompile(`^ready in ([0-9.]+)s: etcd ([0-9.]+)s, apiserver ([0-9.]+)s, controllers ([0-9.]+)s`)

// BenchmarkStartToReady starts bin/klab sandbox up on a fresh data dir and
// measures the time until it reports ready (node Ready, default
// ServiceAccount); it reports the median and the phases of the median run.
func BenchmarkStartToReady(b *testing.B) {
	needCluster(b)
	var totals []float64
	var runs [][]string
	for i := 0; b.Loop(); i++ {
		dir := b.TempDir()
		start := time.Now()
		p, err := sandboxctl.Start(context.Background(), dir, cluster.Bin, sandboxctl.StartOptions{})
		if err != nil {
			b.Fatal(err)
		}
		wall := time.Since(start)
		b.StopTimer()
		m := phases.FindStringSubmatch(p.ReadyLine)
		if m == nil {
			b.Fatalf("ready line %q", p.ReadyLine)
		}
		totals = append(totals, wall.Seconds())
		runs = append(runs, m)
		if err := p.Stop(30 * time.Second); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	sorted := slices.Clone(totals)
	slices.Sort(sorted)
	med := sorted[len(sorted)/2]
	b.ReportMetric(med, "s-median-ready")
	for i, t := range totals {
		if t == med {
			for j, name := range []string{"s-reported", "s-etcd", "s-apiserver", "s-controllers"} {
				v, _ := strconv.ParseFloat(runs[i][j+1], 64)
				b.ReportMetric(v, name)
			}
			break
		}
	}
	b.ReportMetric(0, "ns/op")
}

// BenchmarkIndexedJob100: an Indexed Job of 100 completions, parallelism 10,
// each pod `sh -c 'echo $JOB_COMPLETION_INDEX'`, from creation to Complete.
func BenchmarkIndexedJob100(b *testing.B) {
	needCluster(b)
	ctx := context.Background()
	var secs []float64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		ns := fmt.Sprintf("bench-indexed-%d-%d", time.Now().Unix(), i)
		_, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		eventually(b, 30*time.Second, func() error {
			_, err := cluster.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err
		})
		j := job("hundred", corev1.RestartPolicyNever, `echo $JOB_COMPLETION_INDEX`)
		j.Spec.Completions = ptr.To[int32](100)
		j.Spec.Parallelism = ptr.To[int32](10)
		j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
		b.StartTimer()
		start := time.Now()
		if _, err := cluster.Client.BatchV1().Jobs(ns).Create(ctx, j, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		eventually(b, 5*time.Minute, func() error {
			got, err := cluster.Client.BatchV1().Jobs(ns).Get(ctx, "hundred", metav1.GetOptions{})
			if err != nil {
				return err
			}
			for _, c := range got.Status.Conditions {
				if c.Type == batchv1.JobComplete && c.Status == corev1.ConditionTrue {
					if got.Status.CompletedIndexes != "0-99" {
						b.Fatalf("completedIndexes = %q", got.Status.CompletedIndexes)
					}
					return nil
				}
			}
			return fmt.Errorf("succeeded %d/100", got.Status.Succeeded)
		})
		secs = append(secs, time.Since(start).Seconds())
		b.StopTimer()
		_ = cluster.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		b.StartTimer()
	}
	slices.Sort(secs)
	b.ReportMetric(secs[len(secs)/2], "s-median-complete")
}

// benchNamespace makes a fresh namespace with its default ServiceAccount (outside the timer).
func benchNamespace(b *testing.B, prefix string, i int) string {
	b.Helper()
	ctx := context.Background()
	ns := fmt.Sprintf("%s-%d-%d", prefix, time.Now().Unix(), i)
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	eventually(b, 30*time.Second, func() error {
		_, err := cluster.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
	return ns
}

func webDeployment(image string) *appsv1.Deployment {
	labels := map[string]string{"app": "web"}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "nginx", Image: image}}}}}}
}

// waitRolledOut waits until the Deployment has all its replicas updated and available and no old one
// left, as `kubectl rollout status` does.
func waitRolledOut(b *testing.B, ns string) {
	b.Helper()
	eventually(b, 2*time.Minute, func() error {
		d, err := cluster.Client.AppsV1().Deployments(ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		s := d.Status
		if s.ObservedGeneration < d.Generation || s.UpdatedReplicas != 3 || s.Replicas != 3 || s.AvailableReplicas != 3 {
			return fmt.Errorf("rollout: %d updated, %d total, %d available", s.UpdatedReplicas, s.Replicas, s.AvailableReplicas)
		}
		return nil
	})
}

// BenchmarkDeploymentAvailable: a 3-replica nginx Deployment (kubectl create deployment web
// --image=nginx --replicas=3) from its creation to 3 available replicas; then a rolling update of it
// (kubectl set image) until every replica runs the new image and the old ones are gone.
func BenchmarkDeploymentAvailable(b *testing.B) {
	needCluster(b)
	ctx := context.Background()
	var create, update []float64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		ns := benchNamespace(b, "bench-deploy", i)
		b.StartTimer()
		start := time.Now()
		if _, err := cluster.Client.AppsV1().Deployments(ns).Create(ctx, webDeployment("nginx"), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		waitRolledOut(b, ns)
		create = append(create, time.Since(start).Seconds())
		start = time.Now()
		patch := []byte(`{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.27"}]}}}}`)
		if _, err := cluster.Client.AppsV1().Deployments(ns).Patch(ctx, "web", types.StrategicMergePatchType, patch, metav1.PatchOptions{}); err != nil {
			b.Fatal(err)
		}
		waitRolledOut(b, ns)
		update = append(update, time.Since(start).Seconds())
		b.StopTimer()
		_ = cluster.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		b.StartTimer()
	}
	slices.Sort(create)
	slices.Sort(update)
	b.ReportMetric(create[len(create)/2], "s-median-available")
	b.ReportMetric(update[len(update)/2], "s-median-rolling-update")
	b.ReportMetric(0, "ns/op")
}
