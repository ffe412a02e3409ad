package cli

import "github.com/spf13/cobra"

// newValidateCommand is a placeholder until its issue lands.
func newValidateCommand(_ *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "validate PATH...",
		Short: "(validate: not built yet)",
		RunE: func(_ *cobra.Command, _ []string) error {
			return Fail(ExitUsage, "%s is not built yet", "validate")
		},
	}
}
