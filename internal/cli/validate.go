package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/klabdev/klab/internal/trust"
	"github.com/klabdev/klab/internal/validate"
	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/runner"
	"github.com/klabdev/klab/sandbox/sandboxctl"
)

type validateOptions struct {
	junit   string
	json    bool
	jobs    int
	keep    bool
	timeout time.Duration
	step    int
}

func newValidateCommand(opts *Options) *cobra.Command {
	vo := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate PATH|URL...",
		Short: "Prove each step's objectives fail before and pass after its solution",
		Long: "validate runs every lesson in a fresh namespace: for each step it checks that the objectives fail\n" +
			"before the solution, runs the solution (the step's solution script, else its exec blocks), and\n" +
			"waits for the objectives to pass. With --sandbox it starts a private, temporary sandbox.\n" +
			"validate trusts the lessons it is asked to validate (it runs their scripts) and says so in its report.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runValidate(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), opts, vo, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&vo.junit, "junit", "", "write a JUnit XML report to FILE")
	f.BoolVar(&vo.json, "json", false, "print the report as JSON (schema 1)")
	f.IntVarP(&vo.jobs, "jobs", "j", 1, "validate N lessons in parallel")
	f.BoolVar(&vo.keep, "keep", false, "keep each lesson's namespace and workspace")
	f.DurationVar(&vo.timeout, "timeout", 30*time.Minute, "bound for the whole run (exit 124)")
	f.IntVar(&vo.step, "step", 0, "validate only step N, after replaying the solutions before it")
	return cmd
}

// loadForValidate loads and lints every lesson; lint errors stop the run before any command.
func loadForValidate(w io.Writer, args []string) ([]*lessons.Lesson, error) {
	var all []*lessons.Lesson
	errs := 0
	for _, arg := range args {
		ls, diags := loadAndLint(arg)
		for _, d := range diags {
			if d.Severity == lessons.SevError {
				errs++
				fmt.Fprintln(w, d.String())
			}
		}
		all = append(all, ls...)
	}
	if errs > 0 {
		return nil, Fail(ExitUsage, "%s in the lessons: nothing was run", plural(errs, "error"))
	}
	if len(all) == 0 {
		return nil, Fail(ExitUsage, "no lesson found in %s", strings.Join(args, " "))
	}
	return all, nil
}

func runValidate(ctx context.Context, stdout, stderr io.Writer, opts *Options, vo *validateOptions, args []string) error {
	origins, err := locateAll(ctx, args)
	if err != nil {
		return err
	}
	ls, err := loadForValidate(stderr, locals(origins))
	if err != nil {
		return err
	}
	if vo.step > 0 && len(ls) != 1 {
		return Fail(ExitUsage, "--step needs exactly one lesson")
	}
	ctx, cancel := context.WithTimeout(ctx, vo.timeout)
	defer cancel()

	cluster, stop, err := validateCluster(ctx, stderr, opts, lessonNodes(stderr, ls))
	if err != nil {
		return err
	}
	defer stop()

	stateDir, err := os.MkdirTemp("", "klab-validate-")
	if err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	if !vo.keep {
		defer func() { _ = os.RemoveAll(stateDir) }()
	}

	progress, stopProgress := newProgress(stderr)
	defer stopProgress()
	reports := make([]*validate.LessonReport, len(ls))
	errs := make([]error, len(ls))
	sem := make(chan struct{}, max(1, vo.jobs))
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			reports[i], errs[i] = validate.Lesson(ctx, l, validate.Options{
				Cluster: cluster, StateDir: stateDir, Keep: vo.keep, Step: vo.step, Progress: progress,
			})
			if reports[i] == nil {
				reports[i] = &validate.LessonReport{ID: l.ID, Title: l.Title, Path: l.Dir, Status: validate.StatusFail}
				if errs[i] != nil {
					reports[i].Error = errs[i].Error()
				}
			}
			reports[i].Trust = validateTrust(l)
		}()
	}
	wg.Wait()
	stopProgress()

	if vo.json {
		if err := validate.WriteJSON(stdout, reports); err != nil {
			return err
		}
	} else {
		validate.WriteText(stdout, reports)
	}
	if vo.junit != "" {
		if err := writeFileAtomic(vo.junit, func(w io.Writer) error { return validate.WriteJUnit(w, reports) }); err != nil {
			return fmt.Errorf("junit report: %w", err)
		}
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return Fail(ExitTimeout, "validate: time is up after %s", vo.timeout)
	}
	if ctx.Err() != nil {
		return &ExitError{Code: ExitInterrupted, Err: ctx.Err()}
	}
	for _, r := range reports {
		if r.Status != validate.StatusPass {
			return Silent(ExitFailed)
		}
	}
	return nil
}

