package verify

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/go-logr/logr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
func (v *Verifier) Watch(ctx context.Context, objs []*lessons.Objective, opts ...Option) <-chan []Result {
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
		follows:  map[string][]int{},
	}
	op := makeOptions(opts)
	w.history = op.history
	w.feeds = !op.readOnly && op.historyOf != nil
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

	history func(*lessons.Objective) *History // each history objective's History (nil: none)
	feeds   bool                              // this watch feeds them with every version of their targets
	mu      sync.Mutex                        // guards follows (read by informer handlers)
	follows map[string][]int                  // informer key → the history objectives whose target it watches
}

func (w *watcher) trigger() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// needsTick: objectives whose truth can change without a watch event (a history fed elsewhere).
func (w *watcher) needsTick(o *lessons.Objective) bool {
	return isScript(o) || w.v.cel.usesAny(o, "logs") || len(o.History) > 0 && !w.feeds
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
			res[i] = w.v.evaluate(ctx, o, evalAll, w.historyOf(o))
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
			next[i] = w.v.evaluate(ctx, o, evalNoScripts, w.historyOf(o))
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
		key := w.start(ctx, m.Resource, ns, fs, ls)
		if w.feeds && len(o.History) > 0 {
			w.mu.Lock()
			w.follows[key] = append(w.follows[key], i)
			w.mu.Unlock()
		}
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

// start runs one informer (once per resource, namespace and selectors) and returns its key;
// every event and every watch error triggers a debounced re-evaluation, and every version it delivers
// feeds the history of the objectives that follow it.
func (w *watcher) start(ctx context.Context, gvr schema.GroupVersionResource, ns, fieldSel, labelSel string) string {
	key := gvr.String() + "|" + ns + "|" + fieldSel + "|" + labelSel
	if w.informer[key] != nil {
		return key
	}
	inf := dynamicinformer.NewFilteredDynamicInformer(w.v.dynW, gvr, ns, 0, cache.Indexers{},
		func(o *metav1.ListOptions) {
			o.FieldSelector, o.LabelSelector = fieldSel, labelSel
		}).Informer()
	// Replace client-go's default handler, which logs to stderr (the TUI's
	// screen): the error results say what is wrong instead.
	_ = inf.SetWatchErrorHandlerWithContext(func(context.Context, *cache.Reflector, error) { w.trigger() })
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.observe(key, obj, false); w.trigger() },
		UpdateFunc: func(_, obj any) { w.observe(key, obj, false); w.trigger() },
		DeleteFunc: func(obj any) { w.observe(key, obj, true); w.trigger() },
	})
	// Informers log through the context's logger: keep them quiet too.
	w.informer[key] = inf
	go inf.RunWithContext(klog.NewContext(ctx, logr.Discard()))
	return key
}

func (w *watcher) historyOf(o *lessons.Objective) *History {
	if w.history == nil {
		return nil
	}
	return w.history(o)
}

// observe hands one version of a watched object to the history of the objectives that follow it.
func (w *watcher) observe(key string, obj any, deleted bool) {
	if !w.feeds {
		return
	}
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	w.mu.Lock()
	idx := append([]int(nil), w.follows[key]...)
	w.mu.Unlock()
	rv := u.GetResourceVersion()
	if deleted {
		u, rv = nil, "deleted@"+rv // a deletion counts even when its final version was seen
	}
	for _, i := range idx {
		if h := w.historyOf(w.objs[i]); h != nil {
			w.v.observe(h, w.objs[i], u, rv)
		}
	}
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
