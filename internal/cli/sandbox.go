package cli

import "github.com/spf13/cobra"

// newSandboxCommand is a placeholder until its issue lands.
func newSandboxCommand(_ *Options) *cobra.Command {
	return &cobra.Command{
		Use:   "sandbox",
		Short: "(sandbox: not built yet)",
		RunE: func(_ *cobra.Command, _ []string) error {
			return Fail(ExitUsage, "%s is not built yet", "sandbox")
		},
	}
}
