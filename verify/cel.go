package verify

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/klabdev/klab/lessons"
)

// Bindings is the list of variables an expect expression may use.
var Bindings = []string{"object", "pods", "jobs", "logs"}

func newEnv() (*cel.Env, error) {
	env, err := cel.NewEnv(
		cel.Variable("object", cel.DynType),
		cel.Variable("pods", cel.ListType(cel.DynType)),
		cel.Variable("jobs", cel.ListType(cel.DynType)),
		cel.Variable("logs", cel.StringType),
		ext.Strings(),
		ext.Lists(),
		ext.Sets(),
		ext.Math(),
		cel.OptionalTypes(),
	)
	if err != nil {
		return nil, fmt.Errorf("cel env: %w", err)
	}
	return env, nil
}

// program is one compiled expect expression and the bindings it references.
type program struct {
	expr string
	prg  cel.Program
	uses map[string]bool
}

// celCache compiles each expression once.
type celCache struct {
	env *cel.Env
	mu  sync.Mutex
	m   map[string]*program
	err map[string]error
}

func newCELCache() (*celCache, error) {
	env, err := newEnv()
	if err != nil {
		return nil, err
	}
	return &celCache{env: env, m: map[string]*program{}, err: map[string]error{}}, nil
}

// compile checks expr (it must be a boolean) and caches the program.
func (c *celCache) compile(expr string) (*program, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.m[expr]; p != nil {
		return p, nil
	}
	if err := c.err[expr]; err != nil {
		return nil, err
	}
	p, err := compileExpr(c.env, expr)
	if err != nil {
		c.err[expr] = err
		return nil, err
	}
	c.m[expr] = p
	return p, nil
}

func compileExpr(env *cel.Env, expr string) (*program, error) {
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		// One line per problem, located by column in the expression (the
		// caret drawing of cel-go does not fit file:line diagnostics).
		var msgs []string
		for _, e := range iss.Errors() {
			m := e.Message
			if e.Location != nil && e.Location.Line() > 0 {
				m = fmt.Sprintf("col %d: %s", e.Location.Column()+1, m)
			}
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			msgs = append(msgs, strings.TrimSpace(iss.Err().Error()))
		}
		return nil, fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	if t := ast.OutputType(); t != cel.BoolType && t != cel.DynType {
		return nil, fmt.Errorf("expression %q is a %s, not a bool", expr, t)
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, fmt.Errorf("program %q: %w", expr, err)
	}
	p := &program{expr: expr, prg: prg, uses: map[string]bool{}}
	for _, ref := range ast.NativeRep().ReferenceMap() {
		if ref.Name != "" {
			p.uses[ref.Name] = true
		}
	}
	return p, nil
}

