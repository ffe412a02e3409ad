package verify

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/klabdev/klab/lessons"
)

// Live-mode timing.
const (
	// watchDebounce groups the events of one change (a Job's status and its
	// Pod's often arrive together) into one evaluation.
	watchDebounce = 15 * time.Millisecond
	// watchTick re-runs scripts, logs expressions and errored objectives.
	watchTick = 2 * time.Second
)

// Watch evaluates objs now and again on every relevant change, and sends the
// whole list each time a result changes. Changes come from informers on the
// kinds the objectives name (scoped to their namespace and to the target's
// name or label selector), plus Pods and Jobs when expressions use them;
// scripts, `logs` expressions and errored objectives are re-evaluated every
// 2 s. While the API server is unreachable the affected results are errors;
// informers reconnect by themselves. The caller reads the channel until it
// cancels ctx; the channel is closed when ctx ends.
func (v *Verifier) Watch(ctx context.Context, objs []*lessons.Objective) <-chan []Result {
	ch := make(chan []Result, 1)
	objs = append([]*lessons.Objective(nil), objs...)
	for i, o := range objs {
		if o == nil {
			objs[i] = &lessons.Objective{} // reported as an error, like in Evaluate
		}
	}
	w := &watcher{
		v:        v,
		objs:     objs,
		ch:       ch,
		kick:     make(chan struct{}, 1),
		informer: map[string]cache.SharedIndexInformer{},
		resolved: make([]bool, len(objs)),
	}
	go w.run(ctx)
	return ch
}

type watcher struct {
	v        *Verifier
	objs     []*lessons.Objective
	ch       chan []Result
	kick     chan struct{}
	informer map[string]cache.SharedIndexInformer // started informers by key
	resolved []bool                               // objective i has its informers
	last     []Result
	sent     []Result // last results sent
}

func (w *watcher) trigger() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// needsTick: objectives whose truth can change without a watch event.
func (w *watcher) needsTick(o *lessons.Objective) bool {
	return isScript(o) || w.v.cel.usesAny(o, "logs")
}

func (w *watcher) run(ctx context.Context) {
	defer close(w.ch)
	w.setup(ctx)
	// First results at once: scripts (which may take seconds) are pending
	// until their first run ends.
	w.last = make([]Result, len(w.objs))
	for i, o := range w.objs {
		if isScript(o) {
			w.last[i] = Result{ID: o.ID, Title: o.Title, Hint: o.Hint, Status: StatusPending}
		}
	}
	w.reevaluate(ctx, func(o *lessons.Objective, _ Result) bool { return !isScript(o) })
	if !w.emit(ctx) {
		return
	}
	scripts := make(chan scriptResults, 1)
	scriptRunning := w.hasScripts()
	if scriptRunning {
		go w.runScripts(ctx, scripts)
	}
	ticker := time.NewTicker(watchTick)
	defer ticker.Stop()
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
			if debounce == nil {
				debounce = time.After(watchDebounce)
			}
		case <-debounce:
			debounce = nil
			w.reevaluate(ctx, func(o *lessons.Objective, _ Result) bool { return !isScript(o) })
			if !w.emit(ctx) {
				return
			}
		case <-ticker.C:
			w.setup(ctx)
			// Informers retry a refused watch silently: probe the API server so
			// that results say it is unreachable instead of staying stale.
			// An informer that cannot list (a role without list/watch on a
			// kind) never syncs: poll everything on the tick instead.
			poll := w.v.ping(ctx) != nil || !w.synced()
			w.reevaluate(ctx, func(o *lessons.Objective, last Result) bool {
				return !isScript(o) && (poll || w.needsTick(o) || last.Status == StatusError)
			})
			if !scriptRunning && w.hasScripts() {
				scriptRunning = true
				go w.runScripts(ctx, scripts)
			}
			if !w.emit(ctx) {
				return
			}
		case sr := <-scripts:
			scriptRunning = false
			for i, r := range sr {
				w.last[i] = r
			}
			if !w.emit(ctx) {
				return
			}
		}
	}
}

type scriptResults map[int]Result

func (w *watcher) hasScripts() bool {
	for _, o := range w.objs {
		if isScript(o) {
			return true
		}
	}
	return false
}

func (w *watcher) runScripts(ctx context.Context, out chan<- scriptResults) {
	res := scriptResults{}
	for i, o := range w.objs {
		if isScript(o) {
			res[i] = w.v.evaluate(ctx, o, evalAll)
		}
	}
	select {
	case out <- res:
	case <-ctx.Done():
	}
}

