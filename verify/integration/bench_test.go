package integration

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/verify"
)

// BenchmarkWatchLatency measures, from the status write that satisfies an
// objective to the Watch result saying pass (goal p50 ≤ 100 ms, p99 ≤ 300 ms).
// The Job is managed by "klab.dev/bench" so the Job controller leaves its
// status to the benchmark.
func BenchmarkWatchLatency(b *testing.B) {
	ctx := context.Background()
	ns := namespace(b)
	j := createJob(b, ns, job("bench", "true", func(j *batchv1.Job) { j.Spec.ManagedBy = ptr("klab.dev/bench") }))
	v := newVerifier(b, ns, "en")
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := v.Watch(wctx, []*lessons.Objective{{ID: "active", Target: &lessons.Target{Kind: "Job", Name: "bench"},
		Match: map[string]any{"status": map[string]any{"active": 1}}}})
	now := metav1.Now()
	setActive := func(n int32) {
		j.Status.Active = n
		j.Status.StartTime = &now
		out, err := cluster.Client.BatchV1().Jobs(ns).UpdateStatus(ctx, j, metav1.UpdateOptions{})
		if err != nil {
			b.Fatal(err)
		}
		j = out
	}
	await := func(want verify.Status) {
		timeout := time.After(10 * time.Second)
		for {
			select {
			case rs := <-ch:
				if rs[0].Status == want {
					return
				}
			case <-timeout:
				b.Fatalf("no %s result within 10s", want)
			}
		}
	}
	await(verify.StatusFail)
	const perOp = 20 // samples per iteration, for meaningful percentiles
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		for range perOp {
			setActive(2) // "got 2": a fail that differs from the initial "(missing)"
			await(verify.StatusFail)
			start := time.Now()
			setActive(1)
			await(verify.StatusPass)
			lat = append(lat, time.Since(start))
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkEvaluate10 evaluates a 10-objective step once (goal ≤ 50 ms).
func BenchmarkEvaluate10(b *testing.B) {
	ns := namespace(b)
	v := newVerifier(b, ns, "fr")
	createJob(b, ns, job("hello", "echo Bonjour", nil))
	done := []*lessons.Objective{{ID: "done", Target: &lessons.Target{Kind: "Job", Name: "hello"},
		Match: map[string]any{"status": map[string]any{"succeeded": 1}}}}
	waitFor(b, v, done, 60*time.Second)
	var objs []*lessons.Objective
	for i := range 10 {
		o := &lessons.Objective{ID: fmt.Sprint(i), Target: &lessons.Target{Kind: "Job", Name: "hello"}}
		switch i % 5 {
		case 0:
			o.Match = map[string]any{"status": map[string]any{"succeeded": 1, "conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}}
		case 1:
			o.Expect = []lessons.Expect{{CEL: "object.status.succeeded == 1"}}
		case 2:
			o.Expect = []lessons.Expect{{CEL: "pods.all(p, p.status.phase == 'Succeeded')"}}
		case 3:
			o.Target = &lessons.Target{Kind: "Pod", Selector: map[string]string{"batch.kubernetes.io/job-name": "hello"}}
			o.Count = &lessons.Count{Min: ptr(1)}
		case 4:
			o.Target = &lessons.Target{Kind: "CronJob", Name: "nope"}
			o.Absent = true
		}
		objs = append(objs, o)
	}
	ctx := context.Background()
	if rs := v.Evaluate(ctx, objs); !verify.AllPass(objs, rs) {
		b.Fatalf("objectives do not pass: %+v", rs)
	}
	b.ResetTimer()
	for range b.N {
		v.Evaluate(ctx, objs)
	}
}
