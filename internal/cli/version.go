package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// Stamped by the Makefile with -ldflags.
var (
	version = "dev"
	commit  = "none"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print klab's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "klab %s (commit %s, %s, Kubernetes v1.37.2)\n", version, commit, runtime.Version())
			return err
		},
	}
}
