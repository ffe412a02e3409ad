package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	"sigs.k8s.io/yaml"

	"github.com/klabdev/klab/assets"
	"github.com/klabdev/klab/lessons"
)

var update = flag.Bool("update", false, "rewrite golden files")

// staticMapper is a RESTMapper for the fake cluster's kinds.
type staticMapper struct{ meta.RESTMapper }

func (staticMapper) Reset() {}

func newMapper() meta.ResettableRESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}, meta.RESTScopeRoot)
	m.Add(schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "Job"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Group: "batch", Version: "v1", Kind: "CronJob"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	return staticMapper{m}
}

var listKinds = map[schema.GroupVersionResource]string{
	{Version: "v1", Resource: "pods"}:                       "PodList",
	{Version: "v1", Resource: "configmaps"}:                 "ConfigMapList",
	{Version: "v1", Resource: "namespaces"}:                 "NamespaceList",
	{Group: "batch", Version: "v1", Resource: "jobs"}:       "JobList",
	{Group: "batch", Version: "v1", Resource: "cronjobs"}:   "CronJobList",
	{Group: "apps", Version: "v1", Resource: "deployments"}: "DeploymentList",
}

func loadObjects(t testing.TB, path string) []runtime.Object {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []runtime.Object
	for i, doc := range strings.Split(string(data), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("%s doc %d: %v", path, i, err)
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out
}

func loadObjectives(t testing.TB, path string) []*lessons.Objective {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var objs []*lessons.Objective
	if err := yaml.Unmarshal(data, &objs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return objs
}

func fakeScripts(_ context.Context, s *lessons.Script) (string, int, error) {
	switch s.Path {
	case "verify-pass.sh":
		return "checking…\r\n\x1b[32mJob hello OK\x1b[0m\r\n", 0, nil
	case "verify-fail.sh":
		return "Job hello not found\n\n", 1, nil
	}
	return "", 0, fmt.Errorf("no script %s", s.Path)
}

func newFakeVerifier(t testing.TB, lang string, objs ...runtime.Object) *Verifier {
	t.Helper()
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, objs...)
	v, err := New(Config{Namespace: "klab-jobs", Lang: lang, Dynamic: dyn, Kube: kubefake.NewClientset(),
		Mapper: newMapper(), RunScript: fakeScripts})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (run with -update to accept):\n%s", path, strings.Join(lineDiff(
			strings.Split(string(want), "\n"), strings.Split(string(got), "\n")), "\n"))
	}
}

