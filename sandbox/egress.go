package sandbox

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klabdev/klab/sandbox/agent/podnet"
)

// egress is the apiserver's one way to the cluster it manages. Its "cluster" egress selection
// (--egress-selector-config-file, see egressConfig) sends every connection to a kubelet (logs,
// exec, attach, port-forward, the node proxy) and to a pod or Service proxy through an HTTP CONNECT
// tunnel on a unix socket in the owner-only data dir, as Konnectivity does on managed clusters.
// The sandbox has no network of its own, so its Nodes carry addresses of their own (those of
// Killercoda's kubeadm nodes) that route nowhere on the host: the tunnel maps each to the node
// node agent's kubelet API on the in-memory pod network, so the agent listens on no port of the machine. A kubeadm apiserver proxies to its nodes' addresses; one whose node is
// at 127.0.0.1 refuses ("address not allowed"), which is why the sandbox does not advertise that.
type egress struct {
	ln   net.Listener
	srv  *http.Server
	dial func(ctx context.Context, addr string) (net.Conn, error) // a CONNECT target; errNoRoute if unknown
	logf func(string, ...any)

	mu    sync.Mutex
	conns map[net.Conn]struct{} // tunnels open, closed by close
}

// newEgress serves the tunnel on the unix socket path (created here, owner-only). dial connects to a
// CONNECT target host:port; a target it cannot reach is refused with 502 and dial's error.
func newEgress(path string, dial func(ctx context.Context, addr string) (net.Conn, error), logf func(string, ...any)) (*egress, error) {
	_ = os.Remove(path) // a socket left by a killed sandbox; its data dir is ours (see privateDataDir)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("egress tunnel: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("egress tunnel: %w", err)
	}
	e := &egress{ln: ln, dial: dial, logf: logf, conns: map[net.Conn]struct{}{}}
	e.srv = &http.Server{Handler: http.HandlerFunc(e.connect), ReadHeaderTimeout: 10 * time.Second}
	return e, nil
}

// serve runs the tunnel until close; it returns nil once closed.
func (e *egress) serve() error {
	if err := e.srv.Serve(e.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("egress tunnel: %w", err)
	}
	return nil
}

// close stops accepting and ends every open tunnel.
func (e *egress) close() {
	_ = e.srv.Close()
	e.mu.Lock()
	defer e.mu.Unlock()
	for c := range e.conns {
		_ = c.Close()
	}
	e.conns = nil
}

func (e *egress) connect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "this socket only tunnels (HTTP CONNECT)", http.StatusMethodNotAllowed)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	up, err := e.dial(ctx, r.Host)
	if err != nil {
		e.refuse(w, err)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = up.Close()
		http.Error(w, "tunnel not supported", http.StatusInternalServerError)
		return
	}
	down, buf, err := hj.Hijack()
	if err != nil {
		_ = up.Close()
		e.logf("egress tunnel to %s: %v", r.Host, err)
		return
	}
	if !e.track(up, down) {
		return
	}
	defer e.untrack(up, down)
	if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	pipe(up, down, buf.Reader)
}

// refuse answers 502 with the dial's error as the status text: the apiserver shows only the status
// line ("proxy error from … while dialing ADDR, code 502: 502 dial tcp ADDR: connect: connection
// refused"), so the learner reads the reason a kubeadm apiserver would give.
func (e *egress) refuse(w http.ResponseWriter, err error) {
	reason := strings.Join(strings.Fields(err.Error()), " ") // one line, whatever the error holds
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, reason, http.StatusBadGateway)
		return
	}
	c, _, herr := hj.Hijack()
	if herr != nil {
		return
	}
	defer func() { _ = c.Close() }()
	_, _ = fmt.Fprintf(c, "HTTP/1.1 502 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", reason)
}

// track records the two ends of a tunnel; false (both closed) once the tunnel is closing.
func (e *egress) track(cs ...net.Conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.conns == nil {
		for _, c := range cs {
			_ = c.Close()
		}
		return false
	}
	for _, c := range cs {
		e.conns[c] = struct{}{}
	}
	return true
}

func (e *egress) untrack(cs ...net.Conn) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
		delete(e.conns, c)
	}
}

// pipe copies both ways until either side ends; what the client sent after its CONNECT request
// (buffered by the server) goes first.
func pipe(up, down net.Conn, buffered *bufio.Reader) {
	done := make(chan struct{}, 2)
	go func() {
		_, _ = io.Copy(up, io.MultiReader(io.LimitReader(buffered, int64(buffered.Buffered())), down))
		closeWrite(up)
		done <- struct{}{}
	}()
	go func() {
		_, _ = io.Copy(down, up)
		closeWrite(down)
		done <- struct{}{}
	}()
	<-done
	<-done
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}

// egressConfigName is the apiserver's --egress-selector-config-file, in the data dir.
const egressConfigName = "egress-selector.yaml"

// clusterDialer is the egress tunnel's way to the cluster: the pod network, dialed from the
// control-plane node (nodeIP), where a kubeadm apiserver runs. The nodes' kubelet APIs listen there at
// their addresses, the pods at theirs, the Services at their ClusterIPs
// (`kubectl get --raw /api/v1/namespaces/NS/services/web:80/proxy/`).
func clusterDialer(pods *podnet.Network, nodeIP string) func(ctx context.Context, addr string) (net.Conn, error) {
	from := pods.Node(nodeIP)
	return func(ctx context.Context, addr string) (net.Conn, error) {
		return from.DialContext(ctx, "tcp", addr)
	}
}

// egressConfig is the EgressSelectorConfiguration that sends the apiserver's "cluster" traffic
// through the tunnel at socket; "controlplane" (etcd) and "etcd" stay direct.
func egressConfig(socket string) string {
	return strings.Join([]string{
		"apiVersion: apiserver.k8s.io/v1beta1",
		"kind: EgressSelectorConfiguration",
		"egressSelections:",
		"- name: cluster",
		"  connection:",
		"    proxyProtocol: HTTPConnect",
		"    transport:",
		"      uds:",
		"        udsName: " + strconv.Quote(socket),
		"",
	}, "\n")
}