// validateCluster picks the cluster: a private temporary sandbox with --sandbox,
// else the one every command selects.
func validateCluster(ctx context.Context, log io.Writer, opts *Options, nodes int) (*runner.Cluster, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("find klab executable: %w", err)
	}
	if !opts.Sandbox {
		so := selectOptions(opts, log, opts.Lang)
		so.SandboxDir, so.KlabBin, so.SandboxNodes = sandboxctl.DefaultDataDir(), exe, nodes
		c, err := runner.Select(ctx, so)
		if err != nil {
			return nil, nil, fmt.Errorf("select cluster: %w", err)
		}
		return c, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "klab-validate-sandbox-")
	if err != nil {
		return nil, nil, fmt.Errorf("sandbox dir: %w", err)
	}
	// A private sandbox, child of this process: it dies with klab, whatever happens.
	p, err := sandboxctl.Start(ctx, dir, exe, sandboxctl.StartOptions{Nodes: nodes})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("start private sandbox: %w", err)
	}
	fmt.Fprintf(log, "klab: private sandbox %s\n", p.ReadyLine)
	stop := func() {
		if err := p.Stop(30 * time.Second); err != nil {
			fmt.Fprintf(log, "klab: stop private sandbox: %v\n", err)
		}
		_ = os.RemoveAll(dir)
	}
	// Select finds the sandbox running on dir and picks the kubectl flavour as for any lab.
	c, err := runner.Select(ctx, runner.SelectOptions{Sandbox: true, SandboxDir: dir, KlabBin: exe, Log: io.Discard})
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("select private sandbox: %w", err)
	}
	return c, stop, nil
}

// lessonNodes is the sandbox node count the lessons agree on (see lessons.Lesson.Nodes): 0 when none
// asks, or when they ask for different counts, which one sandbox cannot give them all (they then get
// the sandbox's default, and log says so).
func lessonNodes(log io.Writer, ls []*lessons.Lesson) int {
	nodes := 0
	for _, l := range ls {
		switch n := l.Nodes(); {
		case n == 0 || n == nodes:
		case nodes == 0:
			nodes = n
		default:
			fmt.Fprintf(log, "klab: the lessons need sandboxes of different node counts (%s: %d); they share one with the default node count\n", l.ID, n)
			return 0
		}
	}
	return nodes
}

// newProgress reports each step: on a terminal one live line per step with a
// spinner and the elapsed time, redrawn in place; otherwise plain lines (CI).
func newProgress(w io.Writer) (func(validate.Event), func()) {
	f, isFile := w.(*os.File)
	live := isFile && isatty.IsTerminal(f.Fd()) && os.Getenv("CI") == ""
	var mu sync.Mutex
	running := map[string]validate.Event{} // lesson → step under way
	started := map[string]time.Time{}
	stop := make(chan struct{})
	var once sync.Once
	done := func() { once.Do(func() { close(stop) }) }
	frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
	if live {
		go func() {
			t := time.NewTicker(100 * time.Millisecond)
			defer t.Stop()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				mu.Lock()
				for id, e := range running {
					fmt.Fprintf(w, "\r\x1b[K%c %s: step %d %s  %s", frames[i%len(frames)], id, e.Step, e.Title,
						time.Since(started[id]).Round(100*time.Millisecond))
				}
				mu.Unlock()
			}
		}()
	}
	return func(e validate.Event) {
		mu.Lock()
		defer mu.Unlock()
		if !e.Done {
			running[e.Lesson], started[e.Lesson] = e, time.Now()
			if !live {
				fmt.Fprintf(w, "%s: step %d %s …\n", e.Lesson, e.Step, e.Title)
			}
			return
		}
		delete(running, e.Lesson)
		mark := "✓"
		if e.Status != validate.StatusPass {
			mark = "✗"
		}
		if live {
			fmt.Fprint(w, "\r\x1b[K")
		}
		fmt.Fprintf(w, "%s %s: step %d %s (%s)\n", mark, e.Lesson, e.Step, e.Title, e.Took.Round(100*time.Millisecond))
	}, done
}

// writeFileAtomic writes through a temp file and a rename: never half a file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := write(tmp); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// validateTrust says why validate ran the lesson's scripts: it trusts what
// it is asked to validate (the author's test runner), without remembering it.
func validateTrust(l *lessons.Lesson) string {
	reason, _, err := trust.Decide(l, trust.NewStore(stateDir()), true)
	if err != nil {
		return string(trust.ThisRun)
	}
	return string(reason)
}
