package cli

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/klabdev/klab/sandbox"
	"github.com/klabdev/klab/sandbox/sandboxctl"
)

// newKubectlCommand builds `klab kubectl ARGS…`: the built-in kubectl, same
// version as the sandbox's server. Flag parsing is kubectl's own, so every
// kubectl flag (--kubeconfig, --context, -n, -o…) passes through unchanged.
// klab's own --sandbox (or KLAB_SANDBOX=1) points it at the sandbox, started
// if needed; otherwise KLAB_KUBECONFIG / KLAB_CONTEXT apply when given.
func newKubectlCommand(opts *Options) *cobra.Command {
	return &cobra.Command{
		Use:                "kubectl ARGS...",
		Short:              "Run the built-in kubectl (same version as the sandbox) on any cluster",
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			args, useSandbox := stripKlabFlags(args, opts.Sandbox)
			if useSandbox && !hasFlag(args, "kubeconfig") {
				self, err := os.Executable()
				if err != nil {
					return Fail(ExitFailed, "find the klab binary: %v", err)
				}
				kc, _, err := sandboxctl.Ensure(c.Context(), sandboxctl.DefaultDataDir(), self, 0)
				if err != nil {
					return Fail(ExitFailed, "%v", err)
				}
				args = append([]string{"--kubeconfig=" + kc}, args...)
			} else {
				if opts.Kubeconfig != "" && !hasFlag(args, "kubeconfig") {
					args = append([]string{"--kubeconfig=" + opts.Kubeconfig}, args...)
				}
				if opts.Context != "" && !hasFlag(args, "context") {
					args = append([]string{"--context=" + opts.Context}, args...)
				}
			}
			return sandbox.Kubectl(c.Context(), args, sandbox.KubectlStreams{
				In: c.InOrStdin(), Out: c.OutOrStdout(), ErrOut: c.ErrOrStderr(),
			})
		},
	}
}

// stripKlabFlags removes klab's own root flags (--sandbox, --kubectl, --lang)
// that cobra leaves in the args of a command without flag parsing.
func stripKlabFlags(args []string, sandboxFlag bool) ([]string, bool) {
	out := make([]string, 0, len(args))
	useSandbox := sandboxFlag
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(out, args[i:]...), useSandbox
		case a == "--sandbox" || a == "--sandbox=true":
			useSandbox = true
		case a == "--sandbox=false":
			useSandbox = false
		case a == "--kubectl" || a == "--lang":
			i++
		case strings.HasPrefix(a, "--kubectl=") || strings.HasPrefix(a, "--lang="):
		default:
			out = append(out, a)
		}
	}
	return out, useSandbox
}

func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--"+name || strings.HasPrefix(a, "--"+name+"=") {
			return true
		}
	}
	return false
}
