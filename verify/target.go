package verify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"syscall"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/klabdev/klab/lessons"
)

// jobNameLabel is set by the Job controller on the Pods of a Job.
const jobNameLabel = "batch.kubernetes.io/job-name"

var (
	podsGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	jobsGVR = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}
)

// unknownKindError says the cluster serves no such kind.
type unknownKindError struct {
	kind string
	err  error
}

func (e *unknownKindError) Error() string { return fmt.Sprintf("unknown kind %s: %v", e.kind, e.err) }
func (e *unknownKindError) Unwrap() error { return e.err }

// resolve maps a target's kind (and optional apiVersion) to a resource.
// "Job", "CronJob", "Pod" resolve without apiVersion through discovery.
func (v *Verifier) resolve(ctx context.Context, t *lessons.Target) (*meta.RESTMapping, error) {
	key := t.APIVersion + "/" + t.Kind
	v.mu.Lock()
	m := v.mapping[key]
	v.mu.Unlock()
	if m != nil {
		return m, nil
	}
	m, err := v.lookup(t)
	if err != nil && meta.IsNoMatchError(err) && v.mayRediscover() {
		// A CRD may have been installed since discovery was cached.
		v.mapper.Reset()
		m, err = v.lookup(t)
	}
	if err != nil {
		if meta.IsNoMatchError(err) {
			return nil, &unknownKindError{kind: t.Kind, err: err}
		}
		return nil, err
	}
	v.mu.Lock()
	v.mapping[key] = m
	v.mu.Unlock()
	return m, nil
}

// rediscoverEvery bounds how often an unknown kind refreshes discovery.
const rediscoverEvery = 5 * time.Second

func (v *Verifier) mayRediscover() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if time.Since(v.rediscovered) < rediscoverEvery {
		return false
	}
	v.rediscovered = time.Now()
	return true
}

func (v *Verifier) lookup(t *lessons.Target) (*meta.RESTMapping, error) {
	if t.APIVersion != "" {
		gv, err := schema.ParseGroupVersion(t.APIVersion)
		if err != nil {
			return nil, fmt.Errorf("apiVersion %q: %w", t.APIVersion, err)
		}
		m, err := v.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: t.Kind}, gv.Version)
		if err != nil {
			return nil, fmt.Errorf("map %s %s: %w", t.APIVersion, t.Kind, err)
		}
		return m, nil
	}
	// Without apiVersion, find the kind in every served group (core and
	// batch first, by the discovery mapper's priorities).
	gvks, err := v.mapper.KindsFor(schema.GroupVersionResource{Resource: strings.ToLower(t.Kind)})
	if err != nil && !meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("map %s: %w", t.Kind, err)
	}
	for _, gvk := range gvks {
		if strings.EqualFold(gvk.Kind, t.Kind) {
			m, err := v.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				return nil, fmt.Errorf("map %s: %w", gvk, err)
			}
			return m, nil
		}
	}
	return nil, &meta.NoKindMatchError{GroupKind: schema.GroupKind{Kind: t.Kind}}
}

// namespaceOf is the namespace an objective looks in ("" for cluster-scoped kinds).
func (v *Verifier) namespaceOf(t *lessons.Target, m *meta.RESTMapping) string {
	if m != nil && m.Scope.Name() == meta.RESTScopeNameRoot {
		return ""
	}
	if t.Namespace != "" {
		return t.Namespace
	}
	return v.cfg.Namespace
}

func (v *Verifier) resource(m *meta.RESTMapping, ns string) dynamic.ResourceInterface {
	if ns == "" {
		return v.dyn.Resource(m.Resource)
	}
	return v.dyn.Resource(m.Resource).Namespace(ns)
}

// fetch returns the target's objects: the named one (none when not found) or
// the selector's matches, sorted by name.
func (v *Verifier) fetch(ctx context.Context, t *lessons.Target, m *meta.RESTMapping, ns string) ([]*unstructured.Unstructured, error) {
	ri := v.resource(m, ns)
	if t.Name != "" {
		u, err := ri.Get(ctx, t.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("get %s %s: %w", t.Kind, t.Name, err)
		}
		return []*unstructured.Unstructured{u}, nil
	}
	opts := metav1.ListOptions{}
	if len(t.Selector) > 0 {
		opts.LabelSelector = labels.SelectorFromSet(t.Selector).String()
	}
	list, err := ri.List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", t.Kind, err)
	}
	out := make([]*unstructured.Unstructured, len(list.Items))
	for i := range list.Items {
		out[i] = &list.Items[i]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].GetName() < out[j].GetName() })
	return out, nil
}