// TestEvaluateGolden evaluates every objective form against a fake cluster
// and compares the results (statuses, messages, fields, diffs) in both languages.
func TestEvaluateGolden(t *testing.T) {
	objs := loadObjectives(t, "testdata/objectives.yaml")
	cluster := loadObjects(t, "testdata/cluster.yaml")
	for _, lang := range []string{"fr", "en"} {
		t.Run(lang, func(t *testing.T) {
			v := newFakeVerifier(t, lang, cluster...)
			rs := v.Evaluate(context.Background(), objs)
			if len(rs) != len(objs) {
				t.Fatalf("%d results for %d objectives", len(rs), len(objs))
			}
			var buf bytes.Buffer
			for _, r := range rs {
				b, err := json.MarshalIndent(r, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				buf.Write(b)
				buf.WriteString("\n")
			}
			checkGolden(t, "evaluate."+lang+".golden", buf.Bytes())
		})
	}
}

// TestEvaluateStatuses pins the status of each golden case, so that an
// accidental -update cannot bless a wrong verdict.
func TestEvaluateStatuses(t *testing.T) {
	want := map[string]Status{
		"job-complete": StatusPass, "job-not-found": StatusFail, "job-not-done": StatusFail,
		"job-backoff": StatusPass, "job-backoff-wrong-reason": StatusFail, "indexed": StatusPass,
		"indexed-wrong": StatusFail, "float-number": StatusPass, "exact-list": StatusPass,
		"exact-list-wrong": StatusFail, "env-by-name": StatusPass, "selector-count": StatusPass,
		"selector-too-few": StatusFail, "selector-too-many": StatusFail, "selector-match-count": StatusFail,
		"selector-default-min": StatusFail, "absent-name": StatusPass, "absent-name-exists": StatusFail,
		"absent-selector": StatusFail, "other-namespace": StatusPass, "cel-object": StatusPass,
		"cel-pods": StatusPass, "cel-pods-selector": StatusFail, "cel-jobs": StatusPass,
		"cel-jobs-none": StatusFail, "cel-cronjob-spec": StatusPass, "cel-logs": StatusPass,
		"cel-logs-false": StatusFail, "cel-missing-key": StatusFail, "cel-not-bool": StatusError,
		"cel-compile-error": StatusError, "unknown-kind": StatusError, "no-target": StatusError,
		"script-pass": StatusPass, "script-fail": StatusFail,
		"cel-deployment-pods": StatusPass, "cel-cronjob-pods": StatusPass, "cel-pod-self": StatusPass,
		"cel-selector-jobs": StatusPass,
	}
	objs := loadObjectives(t, "testdata/objectives.yaml")
	v := newFakeVerifier(t, "fr", loadObjects(t, "testdata/cluster.yaml")...)
	for _, r := range v.Evaluate(context.Background(), objs) {
		w, ok := want[r.ID]
		if !ok {
			t.Errorf("%s: no expected status", r.ID)
			continue
		}
		if r.Status != w {
			t.Errorf("%s: status %s, want %s (%s)", r.ID, r.Status, w, r.Message)
		}
		delete(want, r.ID)
	}
	for id := range want {
		t.Errorf("%s: not evaluated", id)
	}
}

func TestMessagesFromIssue(t *testing.T) {
	v := newFakeVerifier(t, "fr", loadObjects(t, "testdata/cluster.yaml")...)
	ctx := context.Background()
	one := func(o *lessons.Objective) Result { return v.Evaluate(ctx, []*lessons.Objective{o})[0] }
	nb := "\u00a0"
	tests := []struct {
		name string
		obj  *lessons.Objective
		want string
	}{
		{"not found", &lessons.Objective{ID: "a", Target: &lessons.Target{Kind: "Job", Name: "nope"}},
			"Job «" + nb + "nope" + nb + "» introuvable dans l'espace de noms klab-jobs"},
		{"field", &lessons.Objective{ID: "b", Target: &lessons.Target{Kind: "Job", Name: "running"},
			Match: map[string]any{"status": map[string]any{"succeeded": 3.0}}},
			"status.succeeded" + nb + ": attendu 3, obtenu 1"},
		{"count", &lessons.Objective{ID: "c", Target: &lessons.Target{Kind: "Pod", Selector: map[string]string{"app": "demo"}},
			Count: &lessons.Count{Min: ptr(4)}},
			"3 Pods trouvés, au moins 4 attendus"},
		{"condition path", &lessons.Objective{ID: "d", Target: &lessons.Target{Kind: "Job", Name: "running"},
			Match: map[string]any{"status": map[string]any{"conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}}},
			"status.conditions[type=Complete]" + nb + ": attendu (présent), obtenu (absent)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := one(tt.obj).Message; got != tt.want {
				t.Errorf("message %q, want %q", got, tt.want)
			}
		})
	}
}

func ptr(n int) *int { return &n }

func TestMatchSemantics(t *testing.T) {
	msgs := assets.Catalog("en")
	actual := map[string]any{
		"status": map[string]any{
			"succeeded": int64(1),
			"ratio":     0.5,
			"conditions": []any{
				map[string]any{"type": "SuccessCriteriaMet", "status": "True"},
				map[string]any{"type": "Complete", "status": "True"},
			},
		},
		"spec": map[string]any{"args": []any{"a", "b"}, "flag": true, "nothing": nil},
	}
	tests := []struct {
		name  string
		want  map[string]any
		paths []string // failing paths
	}{
		{"subset", map[string]any{"status": map[string]any{"succeeded": 1}}, nil},
		{"int vs float", map[string]any{"status": map[string]any{"succeeded": 1.0}}, nil},
		{"float", map[string]any{"status": map[string]any{"ratio": 0.5}}, nil},
		{"string is not a number", map[string]any{"status": map[string]any{"succeeded": "1"}}, []string{"status.succeeded"}},
		{"condition by type, any position", map[string]any{"status": map[string]any{"conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}}, nil},
		{"condition wrong status", map[string]any{"status": map[string]any{"conditions": []any{map[string]any{"type": "Complete", "status": "False"}}}}, []string{"status.conditions[type=Complete].status"}},
		{"missing condition", map[string]any{"status": map[string]any{"conditions": []any{map[string]any{"type": "Failed"}}}}, []string{"status.conditions[type=Failed]"}},
		{"exact list", map[string]any{"spec": map[string]any{"args": []any{"a", "b"}}}, nil},
		{"exact list order", map[string]any{"spec": map[string]any{"args": []any{"b", "a"}}}, []string{"spec.args[0]", "spec.args[1]"}},
		{"exact list length", map[string]any{"spec": map[string]any{"args": []any{"a"}}}, []string{"spec.args"}},
		{"bool", map[string]any{"spec": map[string]any{"flag": false}}, []string{"spec.flag"}},
		{"null matches null", map[string]any{"spec": map[string]any{"nothing": nil, "absent": nil}}, nil},
		{"missing key", map[string]any{"status": map[string]any{"failed": 1}}, []string{"status.failed"}},
		{"map vs scalar", map[string]any{"status": map[string]any{"succeeded": map[string]any{"x": 1}}}, []string{"status.succeeded"}},
		{"several", map[string]any{"status": map[string]any{"failed": 1, "succeeded": 2}}, []string{"status.failed", "status.succeeded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := matchObject(tt.want, actual, msgs)
			var got []string
			for _, f := range fs {
				got = append(got, f.Path)
			}
			if strings.Join(got, ",") != strings.Join(tt.paths, ",") {
				t.Errorf("failing paths %v, want %v (%+v)", got, tt.paths, fs)
			}
		})
	}
}

func TestDiffShowsOnlyAssertedKeys(t *testing.T) {
	want := map[string]any{"status": map[string]any{"succeeded": 3.0,
		"conditions": []any{map[string]any{"type": "Complete", "status": "True"}}}}
	got := map[string]any{"metadata": map[string]any{"name": "x"}, "status": map[string]any{
		"succeeded": int64(1), "active": int64(2),
		"conditions": []any{map[string]any{"type": "Complete", "status": "False", "reason": "r"}}}}
	d := yamlDiff(want, got, "expected", "actual")
	wantDiff := `--- expected
+++ actual
  status:
    conditions:
-   - status: "True"
+   - status: "False"
      type: Complete
-   succeeded: 3
+   succeeded: 1
`
	if d != wantDiff {
		t.Errorf("diff:\n%s\nwant:\n%s", d, wantDiff)
	}
}

func TestLastLine(t *testing.T) {
	for in, want := range map[string]string{
		"":                              "",
		"a\nb\n\n":                      "b",
		"a\r\nb\r\n":                    "b",
		"\x1b[31merror\x1b[0m\n":        "error",
		"progress 10%\rprogress 100%\n": "progress 100%",
	} {
		if got := lastLine(in); got != want {
			t.Errorf("lastLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorsAreClassified(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Nothing listens on this port: discovery fails with connection refused.
	v, err := New(Config{RestConfig: restConfigFor("https://127.0.0.1:1"), Namespace: "ns", Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	r := v.Evaluate(ctx, []*lessons.Objective{{ID: "x", Target: &lessons.Target{Kind: "Job", Name: "hello"}}})[0]
	if r.Status != StatusError || !strings.HasPrefix(r.Message, "cluster unreachable: ") {
		t.Errorf("got %s %q, want an unreachable error", r.Status, r.Message)
	}
	// Forbidden, from the API.
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds)
	dyn.PrependReactor("get", "jobs", func(action k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "batch", Resource: "jobs"}, "hello",
			errors.New(`User "system:serviceaccount:klab:nobody" cannot get resource "jobs"`))
	})
	v, err = New(Config{Namespace: "ns", Lang: "fr", Dynamic: dyn, Kube: kubefake.NewClientset(), Mapper: newMapper()})
	if err != nil {
		t.Fatal(err)
	}
	r = v.Evaluate(ctx, []*lessons.Objective{{ID: "x", Target: &lessons.Target{Kind: "Job", Name: "hello"}}})[0]
	if r.Status != StatusError || !strings.HasPrefix(r.Message, "accès refusé (RBAC)") {
		t.Errorf("got %s %q, want a forbidden error", r.Status, r.Message)
	}
}

func restConfigFor(host string) *rest.Config {
	return &rest.Config{Host: host, TLSClientConfig: rest.TLSClientConfig{Insecure: true}, Timeout: 5 * time.Second}
}

// FuzzMatch: any YAML partial object against any YAML object gives fields
// and a diff, never a panic; an object always matches itself.
func FuzzMatch(f *testing.F) {
	f.Add("status: {succeeded: 1}", "status: {succeeded: 1, conditions: [{type: Complete, status: 'True'}]}")
	f.Add("spec: {containers: [{name: a, env: [{name: X}]}]}", "spec: {containers: [{name: a}, {name: b}]}")
	f.Add("a: [1, 2]", "a: [1.0, 2]")
	f.Add("a: [{type: x}, {name: y}]", "a: null")
	f.Fuzz(func(t *testing.T, want, got string) {
		var w, g map[string]any
		if yaml.Unmarshal([]byte(want), &w) != nil || yaml.Unmarshal([]byte(got), &g) != nil {
			return
		}
		msgs := assets.Catalog("en")
		_ = matchObject(w, g, msgs)
		_ = yamlDiff(w, g, "expected", "actual")
		if fs := matchObject(g, g, msgs); len(fs) != 0 {
			t.Fatalf("an object does not match itself: %+v", fs)
		}
	})
}
