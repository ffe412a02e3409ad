package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/klabdev/klab/internal/dirs"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/klabdev/klab/internal/trust"
	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/runner"
	"github.com/klabdev/klab/tui"
	"github.com/klabdev/klab/verify"
)

// newRunCommand opens a lesson in the TUI (`klab` alone maps here).
func newRunCommand(opts *Options) *cobra.Command {
	var restart, trustRun bool
	cmd := &cobra.Command{
		Use:   "run [LESSON|PATH|URL]",
		Short: "Open a lesson in the interactive terminal UI",
		Long: "klab run opens a lesson (an embedded lesson id, a lesson or course folder, or a git URL) in the terminal UI:\n" +
			"the text rendered, its commands one key away, objectives checked live, progress saved and resumed. With no\n" +
			"argument it opens the lesson picker when several lessons are embedded, the lesson itself when there is one.\n" +
			"A lesson that is not embedded runs none of its own scripts until you trust it (see klab trust).",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			return runTUI(cmd, opts, arg, restart, trustRun)
		},
	}
	cmd.Flags().BoolVar(&restart, "restart", false, "start the lesson over (forget saved progress)")
	addTrustFlag(cmd, &trustRun)
	return cmd
}

func runTUI(cmd *cobra.Command, opts *Options, arg string, restart, trustRun bool) error {
	cfg := tui.Config{Lang: opts.Lang, Restart: restart}
	var origins []origin
	if arg != "" {
		o, err := locate(cmd.Context(), arg)
		if err != nil {
			return err
		}
		origins = append(origins, o)
		ls, err := openLessons(o)
		if err != nil {
			return err
		}
		if len(ls) == 1 {
			cfg.Open = ls[0]
		} else {
			cfg.Lessons = ls
		}
	} else {
		ls, err := lessons.Embedded()
		if len(ls) == 0 {
			if err == nil {
				err = errors.New("no embedded lesson: give a lesson folder")
			}
			return Fail(ExitUsage, "%v", err)
		}
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "klab: %v\n", err)
		}
		cfg.Lessons = ls
	}
	out, ok := cmd.OutOrStdout().(*os.File)
	if !ok || !term.IsTerminal(out.Fd()) || !term.IsTerminal(os.Stdin.Fd()) {
		return Fail(ExitUsage, "klab run needs a terminal (try `klab inspect`, `klab check` or `klab shell`)")
	}
	state := stateDir()
	logf, closeLog := openLog(filepath.Join(state, "klab.log"))
	defer closeLog()
	logf("klab run %q (restart=%v)", arg, restart)

	var mu sync.Mutex
	var backends []*labBackend
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, b := range backends {
			b.Close()
		}
	}()
	cfg.NewBackend = func(l *lessons.Lesson) tui.Backend {
		src := sourceOf(origins, l)
		lt, err := newLessonTrust(l, src, trustRun)
		if err != nil {
			logf("%v", err)
			lt = &lessonTrust{lesson: l, source: src} // not trusted, and cannot be
		}
		logf("lesson %s from %s: trust %q", l.ID, src, lt.reason)
		b := &labBackend{opts: *opts, lesson: l, logf: logf, logw: logWriter{logf}, trust: lt}
		mu.Lock()
		backends = append(backends, b)
		mu.Unlock()
		return b
	}
	cfg.Store = tui.Store{Path: filepath.Join(state, "progress.json")}
	cfg.DetectTerminal(out)
	cfg.Clipboard = out
	cfg.Logf = logf
	if err := tui.Run(cmd.Context(), cfg, tui.WithOutput(out)); err != nil {
		logf("tui: %v", err)
		return err
	}
	return nil
}

// openLessons loads what klab run opens: one lesson, or the lessons of a
// course (or folder of lessons) for the picker.
func openLessons(o origin) ([]*lessons.Lesson, error) {
	if st, err := os.Stat(o.local); err == nil && st.IsDir() && !exists(filepath.Join(o.local, lessons.IndexFile)) {
		ls, diags, err := lessons.Discover(o.local)
		if err != nil || len(ls) == 0 {
			return nil, Fail(ExitUsage, "%s", lessonError(o.String(), diags, err))
		}
		return ls, nil
	}
	l, diags, err := lessons.Resolve(o.local)
	if err != nil || l == nil {
		return nil, Fail(ExitUsage, "%s", lessonError(o.String(), diags, err))
	}
	return []*lessons.Lesson{l}, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// lessonError names every error diagnostic (file:line) of a lesson that
// cannot be opened.
func lessonError(arg string, diags []lessons.Diagnostic, err error) string {
	var lines []string
	for _, d := range diags {
		if d.Severity == lessons.SevError {
			lines = append(lines, d.String())
		}
	}
	if len(lines) == 0 && err != nil {
		return err.Error()
	}
	return fmt.Sprintf("lesson %s has errors:\n  %s", arg, strings.Join(lines, "\n  "))
}

// stateDir is klab's state folder (internal/dirs).
func stateDir() string { return dirs.State() }

// openLog appends to the log file (stdout belongs to the TUI); when it cannot
// be opened, logs are dropped rather than drawn over the screen.
func openLog(path string) (func(string, ...any), func()) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return func(string, ...any) {}, func() {}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return func(string, ...any) {}, func() {}
	}
	lg := log.New(f, "", log.LstdFlags|log.Lmicroseconds)
	return func(format string, args ...any) { lg.Printf(format, args...) }, func() { _ = f.Close() }
}

