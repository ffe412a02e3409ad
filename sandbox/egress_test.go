package sandbox

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apiserver/pkg/server/egressselector"

	"github.com/klabdev/klab/sandbox/agent/podnet"
)

// TestEgressTunnel goes through the tunnel with the apiserver's own egress dialer, configured from
// the file the sandbox writes, to a listener on the pod network at a node's address, both ways; a
// closed port is refused with the reason.
func TestEgressTunnel(t *testing.T) {
	pods := podnet.New()
	echo, err := pods.Node("172.30.2.2").Listen("tcp", "172.30.2.2:10250")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = echo.Close() }()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() {
				defer func() { _ = c.Close() }()
				line, _ := bufio.NewReader(c).ReadString('\n')
				_, _ = fmt.Fprintf(c, "echo %s", line)
			}()
		}
	}()

	dir := t.TempDir()
	sock := filepath.Join(dir, "egress.sock")
	e, err := newEgress(sock, clusterDialer(pods, "172.30.1.2"), t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- e.serve() }()
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %s: %v %v, want mode 0600", sock, fi.Mode(), err)
	}

	cfgFile := filepath.Join(dir, "egress.yaml")
	if err := os.WriteFile(cfgFile, []byte(egressConfig(sock)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := egressselector.ReadEgressSelectorConfiguration(cfgFile)
	if err != nil {
		t.Fatalf("the apiserver cannot read the egress config: %v\n%s", err, egressConfig(sock))
	}
	sel, err := egressselector.NewEgressSelector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dial, err := sel.Lookup(egressselector.Cluster.AsNetworkContext())
	if err != nil || dial == nil {
		t.Fatalf("no cluster dialer: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := dial(ctx, "tcp", "172.30.2.2:10250")
	if err != nil {
		t.Fatalf("dial through the tunnel: %v", err)
	}
	if _, err := io.WriteString(c, "hello\n"); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "echo hello\n" {
		t.Fatalf("through the tunnel: %q, %v", got, err)
	}
	_ = c.Close()

	// A port nothing listens on: the tunnel's 502 carries the dial's error, which the apiserver shows.
	if _, err := dial(ctx, "tcp", "172.30.2.2:81"); err == nil || !strings.Contains(err.Error(), "code 502: 502 dial tcp 172.30.2.2:81: connect: connection refused") {
		t.Errorf("closed port: %v, want the tunnel's 502 with the dial's error", err)
	}

	// A long-lived tunnel ends when the sandbox stops.
	c, err = dial(ctx, "tcp", "172.30.2.2:10250")
	if err != nil {
		t.Fatal(err)
	}
	e.close()
	if err := <-served; err != nil {
		t.Errorf("serve after close: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("a tunnel outlived the sandbox's stop")
	}
}
