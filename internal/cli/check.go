package cli

import "github.com/spf13/cobra"

// newCheckCommand is a placeholder until its issue lands.
func newCheckCommand(_ *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "check [LESSON|PATH]",
		Short: "(check: not built yet)",
		RunE: func(_ *cobra.Command, _ []string) error {
			return Fail(ExitUsage, "%s is not built yet", "check")
		},
	}
}
