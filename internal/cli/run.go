package cli

import "github.com/spf13/cobra"

// newRunCommand is a placeholder until its issue lands.
func newRunCommand(_ *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "run [LESSON|PATH]",
		Short: "(run: not built yet)",
		RunE: func(_ *cobra.Command, _ []string) error {
			return Fail(ExitUsage, "%s is not built yet", "run")
		},
	}
}
