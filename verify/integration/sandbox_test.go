// Package integration tests package verify against klab's embedded sandbox
// (a real API server, controllers and node agent): every objective form,
// the RBAC role, and the live-watch latency. It lives apart from verify so
// verify's unit tests do not wait for a sandbox.
package integration

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/sandbox/sandboxtest"
	"github.com/klabdev/klab/verify"
)

var cluster *sandboxtest.Cluster

func TestMain(m *testing.M) { os.Exit(sandboxtest.Main(m, &cluster)) }

var nsCounter atomic.Int64

// needSandbox skips when sandboxtest started no sandbox (go test -short).
func needSandbox(t testing.TB) {
	t.Helper()
	if cluster == nil {
		t.Skip("no sandbox with -short")
	}
}

// namespace creates a fresh namespace for one test and deletes it after.
func namespace(t testing.TB) string {
	t.Helper()
	needSandbox(t)
	name := fmt.Sprintf("verify-%d-%d", os.Getpid()%10000, nsCounter.Add(1))
	ctx := context.Background()
	_, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.Client.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

func newVerifier(t testing.TB, ns, lang string) *verify.Verifier {
	t.Helper()
	needSandbox(t)
	v, err := verify.New(verify.Config{RestConfig: cluster.Config, Namespace: ns, Lang: lang})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitFor watches objs until every result passes, failing the test with the
// last results when bound runs out.
func waitFor(t testing.TB, v *verify.Verifier, objs []*lessons.Objective, bound time.Duration, opts ...verify.Option) []verify.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	var last []verify.Result
	for rs := range v.Watch(ctx, objs, opts...) {
		last = rs
		if verify.AllPass(objs, rs) {
			return rs
		}
	}
	t.Fatalf("objectives did not pass within %s: %+v", bound, last)
	return nil
}

func one(t testing.TB, v *verify.Verifier, o *lessons.Objective) verify.Result {
	t.Helper()
	return v.Evaluate(context.Background(), []*lessons.Objective{o})[0]
}

func ptr[T any](v T) *T { return &v }

func job(name, script string, mut func(*batchv1.Job)) *batchv1.Job {
	j := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr(int32(0)),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"sh", "-c", script}}},
			}},
		},
	}
	if mut != nil {
		mut(j)
	}
	return j
}

