package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/verify"
)

// watchHistory runs a live watch feeding h until stop is closed; it returns the last results.
func watchHistory(ctx context.Context, v *verify.Verifier, objs []*lessons.Objective, h *verify.History) <-chan []verify.Result {
	out := make(chan []verify.Result, 1)
	go func() {
		var last []verify.Result
		for rs := range v.Watch(ctx, objs, verify.WithHistory(h)) {
			last = rs
		}
		out <- last
	}()
	return out
}

// TestHistoryTTL: "seen with a TTL, then gone" passes only for a Job that was really there and was
// deleted during the step, never for one that never existed (the TTL objective of the Jobs lesson).
func TestHistoryTTL(t *testing.T) {
	ns := namespace(t)
	v := newVerifier(t, ns, "fr")
	o := &lessons.Objective{ID: "ttl", Target: &lessons.Target{Kind: "Job", Name: "salut"}, Absent: true,
		History: []lessons.Stage{
			{Seen: &lessons.Seen{Match: map[string]any{"spec": map[string]any{"ttlSecondsAfterFinished": 2}}}},
			{Gone: true},
		}}
	objs := []*lessons.Objective{o}

	// A learner who never created the Job: absent holds, the history does not.
	h := verify.NewHistory(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	last := <-watchHistory(ctx, v, objs, h)
	cancel()
	if len(last) != 1 || last[0].Status != verify.StatusFail || !strings.Contains(last[0].Message, "pas encore été vu") {
		t.Fatalf("never created: %+v, want a failure saying the Job was never seen", last)
	}
	if r := v.Evaluate(context.Background(), objs)[0]; r.Status != verify.StatusFail {
		t.Fatalf("without a history: %+v, want a failure", r)
	}

	// The Job runs and finishes, then gets a TTL: the TTL controller deletes it.
	h = verify.NewHistory(nil)
	ctx, cancel = context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	results := watchHistory(ctx, v, objs, h)
	createJob(t, ns, job("salut", "echo Salut", nil))
	waitJob(t, ns, "salut", func(j *batchv1.Job) bool { return j.Status.Succeeded == 1 })
	if r := v.Evaluate(context.Background(), objs, verify.WithHistory(h))[0]; r.Status != verify.StatusFail ||
		!strings.Contains(r.Message, "ttlSecondsAfterFinished") {
		t.Fatalf("finished, no TTL yet: %+v, want the TTL field named", r)
	}
	patch := []byte(`{"spec":{"ttlSecondsAfterFinished":2}}`)
	if _, err := cluster.Client.BatchV1().Jobs(ns).Patch(context.Background(), "salut", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(45 * time.Second)
	for {
		r := v.Evaluate(context.Background(), objs, verify.WithHistory(h))[0]
		if r.Status == verify.StatusPass {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the TTL deletion was not recorded: %+v (history %+v)", r, h.Snapshot())
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	<-results
	// The progress survives a restart: a history restored from its snapshot still passes.
	if r := v.Evaluate(context.Background(), objs, verify.WithHistory(verify.NewHistory(h.Snapshot())))[0]; r.Status != verify.StatusPass {
		t.Fatalf("restored history: %+v", r)
	}
}

// TestHistoryChangedWhileRunning: parallelism seen at 1, then raised to 2 while the Job is active;
// a Job created directly with parallelism 2 never satisfies it.
func TestHistoryChangedWhileRunning(t *testing.T) {
	ns := namespace(t)
	v := newVerifier(t, ns, "en")
	mk := func(name string) *lessons.Objective {
		return &lessons.Objective{ID: name, Target: &lessons.Target{Kind: "Job", Name: name},
			History: []lessons.Stage{
				{Seen: &lessons.Seen{Match: map[string]any{"spec": map[string]any{"parallelism": 1}}}},
				{Seen: &lessons.Seen{Match: map[string]any{"spec": map[string]any{"parallelism": 2}},
					Expect: []lessons.Expect{{CEL: "!has(object.status.completionTime)"}}}},
			}}
	}
	raised, direct := mk("raised"), mk("direct")
	objs := []*lessons.Objective{raised, direct}
	h := verify.NewHistory(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	results := watchHistory(ctx, v, objs, h)
	slow := func(p int32) func(*batchv1.Job) {
		return func(j *batchv1.Job) { j.Spec.Parallelism, j.Spec.Completions = ptr(p), ptr(int32(2)) }
	}
	createJob(t, ns, job("raised", "sleep 3", slow(1)))
	createJob(t, ns, job("direct", "sleep 1", slow(2)))
	time.Sleep(time.Second)
	patch := []byte(`{"spec":{"parallelism":2}}`)
	if _, err := cluster.Client.BatchV1().Jobs(ns).Patch(context.Background(), "raised", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitJob(t, ns, "direct", func(j *batchv1.Job) bool { return j.Status.Succeeded == 2 })
	deadline := time.Now().Add(20 * time.Second)
	for {
		rs := v.Evaluate(context.Background(), objs, verify.WithHistory(h))
		if rs[0].Status == verify.StatusPass {
			if rs[1].Status != verify.StatusFail || !strings.Contains(rs[1].Message, "spec.parallelism") {
				t.Fatalf("a Job created with parallelism 2: %+v, want a failure naming spec.parallelism", rs[1])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("raised parallelism not recorded: %+v", rs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	<-results
}

func waitJob(t *testing.T, ns, name string, ok func(*batchv1.Job) bool) {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		j, err := cluster.Client.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && ok(j) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("job %s/%s did not reach the state in time", ns, name)
}

// TestLessonTTLObjectiveNeedsTheJob: the Jobs lesson's step 3 objective "salut-supprime" fails for a
// learner who never created the Job "salut" (its absent state alone would pass).
func TestLessonTTLObjectiveNeedsTheJob(t *testing.T) {
	ns := namespace(t)
	v := newVerifier(t, ns, "fr")
	ls, err := lessons.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	var obj *lessons.Objective
	for _, l := range ls {
		for _, s := range l.Steps {
			for _, o := range s.Objectives {
				if l.ID == "jobs-cronjobs" && o.ID == "salut-supprime" {
					obj = o
				}
			}
		}
	}
	if obj == nil || len(obj.History) == 0 {
		t.Fatalf("jobs-cronjobs has no history objective salut-supprime: %+v", obj)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	last := <-watchHistory(ctx, v, []*lessons.Objective{obj}, verify.NewHistory(nil))
	if len(last) != 1 || last[0].Status != verify.StatusFail {
		t.Fatalf("never created: %+v, want a failure", last)
	}
	t.Logf("message: %s", last[0].Message)
}
