package verify

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/klabdev/klab/lessons"
)

func next(t *testing.T, ch <-chan []Result, timeout time.Duration) []Result {
	t.Helper()
	select {
	case rs, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed")
		}
		return rs
	case <-time.After(timeout):
		t.Fatalf("no result within %s", timeout)
	}
	return nil
}

// TestWatchFake: the result turns to pass when the Job's status changes,
// without polling, and the channel closes when the context ends.
func TestWatchFake(t *testing.T) {
	job := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "Job",
		"metadata": map[string]any{"name": "hello", "namespace": "klab-jobs"},
		"status":   map[string]any{"active": int64(1)},
	}}
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, job)
	v, err := New(Config{Namespace: "klab-jobs", Lang: "en", Dynamic: dyn, Kube: kubefake.NewClientset(), Mapper: newMapper()})
	if err != nil {
		t.Fatal(err)
	}
	objs := []*lessons.Objective{
		{ID: "done", Target: &lessons.Target{Kind: "Job", Name: "hello"}, Match: map[string]any{"status": map[string]any{"succeeded": 1}}},
		{ID: "gone", Target: &lessons.Target{Kind: "Job", Name: "old"}, Absent: true},
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := v.Watch(ctx, objs)
	rs := next(t, ch, 5*time.Second)
	if rs[0].Status != StatusFail || rs[0].Message != "status.succeeded: expected 1, got (missing)" || rs[1].Status != StatusPass {
		t.Fatalf("first results %+v", rs)
	}
	start := time.Now()
	job.Object["status"] = map[string]any{"succeeded": int64(1)}
	gvr := schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
	if _, err := dyn.Resource(gvr).Namespace("klab-jobs").UpdateStatus(ctx, job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rs = next(t, ch, watchTick/2) // before any tick: driven by the informer
	if rs[0].Status != StatusPass {
		t.Fatalf("after status write: %+v", rs)
	}
	t.Logf("status write → pass in %s", time.Since(start))
	// An unrelated change to the same object does not re-send equal results.
	job.SetLabels(map[string]string{"x": "y"})
	if _, err := dyn.Resource(gvr).Namespace("klab-jobs").Update(ctx, job, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case rs := <-ch:
		t.Fatalf("unchanged results sent again: %+v", rs)
	case <-time.After(200 * time.Millisecond):
	}
	cancel()
	for range ch { //nolint:revive // drain until closed
	}
}

// TestWatchScriptsTick: script objectives are re-run on the tick.
func TestWatchScriptsTick(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a 2 s tick")
	}
	runs := make(chan int, 10)
	n := 0
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds)
	v, err := New(Config{Namespace: "klab-jobs", Lang: "en", Dynamic: dyn, Kube: kubefake.NewClientset(), Mapper: newMapper(),
		RunScript: func(context.Context, *lessons.Script) (string, int, error) {
			n++
			runs <- n
			if n >= 2 {
				return "ok now\n", 0, nil
			}
			return "not yet\n", 1, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := v.Watch(ctx, []*lessons.Objective{{ID: "s", Script: &lessons.Script{Path: "verify.sh"}}})
	if rs := next(t, ch, 5*time.Second); rs[0].Status != StatusPending {
		t.Fatalf("first: %+v, want pending until the script ends", rs)
	}
	if rs := next(t, ch, 5*time.Second); rs[0].Status != StatusFail || rs[0].Message != "not yet" {
		t.Fatalf("first run: %+v", rs)
	}
	if rs := next(t, ch, 3*watchTick); rs[0].Status != StatusPass || rs[0].Message != "ok now" {
		t.Fatalf("after tick: %+v", rs)
	}
}
