package sandbox_test

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The real Job, CronJob, TTL and garbage-collector controllers run in the
// sandbox; these tests check that Jobs behave as on any Kubernetes.

func job(name string, restart corev1.RestartPolicy, script string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: restart,
			Containers:    []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"sh", "-c", script}}},
		}}},
	}
}

func createJob(t *testing.T, ns string, j *batchv1.Job) {
	t.Helper()
	if _, err := cluster.Client.BatchV1().Jobs(ns).Create(context.Background(), j, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create job %s: %v", j.Name, err)
	}
}

// waitJobCondition waits for a true condition of type typ and returns the job.
func waitJobCondition(t *testing.T, ns, name string, typ batchv1.JobConditionType, timeout time.Duration) *batchv1.Job {
	t.Helper()
	var got *batchv1.Job
	eventually(t, timeout, func() error {
		j, err := cluster.Client.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range j.Status.Conditions {
			if c.Type == typ && c.Status == corev1.ConditionTrue {
				got = j
				return nil
			}
		}
		return fmt.Errorf("job %s: no %s condition yet: %+v", name, typ, j.Status)
	})
	return got
}

func condition(j *batchv1.Job, typ batchv1.JobConditionType) batchv1.JobCondition {
	for _, c := range j.Status.Conditions {
		if c.Type == typ {
			return c
		}
	}
	return batchv1.JobCondition{}
}

func podLogs(t *testing.T, ns, pod string) string {
	t.Helper()
	rc, err := cluster.Client.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{}).Stream(context.Background())
	if err != nil {
		t.Fatalf("logs of %s: %v", pod, err)
	}
	defer func() { _ = rc.Close() }()
	b, _ := io.ReadAll(rc)
	return string(b)
}

func TestJobBackoffLimit(t *testing.T) {
	needCluster(t)
	t.Parallel()
	ns := namespace(t)
	j := job("fail", corev1.RestartPolicyNever, "echo failing; exit 1")
	j.Spec.BackoffLimit = ptr.To[int32](1)
	createJob(t, ns, j)
	// The job controller waits 10 s before re-creating a failed pod.
	got := waitJobCondition(t, ns, "fail", batchv1.JobFailed, 2*time.Minute)
	if c := condition(got, batchv1.JobFailed); c.Reason != "BackoffLimitExceeded" {
		t.Errorf("Failed reason = %q, want BackoffLimitExceeded", c.Reason)
	}
	if got.Status.Failed != 2 || got.Status.Succeeded != 0 {
		t.Errorf("failed=%d succeeded=%d, want 2 and 0", got.Status.Failed, got.Status.Succeeded)
	}
	pods, err := cluster.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=fail"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodFailed {
			t.Errorf("pod %s phase %s, want Failed", p.Name, p.Status.Phase)
		}
		if cs := p.Status.ContainerStatuses; len(cs) != 1 || cs[0].State.Terminated == nil || cs[0].State.Terminated.ExitCode != 1 {
			t.Errorf("pod %s container status %+v, want terminated with exit code 1", p.Name, cs)
		}
	}
}

func TestJobOnFailureRestarts(t *testing.T) {
	needCluster(t)
	t.Parallel()
	ns := namespace(t)
	j := job("crash", corev1.RestartPolicyOnFailure, "echo try; exit 3")
	j.Spec.BackoffLimit = ptr.To[int32](3)
	createJob(t, ns, j)
	eventually(t, 2*time.Minute, func() error {
		pods, err := cluster.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=crash"})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			if cs := p.Status.ContainerStatuses; len(cs) == 1 && cs[0].RestartCount >= 2 {
				return nil
			}
		}
		return fmt.Errorf("no pod of job crash restarted twice yet")
	})
	// Restarts in place count towards backoffLimit: the Job ends Failed.
	got := waitJobCondition(t, ns, "crash", batchv1.JobFailed, 2*time.Minute)
	if c := condition(got, batchv1.JobFailed); c.Reason != "BackoffLimitExceeded" {
		t.Errorf("Failed reason = %q, want BackoffLimitExceeded", c.Reason)
	}
}

