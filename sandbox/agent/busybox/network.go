package busybox

import (
	"context"
	"net"
)

// Network is the pod's network as its commands see it (the sandbox's in-memory pod network): TCP
// connections, listening sockets and name resolution with the cluster DNS.
type Network interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
	Listen(network, address string) (net.Listener, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}
