package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
	kversion "k8s.io/component-base/version"
)

// Stamped by the Makefile with -ldflags.
var (
	version = "dev"
	commit  = "none"
)

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print klab's version and the Kubernetes version it embeds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The Kubernetes version as stamped: an unstamped build shows it.
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "klab %s (commit %s, %s, Kubernetes %s)\n", version, commit, runtime.Version(), kversion.Get().GitVersion)
			return err
		},
	}
}