// logWriter turns runner's progress messages into log lines.
type logWriter struct{ logf func(string, ...any) }

func (w logWriter) Write(p []byte) (int, error) {
	w.logf("%s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// labBackend is the TUI's Backend on the real runner and verify packages.
type labBackend struct {
	opts   Options
	lesson *lessons.Lesson
	logf   func(string, ...any)
	logw   io.Writer
	trust  *lessonTrust

	mu         sync.Mutex
	lab        *runner.Lab
	ver        *verify.Verifier
	hist       *stepHistories // what each step's history objectives have seen (in the lab folder)
	ping       rest.Interface
	cols, rows int
}

func (b *labBackend) lang() string {
	if b.opts.Lang != "" {
		return b.opts.Lang
	}
	return b.lesson.Lang
}

// Connect selects the cluster (starting the sandbox when nothing answers)
// and prepares the lab; a second call reuses them.
func (b *labBackend) Connect(ctx context.Context) (tui.ClusterInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lab != nil {
		return tui.ClusterInfo{Name: b.lab.Cluster.Name, Kind: b.lab.Cluster.Kind}, nil
	}
	setup, err := openLab(ctx, &b.opts, b.lesson, labSetupOptions{Log: b.logw, Lang: b.lang(), Trust: b.trust, Logf: b.logf, Verifier: true})
	if err != nil {
		return tui.ClusterInfo{}, err
	}
	c, lab, ver := setup.Cluster, setup.Lab, setup.Verifier
	rc, err := lab.RestConfig()
	if err != nil {
		_ = lab.Close()
		return tui.ClusterInfo{}, fmt.Errorf("lab client config: %w", err)
	}
	b.lab, b.ver = lab, ver
	b.hist = newStepHistories(lab.Dir, b.logf)
	pc := rest.CopyConfig(rc)
	pc.Timeout = pingTimeout
	if cs, err := kubernetes.NewForConfig(pc); err == nil {
		b.ping = cs.Discovery().RESTClient()
	}
	if b.cols > 0 {
		lab.SetWindowSize(b.cols, b.rows)
	}
	b.logf("lesson %s: cluster %s (%s), namespace %s, workspace %s", b.lesson.ID, c.Name, c.Kind, lab.Namespace, lab.Workspace)
	return tui.ClusterInfo{Name: c.Name, Kind: c.Kind, Started: c.Started}, nil
}

func (b *labBackend) get() (*runner.Lab, *verify.Verifier) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lab, b.ver
}

var errNotConnected = errors.New("no cluster yet")

// EnterPage starts the page's background script and runs its foreground
// script (its output goes to the log).
func (b *labBackend) EnterPage(ctx context.Context, p *lessons.Page) error {
	lab, _ := b.get()
	if lab == nil {
		return errNotConnected
	}
	for _, s := range []*lessons.Script{p.Background, p.Foreground} {
		if s == nil {
			continue
		}
		if err := b.trust.gate(s); err != nil {
			return err
		}
	}
	if p.Background != nil {
		if err := lab.StartBackground(ctx, p.Background); err != nil {
			return fmt.Errorf("%s: %w", p.Background.Path, err)
		}
	}
	if p.Foreground != nil {
		r, err := lab.RunScript(ctx, p.Foreground, nil)
		b.logf("foreground %s: exit %d (output in %s)", p.Foreground.Path, r.ExitCode, lab.LogPath(p.Foreground))
		if kerr := lab.KeepOutput(p.Foreground, r); kerr != nil {
			b.logf("%v", kerr)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p.Foreground.Path, err)
		}
	}
	return nil
}

// Run runs a block in the lab; an interrupt block first interrupts the
// running commands.
func (b *labBackend) Run(ctx context.Context, bl *lessons.Block, out func([]byte)) (runner.Result, error) {
	lab, _ := b.get()
	if lab == nil {
		return runner.Result{}, errNotConnected
	}
	if bl.Interrupt {
		if err := lab.Interrupt(ctx); err != nil {
			b.logf("interrupt before block %d: %v", bl.Index, err)
		}
	}
	r, err := lab.Run(ctx, bl.Code, out)
	b.logf("block %s:%d: exit %d in %s (interrupted=%v)", bl.File, bl.Line, r.ExitCode, r.Duration, r.Interrupted)
	if err != nil {
		return r, fmt.Errorf("run block %d: %w", bl.Index, err)
	}
	return r, nil
}

