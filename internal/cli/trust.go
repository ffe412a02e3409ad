package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/klabdev/klab/assets"
	"github.com/klabdev/klab/internal/trust"
	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/runner"
	"github.com/klabdev/klab/verify"
)

// lessonTrust is one lesson's trust for one command: whether its scripts
// may run, and how to trust it. It implements tui.Truster.
type lessonTrust struct {
	lesson *lessons.Lesson
	source string
	store  trust.Store
	hash   string

	mu     sync.Mutex
	reason trust.Reason
}

// newLessonTrust decides for l (from source); thisRun is --trust or KLAB_TRUST=1.
func newLessonTrust(l *lessons.Lesson, source string, thisRun bool) (*lessonTrust, error) {
	store := trust.NewStore(stateDir())
	reason, hash, err := trust.Decide(l, store, thisRun)
	if err != nil {
		return nil, fmt.Errorf("trust of %s: %w", source, err)
	}
	return &lessonTrust{lesson: l, source: source, store: store, hash: hash, reason: reason}, nil
}

// Trusted reports whether the lesson's scripts may run.
func (t *lessonTrust) Trusted() bool {
	if t == nil {
		return false // no decision: nothing runs
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reason != trust.NotTrusted
}

// Scripts are the lesson's own scripts.
func (t *lessonTrust) Scripts() []trust.Script { return trust.Scripts(t.lesson) }

// Trust remembers the lesson's content as trusted.
func (t *lessonTrust) Trust(context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.reason != trust.NotTrusted {
		return nil
	}
	if t.hash == "" {
		return fmt.Errorf("trust %s: the lesson's files cannot be read", t.source)
	}
	if err := t.store.Add(t.hash, t.source, time.Now()); err != nil {
		return fmt.Errorf("trust %s: %w", t.source, err)
	}
	t.reason = trust.Remembered
	return nil
}

// Command is what trusts the lesson from a shell.
func (t *lessonTrust) Command() string { return "klab trust " + shellQuote(t.source) }

// gate is what stands before every run of a lesson script: nil when it
// may run, an error wrapping verify.ErrUntrusted when not.
func (t *lessonTrust) gate(s *lessons.Script) error {
	if t.Trusted() {
		return nil
	}
	return fmt.Errorf("%s: %w", s.Path, verify.ErrUntrusted)
}

// envTrust is KLAB_TRUST=1 (or true): --trust's default.
func envTrust() bool {
	v := os.Getenv("KLAB_TRUST")
	return v == "1" || v == "true"
}

// addTrustFlag adds --trust to a command that runs lesson scripts.
func addTrustFlag(cmd *cobra.Command, p *bool) {
	cmd.Flags().BoolVar(p, "trust", envTrust(), "trust the lesson's scripts for this run only (KLAB_TRUST=1)")
}

// newTrustCommand builds `klab trust PATH|URL [--yes]`.
func newTrustCommand(opts *Options) *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "trust PATH|URL",
		Short: "Show a lesson's scripts and let klab run them (remembered until they change)",
		Long: "trust lists the scripts a lesson (or every lesson of a course) holds — background, foreground,\n" +
			"verify, objective and solution scripts: path, size and first lines — and asks whether klab may run\n" +
			"them on this machine. The answer is remembered by a hash of every file of the lesson folder in\n" +
			"$XDG_STATE_HOME/klab/trust.json: a changed file asks again. Embedded lessons are always trusted.",
		Example: "  klab trust ./my-lesson\n  klab trust https://github.com/o/r.git//lessons/demo --yes",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runTrust(cmd, opts, args[0], yes)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "trust without asking (non-interactive)")
	return cmd
}

// newUntrustCommand builds `klab untrust PATH|URL`.
func newUntrustCommand(opts *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "untrust PATH|URL",
		Short: "Forget that a lesson's scripts were trusted",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, ls, err := trustTargets(cmd, args[0])
			if err != nil {
				return err
			}
			store := trust.NewStore(stateDir())
			for _, l := range ls {
				src := sourceOf([]origin{o}, l)
				t := cliCatalog(opts, l).T
				if l.IsEmbedded() {
					fmt.Fprintln(cmd.OutOrStdout(), t("cli.trust.embedded", l.ID))
					continue
				}
				h, err := trust.Hash(l.FS)
				if err != nil {
					return fmt.Errorf("untrust %s: %w", src, err)
				}
				n, err := store.Remove(h, src)
				if err != nil {
					return fmt.Errorf("untrust %s: %w", src, err)
				}
				if n == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), t("cli.untrust.none", l.ID, src))
				} else {
					fmt.Fprintln(cmd.OutOrStdout(), t("cli.untrust.done", l.ID, src))
				}
			}
			return nil
		},
	}
}

