package cli

import (
	"errors"
	"fmt"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/klabdev/klab/assets"
	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/runner"
)

// newShellCommand opens the learner's shell in a lesson's lab: workspace as
// working directory, lab kubeconfig and namespace, kubectl/k/microk8s shims.
func newShellCommand(opts *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "shell [LESSON|PATH]",
		Short: "Open your shell in a lesson's lab (kubectl, k and microk8s kubectl reach the lab namespace)",
		Long: "klab shell starts $SHELL (or bash) in the lab of a lesson: its folder is the lab workspace, KUBECONFIG is the\n" +
			"lab kubeconfig (namespace klab-<lesson> unless -n), and kubectl, k, microk8s kubectl and microk8s.kubectl all reach\n" +
			"the cluster klab selected (--sandbox, microk8s, your kubeconfig, or the sandbox when nothing answers).",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			lesson, _, err := lessons.Resolve(arg)
			if lesson == nil {
				if err == nil {
					err = errors.New("no lesson")
				}
				return Fail(ExitUsage, "%v", err)
			}
			if err != nil {
				// The lab works even when the lesson text has problems.
				fmt.Fprintf(cmd.ErrOrStderr(), "klab: %v\n", err)
			}
			lang := opts.Lang
			if lang == "" {
				lang = lesson.Lang
			}
			ctx := cmd.Context()
			setup, err := openLab(ctx, opts, lesson, labSetupOptions{Log: cmd.ErrOrStderr(), Lang: lang})
			if err != nil {
				return err
			}
			cluster, lab := setup.Cluster, setup.Lab
			defer func() { _ = lab.Close() }()
			msg := assets.Catalog(lang)
			fmt.Fprintln(cmd.ErrOrStderr(), msg.T("runner.shell.enter", lesson.ID, cluster.Name, lab.Namespace, lab.Workspace))
			sh := runner.ShellCommand(lab)
			sh.Stdin, sh.Stdout, sh.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
			if err := sh.Run(); err != nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) {
					return fmt.Errorf("lab shell %s: %w", sh.Path, err)
				}
				// The shell's status is its last command's: not a klab failure.
			}
			fmt.Fprintln(cmd.ErrOrStderr(), msg.T("runner.shell.left", lesson.ID))
			return nil
		},
	}
}
