package sandbox_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
