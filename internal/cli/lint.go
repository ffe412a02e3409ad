package cli

import "github.com/spf13/cobra"

// newLintCommand is a placeholder until its issue lands.
func newLintCommand(_ *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "lint PATH...",
		Short: "(lint: not built yet)",
		RunE: func(_ *cobra.Command, _ []string) error {
			return Fail(ExitUsage, "%s is not built yet", "lint")
		},
	}
}
