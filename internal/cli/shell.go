package cli

import "github.com/spf13/cobra"

// newShellCommand is a placeholder until its issue lands.
func newShellCommand(_ *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "shell [LESSON|PATH]",
		Short: "(shell: not built yet)",
		RunE: func(_ *cobra.Command, _ []string) error {
			return Fail(ExitUsage, "%s is not built yet", "shell")
		},
	}
}
