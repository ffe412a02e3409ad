// Package validate proves a lesson: for every step, each objective must fail
// before the step's solution runs and pass after it (klab validate).
package validate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/runner"
	"github.com/klabdev/klab/verify"
)

// Defaults of a validation run.
const (
	DefaultBlockTimeout = 60 * time.Second
	DefaultStepTimeout  = 120 * time.Second
	DefaultWatchWindow  = 3 * time.Second
	// A solution script does the work of several blocks: it gets this many block bounds.
	solutionBlocks = 3
)

// Options tune a validation run.
type Options struct {
	Cluster      *runner.Cluster
	StateDir     string        // root of the workspaces (a temp dir in CI)
	Keep         bool          // keep the namespace and workspace
	Step         int           // validate only this step (1-based) after replaying the ones before; 0 = all
	BlockTimeout time.Duration // bound of a solution block that is not a watch
	WatchWindow  time.Duration // how long a watch/follow block runs before it is interrupted
	StepTimeout  time.Duration // default post-check bound when the step and its objectives name none
	// Progress, when set, hears about each step as it starts and ends.
	Progress func(Event)
}

// Event is a progress notification.
type Event struct {
	Lesson string
	Step   int
	Title  string
	Done   bool
	Status Status
	Took   time.Duration
}

// Status of a step or lesson.
type Status string

const (
	StatusPass    Status = "pass"
	StatusFail    Status = "fail"
	StatusSkipped Status = "skipped"
)

// LessonReport is the outcome for one lesson; its JSON form is klab's stable
// validate schema (see README, "CI for lesson authors").
type LessonReport struct {
	ID        string        `json:"id"`
	Title     string        `json:"title"`
	Path      string        `json:"path"`
	Namespace string        `json:"namespace"`
	Status    Status        `json:"status"`
	Duration  time.Duration `json:"durationNs"`
	Steps     []StepReport  `json:"steps"`
	Error     string        `json:"error,omitempty"`
	// Warnings from the intro and finish scripts and the clean-up.
	Warnings []string `json:"warnings,omitempty"`
	// Trust says why the lesson's scripts were run: "embedded", "no-scripts",
	// or "this-run" (validate trusts what it is asked to validate, for this
	// run only).
	Trust string `json:"trust,omitempty"`
}

// StepReport is the outcome of one step.
type StepReport struct {
	Index    int           `json:"index"`
	Title    string        `json:"title"`
	Status   Status        `json:"status"`
	Duration time.Duration `json:"durationNs"`
	// PreCheckPassed lists objectives that already passed before the solution.
	PreCheckPassed []string        `json:"preCheckPassed,omitempty"`
	Failures       []verify.Result `json:"failures,omitempty"`
	Warnings       []string        `json:"warnings,omitempty"`
	Blocks         []BlockReport   `json:"blocks,omitempty"`
	Error          string          `json:"error,omitempty"`
	// SolutionFrom says what solved the step: "script", "blocks" or "hint"
	// (the code of its Solution <details>, named by Solution).
	SolutionFrom string `json:"solutionFrom,omitempty"`
	Solution     string `json:"solution,omitempty"`
}

// BlockReport is one solution command and what it printed.
type BlockReport struct {
	Code        string        `json:"code"`
	ExitCode    int           `json:"exitCode"`
	Interrupted bool          `json:"interrupted"`
	Duration    time.Duration `json:"durationNs"`
	Output      string        `json:"output"`
}

// Messages explains a failed step in plain lines (used by text and JUnit output).
func (s StepReport) Messages() []string {
	var out []string
	if s.Error != "" {
		out = append(out, s.Error)
	}
	for _, id := range s.PreCheckPassed {
		out = append(out, fmt.Sprintf("objective %q passes before the solution: it cannot fail", id))
	}
	for _, f := range s.Failures {
		msg := f.Message
		if msg == "" {
			msg = string(f.Status)
		}
		out = append(out, fmt.Sprintf("objective %q (%s) %s: %s", f.ID, f.Title, f.Status, msg))
		if f.Diff != "" {
			out = append(out, indent(f.Diff, "    "))
		}
	}
	return out
}

// watchRe spots commands that never end on their own: watches and follows.
var watchRe = regexp.MustCompile(`(^|\s)(-w|--watch|--watch-only|-f|--follow)(\s|=|$)`)