func (c *celCache) compileAll(ex []lessons.Expect) ([]*program, error) {
	if len(ex) == 0 {
		return nil, nil
	}
	out := make([]*program, len(ex))
	for i, e := range ex {
		p, err := c.compile(e.CEL)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// usesAny reports whether any expect of o references one of names.
func (c *celCache) usesAny(o *lessons.Objective, names ...string) bool {
	progs, err := c.compileAll(o.Expect)
	if err != nil {
		return false
	}
	for _, p := range progs {
		for _, n := range names {
			if p.uses[n] {
				return true
			}
		}
	}
	return false
}

// celEvalError is an expression whose result is not a boolean (a lesson bug).
type celEvalError struct{ expr, got string }

func (e *celEvalError) Error() string {
	return fmt.Sprintf("expression %s: result %s, not a bool", e.expr, e.got)
}

// eval runs the program. A runtime error (a missing key while the object is
// still being filled) is a failure with a message, not an error.
func (p *program) eval(ctx context.Context, b *bindings) (ok bool, msg string, err error) {
	vars := map[string]any{}
	for _, name := range Bindings {
		if !p.uses[name] {
			continue
		}
		val, err := b.get(name)
		if err != nil {
			return false, "", err
		}
		vars[name] = val
	}
	out, _, err := p.prg.ContextEval(ctx, vars)
	if err != nil {
		if ctx.Err() != nil {
			return false, "", fmt.Errorf("eval %s: %w", p.expr, ctx.Err())
		}
		return false, b.v.msgs.T("verify.cel.error", p.expr, err.Error()), nil
	}
	bv, isBool := out.Value().(bool)
	if !isBool {
		return false, "", &celEvalError{expr: p.expr, got: fmt.Sprint(out.Value())}
	}
	return bv, "", nil
}

// bindings fetches the values of object, pods, jobs and logs for one
// evaluation, each at most once and only when an expression uses it.
type bindings struct {
	v       *Verifier
	ctx     context.Context
	target  *lessons.Target
	kind    string
	ns      string
	object  map[string]any
	matches []*unstructured.Unstructured

	cache map[string]any
	pods  []*unstructured.Unstructured
}

func (b *bindings) get(name string) (any, error) {
	if v, ok := b.cache[name]; ok {
		return v, nil
	}
	if b.cache == nil {
		b.cache = map[string]any{}
	}
	var val any
	switch name {
	case "object":
		if b.object == nil {
			val = types.NullValue
		} else {
			val = b.object
		}
	case "pods":
		pods, err := b.getPods()
		if err != nil {
			return nil, err
		}
		val = objects(pods)
	case "jobs":
		jobs, err := b.getJobs()
		if err != nil {
			return nil, err
		}
		val = objects(jobs)
	case "logs":
		pods, err := b.getPods()
		if err != nil {
			return nil, err
		}
		logs, err := b.v.logs(b.ctx, pods)
		if err != nil {
			return nil, err
		}
		val = logs
	}
	b.cache[name] = val
	return val, nil
}

func objects(us []*unstructured.Unstructured) []any {
	out := make([]any, len(us))
	for i, u := range us {
		out[i] = u.Object
	}
	return out
}

func (b *bindings) getPods() ([]*unstructured.Unstructured, error) {
	if b.pods != nil {
		return b.pods, nil
	}
	var pods []*unstructured.Unstructured
	var err error
	switch {
	case b.target.Name == "":
		pods = b.matches
	case b.object == nil:
	case b.kind == "Pod":
		pods = b.matches
	case b.kind == "Job":
		pods, err = b.v.listPods(b.ctx, b.ns, labels.Set{jobNameLabel: b.target.Name}.AsSelector())
	case b.kind == "CronJob":
		var jobs []*unstructured.Unstructured
		if jobs, err = b.getJobs(); err == nil && len(jobs) > 0 {
			names := make([]string, len(jobs))
			for i, j := range jobs {
				names[i] = j.GetName()
			}
			sel := labels.NewSelector()
			req, rerr := labels.NewRequirement(jobNameLabel, "in", names)
			if rerr != nil {
				return nil, fmt.Errorf("pods of cronjob %s: %w", b.target.Name, rerr)
			}
			pods, err = b.v.listPods(b.ctx, b.ns, sel.Add(*req))
		}
	default:
		// Workloads (Deployment, ReplicaSet, StatefulSet …): spec.selector.matchLabels.
		ml, found, _ := unstructured.NestedStringMap(b.object, "spec", "selector", "matchLabels")
		if found && len(ml) > 0 {
			pods, err = b.v.listPods(b.ctx, b.ns, labels.SelectorFromSet(ml))
		}
	}
	if err != nil {
		return nil, err
	}
	if pods == nil {
		pods = []*unstructured.Unstructured{}
	}
	b.pods = pods
	return pods, nil
}

func (b *bindings) getJobs() ([]*unstructured.Unstructured, error) {
	switch {
	case b.target.Name == "" && b.kind == "Job":
		return b.matches, nil
	case b.object == nil:
		return nil, nil
	case b.kind == "Job":
		return b.matches, nil
	case b.kind != "CronJob":
		return nil, nil
	}
	list, err := b.v.dyn.Resource(jobsGVR).Namespace(b.ns).List(b.ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list jobs of cronjob %s: %w", b.target.Name, err)
	}
	uid := b.matches[0].GetUID()
	var out []*unstructured.Unstructured
	for i := range list.Items {
		j := &list.Items[i]
		for _, ref := range j.GetOwnerReferences() {
			if ref.Kind == "CronJob" && (ref.UID == uid || ref.Name == b.target.Name) {
				out = append(out, j)
				break
			}
		}
	}
	sortByCreation(out)
	return out, nil
}

func sortByCreation(us []*unstructured.Unstructured) {
	sort.SliceStable(us, func(i, j int) bool {
		ti, tj := us[i].GetCreationTimestamp(), us[j].GetCreationTimestamp()
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return us[i].GetName() < us[j].GetName()
	})
}

func (v *Verifier) listPods(ctx context.Context, ns string, sel labels.Selector) ([]*unstructured.Unstructured, error) {
	list, err := v.dyn.Resource(podsGVR).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, fmt.Errorf("list pods %s: %w", sel, err)
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	sortByCreation(out)
	return out, nil
}

// maxLogBytes bounds the logs read per container (a chatty Job must not
// slow every evaluation down).
var maxLogBytes int64 = 1 << 20

// logs concatenates the logs of every container of pods (init containers
// first), oldest pod first. A container that has not started has no logs.
func (v *Verifier) logs(ctx context.Context, pods []*unstructured.Unstructured) (string, error) {
	var buf bytes.Buffer
	for _, p := range pods {
		var containers []string
		for _, field := range []string{"initContainers", "containers"} {
			cs, _, _ := unstructured.NestedSlice(p.Object, "spec", field)
			for _, c := range cs {
				if cm, ok := c.(map[string]any); ok {
					if n, ok := cm["name"].(string); ok {
						containers = append(containers, n)
					}
				}
			}
		}
		for _, c := range containers {
			data, err := v.kube.CoreV1().Pods(p.GetNamespace()).GetLogs(p.GetName(), &corev1.PodLogOptions{Container: c, LimitBytes: &maxLogBytes}).DoRaw(ctx)
			if err != nil {
				if isNotStarted(err) {
					continue
				}
				return "", fmt.Errorf("logs of pod %s container %s: %w", p.GetName(), c, err)
			}
			buf.Write(data)
			if len(data) > 0 && data[len(data)-1] != '\n' {
				buf.WriteByte('\n')
			}
		}
	}
	return buf.String(), nil
}

// isNotStarted: the API server answers 400 "is waiting to start" (or the pod
// is gone) for containers without logs yet; that is no logs, not an error.
func isNotStarted(err error) bool {
	s := err.Error()
	return strings.Contains(s, "waiting to start") || strings.Contains(s, "ContainerCreating") ||
		strings.Contains(s, "PodInitializing") || strings.Contains(s, "not found") ||
		strings.Contains(s, "is not valid for pod") && strings.Contains(s, "container")
}
