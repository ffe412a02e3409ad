package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/klabdev/klab/assets"
	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/runner"
)

// Status of one objective.
type Status string

// Objective statuses.
const (
	StatusPass    Status = "pass"
	StatusFail    Status = "fail"
	StatusError   Status = "error"   // the objective could not be evaluated (cluster, RBAC, kind, lesson bug)
	StatusPending Status = "pending" // not evaluated yet
)

// Field is one asserted field that does not hold.
type Field struct {
	Path string `json:"path"`
	Want string `json:"want"`
	Got  string `json:"got"`
}

// Result is the outcome of one objective.
type Result struct {
	ID      string  `json:"id"`
	Title   string  `json:"title"`
	Status  Status  `json:"status"`
	Message string  `json:"message,omitempty"`
	Hint    string  `json:"hint,omitempty"`
	Diff    string  `json:"diff,omitempty"`
	Fields  []Field `json:"fields,omitempty"`
	// Untrusted says a script objective was not run: the lesson's scripts
	// are not trusted yet (Status is StatusError).
	Untrusted bool `json:"untrusted,omitempty"`
}

// DefaultScriptTimeout bounds one run of a script objective (a verify.sh):
// it should answer in a few seconds.
const DefaultScriptTimeout = 10 * time.Second

// ErrUntrusted is what RunScript answers for a lesson whose scripts the
// learner has not trusted: the objective is reported Untrusted, not run.
var ErrUntrusted = errors.New("lesson scripts not trusted")

// AllPass is klab's one definition of "all objectives pass", used by the
// TUI (a step unlocks), `klab check` (exit 0) and `klab validate` (the
// post-check): rs, in the order Evaluate and Watch return them, holds one
// result per objective of objs, each with the objective's ID, and every one
// passed. A list without objectives passes at once (a step with nothing to
// check is done when it is read); a partial or missing list of results does
// not.
func AllPass(objs []*lessons.Objective, rs []Result) bool {
	if len(rs) != len(objs) {
		return false
	}
	for i, r := range rs {
		if r.Status != StatusPass || (objs[i] != nil && r.ID != objs[i].ID) {
			return false
		}
	}
	return true
}

// Config says where and how to evaluate.
type Config struct {
	RestConfig *rest.Config
	Namespace  string      // default namespace of targets (the lab namespace)
	Lang       string      // message language: "fr" or "en"
	Lab        *runner.Lab // runs script objectives in the lab environment

	// Optional overrides (tests): built from RestConfig when nil.
	Dynamic dynamic.Interface
	Kube    kubernetes.Interface
	Mapper  meta.ResettableRESTMapper
	// RunScript overrides Lab for script objectives.
	RunScript func(ctx context.Context, s *lessons.Script) (output string, exitCode int, err error)
	// ScriptTimeout bounds one script run (default DefaultScriptTimeout;
	// an objective's own ScriptTimeout, from its step's verifyTimeout, wins).
	ScriptTimeout time.Duration
	// TrustHint tells, in untrusted script results, how to trust the
	// lesson (a command such as `klab trust ./lesson`).
	TrustHint string
}

// Verifier evaluates objectives; it is safe for concurrent use.
type Verifier struct {
	cfg    Config
	dyn    dynamic.Interface // requests bounded by a timeout
	dynW   dynamic.Interface // informers' lists and long watches (no client timeout)
	kube   kubernetes.Interface
	mapper kindMapper
	msgs   *assets.Messages
	cel    *celCache
	run    func(ctx context.Context, s *lessons.Script) (string, int, error)

	mu           sync.Mutex
	mapping      map[string]*meta.RESTMapping // by apiVersion+"/"+kind
	rediscovered time.Time                    // last discovery refresh for an unknown kind
}

// New builds a Verifier from cfg.
func New(cfg Config) (*Verifier, error) {
	v := &Verifier{
		cfg:     cfg,
		dyn:     cfg.Dynamic,
		dynW:    cfg.Dynamic,
		kube:    cfg.Kube,
		msgs:    assets.Catalog(cfg.Lang),
		mapping: map[string]*meta.RESTMapping{},
		run:     cfg.RunScript,
	}
	if v.cfg.ScriptTimeout <= 0 {
		v.cfg.ScriptTimeout = DefaultScriptTimeout
	}
	var err error
	if v.cel, err = newCELCache(); err != nil {
		return nil, err
	}
	if cfg.Mapper != nil {
		v.mapper = cfg.Mapper
	}
	if v.dyn == nil || v.kube == nil || v.mapper == nil {
		if cfg.RestConfig == nil {
			return nil, fmt.Errorf("verify: no rest config")
		}
		rc := rest.CopyConfig(cfg.RestConfig)
		// API warnings (deprecated versions …) would be logged to stderr,
		// which belongs to the TUI.
		rc.WarningHandler = rest.NoWarnings{}
		if rc.QPS == 0 {
			rc.QPS, rc.Burst = 100, 200
		}
		if v.dyn == nil {
			// http.Client's timeout would also cut watches: informers get a client without it.
			if v.dynW, err = dynamic.NewForConfig(rc); err != nil {
				return nil, fmt.Errorf("verify: dynamic client: %w", err)
			}
		}
		if rc.Timeout == 0 {
			rc.Timeout = 15 * time.Second
		}
		if v.dyn == nil {
			if v.dyn, err = dynamic.NewForConfig(rc); err != nil {
				return nil, fmt.Errorf("verify: dynamic client: %w", err)
			}
		}
		if v.kube == nil {
			if v.kube, err = kubernetes.NewForConfig(rc); err != nil {
				return nil, fmt.Errorf("verify: clientset: %w", err)
			}
		}
		if v.mapper == nil {
			dc, err := discovery.NewDiscoveryClientForConfig(rc)
			if err != nil {
				return nil, fmt.Errorf("verify: discovery client: %w", err)
			}
			v.mapper = &discoveryMapper{dc: dc}
		}
	}
	if v.run == nil && cfg.Lab != nil {
		lab := cfg.Lab
		v.run = func(ctx context.Context, s *lessons.Script) (string, int, error) {
			r, err := lab.RunScript(ctx, s, func([]byte) {})
			if err != nil {
				return r.Output, r.ExitCode, fmt.Errorf("run %s: %w", s.Path, err)
			}
			return r.Output, r.ExitCode, nil
		}
	}
	return v, nil
}

