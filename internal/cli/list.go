package cli

import "github.com/spf13/cobra"

// newListCommand is a placeholder until its issue lands.
func newListCommand(_ *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "list [PATH]",
		Short: "(list: not built yet)",
		RunE: func(_ *cobra.Command, _ []string) error {
			return Fail(ExitUsage, "%s is not built yet", "list")
		},
	}
}
