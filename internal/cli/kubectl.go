package cli

import "github.com/spf13/cobra"

// newKubectlCommand is a placeholder until its issue lands.
func newKubectlCommand(_ *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "kubectl ARGS...",
		Short: "(kubectl: not built yet)",
		RunE: func(_ *cobra.Command, _ []string) error {
			return Fail(ExitUsage, "%s is not built yet", "kubectl")
		},
	}
}