// Option changes one Evaluate or Watch.
type Option func(*options)

type options struct {
	historyOf func(*lessons.Objective) *History
	readOnly  bool // judge from the history without feeding it
}

func (op options) history(o *lessons.Objective) *History {
	if op.historyOf == nil || o == nil {
		return nil
	}
	return op.historyOf(o)
}

// WithHistory gives history objectives the step's History: Watch feeds it with what it observes,
// Evaluate and Watch judge history stages from it. Without it a history objective fails, saying it
// must be followed live.
func WithHistory(h *History) Option {
	return func(o *options) { o.historyOf = func(*lessons.Objective) *History { return h } }
}

// WithHistoryOf is WithHistory for objectives of several steps: of returns each one's History.
func WithHistoryOf(of func(*lessons.Objective) *History) Option {
	return func(o *options) { o.historyOf = of }
}

// FromHistory judges history objectives from h without feeding it (h is fed by another Watch).
func FromHistory(h *History) Option {
	return func(o *options) {
		o.historyOf, o.readOnly = func(*lessons.Objective) *History { return h }, true
	}
}

func makeOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Evaluate checks every objective once, in order.
func (v *Verifier) Evaluate(ctx context.Context, objs []*lessons.Objective, opts ...Option) []Result {
	op := makeOptions(opts)
	out := make([]Result, len(objs))
	var wg sync.WaitGroup
	for i, o := range objs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = v.evaluate(ctx, o, evalAll, op.history(o))
		}()
	}
	wg.Wait()
	return out
}

// evalMode selects what a (re-)evaluation may do.
type evalMode int

const (
	evalAll evalMode = iota
	evalNoScripts
)

func (v *Verifier) evaluate(ctx context.Context, o *lessons.Objective, _ evalMode, h *History) Result {
	if o == nil {
		return Result{Status: StatusError, Message: v.msgs.T("verify.err.noTarget")}
	}
	r := Result{ID: o.ID, Title: o.Title, Hint: o.Hint}
	switch {
	case o.Script != nil && o.Script.Path == "" && o.Script.Body == "":
		r.Status, r.Message = StatusError, v.msgs.T("verify.err.noTarget")
	case o.Script != nil:
		v.evalScript(ctx, o, &r)
	case o.Target != nil:
		v.evalTarget(ctx, o, &r, h)
	default:
		r.Status, r.Message = StatusError, v.msgs.T("verify.err.noTarget")
	}
	return r
}

func (v *Verifier) evalScript(ctx context.Context, o *lessons.Objective, r *Result) {
	if v.run == nil {
		r.Status, r.Message = StatusError, v.msgs.T("verify.script.noLab", o.Script.Path)
		return
	}
	bound := v.cfg.ScriptTimeout
	if o.ScriptTimeout > 0 {
		bound = o.ScriptTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	output, code, err := v.run(ctx, o.Script)
	if errors.Is(err, ErrUntrusted) {
		r.Status, r.Untrusted = StatusError, true
		r.Message = v.msgs.T("verify.script.untrusted", o.Script.Path, v.cfg.TrustHint)
		return
	}
	if err != nil {
		r.Status, r.Message = StatusError, v.msgs.T("verify.script.error", o.Script.Path, err.Error())
		return
	}
	r.Message = lastLine(output)
	if code == 0 {
		r.Status = StatusPass
		if r.Message == "" {
			r.Message = v.msgs.T("verify.script.passed", o.Script.Path)
		}
		return
	}
	r.Status = StatusFail
	if r.Message == "" {
		r.Message = v.msgs.T("verify.script.failed", o.Script.Path, code)
	}
}

// lastLine is the last non-blank line of a terminal transcript, without
// carriage returns or ANSI escape sequences.
func lastLine(s string) string {
	s = stripANSI(strings.ReplaceAll(s, "\r\n", "\n"))
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := lines[i]
		if j := strings.LastIndexByte(l, '\r'); j >= 0 {
			l = l[j+1:]
		}
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

func stripANSI(s string) string {
	if !strings.Contains(s, "\x1b") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != 0x1b {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			i = j
			continue
		}
		if i+1 < len(s) && s[i+1] == ']' { // OSC … BEL or ST
			j := i + 2
			for j < len(s) && s[j] != 0x07 && !(s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\') {
				j++
			}
			if j < len(s) && s[j] == 0x1b {
				j++
			}
			i = j
			continue
		}
		i++
	}
	return b.String()
}
