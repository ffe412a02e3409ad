package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/klabdev/klab/assets"
	"github.com/klabdev/klab/internal/validate"
	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/verify"
)

type checkFlags struct {
	step    int
	all     bool
	wait    time.Duration
	json    bool
	verbose bool
	trust   bool
}

// newCheckCommand builds `klab check [LESSON|PATH]`: evaluate the objectives
// of one step or of every step, once or until they pass (--wait).
func newCheckCommand(opts *Options) *cobra.Command {
	f := &checkFlags{}
	cmd := &cobra.Command{
		Use:   "check [LESSON|PATH]",
		Short: "Check a lesson's objectives against the cluster and say what is missing",
		Long: "check evaluates the objectives of a lesson step (--step N) or of every step (the default, --all)\n" +
			"in the lab namespace and prints a checklist: ✓ when an objective holds, ✗ with the reason when\n" +
			"it does not (the expected-vs-actual diff under -v). With --wait it re-evaluates on every change\n" +
			"until all pass or the bound runs out. Exit 0 when all pass, 1 otherwise, 124 when --wait runs out.",
		Example: "  klab check --sandbox jobs-cronjobs --step 1\n  klab check ./my-lesson --all --wait 2m -v\n  klab check --json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("step") && f.all {
				return Fail(ExitUsage, "check: --step and --all exclude each other")
			}
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			return runCheck(cmd, opts, f, arg)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.step, "step", 0, "check only step N (1-based)")
	fl.BoolVar(&f.all, "all", false, "check every step (the default)")
	fl.Var((*waitFlag)(&f.wait), "wait", "re-evaluate until every objective passes or this bound runs out (e.g. 90s; auto: the steps' own timeouts)")
	fl.BoolVar(&f.json, "json", false, "print the results as JSON")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "show hints and expected-vs-actual diffs")
	addTrustFlag(cmd, &f.trust)
	return cmd
}

// checkStep is one step's results, as printed.
type checkStep struct {
	Index   int             `json:"index"`
	Title   string          `json:"title"`
	Results []verify.Result `json:"results"`
}

// checkReport is the --json output.
type checkReport struct {
	Lesson    string      `json:"lesson"`
	Cluster   string      `json:"cluster"`
	Namespace string      `json:"namespace"`
	Passed    bool        `json:"passed"`
	TimedOut  bool        `json:"timedOut,omitempty"`
	Steps     []checkStep `json:"steps"`
}

func runCheck(cmd *cobra.Command, opts *Options, f *checkFlags, arg string) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	lesson, diags, err := lessons.Resolve(arg)
	if err != nil {
		for _, d := range diags {
			if d.Severity == lessons.SevError {
				fmt.Fprintln(cmd.ErrOrStderr(), d.String())
			}
		}
		return Fail(ExitUsage, "check: %v", err)
	}
	if f.step < 0 || f.step > len(lesson.Steps) {
		return Fail(ExitUsage, "check: --step %d: lesson %s has steps 1 to %d", f.step, lesson.ID, len(lesson.Steps))
	}
	steps := lesson.Steps
	if f.step > 0 {
		steps = []*lessons.Step{lesson.Steps[f.step-1]}
	}
	lang := opts.Lang
	if lang == "" {
		lang = lesson.Lang
	}
	msgs := assets.Catalog(lang)

	lt, err := newLessonTrust(lesson, sourceOf(nil, lesson), f.trust)
	if err != nil {
		return Fail(ExitUsage, "check: %v", err)
	}
	setup, err := openLab(ctx, opts, lesson, labSetupOptions{Log: cmd.ErrOrStderr(), Lang: lang, Trust: lt, Verifier: true})
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	cluster, lab, v := setup.Cluster, setup.Lab, setup.Verifier
	defer func() { _ = lab.Close() }()

	// History objectives are judged on what klab run (or an earlier check --wait) saw during the step;
	// --wait goes on watching and adds to it.
	hists := newStepHistories(lab.Dir, nil)
	historyOf := map[*lessons.Objective]*verify.History{}
	var objs []*lessons.Objective
	for _, s := range steps {
		objs = append(objs, s.Objectives...)
		for _, o := range s.Objectives {
			historyOf[o] = hists.get(s.Index)
		}
	}
	withHistory := verify.WithHistoryOf(func(o *lessons.Objective) *verify.History { return historyOf[o] })
	if waitFlag(f.wait) == waitAuto {
		f.wait = 0
		for _, s := range steps {
			f.wait = max(f.wait, s.Bound(validate.DefaultStepTimeout))
		}
	}
	var results []verify.Result
	timedOut := false
	if f.wait > 0 {
		if !f.json {
			fmt.Fprintln(cmd.ErrOrStderr(), msgs.T("verify.check.waiting", f.wait))
		}
		results, timedOut = waitPass(ctx, v, objs, f.wait, withHistory)
		if ctx.Err() != nil {
			return fmt.Errorf("check: %w", ctx.Err())
		}
	} else {
		results = v.Evaluate(ctx, objs, withHistory)
	}

	rep := checkReport{Lesson: lesson.ID, Cluster: cluster.Name, Namespace: lab.Namespace,
		Passed: verify.AllPass(objs, results), TimedOut: timedOut}
	i := 0
	for _, s := range steps {
		cs := checkStep{Index: s.Index, Title: s.Title, Results: results[i : i+len(s.Objectives)]}
		if cs.Results == nil {
			cs.Results = []verify.Result{}
		}
		i += len(s.Objectives)
		rep.Steps = append(rep.Steps, cs)
	}
	if f.json {
		if err := writeJSON(cmd.OutOrStdout(), rep); err != nil {
			return err
		}
	} else {
		printChecklist(cmd.OutOrStdout(), msgs, rep, f.verbose)
		if timedOut {
			fmt.Fprintln(cmd.ErrOrStderr(), msgs.T("verify.check.timeout", f.wait))
		}
	}
	switch {
	case rep.Passed:
		return nil
	case timedOut:
		return Silent(ExitTimeout)
	default:
		return Silent(ExitFailed)
	}
}

