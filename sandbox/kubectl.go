package sandbox

import (
	"context"
	"fmt"
	"io"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	_ "k8s.io/client-go/plugin/pkg/client/auth" // auth provider plugins (oidc), as kubectl's main
	"k8s.io/component-base/cli"
	"k8s.io/component-base/logs"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/plugin"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

// KubectlStreams are the standard streams of a kubectl run.
type KubectlStreams struct {
	In          io.Reader
	Out, ErrOut io.Writer
}

// Kubectl runs the built-in kubectl (k8s.io/kubectl, the server's version) with
// args, exactly as the kubectl binary would: every kubectl flag passes through,
// and it works on any kubeconfig, sandbox or not.
//
// Like the kubectl binary, a failing command prints its error and exits the
// process with kubectl's exit code (kubectl's own error handling calls
// os.Exit); Kubectl returns only when the command succeeded.
func Kubectl(ctx context.Context, args []string, s KubectlStreams) error {
	logs.GlogSetter(kubectlcmd.GetLogVerbosity(append([]string{"kubectl"}, args...))) //nolint:errcheck // as kubectl's main
	streams := genericiooptions.IOStreams{In: s.In, Out: s.Out, ErrOut: s.ErrOut}
	cmd := kubectlcmd.NewDefaultKubectlCommandWithArgs(kubectlcmd.KubectlOptions{
		PluginHandler: kubectlcmd.NewDefaultPluginHandler(plugin.ValidPluginFilenamePrefixes),
		Arguments:     append([]string{"kubectl"}, args...),
		ConfigFlags: genericclioptions.NewConfigFlags(true).WithDeprecatedPasswordFlag().
			WithDiscoveryBurst(300).WithDiscoveryQPS(50.0).WithWarningPrinter(streams),
		IOStreams: streams,
	})
	cmd.SetArgs(args)
	cmd.SetContext(ctx)
	if err := cli.RunNoErrOutput(cmd); err != nil {
		cmdutil.CheckErr(err) // prints the error kubectl's way and exits with its code
		return fmt.Errorf("kubectl: %w", err)
	}
	return nil
}