// isWatch reports whether a block streams until interrupted (get -w, logs -f …).
func isWatch(code string) bool {
	for _, line := range strings.Split(code, "\n") {
		if !strings.Contains(line, "kubectl") && !strings.HasPrefix(strings.TrimSpace(line), "k ") {
			continue
		}
		fields := strings.Fields(line)
		isLogs := false
		for _, f := range fields {
			if f == "logs" {
				isLogs = true
			}
		}
		m := watchRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if m[2] == "-f" && !isLogs {
			continue // -f is --filename outside `kubectl logs`
		}
		return true
	}
	return false
}

// Lesson validates one lesson on opts.Cluster.
func Lesson(ctx context.Context, l *lessons.Lesson, opts Options) (*LessonReport, error) {
	opts.defaults()
	start := time.Now()
	rep := &LessonReport{ID: l.ID, Title: l.Title, Path: l.Dir, Status: StatusPass}
	rep.Namespace = fmt.Sprintf("klab-validate-%s-%s", shortID(l.ID), randSuffix())
	defer func() { rep.Duration = time.Since(start) }()

	lab, err := runner.NewLab(ctx, opts.Cluster, l.ID, runner.LabOptions{Namespace: rep.Namespace, StateDir: opts.StateDir})
	if err != nil {
		return nil, fmt.Errorf("prepare lab for %s: %w", l.ID, err)
	}
	defer func() {
		_ = lab.Close()
		if opts.Keep {
			return
		}
		if err := cleanup(context.WithoutCancel(ctx), lab); err != nil {
			rep.Warnings = append(rep.Warnings, err.Error())
		}
	}()
	rc, err := lab.RestConfig()
	if err != nil {
		return nil, fmt.Errorf("lab config: %w", err)
	}
	v, err := verify.New(verify.Config{RestConfig: rc, Namespace: rep.Namespace, Lang: l.Lang, Lab: lab})
	if err != nil {
		return nil, fmt.Errorf("verifier: %w", err)
	}

	// Assets arrive before any script runs, as on Killercoda.
	if err := lab.InstallAssets(l); err != nil {
		rep.Status, rep.Error = StatusFail, err.Error()
		return rep, nil
	}
	bg := &bgReporter{seen: map[string]bool{}}
	if err := runPageScripts(ctx, lab, l.Intro, opts.StepTimeout, &rep.Warnings); err != nil {
		rep.Status, rep.Error = StatusFail, err.Error()
		return rep, nil
	}
	if len(l.Steps) == 0 {
		// Nothing to solve: the intro's setup still has to succeed.
		bg.wait(ctx, lab, opts.StepTimeout, &rep.Warnings)
	}
	for _, s := range l.Steps {
		if opts.Step > 0 && s.Index > opts.Step {
			break
		}
		replay := opts.Step > 0 && s.Index < opts.Step
		sr := validateStep(ctx, lab, v, l, s, opts, replay, bg)
		if replay {
			if sr.Status != StatusPass {
				sr.Error = strings.TrimSpace("replaying the solution failed: " + sr.Error)
				rep.Steps = append(rep.Steps, sr)
				rep.Status = StatusFail
				return rep, ctx.Err()
			}
			continue
		}
		rep.Steps = append(rep.Steps, sr)
		if sr.Status != StatusPass {
			rep.Status = StatusFail
			// Later steps build on this one: stop here, as a learner would be stuck.
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	if rep.Status == StatusPass && opts.Step == 0 {
		if err := runPageScripts(ctx, lab, l.Finish, opts.StepTimeout, &rep.Warnings); err != nil {
			rep.Status, rep.Error = StatusFail, err.Error()
		}
	}
	return rep, ctx.Err()
}

func (o *Options) defaults() {
	if o.BlockTimeout <= 0 {
		o.BlockTimeout = DefaultBlockTimeout
	}
	if o.WatchWindow <= 0 {
		o.WatchWindow = DefaultWatchWindow
	}
	if o.StepTimeout <= 0 {
		o.StepTimeout = DefaultStepTimeout
	}
}

// runPageScripts starts the page's background script and runs its
// foreground script, bounded (a foreground that waits for a marker the
// background never writes must not hang validate).
func runPageScripts(ctx context.Context, lab *runner.Lab, p *lessons.Page, bound time.Duration, warnings *[]string) error {
	if p == nil {
		return nil
	}
	if p.Background != nil {
		if err := lab.StartBackground(ctx, p.Background); err != nil {
			return fmt.Errorf("background script %s: %w", p.Background.Path, err)
		}
	}
	if p.Foreground != nil {
		fctx, cancel := context.WithTimeout(ctx, bound)
		res, err := lab.RunScript(fctx, p.Foreground, nil)
		cancel()
		if err != nil {
			return fmt.Errorf("foreground script %s: %w", p.Foreground.Path, err)
		}
		switch {
		case res.Interrupted && ctx.Err() == nil:
			*warnings = append(*warnings, fmt.Sprintf("foreground script %s still running after %s: interrupted", p.Foreground.Path, bound))
		case res.ExitCode != 0:
			*warnings = append(*warnings, fmt.Sprintf("foreground script %s exited %d", p.Foreground.Path, res.ExitCode))
		}
	}
	return nil
}

func validateStep(ctx context.Context, lab *runner.Lab, v *verify.Verifier, l *lessons.Lesson, s *lessons.Step, opts Options, replay bool, bg *bgReporter) (sr StepReport) {
	start := time.Now()
	sr = StepReport{Index: s.Index, Title: s.Title, Status: StatusPass}
	if opts.Progress != nil && !replay {
		opts.Progress(Event{Lesson: l.ID, Step: s.Index, Title: s.Title})
	}
	defer func() {
		sr.Duration = time.Since(start)
		if opts.Progress != nil && !replay {
			opts.Progress(Event{Lesson: l.ID, Step: s.Index, Title: s.Title, Done: true, Status: sr.Status, Took: sr.Duration})
		}
	}()

	bound := s.Bound(opts.StepTimeout)
	if err := runPageScripts(ctx, lab, &s.Page, bound, &sr.Warnings); err != nil {
		sr.Status, sr.Error = StatusFail, err.Error()
		return sr
	}
	// Setup before action: the background scripts (the intro's and the
	// step's) finish before anything checks or solves the step.
	bg.wait(ctx, lab, bound, &sr.Warnings)

	// History objectives are judged on what happens from here on: follow their targets live.
	hist := verify.NewHistory(nil)
	stopRecording := recordHistory(ctx, v, s.Objectives, hist)
	defer stopRecording()

	// Pre-check: an objective that already holds cannot tell whether the learner did anything.
	if !replay && len(s.Objectives) > 0 {
		for i, r := range v.Evaluate(ctx, s.Objectives, verify.FromHistory(hist)) {
			if r.Status == verify.StatusPass && s.Objectives[i].PreCheck != "skip" {
				sr.PreCheckPassed = append(sr.PreCheckPassed, r.ID)
			}
		}
	}

	// Solution.
	script, from := s.Solve()
	sr.SolutionFrom = from
	if script != nil {
		sr.Solution = script.Path
		br := runBlock(ctx, lab, script.Body, opts.BlockTimeout*solutionBlocks)
		sr.Blocks = append(sr.Blocks, br)
		if br.ExitCode != 0 {
			sr.Warnings = append(sr.Warnings, fmt.Sprintf("solution %s exited %d", script.Path, br.ExitCode))
		}
	} else {
		execs := execBlocks(s)
		for i, b := range execs {
			interruptedLater := i+1 < len(execs) && execs[i+1].Interrupt
			watch := isWatch(b.Code) || interruptedLater
			bound := opts.BlockTimeout
			if watch {
				bound = opts.WatchWindow
			}
			br := runBlock(ctx, lab, b.Code, bound)
			sr.Blocks = append(sr.Blocks, br)
			if br.ExitCode != 0 && !br.Interrupted {
				sr.Warnings = append(sr.Warnings, fmt.Sprintf("%s:%d: block [%d] exited %d", b.File, b.Line, b.Index, br.ExitCode))
			}
			if br.Interrupted && !watch {
				sr.Warnings = append(sr.Warnings, fmt.Sprintf("%s:%d: block [%d] still running after %s: interrupted", b.File, b.Line, b.Index, bound))
			}
			if ctx.Err() != nil {
				break
			}
		}
	}

	// Post-check: watch the objectives until all pass or the step's bound.
	if len(s.Objectives) > 0 {
		last := waitAll(ctx, v, s.Objectives, s.Bound(opts.StepTimeout), hist)
		for _, r := range last {
			if r.Status != verify.StatusPass {
				sr.Failures = append(sr.Failures, r)
			}
		}
	}
	if len(sr.PreCheckPassed) > 0 || len(sr.Failures) > 0 {
		sr.Status = StatusFail
	}
	if ctx.Err() != nil && sr.Status == StatusPass {
		sr.Status, sr.Error = StatusFail, ctx.Err().Error()
	}
	if sr.Status == StatusPass {
		sr.Blocks = trimOutputs(sr.Blocks) // outputs are kept in the report on failure only
	}
	return sr
}

func execBlocks(s *lessons.Step) []*lessons.Block {
	var out []*lessons.Block
	for _, b := range s.Blocks {
		if b.Kind == lessons.BlockExec {
			out = append(out, b)
		}
	}
	return out
}

func runBlock(ctx context.Context, lab *runner.Lab, code string, bound time.Duration) BlockReport {
	if cmd := lessons.InteractiveCommand(code); cmd != "" {
		// It would wait for a person until the bound: fail it now, saying why.
		return BlockReport{Code: code, ExitCode: 126, Output: fmt.Sprintf("klab: %s waits for someone at the keyboard: validate cannot run it (use kubectl apply, patch or sed)", cmd)}
	}
	bctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	res, err := lab.Run(bctx, code, nil)
	br := BlockReport{Code: code, ExitCode: res.ExitCode, Interrupted: res.Interrupted, Duration: res.Duration, Output: runner.Plain(res.Output)}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		br.Output += "\nklab: " + err.Error()
		if br.ExitCode == 0 {
			br.ExitCode = -1
		}
	}
	return br
}

// recordHistory follows the targets of the history objectives among objs, feeding h, until the
// returned function is called; it returns once the watch has taken its first look.
func recordHistory(ctx context.Context, v *verify.Verifier, objs []*lessons.Objective, h *verify.History) func() {
	var followed []*lessons.Objective
	for _, o := range objs {
		if o != nil && len(o.History) > 0 {
			followed = append(followed, o)
		}
	}
	if len(followed) == 0 {
		return func() {}
	}
	rctx, cancel := context.WithCancel(ctx)
	ch := v.Watch(rctx, followed, verify.WithHistory(h))
	select {
	case <-ch:
	case <-rctx.Done():
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range ch { //nolint:revive // drained until the watch ends
		}
	}()
	return func() { cancel(); <-done }
}

// waitAll follows the objectives live until all pass or the bound runs out,
// and returns the last results seen; history objectives are judged from h.
func waitAll(ctx context.Context, v *verify.Verifier, objs []*lessons.Objective, bound time.Duration, h *verify.History) []verify.Result {
	wctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	hist := verify.FromHistory(h)
	if first := v.Evaluate(wctx, objs, hist); verify.AllPass(objs, first) {
		return first
	}
	ch := v.Watch(wctx, objs, hist)
	for {
		select {
		case <-wctx.Done():
			// One last look, so a pass that landed at the deadline counts.
			return v.Evaluate(context.WithoutCancel(ctx), objs, hist)
		case rs, ok := <-ch:
			if !ok {
				return v.Evaluate(context.WithoutCancel(ctx), objs, hist)
			}
			if verify.AllPass(objs, rs) {
				return rs
			}
		}
	}
}

func trimOutputs(bs []BlockReport) []BlockReport {
	out := make([]BlockReport, len(bs))
	for i, b := range bs {
		b.Output = ""
		out[i] = b
	}
	return out
}

// cleanup removes the workspace and deletes the validation namespace,
// waiting (bounded) for it to go; it says what it could not do.
func cleanup(ctx context.Context, lab *runner.Lab) error {
	var errs []error
	if err := os.RemoveAll(lab.Workspace); err != nil {
		errs = append(errs, fmt.Errorf("remove workspace: %w", err))
	}
	rc, err := lab.RestConfig()
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("delete namespace %s: %w", lab.Namespace, err))...)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("delete namespace %s: %w", lab.Namespace, err))...)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := cs.CoreV1().Namespaces().Delete(ctx, lab.Namespace, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return errors.Join(append(errs, fmt.Errorf("delete namespace %s: %w", lab.Namespace, err))...)
	}
	err = wait.PollUntilContextCancel(ctx, 500*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Namespaces().Get(ctx, lab.Namespace, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		errs = append(errs, fmt.Errorf("namespace %s still terminating after 60s", lab.Namespace))
	}
	return errors.Join(errs...)
}

func shortID(id string) string {
	id = strings.ToLower(id)
	if len(id) > 30 {
		id = id[:30]
	}
	return strings.Trim(id, "-")
}

func randSuffix() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:5]
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n")
}