func TestJobActiveDeadline(t *testing.T) {
	needCluster(t)
	t.Parallel()
	ns := namespace(t)
	j := job("slow", corev1.RestartPolicyNever, "sleep 300")
	j.Spec.ActiveDeadlineSeconds = ptr.To[int64](3)
	createJob(t, ns, j)
	start := time.Now()
	got := waitJobCondition(t, ns, "slow", batchv1.JobFailed, 2*time.Minute)
	if c := condition(got, batchv1.JobFailed); c.Reason != "DeadlineExceeded" {
		t.Errorf("Failed reason = %q, want DeadlineExceeded", c.Reason)
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("deadline of 3s took %s to fire", d)
	}
	// The running pod is terminated and deleted.
	eventually(t, time.Minute, func() error {
		pods, err := cluster.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=slow"})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				return fmt.Errorf("pod %s still running", p.Name)
			}
		}
		return nil
	})
}

func TestJobTTLAfterFinished(t *testing.T) {
	needCluster(t)
	t.Parallel()
	ns := namespace(t)
	j := job("ephemeral", corev1.RestartPolicyNever, "echo done")
	j.Spec.TTLSecondsAfterFinished = ptr.To[int32](2)
	createJob(t, ns, j)
	waitJobCondition(t, ns, "ephemeral", batchv1.JobComplete, 2*time.Minute)
	eventually(t, time.Minute, func() error {
		_, err := cluster.Client.BatchV1().Jobs(ns).Get(context.Background(), "ephemeral", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("job still there: %w", err)
	})
	// Its pods go too (garbage collector).
	eventually(t, time.Minute, func() error {
		pods, err := cluster.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=ephemeral"})
		if err == nil && len(pods.Items) > 0 {
			return fmt.Errorf("%d pods left", len(pods.Items))
		}
		return err
	})
}

func TestJobIndexed(t *testing.T) {
	needCluster(t)
	t.Parallel()
	ns := namespace(t)
	j := job("indexed", corev1.RestartPolicyNever, `echo "index=$JOB_COMPLETION_INDEX"`)
	j.Spec.Completions = ptr.To[int32](3)
	j.Spec.Parallelism = ptr.To[int32](2)
	j.Spec.CompletionMode = ptr.To(batchv1.IndexedCompletion)
	createJob(t, ns, j)
	got := waitJobCondition(t, ns, "indexed", batchv1.JobComplete, 2*time.Minute)
	if got.Status.CompletedIndexes != "0-2" || got.Status.Succeeded != 3 {
		t.Errorf("completedIndexes=%q succeeded=%d, want 0-2 and 3", got.Status.CompletedIndexes, got.Status.Succeeded)
	}
	pods, err := cluster.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=indexed"})
	if err != nil {
		t.Fatal(err)
	}
	var logs []string
	for _, p := range pods.Items {
		l := strings.TrimSpace(podLogs(t, ns, p.Name))
		if want := "index=" + p.Annotations[batchv1.JobCompletionIndexAnnotation]; l != want {
			t.Errorf("pod %s logged %q, want %q", p.Name, l, want)
		}
		logs = append(logs, l)
	}
	sort.Strings(logs)
	if strings.Join(logs, ",") != "index=0,index=1,index=2" {
		t.Errorf("logs = %v", logs)
	}
}

// TestCronJobs is the one test that waits for the clock: every CronJob
// scenario runs at the same minute boundaries, about two minutes in all.
func TestCronJobs(t *testing.T) {
	needCluster(t)
	t.Parallel()
	ns := namespace(t)
	ctx := context.Background()
	cron := func(name, script string, mutate func(*batchv1.CronJob)) {
		t.Helper()
		cj := &batchv1.CronJob{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: batchv1.CronJobSpec{
				Schedule:    "*/1 * * * *",
				JobTemplate: batchv1.JobTemplateSpec{Spec: job(name, corev1.RestartPolicyNever, script).Spec},
			},
		}
		mutate(cj)
		if _, err := cluster.Client.BatchV1().CronJobs(ns).Create(ctx, cj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create cronjob %s: %v", name, err)
		}
	}
	cron("allow", "echo tick", func(cj *batchv1.CronJob) {
		cj.Spec.SuccessfulJobsHistoryLimit = ptr.To[int32](1)
	})
	cron("forbid", "sleep 600", func(cj *batchv1.CronJob) {
		cj.Spec.ConcurrencyPolicy = batchv1.ForbidConcurrent
	})
	cron("replace", "sleep 600", func(cj *batchv1.CronJob) {
		cj.Spec.ConcurrencyPolicy = batchv1.ReplaceConcurrent
	})
	cron("suspended", "echo never", func(cj *batchv1.CronJob) {
		cj.Spec.Suspend = ptr.To(true)
	})
	cron("failing", "exit 1", func(cj *batchv1.CronJob) {
		cj.Spec.FailedJobsHistoryLimit = ptr.To[int32](1)
		cj.Spec.JobTemplate.Spec.BackoffLimit = ptr.To[int32](0)
	})
	jobsOf := func(owner string) []batchv1.Job {
		t.Helper()
		all, err := cluster.Client.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var out []batchv1.Job
		for _, j := range all.Items {
			for _, o := range j.OwnerReferences {
				if o.Kind == "CronJob" && o.Name == owner && j.DeletionTimestamp == nil {
					out = append(out, j)
				}
			}
		}
		sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
		return out
	}

	// First schedule: the next minute boundary.
	first := time.Now().Truncate(time.Minute).Add(time.Minute)
	var forbidFirst, replaceFirst []batchv1.Job
	eventually(t, time.Until(first)+45*time.Second, func() error {
		forbidFirst, replaceFirst = jobsOf("forbid"), jobsOf("replace")
		if n := len(jobsOf("allow")); n < 1 || len(forbidFirst) != 1 || len(replaceFirst) != 1 {
			return fmt.Errorf("since %s: allow has %d jobs, forbid %d, replace %d; want 1 each",
				first.Format(time.TimeOnly), n, len(forbidFirst), len(replaceFirst))
		}
		return nil
	})

	// Second schedule, one minute later; give the controllers time to act.
	second := first.Add(time.Minute)
	time.Sleep(time.Until(second) + 20*time.Second)

	eventually(t, 30*time.Second, func() error {
		// successfulJobsHistoryLimit 1: two runs happened, one job is kept.
		cj, err := cluster.Client.BatchV1().CronJobs(ns).Get(ctx, "allow", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cj.Status.LastSuccessfulTime == nil || cj.Status.LastSuccessfulTime.Time.Before(second) {
			return fmt.Errorf("allow: lastSuccessfulTime %v, want ≥ %s", cj.Status.LastSuccessfulTime, second.Format(time.TimeOnly))
		}
		if n := len(jobsOf("allow")); n != 1 {
			return fmt.Errorf("allow: %d jobs kept, want 1 (successfulJobsHistoryLimit)", n)
		}
		if n := len(jobsOf("failing")); n != 1 {
			return fmt.Errorf("failing: %d jobs kept, want 1 (failedJobsHistoryLimit)", n)
		}
		return nil
	})
	// Forbid: the first job still runs, the second run was skipped.
	if js := jobsOf("forbid"); len(js) != 1 || js[0].Name != forbidFirst[0].Name {
		t.Errorf("forbid: jobs %v, want only %s", names(js), forbidFirst[0].Name)
	}
	// Replace: the first job was deleted, a new one runs.
	eventually(t, 30*time.Second, func() error {
		js := jobsOf("replace")
		if len(js) != 1 || js[0].Name == replaceFirst[0].Name {
			return fmt.Errorf("replace: jobs %v, want one job other than %s", names(js), replaceFirst[0].Name)
		}
		return nil
	})
	if js := jobsOf("suspended"); len(js) != 0 {
		t.Errorf("suspended: jobs %v, want none", names(js))
	}
}

func names(js []batchv1.Job) []string {
	var out []string
	for _, j := range js {
		out = append(out, j.Name)
	}
	return out
}
