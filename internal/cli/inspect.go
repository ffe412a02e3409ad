package cli

import "github.com/spf13/cobra"

// newInspectCommand is a placeholder until its issue lands.
func newInspectCommand(_ *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "inspect PATH",
		Short: "(inspect: not built yet)",
		RunE: func(_ *cobra.Command, _ []string) error {
			return Fail(ExitUsage, "%s is not built yet", "inspect")
		},
	}
}
