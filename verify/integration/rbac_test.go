package integration

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/klabdev/klab/assets"
	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/runner"
	"github.com/klabdev/klab/verify"
)

// verifierRole reads the shipped ClusterRole and RoleBinding example.
func verifierRole(t *testing.T) (*rbacv1.ClusterRole, *rbacv1.RoleBinding) {
	t.Helper()
	data, err := fs.ReadFile(assets.FS(), "rbac/klab-verifier.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role *rbacv1.ClusterRole
	var binding *rbacv1.RoleBinding
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		switch meta.Kind {
		case "ClusterRole":
			role = &rbacv1.ClusterRole{}
			err = yaml.UnmarshalStrict([]byte(doc), role)
		case "RoleBinding":
			binding = &rbacv1.RoleBinding{}
			err = yaml.UnmarshalStrict([]byte(doc), binding)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if role == nil || binding == nil {
		t.Fatal("klab-verifier.yaml needs a ClusterRole and a RoleBinding")
	}
	for _, r := range role.Rules {
		for _, verb := range r.Verbs {
			if verb != "get" && verb != "list" && verb != "watch" {
				t.Fatalf("the verifier role must be read-only, found verb %q", verb)
			}
		}
	}
	return role, binding
}

func impersonate(user string) *rest.Config {
	rc := rest.CopyConfig(cluster.Config)
	rc.Impersonate = rest.ImpersonationConfig{UserName: user}
	return rc
}

// bindRole creates the shipped role (once) and binds it in ns to a
// ServiceAccount, as the example binding does; it returns that identity's rest config.
func bindRole(t *testing.T, ns string) *rest.Config {
	t.Helper()
	ctx := context.Background()
	role, binding := verifierRole(t)
	if _, err := cluster.Client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	sa := binding.Subjects[0].Name
	if _, err := cluster.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding.Namespace, binding.Subjects[0].Namespace = ns, ns
	if _, err := cluster.Client.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return impersonate("system:serviceaccount:" + ns + ":" + sa)
}

// TestVerifierRole evaluates the whole embedded lesson's objectives, and
// objectives reading Pods, logs and Jobs, live and once, under a
// ServiceAccount bound to exactly the shipped role: no result is an error.
// An unbound identity gets a clear RBAC error.
func TestVerifierRole(t *testing.T) {
	ctx := context.Background()
	ns := namespace(t)
	v, err := verify.New(verify.Config{RestConfig: bindRole(t, ns), Namespace: ns, Lang: "fr"})
	if err != nil {
		t.Fatal(err)
	}

	ls, err := lessons.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range ls {
		var objs []*lessons.Objective
		for _, s := range l.Steps {
			for _, o := range s.Objectives {
				if o.Script == nil { // scripts run as the learner, not as the verifier
					objs = append(objs, o)
				}
			}
		}
		for i, r := range v.Evaluate(ctx, objs) {
			n++
			if r.Status == verify.StatusError {
				t.Errorf("%s %s:%d %s: %s", l.ID, objs[i].File, objs[i].Line, r.ID, r.Message)
			}
		}
	}
	if n == 0 {
		t.Fatal("no embedded objective evaluated")
	}

	// Objects present: get, list, watch, pods and pods/log, jobs of a CronJob.
	createJob(t, ns, job("hello", "echo Bonjour", nil))
	objs := []*lessons.Objective{
		{ID: "job", Target: &lessons.Target{Kind: "Job", Name: "hello"},
			Match:  map[string]any{"status": map[string]any{"succeeded": 1}},
			Expect: []lessons.Expect{{CEL: "pods.size() == 1 && logs.contains('Bonjour')"}}},
		{ID: "cronjobs", Target: &lessons.Target{Kind: "CronJob", Selector: map[string]string{"app": "none"}}, Absent: true},
		{ID: "pods", Target: &lessons.Target{Kind: "Pod", Selector: map[string]string{"batch.kubernetes.io/job-name": "hello"}},
			Count: &lessons.Count{Min: ptr(1), Max: ptr(1)}},
	}
	waitFor(t, v, objs, 60*time.Second)

	// Control: the same objective without the binding is an RBAC error.
	nobody, err := verify.New(verify.Config{RestConfig: impersonate("system:serviceaccount:" + ns + ":nobody"), Namespace: ns, Lang: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	r := nobody.Evaluate(ctx, objs[:1])[0]
	if r.Status != verify.StatusError || !strings.HasPrefix(r.Message, "accès refusé (RBAC)") {
		t.Errorf("unbound identity: %s %q, want an RBAC error", r.Status, r.Message)
	}
}

// TestLessonUnderVerifierRole runs each step's solution of the embedded
// lesson in a runner lab (as the learner would, with the admin kubeconfig)
// and waits for the step's objectives to pass under the verifier role, so
// the role covers every read the lesson's objectives make (Jobs, CronJobs,
// their Pods and logs). Parallel with TestCronJob: their minute waits overlap.
func TestLessonUnderVerifierRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := namespace(t)
	v, err := verify.New(verify.Config{RestConfig: bindRole(t, ns), Namespace: ns, Lang: "fr"})
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := lessons.Resolve("jobs-cronjobs")
	if err != nil {
		t.Fatal(err)
	}
	c, err := runner.Select(ctx, runner.SelectOptions{Kubeconfig: cluster.Kubeconfig, KlabBin: cluster.Bin, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	lab, err := runner.NewLab(ctx, c, l.ID, runner.LabOptions{Namespace: ns, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lab.Close() }()
	for _, s := range l.Steps {
		if s.Solution == nil {
			t.Fatalf("step %d has no solution", s.Index)
		}
		// History objectives are judged on what happens from before the solution on, as in validate.
		h := verify.NewHistory(nil)
		hctx, stopHistory := context.WithCancel(ctx)
		recorded := v.Watch(hctx, s.Objectives, verify.WithHistory(h))
		<-recorded
		go func() {
			for range recorded { //nolint:revive // drained until the watch ends
			}
		}()
		rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		res, err := lab.RunScript(rctx, s.Solution, func([]byte) {})
		cancel()
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("step %d solution %s: exit %d, %v\n%s", s.Index, s.Solution.Path, res.ExitCode, err, res.Output)
		}
		bound := 2 * time.Minute
		start := time.Now()
		waitFor(t, v, s.Objectives, bound, verify.FromHistory(h))
		stopHistory()
		t.Logf("step %d: %d objectives pass %s after its solution", s.Index, len(s.Objectives), time.Since(start).Round(time.Millisecond))
	}
}