// waitFlag is --wait: a duration, or "auto" for the bound the lesson gives
// (the step's timeout, else its largest objective timeout, else validate's default).
type waitFlag time.Duration

const waitAuto = waitFlag(-1)

func (w *waitFlag) String() string {
	if *w == waitAuto {
		return "auto"
	}
	return time.Duration(*w).String()
}

func (w *waitFlag) Set(s string) error {
	if s == "auto" {
		*w = waitAuto
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("invalid argument %q: a duration such as 90s, or auto", s)
	}
	*w = waitFlag(d)
	return nil
}

func (w *waitFlag) Type() string { return "duration|auto" }

// waitPass watches objs until they all pass or bound runs out; it returns
// the last results and whether the bound ran out.
func waitPass(ctx context.Context, v *verify.Verifier, objs []*lessons.Objective, bound time.Duration, opts ...verify.Option) ([]verify.Result, bool) {
	wctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	var last []verify.Result
	for rs := range v.Watch(wctx, objs, opts...) {
		last = rs
		if verify.AllPass(objs, rs) {
			return rs, false
		}
	}
	if last == nil {
		// The bound ran out before the first evaluation ended.
		last = make([]verify.Result, len(objs))
		for i, o := range objs {
			last[i] = verify.Result{ID: o.ID, Title: o.Title, Status: verify.StatusPending, Hint: o.Hint}
		}
	}
	return last, errors.Is(wctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
}

func statusMark(s verify.Status) string {
	switch s {
	case verify.StatusPass:
		return "✓"
	case verify.StatusFail:
		return "✗"
	case verify.StatusError:
		return "!"
	}
	return "…"
}

// printChecklist writes the plain-text checklist (no colour: it is also read
// by scripts and CI logs).
func printChecklist(w io.Writer, msgs *assets.Messages, rep checkReport, verbose bool) {
	fmt.Fprintln(w, msgs.T("verify.check.cluster", rep.Cluster, rep.Namespace))
	total, passed := 0, 0
	for _, s := range rep.Steps {
		fmt.Fprintln(w, msgs.T("verify.check.header", s.Index, s.Title))
		if len(s.Results) == 0 {
			fmt.Fprintf(w, "  - %s\n", msgs.T("verify.check.noObjectives"))
		}
		for _, r := range s.Results {
			total++
			if r.Status == verify.StatusPass {
				passed++
			}
			title := r.Title
			if title == "" {
				title = r.ID
			}
			line := fmt.Sprintf("  %s %s", statusMark(r.Status), title)
			if r.Message != "" && (r.Status != verify.StatusPass || verbose) {
				line += " — " + r.Message
			}
			fmt.Fprintln(w, line)
			if verbose && r.Status != verify.StatusPass {
				if r.Hint != "" {
					fmt.Fprintf(w, "      %s\n", msgs.T("verify.check.hint", r.Hint))
				}
				for _, l := range strings.Split(strings.TrimRight(r.Diff, "\n"), "\n") {
					if l != "" {
						fmt.Fprintf(w, "      %s\n", l)
					}
				}
			}
		}
	}
	fmt.Fprintln(w, msgs.T("verify.check.summary", passed, total))
}