// Watch streams the step's objective results.
func (b *labBackend) Watch(ctx context.Context, s *lessons.Step) <-chan []verify.Result {
	_, ver := b.get()
	if ver == nil {
		ch := make(chan []verify.Result)
		close(ch)
		return ch
	}
	return ver.Watch(ctx, s.Objectives, verify.WithHistory(b.histories().get(s.Index)))
}

func (b *labBackend) histories() *stepHistories {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hist
}

// Check evaluates the step's objectives once.
func (b *labBackend) Check(ctx context.Context, s *lessons.Step) []verify.Result {
	_, ver := b.get()
	if ver == nil {
		return nil
	}
	return ver.Evaluate(ctx, s.Objectives, verify.FromHistory(b.histories().get(s.Index)))
}

// solutionTimeout bounds one earlier step's solution while resetting.
const solutionTimeout = 3 * time.Minute

// ResetStep starts the lab over and replays the solution scripts of the
// earlier steps, so the lab is as the step expects it.
func (b *labBackend) ResetStep(ctx context.Context, s *lessons.Step) error {
	lab, _ := b.get()
	if lab == nil {
		return errNotConnected
	}
	if err := lab.Reset(ctx); err != nil {
		return fmt.Errorf("reset lab: %w", err)
	}
	b.histories().reset(s.Index)
	if err := b.installAssets(lab); err != nil {
		return err
	}
	for _, prev := range b.lesson.Steps {
		sol, _ := prev.Solve() // the solution file, else a Killercoda Solution hint
		if prev.Index >= s.Index || sol == nil {
			continue
		}
		if err := b.trust.gate(sol); err != nil {
			return fmt.Errorf("replay step %d solution: %w", prev.Index, err)
		}
		d := solutionTimeout
		if prev.Timeout > 0 {
			d = prev.Timeout
		}
		sctx, cancel := context.WithTimeout(ctx, d)
		r, err := lab.RunScript(sctx, sol, nil)
		cancel()
		if kerr := lab.KeepOutput(sol, r); kerr != nil {
			b.logf("%v", kerr)
		}
		b.logf("reset: step %d solution %s: exit %d", prev.Index, sol.Path, r.ExitCode)
		if err != nil {
			return fmt.Errorf("replay step %d solution: %w", prev.Index, err)
		}
		if r.ExitCode != 0 {
			return fmt.Errorf("replay step %d solution %s: exit %d", prev.Index, sol.Path, r.ExitCode)
		}
	}
	return nil
}

// SetSize sets the pty size of the next runs to the output pane's.
func (b *labBackend) SetSize(cols, rows int) {
	b.mu.Lock()
	b.cols, b.rows = cols, rows
	lab := b.lab
	b.mu.Unlock()
	if lab != nil {
		lab.SetWindowSize(cols, rows)
	}
}

// pingTimeout bounds one reachability check.
const pingTimeout = 3 * time.Second

// Ping checks that the API server still answers (GET /readyz).
func (b *labBackend) Ping(ctx context.Context) error {
	b.mu.Lock()
	rc := b.ping
	b.mu.Unlock()
	if rc == nil {
		return errNotConnected
	}
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := rc.Get().AbsPath("/readyz").Do(ctx).Error(); err != nil {
		return fmt.Errorf("API server: %w", err)
	}
	return nil
}

// Shell is the learner's shell in the lab (nil before Connect).
func (b *labBackend) Shell() *exec.Cmd {
	lab, _ := b.get()
	if lab == nil {
		return nil
	}
	return runner.ShellCommand(lab)
}

// StartTerminal starts the lab shell for the TUI's terminal pane.
func (b *labBackend) StartTerminal(cols, rows int, out func([]byte)) (tui.Terminal, error) {
	lab, _ := b.get()
	if lab == nil {
		return nil, errNotConnected
	}
	t, err := lab.StartTerminal(cols, rows, out)
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	return t, nil
}

// Close ends every process the lab started.
func (b *labBackend) Close() {
	lab, _ := b.get()
	if lab != nil {
		_ = lab.Close()
	}
}

// Trusted, Scripts and Trust make the backend a tui.Truster.
func (b *labBackend) Trusted() bool { return b.trust.Trusted() }

// Scripts are the lesson's own scripts.
func (b *labBackend) Scripts() []trust.Script { return b.trust.Scripts() }

// Trust remembers the lesson as trusted.
func (b *labBackend) Trust(ctx context.Context) error {
	if err := b.trust.Trust(ctx); err != nil {
		return err
	}
	b.logf("lesson %s trusted (%s)", b.lesson.ID, b.trust.source)
	return nil
}