func createJob(t testing.TB, ns string, j *batchv1.Job) *batchv1.Job {
	t.Helper()
	out, err := cluster.Client.BatchV1().Jobs(ns).Create(context.Background(), j, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestJobCompletes: precise failures before the Job exists, then the live
// watch turns match, pods and logs objectives green once it completes.
func TestJobCompletes(t *testing.T) {
	ns := namespace(t)
	v := newVerifier(t, ns, "fr")
	objs := []*lessons.Objective{
		{ID: "complete", Target: &lessons.Target{Kind: "Job", Name: "hello"},
			Match: map[string]any{"status": map[string]any{"succeeded": 1,
				"conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}}},
		{ID: "logs", Target: &lessons.Target{Kind: "Job", Name: "hello"},
			Expect: []lessons.Expect{{CEL: "logs.contains('Bonjour le monde')"}}},
		{ID: "pods", Target: &lessons.Target{Kind: "Job", Name: "hello"},
			Expect: []lessons.Expect{{CEL: "pods.size() == 1 && pods[0].status.phase == 'Succeeded'"}}},
	}
	before := v.Evaluate(context.Background(), objs)
	want := "Job «\u00a0hello\u00a0» introuvable dans l'espace de noms " + ns
	if before[0].Status != verify.StatusFail || before[0].Message != want {
		t.Fatalf("before: %s %q, want fail %q", before[0].Status, before[0].Message, want)
	}
	createJob(t, ns, job("hello", "echo Bonjour le monde", nil))
	waitFor(t, v, objs, 60*time.Second)
}

// TestIndexedJob checks completedIndexes of an Indexed Job.
func TestIndexedJob(t *testing.T) {
	ns := namespace(t)
	v := newVerifier(t, ns, "en")
	createJob(t, ns, job("indexed", "echo index $JOB_COMPLETION_INDEX", func(j *batchv1.Job) {
		j.Spec.CompletionMode = ptr(batchv1.IndexedCompletion)
		j.Spec.Completions, j.Spec.Parallelism = ptr(int32(3)), ptr(int32(3))
	}))
	objs := []*lessons.Objective{{ID: "indexes", Target: &lessons.Target{Kind: "Job", APIVersion: "batch/v1", Name: "indexed"},
		Match: map[string]any{"spec": map[string]any{"completionMode": "Indexed"},
			"status": map[string]any{"completedIndexes": "0-2", "succeeded": 3}},
		Expect: []lessons.Expect{{CEL: "logs.contains('index 0') && logs.contains('index 2')"}}}}
	waitFor(t, v, objs, 60*time.Second)
}

// TestJobBackoffLimit: a failing Job ends with Failed / BackoffLimitExceeded
// (next to FailureTarget: position-based list matching would be wrong).
func TestJobBackoffLimit(t *testing.T) {
	ns := namespace(t)
	v := newVerifier(t, ns, "en")
	createJob(t, ns, job("doomed", "echo oops; exit 3", nil))
	objs := []*lessons.Objective{{ID: "failed", Target: &lessons.Target{Kind: "Job", Name: "doomed"},
		Match: map[string]any{"status": map[string]any{"failed": 1, "conditions": []any{
			map[string]any{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}}}}}}
	waitFor(t, v, objs, 60*time.Second)
	// A wrong expectation names the field and shows both values.
	r := one(t, v, &lessons.Objective{ID: "x", Target: &lessons.Target{Kind: "Job", Name: "doomed"},
		Match: map[string]any{"status": map[string]any{"conditions": []any{map[string]any{"type": "Failed", "reason": "DeadlineExceeded"}}}}})
	if r.Status != verify.StatusFail || r.Message != "status.conditions[type=Failed].reason: expected DeadlineExceeded, got BackoffLimitExceeded" {
		t.Errorf("got %s %q", r.Status, r.Message)
	}
	if !strings.Contains(r.Diff, "-   - reason: DeadlineExceeded") || !strings.Contains(r.Diff, "+   - reason: BackoffLimitExceeded") {
		t.Errorf("diff:\n%s", r.Diff)
	}
}

// TestCronJob: the spec, a Job created from the CronJob (as `kubectl create
// job --from=cronjob/…` does: an ownerReference and the instantiate
// annotation), and lastScheduleTime (the only test waiting for a schedule).
func TestCronJob(t *testing.T) {
	t.Parallel()
	ns := namespace(t)
	v := newVerifier(t, ns, "fr")
	ctx := context.Background()
	cj, err := cluster.Client.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly"},
		Spec: batchv1.CronJobSpec{
			Schedule:          "*/1 * * * *",
			ConcurrencyPolicy: batchv1.ForbidConcurrent,
			JobTemplate:       batchv1.JobTemplateSpec{Spec: job("x", "echo tick", nil).Spec},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	spec := &lessons.Objective{ID: "spec", Target: &lessons.Target{Kind: "CronJob", Name: "nightly"},
		Match: map[string]any{"spec": map[string]any{"schedule": "*/1 * * * *", "concurrencyPolicy": "Forbid"}}}
	manual := &lessons.Objective{ID: "manual", Target: &lessons.Target{Kind: "CronJob", Name: "nightly"},
		Expect: []lessons.Expect{{CEL: "jobs.exists(j, j.metadata.name == 'manual' && j.status.succeeded == 1)", Msg: "Créez le Job « manual »"}}}
	if r := one(t, v, manual); r.Status != verify.StatusFail || r.Message != "Créez le Job « manual »" {
		t.Fatalf("before: %s %q", r.Status, r.Message)
	}
	j := job("manual", "echo manual", nil)
	j.Spec = cj.Spec.JobTemplate.Spec
	j.Annotations = map[string]string{"cronjob.kubernetes.io/instantiate": "manual"}
	j.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: ptr(true)}}
	createJob(t, ns, j)
	waitFor(t, v, []*lessons.Objective{spec, manual}, 60*time.Second)

	scheduled := &lessons.Objective{ID: "scheduled", Target: &lessons.Target{Kind: "CronJob", Name: "nightly"},
		Expect: []lessons.Expect{{CEL: "has(object.status.lastScheduleTime)"},
			{CEL: "jobs.exists(j, j.metadata.name != 'manual')"}}}
	waitFor(t, v, []*lessons.Objective{scheduled}, 75*time.Second)
}

// TestAbsent: passes while the Job does not exist, fails (live) when it does.
func TestAbsent(t *testing.T) {
	ns := namespace(t)
	v := newVerifier(t, ns, "fr")
	o := &lessons.Objective{ID: "gone", Target: &lessons.Target{Kind: "Job", Name: "gone"}, Absent: true}
	if r := one(t, v, o); r.Status != verify.StatusPass {
		t.Fatalf("absent job: %+v", r)
	}
	createJob(t, ns, job("gone", "sleep 60", nil))
	r := one(t, v, o)
	if want := "Job «\u00a0gone\u00a0» existe encore dans l'espace de noms " + ns; r.Status != verify.StatusFail || r.Message != want {
		t.Fatalf("present job: %s %q want %q", r.Status, r.Message, want)
	}
	bg := metav1.DeletePropagationBackground
	if err := cluster.Client.BatchV1().Jobs(ns).Delete(context.Background(), "gone", metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, v, []*lessons.Objective{o}, 30*time.Second)
}

// TestSelectorCount: label selector with count bounds.
func TestSelectorCount(t *testing.T) {
	ns := namespace(t)
	v := newVerifier(t, ns, "fr")
	for i := range 3 {
		_, err := cluster.Client.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i), Labels: map[string]string{"app": "demo"}},
			Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
				Containers: []corev1.Container{{Name: "web", Image: "busybox", Command: []string{"sh", "-c", "echo up; sleep 300"}}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	sel := map[string]string{"app": "demo"}
	waitFor(t, v, []*lessons.Objective{
		{ID: "three", Target: &lessons.Target{Kind: "Pod", Selector: sel}, Count: &lessons.Count{Min: ptr(3), Max: ptr(3)},
			Match:  map[string]any{"status": map[string]any{"phase": "Running"}},
			Expect: []lessons.Expect{{CEL: "pods.size() == 3 && logs.contains('up')"}}},
	}, 60*time.Second)
	r := one(t, v, &lessons.Objective{ID: "four", Target: &lessons.Target{Kind: "Pod", Selector: sel}, Count: &lessons.Count{Min: ptr(4)}})
	if r.Status != verify.StatusFail || r.Message != "3 Pods trouvés, au moins 4 attendus" {
		t.Errorf("got %s %q", r.Status, r.Message)
	}
	r = one(t, v, &lessons.Objective{ID: "none", Target: &lessons.Target{Kind: "Pod", Selector: sel}, Absent: true})
	if r.Status != verify.StatusFail || r.Message != "3 Pods trouvés, aucun attendu" {
		t.Errorf("got %s %q", r.Status, r.Message)
	}
}

// TestUnknownKindIsError: a kind the cluster does not serve is an error, not a fail.
func TestUnknownKindIsError(t *testing.T) {
	v := newVerifier(t, "default", "en")
	r := one(t, v, &lessons.Objective{ID: "x", Target: &lessons.Target{Kind: "Frobnicator", Name: "x"}})
	if r.Status != verify.StatusError || r.Message != "kind “Frobnicator” unknown to the cluster" {
		t.Errorf("got %s %q", r.Status, r.Message)
	}
}
