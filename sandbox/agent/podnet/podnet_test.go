package podnet

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

// echoServer answers each line with "<name>:<line>" until the client shuts its side down.
func echoServer(t *testing.T, l net.Listener, name string) {
	t.Helper()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := io.WriteString(c, name+":"+sc.Text()+"\n"); err != nil {
						return
					}
				}
			}()
		}
	}()
}

func mustPod(t *testing.T, n *Network, ip, hostname, ns string) *Host {
	t.Helper()
	h, err := n.AddPod(ip, hostname, ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func exchange(t *testing.T, h *Host, addr, line string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := h.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer func() { _ = c.Close() }()
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.(*Conn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestTwoPodsOnPort80AndLoopback(t *testing.T) {
	n := New()
	a, b, client := mustPod(t, n, "10.244.0.2", "a", "default"), mustPod(t, n, "10.244.0.3", "b", "default"), mustPod(t, n, "10.244.0.4", "c", "default")
	for _, h := range []*Host{a, b} {
		l, err := h.Listen("tcp", ":80")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		echoServer(t, l, h.hostname)
	}
	if _, err := a.Listen("tcp", "0.0.0.0:80"); err == nil || !strings.Contains(err.Error(), "bind: address already in use") {
		t.Errorf("second listen on a:80: %v", err)
	}
	if got := exchange(t, client, "10.244.0.2:80", "hi"); got != "a:hi" {
		t.Errorf("to a: %q", got)
	}
	if got := exchange(t, client, "10.244.0.3:80", "hi"); got != "b:hi" {
		t.Errorf("to b: %q", got)
	}
	if got := exchange(t, a, "localhost:80", "self"); got != "a:self" {
		t.Errorf("a to its own localhost: %q", got)
	}
	// A loopback-only listener is not reachable from another pod.
	lo, err := b.Listen("tcp", "127.0.0.1:9000")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lo.Close() }()
	_, err = client.DialContext(context.Background(), "tcp", "10.244.0.3:9000")
	if err == nil || err.Error() != "dial tcp 10.244.0.3:9000: connect: connection refused" {
		t.Errorf("dial of a loopback-only port from outside: %v", err)
	}
	// A closed listener frees its port and refuses.
	_ = lo.Close()
	if _, err := client.DialContext(context.Background(), "tcp", "10.244.0.3:9000"); err == nil {
		t.Error("dial after close succeeded")
	}
}

func TestUnknownAddressTimesOut(t *testing.T) {
	n := New()
	h := mustPod(t, n, "10.244.0.2", "a", "default")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := h.DialContext(ctx, "tcp", "10.244.9.9:80")
	var ne net.Error
	if err == nil || err.Error() != "dial tcp 10.244.9.9:80: i/o timeout" || !asNetErr(err, &ne) || !ne.Timeout() {
		t.Errorf("dial of an address no pod has: %v", err)
	}
}

func asNetErr(err error, ne *net.Error) bool {
	return errors.As(err, ne)
}

func TestDeadlinesAndHalfClose(t *testing.T) {
	c, s := newConnPair(&net.TCPAddr{}, &net.TCPAddr{})
	_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	if !asNetErr(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past the deadline: %v", err)
	}
	_ = c.SetReadDeadline(time.Time{})
	_, _ = c.Write([]byte("ping"))
	_ = c.CloseWrite()
	b, err := io.ReadAll(s)
	if err != nil || string(b) != "ping" {
		t.Fatalf("server read %q %v", b, err)
	}
	_, _ = s.Write([]byte("pong"))
	_ = s.Close()
	b, err = io.ReadAll(c)
	if err != nil || string(b) != "pong" {
		t.Fatalf("client read %q %v after half-close", b, err)
	}
	if _, err := s.Write([]byte("x")); err == nil {
		t.Error("write after close succeeded")
	}
}

func TestServicesAndDNS(t *testing.T) {
	client := fake.NewClientset(
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.50", Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "empty", Namespace: "shop"},
			Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.51", Ports: []corev1.ServicePort{{Port: 80}}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "shop"},
			Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: []corev1.ServicePort{{Port: 5432}}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "web-x", Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: ptr.To("http"), Port: ptr.To[int32](8080)}},
			Endpoints: []discoveryv1.Endpoint{
				{Addresses: []string{"10.244.0.2"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}},
				{Addresses: []string{"10.244.0.3"}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}},
			}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "db-x", Namespace: "shop", Labels: map[string]string{discoveryv1.LabelServiceName: "db"}},
			AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: ptr.To(""), Port: ptr.To[int32](5432)}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.244.0.3"}, Hostname: ptr.To("db-0"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}},
	)
	n := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := n.Watch(ctx, client); err != nil {
		t.Fatal(err)
	}
	ready, notReady := mustPod(t, n, "10.244.0.2", "web-1", "shop"), mustPod(t, n, "10.244.0.3", "web-2", "shop")
	for _, h := range []*Host{ready, notReady} {
		l, err := h.Listen("tcp", ":8080")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close() })
		echoServer(t, l, h.hostname)
	}
	shop, other := mustPod(t, n, "10.244.0.4", "client", "shop"), mustPod(t, n, "10.244.0.5", "client", "default")
	for _, tc := range []struct {
		from *Host
		addr string
	}{
		{shop, "web:80"}, {shop, "web.shop:80"}, {shop, "web.shop.svc:80"}, {shop, "web.shop.svc.cluster.local:80"},
		{other, "web.shop:80"}, {other, "WEB.shop.svc.cluster.local.:80"}, {shop, "10.96.0.50:80"},
	} {
		for range 5 { // only the ready endpoint ever answers
			if got := exchange(t, tc.from, tc.addr, "x"); got != "web-1:x" {
				t.Errorf("%s from %s: %q", tc.addr, tc.from.namespace, got)
			}
		}
	}
	if _, err := other.DialContext(ctx, "tcp", "web:80"); err == nil || err.Error() != "dial tcp: lookup web on 10.96.0.10:53: no such host" {
		t.Errorf("short name from another namespace: %v", err)
	}
	if _, err := shop.DialContext(ctx, "tcp", "empty:80"); err == nil || err.Error() != "dial tcp 10.96.0.51:80: connect: connection refused" {
		t.Errorf("service without endpoints: %v", err)
	}
	short, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	if _, err := shop.DialContext(short, "tcp", "web:81"); err == nil || err.Error() != "dial tcp 10.96.0.50:81: i/o timeout" {
		t.Errorf("service port that does not exist: %v", err)
	}
	for name, want := range map[string]string{"db": "10.244.0.3", "db-0.db": "10.244.0.3", "db-0.db.shop.svc.cluster.local": "10.244.0.3",
		"10-244-0-9.shop.pod.cluster.local": "10.244.0.9", "client": "10.244.0.4", "localhost": "127.0.0.1"} {
		got, err := shop.LookupHost(ctx, name)
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("lookup %s: %v %v, want %s", name, got, err, want)
		}
	}
	if _, err := shop.LookupHost(ctx, "example.com"); err == nil {
		t.Error("an Internet name resolved")
	}
}

// A node is one host per address, registered on first use: its kubelet listens there, pods and the
// node itself reach it at the node's address.
func TestNodesAreHosts(t *testing.T) {
	n := New()
	cp := n.Node("172.30.1.2")
	if again := n.Node("172.30.1.2"); again != cp {
		t.Fatal("two hosts for one node address")
	}
	l, err := cp.Listen("tcp", "172.30.1.2:10250")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	echoServer(t, l, "kubelet")
	pod := mustPod(t, n, "10.244.0.2", "p", "default")
	if got := exchange(t, pod, "172.30.1.2:10250", "hi"); got != "kubelet:hi" {
		t.Errorf("pod to the node's kubelet: %q", got)
	}
	if got := exchange(t, cp, "172.30.1.2:10250", "self"); got != "kubelet:self" {
		t.Errorf("the node to its own address: %q", got)
	}
	if _, err := n.AddPod("172.30.1.2", "x", "default"); err == nil {
		t.Error("a pod took a node's address")
	}
}