// evalTarget evaluates a target objective: existence or count, match, expect.
// evalTarget checks the target's present state, then its history.
func (v *Verifier) evalTarget(ctx context.Context, o *lessons.Objective, r *Result, h *History) {
	current := v.evalState(ctx, o, r)
	if r.Status == StatusError || len(o.History) == 0 {
		return
	}
	// A history still awaited says what the learner has to make happen next, which tells more than
	// the present state (a Job that must end up deleted "still exists" until its TTL is set).
	if ok, msg, fields := v.historyResult(h, o, current); !ok {
		r.Status, r.Message, r.Fields, r.Diff = StatusFail, msg, fields, ""
	}
}

// evalState checks the target's present state; current is the named target when it exists.
func (v *Verifier) evalState(ctx context.Context, o *lessons.Objective, r *Result) (current map[string]any) {
	t := o.Target
	progs, err := v.cel.compileAll(o.Expect)
	if err != nil {
		r.Status, r.Message = StatusError, v.msgs.T("verify.cel.compile", err.Error())
		return
	}
	if t.Kind == "" {
		r.Status, r.Message = StatusError, v.msgs.T("verify.err.noKind")
		return
	}
	m, err := v.resolve(ctx, t)
	if err != nil {
		v.setError(r, t, err)
		return
	}
	ns := v.namespaceOf(t, m)
	objs, err := v.fetch(ctx, t, m, ns)
	if err != nil {
		v.setError(r, t, err)
		return
	}
	kind := m.GroupVersionKind.Kind
	if t.Name != "" && len(objs) > 0 {
		current = objs[0].Object
	}

	// Objects that satisfy match (all of them when there is no match).
	var matching []*unstructured.Unstructured
	var firstMiss []Field
	var firstMissObj *unstructured.Unstructured
	var firstDiff string
	for _, u := range objs {
		fields := matchObject(o.Match, u.Object, v.msgs)
		if len(fields) == 0 {
			matching = append(matching, u)
			continue
		}
		if firstMissObj == nil {
			firstMiss, firstMissObj = fields, u
			firstDiff = v.diff(o.Match, u.Object)
		}
	}

	if t.Name != "" {
		switch {
		case o.Absent && len(objs) == 0:
			r.Status = StatusPass
			return
		case o.Absent && (len(matching) > 0 || len(o.Match) == 0):
			r.Status, r.Message = StatusFail, v.objMsg("verify.stillExists", kind, t.Name, ns)
			return
		case o.Absent:
			// It exists but no longer has the asserted state.
			r.Status = StatusPass
			return
		case len(objs) == 0:
			r.Status, r.Message = StatusFail, v.objMsg("verify.notFound", kind, t.Name, ns)
			return
		case firstMissObj != nil:
			r.Status, r.Fields, r.Diff = StatusFail, firstMiss, firstDiff
			r.Message = v.fieldsMsg(firstMiss)
			return
		}
	} else {
		minN, maxN := 1, -1
		if o.Count != nil {
			if o.Count.Min != nil {
				minN = *o.Count.Min
			}
			if o.Count.Max != nil {
				maxN = *o.Count.Max
			}
		}
		if o.Absent {
			minN, maxN = 0, 0
		}
		n := len(matching)
		if n < minN || (maxN >= 0 && n > maxN) {
			r.Status = StatusFail
			r.Message = v.countMsg(kind, n, len(objs), len(o.Match) > 0, minN, maxN)
			if n < minN && firstMissObj != nil {
				r.Fields, r.Diff = firstMiss, firstDiff
				r.Message = v.msgs.T("verify.count.because", r.Message,
					v.msgs.T("verify.objectField", kind, firstMissObj.GetName(), v.fieldsMsg(firstMiss)))
			}
			return
		}
	}

	if len(progs) > 0 {
		var object map[string]any
		if len(matching) > 0 {
			object = matching[0].Object
		}
		b := &bindings{v: v, ctx: ctx, target: t, kind: kind, ns: ns, object: object, matches: matching}
		for i, p := range progs {
			ok, msg, err := p.eval(ctx, b)
			if err != nil {
				v.setError(r, t, err)
				return
			}
			if !ok {
				r.Status = StatusFail
				switch {
				case msg != "":
					r.Message = msg
				case o.Expect[i].Msg != "":
					r.Message = o.Expect[i].Msg
				default:
					r.Message = v.msgs.T("verify.cel.false", o.Expect[i].CEL)
				}
				return
			}
		}
	}
	r.Status = StatusPass
	return current
}

