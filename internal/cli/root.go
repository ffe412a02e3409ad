// Package cli builds klab's cobra commands. Each subcommand is a constructor
// returning *cobra.Command; exit codes are decided in one place (Execute).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes, in one place.
const (
	ExitOK          = 0
	ExitFailed      = 1   // a check or validation failed
	ExitUsage       = 2   // bad usage or bad lesson
	ExitTimeout     = 124 // a bound ran out
	ExitInterrupted = 130 // Ctrl+C
)

// ExitError carries an exit code chosen by a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Fail returns an ExitError with code and a formatted message.
func Fail(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// Silent is an ExitError whose command already printed why it failed.
func Silent(code int) error { return &ExitError{Code: code} }

// usageError marks cobra's own argument and flag errors.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// Execute runs root and maps its error to an exit code, printing the error once.
func Execute(ctx context.Context, root *cobra.Command, stderr io.Writer) int {
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	code := ExitFailed
	var ee *ExitError
	var ue usageError
	switch {
	case errors.As(err, &ee):
		code = ee.Code
	case errors.As(err, &ue):
		code = ExitUsage
	case errors.Is(err, context.DeadlineExceeded):
		code = ExitTimeout
	case errors.Is(err, context.Canceled):
		code = ExitInterrupted
	}
	if msg := err.Error(); msg != "" && (ee == nil || ee.Err != nil) {
		fmt.Fprintf(stderr, "%s: %s\n", root.DisplayName(), msg)
	}
	return code
}

// Options are the flags shared by every command that reaches a cluster.
// Precedence: flags > KLAB_* environment > config file > defaults.
type Options struct {
	Kubeconfig string
	Context    string
	Namespace  string
	Sandbox    bool
	Kubectl    string // "auto", "microk8s kubectl", "kubectl", a path
	Lang       string // UI language override
}

// NewRootCommand builds the klab command tree.
func NewRootCommand() *cobra.Command { return NewRootCommandAs("klab") }

// DisplayName is how a binary invoked as argv0 is called in help and usage:
// "kubectl lab" for the kubectl plugin (kubectl-lab, as kubectl and krew
// install it; kubectl-lab_foo would be "kubectl lab-foo"), else "klab".
func DisplayName(argv0 string) string {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	if plugin, ok := strings.CutPrefix(base, "kubectl-"); ok && plugin != "" {
		return "kubectl " + strings.ReplaceAll(strings.ReplaceAll(plugin, "-", " "), "_", "-")
	}
	return "klab"
}

// NewRootCommandAs builds the klab command tree for a binary invoked as
// argv0: as kubectl-lab, help and usage lines say `kubectl lab …`.
func NewRootCommandAs(argv0 string) *cobra.Command {
	opts := &Options{}
	name := DisplayName(argv0)
	root := &cobra.Command{
		Use:           strings.ReplaceAll(name, " ", "-") + " [LESSON|PATH|URL]",
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: name},
		Short:         "Interactive Kubernetes labs in your terminal",
		Long:          "klab runs Kubernetes lessons (Killercoda format) in your terminal, runs their commands against your cluster\nor an embedded sandbox, and checks each step's objectives live.",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.MaximumNArgs(1),
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	// Precedence: flags > KLAB_* environment > config file > defaults.
	cfg, cfgErr := loadConfig(configPath())
	if cfgErr != nil {
		root.PersistentPreRunE = func(*cobra.Command, []string) error { return &ExitError{Code: ExitUsage, Err: cfgErr} }
	}
	sandboxDefault := cfg.Sandbox
	if v, ok := os.LookupEnv("KLAB_SANDBOX"); ok {
		sandboxDefault = v == "1" || v == "true"
	}
	pf := root.PersistentFlags()
	pf.StringVar(&opts.Kubeconfig, "kubeconfig", envOr("KLAB_KUBECONFIG", cfg.Kubeconfig), "path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
	pf.StringVar(&opts.Context, "context", envOr("KLAB_CONTEXT", cfg.Context), "kubeconfig context to use")
	pf.StringVarP(&opts.Namespace, "namespace", "n", envOr("KLAB_NAMESPACE", cfg.Namespace), "lab namespace (default klab-<lesson-id>)")
	pf.BoolVar(&opts.Sandbox, "sandbox", sandboxDefault, "use klab's embedded sandbox cluster")
	pf.StringVar(&opts.Kubectl, "kubectl", envOr("KLAB_KUBECTL", or(cfg.Kubectl, "auto")), `kubectl flavour: auto, "microk8s kubectl", kubectl, or a path`)
	pf.StringVar(&opts.Lang, "lang", envOr("KLAB_LANG", cfg.Lang), "UI language: fr or en (default: the lesson's)")

	run := newRunCommand(opts)
	root.RunE = run.RunE
	root.Flags().AddFlagSet(run.Flags())
	root.AddCommand(
		run,
		newListCommand(opts),
		newLintCommand(opts),
		newInspectCommand(opts),
		newCheckCommand(opts),
		newValidateCommand(opts),
		newSandboxCommand(opts),
		newKubectlCommand(opts),
		newShellCommand(opts),
		newTrustCommand(opts),
		newUntrustCommand(opts),
		newVersionCommand(),
	)
	// Kubernetes libraries register flags (--version) on pflag's global set,
	// which cobra merges into the root: they are not klab's, so hide them.
	pflag.CommandLine.VisitAll(func(f *pflag.Flag) { f.Hidden = true })
	for _, c := range root.Commands() {
		wrapArgs(c)
	}
	wrapArgs(root)
	if name != "klab" {
		renameExamples(root, name)
	}
	return root
}

// renameExamples makes the examples of c and its subcommands, written
// `  klab …`, read `  NAME …`.
func renameExamples(c *cobra.Command, name string) {
	if c.Example != "" {
		lines := strings.Split(c.Example, "\n")
		for i, l := range lines {
			if rest, ok := strings.CutPrefix(strings.TrimLeft(l, " "), "klab "); ok {
				lines[i] = l[:len(l)-len(strings.TrimLeft(l, " "))] + name + " " + rest
			}
		}
		c.Example = strings.Join(lines, "\n")
	}
	for _, sub := range c.Commands() {
		renameExamples(sub, name)
	}
}

// wrapArgs turns positional-argument errors into usage errors (exit 2).
func wrapArgs(c *cobra.Command) {
	if c.Args == nil {
		return
	}
	args := c.Args
	c.Args = func(cmd *cobra.Command, a []string) error {
		if err := args(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok {
		return v
	}
	return def
}