// reevaluate refreshes the results of the objectives sel picks, concurrently.
func (w *watcher) reevaluate(ctx context.Context, sel func(*lessons.Objective, Result) bool) {
	next := make([]Result, len(w.last))
	copy(next, w.last)
	done := make(chan struct{}, len(w.objs))
	n := 0
	for i, o := range w.objs {
		if !sel(o, w.last[i]) {
			continue
		}
		n++
		go func() {
			next[i] = w.v.evaluate(ctx, o, evalNoScripts)
			done <- struct{}{}
		}()
	}
	for range n {
		<-done
	}
	if ctx.Err() == nil {
		w.last = next
	}
}

// emit sends the results when they changed since the last send; false when ctx ended.
func (w *watcher) emit(ctx context.Context) bool {
	if w.sent != nil && reflect.DeepEqual(w.sent, w.last) {
		return true
	}
	rs := make([]Result, len(w.last))
	copy(rs, w.last)
	select {
	case w.ch <- rs:
		w.sent = rs
		return true
	case <-ctx.Done():
		return false
	}
}

// setup starts the informers of every objective it can resolve (kinds the
// cluster does not serve yet, or an unreachable cluster, are retried on the
// next tick).
func (w *watcher) setup(ctx context.Context) {
	for i, o := range w.objs {
		if w.resolved[i] || o.Target == nil || o.Target.Kind == "" {
			continue
		}
		m, err := w.v.resolve(ctx, o.Target)
		if err != nil {
			continue
		}
		w.resolved[i] = true
		ns := w.v.namespaceOf(o.Target, m)
		fs, ls := "", ""
		if o.Target.Name != "" {
			fs = fields.OneTermEqualSelector("metadata.name", o.Target.Name).String()
		} else if len(o.Target.Selector) > 0 {
			ls = labels.SelectorFromSet(o.Target.Selector).String()
		}
		w.start(ctx, m.Resource, ns, fs, ls)
		kind := m.GroupVersionKind.Kind
		if w.v.cel.usesAny(o, "pods", "logs") {
			switch {
			case kind == "Job" && o.Target.Name != "":
				w.start(ctx, podsGVR, ns, "", labels.Set{jobNameLabel: o.Target.Name}.String())
			case kind != "Pod" || o.Target.Name == "":
				w.start(ctx, podsGVR, ns, "", "")
			}
		}
		if kind == "CronJob" && w.v.cel.usesAny(o, "jobs", "pods", "logs") {
			w.start(ctx, jobsGVR, ns, "", "")
		}
	}
}

// start runs one informer (once per resource, namespace and selectors);
// every event and every watch error triggers a debounced re-evaluation.
func (w *watcher) start(ctx context.Context, gvr schema.GroupVersionResource, ns, fieldSel, labelSel string) {
	key := gvr.String() + "|" + ns + "|" + fieldSel + "|" + labelSel
	if w.informer[key] != nil {
		return
	}
	inf := dynamicinformer.NewFilteredDynamicInformer(w.v.dynW, gvr, ns, 0, cache.Indexers{},
		func(o *metav1.ListOptions) {
			o.FieldSelector, o.LabelSelector = fieldSel, labelSel
		}).Informer()
	// Replace client-go's default handler, which logs to stderr (the TUI's
	// screen): the error results say what is wrong instead.
	_ = inf.SetWatchErrorHandlerWithContext(func(context.Context, *cache.Reflector, error) { w.trigger() })
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { w.trigger() },
		UpdateFunc: func(any, any) { w.trigger() },
		DeleteFunc: func(any) { w.trigger() },
	})
	// Informers log through the context's logger: keep them quiet too.
	w.informer[key] = inf
	go inf.RunWithContext(klog.NewContext(ctx, logr.Discard()))
}

// synced reports whether every informer has listed its objects.
func (w *watcher) synced() bool {
	for _, inf := range w.informer {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// ping asks the API server for its version (allowed to every identity).
func (v *Verifier) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, watchTick)
	defer cancel()
	if _, err := discovery.ToDiscoveryInterfaceWithContext(v.kube.Discovery()).ServerVersionWithContext(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// isScript: objectives that run a script (an empty one is an error result).
func isScript(o *lessons.Objective) bool {
	return o.Script != nil && (o.Script.Path != "" || o.Script.Body != "")
}