func (v *Verifier) objMsg(key, kind, name, ns string) string {
	if ns == "" {
		return v.msgs.T(key+"Cluster", kind, name)
	}
	return v.msgs.T(key, kind, name, ns)
}

func (v *Verifier) fieldsMsg(fs []Field) string {
	if len(fs) == 0 {
		return ""
	}
	s := v.msgs.T("verify.field", fs[0].Path, fs[0].Want, fs[0].Got)
	if len(fs) > 1 {
		s = v.msgs.T("verify.fieldMore", s, len(fs)-1)
	}
	return s
}

func plural(kind string, n int) string {
	if n <= 1 {
		return kind
	}
	if strings.HasSuffix(kind, "s") {
		return kind + "es"
	}
	return kind + "s"
}

func oneMany(n int) string {
	if n <= 1 {
		return ".one"
	}
	return ".many"
}

// countMsg: "3 Pods trouvés, au moins 4 attendus".
func (v *Verifier) countMsg(kind string, n, listed int, withMatch bool, minN, maxN int) string {
	var found string
	if withMatch && listed != n {
		found = v.msgs.T("verify.count.matching"+oneMany(n), n, plural(kind, listed), listed)
	} else {
		found = v.msgs.T("verify.count.found"+oneMany(n), n, plural(kind, n))
	}
	var bound string
	switch {
	case maxN == 0:
		bound = v.msgs.T("verify.count.none")
	case n < minN:
		bound = v.msgs.T("verify.count.atLeast"+oneMany(minN), minN)
	default:
		bound = v.msgs.T("verify.count.atMost"+oneMany(maxN), maxN)
	}
	return v.msgs.T("verify.count.join", found, bound)
}

// setError records err as an error result with a reason the learner can act on.
func (v *Verifier) setError(r *Result, t *lessons.Target, err error) {
	r.Status = StatusError
	var uk *unknownKindError
	var ce *celEvalError
	switch {
	case errors.As(err, &uk):
		r.Message = v.msgs.T("verify.err.unknownKind", strings.TrimSpace(t.APIVersion+" "+t.Kind))
	case errors.As(err, &ce):
		r.Message = v.msgs.T("verify.cel.notBool", ce.expr, ce.got)
	case apierrors.IsForbidden(err):
		r.Message = v.msgs.T("verify.err.forbidden", apiMessage(err))
	case apierrors.IsUnauthorized(err):
		r.Message = v.msgs.T("verify.err.unauthorized", apiMessage(err))
	case errors.Is(err, context.DeadlineExceeded), apierrors.IsTimeout(err), apierrors.IsServerTimeout(err):
		// Before isUnreachable: context.DeadlineExceeded is a net.Error too.
		r.Message = v.msgs.T("verify.err.timeout", rootCause(err))
	case isUnreachable(err):
		r.Message = v.msgs.T("verify.err.unreachable", rootCause(err))
	default:
		r.Message = v.msgs.T("verify.err.other", err.Error())
	}
}

func apiMessage(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return se.Status().Message
	}
	return err.Error()
}

// isUnreachable reports network-level failures (refused, reset, DNS, TLS
// handshake to nowhere, discovery failing for those reasons).
func isUnreachable(err error) bool {
	var ne net.Error
	var ue *url.Error
	var oe *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.As(err, &oe), errors.As(err, &ue):
		return true
	case errors.As(err, &ne):
		return true
	}
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "no such host") ||
		strings.Contains(s, "i/o timeout") || strings.Contains(s, "EOF")
}

func rootCause(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Error()
	}
	return err.Error()
}
