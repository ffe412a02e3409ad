// Package podnet is the sandbox's pod network, in memory: each pod is a host with its pod IP, its
// containers listen on ports of that host, and connections between hosts (pods, and the node for the
// kubelet's probes) are in-process byte streams. Service ClusterIPs are routed to the ready endpoints of
// their EndpointSlices, as kube-proxy does, and cluster DNS names (svc, svc.ns, svc.ns.svc.cluster.local,
// pod hostnames of headless Services) resolve from the Services and EndpointSlices the apiserver holds.
//
// Nothing listens on or dials the host: there is no socket, so two pods can both listen on port 80 and
// nothing of a pod is reachable from outside the sandbox process.
//
// Why our own connections rather than net.Pipe or grpc's bufconn: both have no half-close (CloseWrite),
// which `echo PING | nc redis 6379` needs (busybox nc shuts its sending side down at the end of its
// input and waits for the answer), net.Pipe is unbuffered (a server's greeting blocks until read), and
// neither carries TCP addresses (servers log their clients' IPs). A userspace TCP/IP stack (gVisor's
// netstack) would bring all of that but weighs far more than this package for a sandbox that needs no
// packets. Conn is a pair of bounded buffers with deadlines, CloseWrite and *net.TCPAddr ends.
package podnet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// Network is the whole pod network: the hosts by IP, and the Services that route to them.
type Network struct {
	mu       sync.Mutex
	hosts    map[netip.Addr]*Host
	services serviceView // nil until Watch: no Service routes or cluster DNS names
	watch    sync.Once
}

// New returns an empty network.
func New() *Network { return &Network{hosts: map[netip.Addr]*Host{}} }

// Host is one network namespace: a pod (all its containers share it) or the node.
type Host struct {
	n         *Network
	ip        netip.Addr
	hostname  string
	namespace string // the pod's namespace: the DNS search path; "" for the node

	mu        sync.Mutex
	ports     map[uint16]*Listener
	ephemeral uint16
	closed    bool
}

// AddPod registers the pod IP ip (its hostname and namespace serve name resolution from inside it).
func (n *Network) AddPod(ip, hostname, namespace string) (*Host, error) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return nil, fmt.Errorf("pod network: pod IP %q: %w", ip, err)
	}
	h := &Host{n: n, ip: addr, hostname: hostname, namespace: namespace, ports: map[uint16]*Listener{}, ephemeral: 32768}
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, taken := n.hosts[addr]; taken {
		return nil, fmt.Errorf("pod network: pod IP %s is already in use", ip)
	}
	n.hosts[addr] = h
	return h, nil
}

// Node is the host of the node at ip, registered on the first call: the kubelet's probes come from
// it, its kubelet API listens in it, and pods reach it at ip as they reach a kubeadm node's address.
// Every call for the same ip returns the same host.
func (n *Network) Node(ip string) *Host {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		addr = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if h, ok := n.hosts[addr]; ok && h.namespace == "" {
		return h
	}
	h := &Host{n: n, ip: addr, ports: map[uint16]*Listener{}, ephemeral: 32768}
	if !addr.IsLoopback() {
		n.hosts[addr] = h
	}
	return h
}

func (n *Network) host(ip netip.Addr) *Host {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hosts[ip]
}

func (n *Network) view() serviceView {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.services
}

// IP is the host's address.
func (h *Host) IP() string { return h.ip.String() }

// Close removes the host: its listeners close and its IP stops answering.
func (h *Host) Close() {
	h.mu.Lock()
	h.closed = true
	ls := make([]*Listener, 0, len(h.ports))
	for _, l := range h.ports {
		ls = append(ls, l)
	}
	h.mu.Unlock()
	for _, l := range ls {
		_ = l.Close()
	}
	h.n.mu.Lock()
	if h.n.hosts[h.ip] == h {
		delete(h.n.hosts, h.ip)
	}
	h.n.mu.Unlock()
}

func tcpNet(network string) bool { return network == "tcp" || network == "tcp4" || network == "tcp6" }

// Listen listens on address ("host:port") in this host: host is empty, a wildcard, the host's IP, or
// loopback (then only the host itself can connect). Port 0 picks a free port.
func (h *Host) Listen(network, address string) (net.Listener, error) {
	fail := func(err error) error { return &net.OpError{Op: "listen", Net: network, Err: err} }
	if !tcpNet(network) {
		return nil, fail(fmt.Errorf("%s is not supported by the klab sandbox's pod network (TCP only)", network))
	}
	hostPart, portPart, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fail(err)
	}
	port, err := strconv.ParseUint(portPart, 10, 16)
	if err != nil {
		return nil, fail(fmt.Errorf("invalid port %q", portPart))
	}
	loopback := false
	bindIP := h.ip
	switch hostPart {
	case "", "0.0.0.0", "::":
		bindIP = netip.IPv4Unspecified()
	case "localhost":
		loopback, bindIP = true, netip.AddrFrom4([4]byte{127, 0, 0, 1})
	default:
		ip, err := netip.ParseAddr(hostPart)
		switch {
		case err != nil:
			return nil, fail(fmt.Errorf("lookup %s: no such host", hostPart))
		case ip.IsLoopback():
			loopback, bindIP = true, ip
		case ip != h.ip:
			return nil, &net.OpError{Op: "listen", Net: network, Addr: tcpAddr(ip, uint16(port)), Err: os.NewSyscallError("bind", syscall.EADDRNOTAVAIL)}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, fail(net.ErrClosed)
	}
	if port == 0 {
		port = uint64(h.nextFreeLocked())
	}
	if _, used := h.ports[uint16(port)]; used {
		return nil, &net.OpError{Op: "listen", Net: network, Addr: tcpAddr(bindIP, uint16(port)), Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}
	}
	l := &Listener{host: h, addr: tcpAddr(bindIP, uint16(port)), port: uint16(port), loopback: loopback,
		backlog: make(chan *Conn, 128), closed: make(chan struct{})}
	h.ports[uint16(port)] = l
	return l, nil
}

