package sandbox

import (
	"context"
	"fmt"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/klabdev/klab/sandbox/agent"
	"github.com/klabdev/klab/sandbox/agent/podnet"
)

// Node names and counts of Killercoda's kubeadm images, which the sandbox reproduces.
const (
	// ControlPlaneNode is the kubeadm control-plane node: tainted node-role.kubernetes.io/control-plane
	// when a worker exists, untainted when it is the only node (as on kubernetes-kubeadm-1node).
	ControlPlaneNode = "controlplane"
	// DefaultNodes is the node count when Config.Nodes is 0: controlplane and node01, as on
	// kubernetes-kubeadm-2nodes.
	DefaultNodes = 2
	// MaxNodes is the most nodes a sandbox runs (Killercoda's images have one or two).
	MaxNodes = 2
)

// NodeIPs are the InternalIPs of the nodes of a sandbox of n nodes (and their pods' hostIP), those of
// Killercoda's kubeadm images: 172.30.1.2 for controlplane, 172.30.2.2 for node01. Nothing on the host
// has them: the apiserver reaches each node through its egress tunnel (see egress), where the node
// agent answers on kubeletPort, the kubelet's port.
func NodeIPs(n int) []string {
	var ips []string
	for i := range n {
		ips = append(ips, fmt.Sprintf("172.30.%d.2", i+1))
	}
	return ips
}

const kubeletPort = 10250

// NodeNames are the names of the nodes of a sandbox of n nodes: controlplane, then node01 ….
func NodeNames(n int) []string {
	names := []string{ControlPlaneNode}
	for i := 1; i < n; i++ {
		names = append(names, fmt.Sprintf("node%02d", i))
	}
	return names
}

// nodeLayout is the agent's nodes for a sandbox of n nodes, as kubeadm lays them out: the control plane
// (labelled, and tainted NoSchedule unless it is alone) and the workers.
func nodeLayout(n int) []agent.NodeConfig {
	var nodes []agent.NodeConfig
	ips := NodeIPs(n)
	for i, name := range NodeNames(n) {
		nc := agent.NodeConfig{Name: name, IP: ips[i], Port: kubeletPort}
		if i == 0 {
			nc.ControlPlane = true
			if n > 1 {
				nc.Taints = []corev1.Taint{agent.ControlPlaneTaint()}
			}
		}
		nodes = append(nodes, nc)
	}
	return nodes
}

// runAgent runs the node agent (our kubelet) for the nodes until ctx ends and their pods stop.
func runAgent(ctx context.Context, client kubernetes.Interface, data string, p pki, nodes []agent.NodeConfig,
	pods *podnet.Network, logf func(string, ...any), ready func()) error {
	err := agent.Run(ctx, agent.Config{
		Client:       client,
		Nodes:        nodes,
		Network:      pods,
		DataDir:      filepath.Join(data, "agent"),
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