// trustTargets loads the lessons a trust command names (a lesson or a course).
func trustTargets(cmd *cobra.Command, arg string) (origin, []*lessons.Lesson, error) {
	o, err := locate(cmd.Context(), arg)
	if err != nil {
		return o, nil, err
	}
	if _, serr := os.Stat(o.local); serr != nil {
		l, diags, err := lessons.Resolve(arg)
		if l == nil {
			return o, nil, Fail(ExitUsage, "%s", lessonError(arg, diags, err))
		}
		return o, []*lessons.Lesson{l}, nil
	}
	ls, diags, err := lessons.Discover(o.local)
	if len(ls) == 0 {
		return o, nil, Fail(ExitUsage, "%s", lessonError(arg, diags, err))
	}
	return o, ls, nil
}

func runTrust(cmd *cobra.Command, opts *Options, arg string, yes bool) error {
	o, ls, err := trustTargets(cmd, arg)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	t := cliCatalog(opts, ls[0]).T
	store := trust.NewStore(stateDir())
	var pending []*lessonTrust
	for _, l := range ls {
		lt, err := newLessonTrust(l, sourceOf([]origin{o}, l), false)
		if err != nil {
			return err
		}
		switch lt.reason {
		case trust.Embedded:
			fmt.Fprintln(out, t("cli.trust.embedded", l.ID))
			continue
		case trust.NoScripts:
			fmt.Fprintln(out, t("cli.trust.noScripts", l.ID))
			continue
		case trust.Remembered:
			fmt.Fprintln(out, t("cli.trust.already", l.ID, lt.source))
			continue
		}
		printScripts(out, t, lt)
		pending = append(pending, lt)
	}
	if len(pending) == 0 {
		return nil
	}
	if !yes {
		in, ok := cmd.InOrStdin().(*os.File)
		if !ok || !term.IsTerminal(in.Fd()) {
			return Fail(ExitUsage, "%s", t("cli.trust.notTTY"))
		}
		fmt.Fprint(out, t("cli.trust.ask"))
		line, _ := bufio.NewReader(in).ReadString('\n')
		switch strings.ToLower(strings.TrimSpace(line)) {
		case "y", "yes", "o", "oui":
		default:
			fmt.Fprintln(out, t("cli.trust.declined"))
			return Silent(ExitFailed)
		}
	}
	for _, lt := range pending {
		lt.store = store
		if err := lt.Trust(cmd.Context()); err != nil {
			return err
		}
		fmt.Fprintln(out, t("cli.trust.done", lt.lesson.ID, lt.source))
	}
	return nil
}

// printScripts lists a lesson's scripts: path, role, size, first lines.
func printScripts(w io.Writer, t func(string, ...any) string, lt *lessonTrust) {
	ss := lt.Scripts()
	fmt.Fprintln(w, t("cli.trust.header", lt.lesson.ID, lt.lesson.Title, lt.source, len(ss)))
	for _, s := range ss {
		fmt.Fprintln(w, t("cli.trust.script", s.Path, s.Role, s.Size))
		lines := s.FirstLines(6)
		for _, l := range lines {
			fmt.Fprintf(w, "    │ %s\n", l)
		}
		if n := strings.Count(strings.TrimRight(s.Body, "\n"), "\n") + 1; n > len(lines) {
			fmt.Fprintln(w, t("cli.trust.more", n-len(lines), lt.lesson.FilePath(s.Path)))
		}
	}
}

// gatedScripts runs script objectives in the lab once the lesson is trusted.
func gatedScripts(lab *runner.Lab, lt *lessonTrust, logf func(string, ...any)) func(context.Context, *lessons.Script) (string, int, error) {
	return func(ctx context.Context, s *lessons.Script) (string, int, error) {
		if err := lt.gate(s); err != nil {
			return "", 0, err
		}
		r, err := lab.RunScript(ctx, s, func([]byte) {})
		if kerr := lab.KeepOutput(s, r); kerr != nil { // the result is what counts: the kept copy is a help
			logf("%v", kerr)
		}
		if err != nil {
			return r.Output, r.ExitCode, fmt.Errorf("run %s: %w", s.Path, err)
		}
		return r.Output, r.ExitCode, nil
	}
}

// cliCatalog is the messages in --lang, else the lesson's language.
func cliCatalog(opts *Options, l *lessons.Lesson) *assets.Messages {
	lang := opts.Lang
	if lang == "" && l != nil {
		lang = l.Lang
	}
	return assets.Catalog(lang)
}