// nextFreeLocked is a free port in the ephemeral range; h.mu is held.
func (h *Host) nextFreeLocked() uint16 {
	for {
		h.ephemeral++
		if h.ephemeral < 32768 {
			h.ephemeral = 32768
		}
		if _, used := h.ports[h.ephemeral]; !used {
			return h.ephemeral
		}
	}
}

func tcpAddr(ip netip.Addr, port uint16) *net.TCPAddr {
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, port))
}

// timeoutError is what a dial to an address nobody answers ends with (Go's "i/o timeout").
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// DialContext connects to address ("host:port") from this host, as a TCP connect would: a name is
// resolved first (LookupHost); a Service ClusterIP goes to one of its ready endpoints; a port nobody
// listens on is refused; an address no host has never answers (until ctx ends: "i/o timeout").
func (h *Host) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	if !tcpNet(network) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: fmt.Errorf("%s is not supported by the klab sandbox's pod network (TCP only)", network)}
	}
	hostPart, portPart, err := net.SplitHostPort(address)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: err}
	}
	port, err := strconv.ParseUint(portPart, 10, 16)
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.AddrError{Err: "unknown port", Addr: address}}
	}
	ip, err := netip.ParseAddr(hostPart)
	if err != nil {
		ips, err := h.LookupHost(ctx, hostPart)
		if err != nil {
			return nil, &net.OpError{Op: "dial", Net: network, Err: err}
		}
		ip = netip.MustParseAddr(ips[0])
	}
	return h.dialIP(ctx, network, ip.Unmap(), uint16(port))
}

func (h *Host) dialIP(ctx context.Context, network string, ip netip.Addr, port uint16) (net.Conn, error) {
	dst := tcpAddr(ip, port)
	refused := func() error {
		return &net.OpError{Op: "dial", Net: network, Addr: dst, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	target, local := h.n.host(ip), false
	switch {
	case ip.IsLoopback() || ip == h.ip:
		target, local = h, true
	case target == nil:
		if v := h.n.view(); v != nil {
			if r, isService := v.route(ip, port); isService {
				switch {
				case r.refused:
					return nil, refused()
				case r.blackhole:
					return nil, h.blackhole(ctx, network, dst)
				}
				ip, port = r.to.Addr(), r.to.Port()
				target = h.n.host(ip)
				if ip == h.ip {
					target, local = h, true
				}
			}
		}
	}
	if target == nil {
		return nil, h.blackhole(ctx, network, dst)
	}
	target.mu.Lock()
	l := target.ports[port]
	target.mu.Unlock()
	if l == nil || (l.loopback && !local) {
		return nil, refused()
	}
	src := h.ip
	if ip.IsLoopback() {
		src = ip
	}
	h.mu.Lock()
	srcPort := h.nextFreeLocked()
	h.mu.Unlock()
	c, s := newConnPair(tcpAddr(src, srcPort), tcpAddr(ip, port))
	select {
	case l.backlog <- s:
		return c, nil
	case <-l.closed:
		return nil, refused()
	case <-ctx.Done():
		return nil, h.ctxErr(ctx, network, dst)
	}
}

// blackhole waits as a connect to an address that never answers does.
func (h *Host) blackhole(ctx context.Context, network string, dst *net.TCPAddr) error {
	<-ctx.Done()
	return h.ctxErr(ctx, network, dst)
}

func (h *Host) ctxErr(ctx context.Context, network string, dst *net.TCPAddr) error {
	var err error = timeoutError{}
	if errors.Is(ctx.Err(), context.Canceled) {
		err = errors.New("operation was canceled")
	}
	return &net.OpError{Op: "dial", Net: network, Addr: dst, Err: err}
}

// Listener accepts the connections made to one port of a host.
type Listener struct {
	host     *Host
	addr     *net.TCPAddr
	port     uint16
	loopback bool
	backlog  chan *Conn
	once     sync.Once
	closed   chan struct{}
}

// Accept waits for the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.backlog:
		return c, nil
	case <-l.closed:
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: net.ErrClosed}
	}
}

// Close stops listening: the port is free again and connections not yet accepted are reset.
func (l *Listener) Close() error {
	l.once.Do(func() {
		close(l.closed)
		l.host.mu.Lock()
		if l.host.ports[l.port] == l {
			delete(l.host.ports, l.port)
		}
		l.host.mu.Unlock()
		for {
			select {
			case c := <-l.backlog:
				_ = c.Close()
			default:
				return
			}
		}
	})
	return nil
}

// Addr is the address listened on.
func (l *Listener) Addr() net.Addr { return l.addr }

// pick chooses one endpoint at random, as kube-proxy's iptables rules do.
func pick(eps []netip.AddrPort) netip.AddrPort { return eps[rand.IntN(len(eps))] }
