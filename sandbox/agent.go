package sandbox

import (
	"context"
	"fmt"
	"net"
	"path/filepath"

	"k8s.io/client-go/kubernetes"

	"github.com/klabdev/klab/sandbox/agent"
)

// runAgent runs the node agent (our kubelet) on the listener ln until ctx
// ends and its pods stop.
func runAgent(ctx context.Context, client kubernetes.Interface, data string, p pki, ln net.Listener, logf func(string, ...any), ready func()) error {
	err := agent.Run(ctx, agent.Config{
		Client:       client,
		NodeName:     NodeName,
		DataDir:      filepath.Join(data, "agent"),
		Listener:     ln,
		NodeIP:       NodeIP,
		KubeletPort:  kubeletPort,
		TLSCertFile:  p.crt(agentServingName),
		TLSKeyFile:   p.key(agentServingName),
		ClientCAFile: p.crt(kubeletClientCAName),
		Logf:         logf,
	}, ready)
	if err != nil {
		return fmt.Errorf("node agent: %w", err)
	}
	return nil
}
