package sandbox_test

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/klabdev/klab/sandbox/sandboxctl"
)

// freePort returns a port free on 127.0.0.1 at the time of the call.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// TestRestartOnTCPEraEtcdData: a data dir whose etcd member was created by
// an earlier klab, with client and peer URLs on 127.0.0.1, starts on the
// unix socket, keeps its objects and no longer listens on those ports. Its
// path is too long for a socket address, so etcd's socket goes to the
// private fallback directory.
func TestRestartOnTCPEraEtcdData(t *testing.T) {
	needCluster(t)
	dir := filepath.Join(t.TempDir(), strings.Repeat("a-data-dir-deeper-than-a-socket-address-", 3))
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if len(filepath.Join(dir, "etcd.sock")) <= 107 {
		t.Fatalf("data dir %s is too short for this test", dir)
	}

	// etcd as klab up to this change started it.
	clientPort, peerPort := freePort(t), freePort(t)
	cfg := embed.NewConfig()
	cfg.Name = "klab-sandbox"
	cfg.Dir = filepath.Join(dir, "etcd")
	client := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(clientPort)}
	peer := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(peerPort)}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = "warn"
	cfg.LogOutputs = []string{filepath.Join(dir, "tcp-era-etcd.log")}
	cfg.UnsafeNoFsync = true
	cfg.TickMs, cfg.ElectionMs = 10, 100
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(time.Minute):
		e.Close()
		t.Fatal("TCP-era etcd not ready within a minute")
	}
	// A ConfigMap as the apiserver reads it back (its storage decodes JSON too).
	cm := `{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"from-tcp-era","namespace":"default",` +
		`"uid":"0b0e5a4e-8c1f-4d0e-9a53-3c3f7c1d2e01","creationTimestamp":"2026-11-30T10:00:00Z"},"data":{"k":"kept"}}`
	ec := v3client.New(e.Server)
	_, err = ec.Put(context.Background(), "/registry/configmaps/default/from-tcp-era", cm)
	_ = ec.Close()
	e.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The state file of that era, with its etcd ports.
	old, _ := json.Marshal(map[string]any{"pid": 1, "apiserverPort": 0, "etcdPort": clientPort, "etcdPeerPort": peerPort})
	if err := os.WriteFile(filepath.Join(dir, sandboxctl.StateFile), old, 0o600); err != nil {
		t.Fatal(err)
	}

	up := func() *sandboxctl.Process {
		t.Helper()
		p, err := sandboxctl.Start(context.Background(), dir, cluster.Bin, sandboxctl.StartOptions{})
		if err != nil {
			t.Fatalf("start on the TCP-era data dir: %v", err)
		}
		return p
	}
	kube := func() kubernetes.Interface {
		t.Helper()
		rc, err := clientcmd.BuildConfigFromFlags("", sandboxctl.KubeconfigPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		return kubernetes.NewForConfigOrDie(rc)
	}
	has := func(c kubernetes.Interface, name, want string) {
		t.Helper()
		got, err := c.CoreV1().ConfigMaps("default").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil || got.Data["k"] != want {
			t.Errorf("configmap %s: %v %v, want k=%s", name, got.Data, err, want)
		}
	}

	var p *sandboxctl.Process // running, to stop at the end
	t.Cleanup(func() {
		if p != nil {
			_ = p.Stop(30 * time.Second)
		}
	})
	stop := func() {
		t.Helper()
		err := p.Stop(30 * time.Second)
		p = nil
		if err != nil {
			t.Fatal(err)
		}
	}
	p = up()
	c := kube()
	has(c, "from-tcp-era", "kept")
	st, err := sandboxctl.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(st.EtcdSocket, dir) || len(st.EtcdSocket) > 107 || filepath.Base(filepath.Dir(st.EtcdSocket)) != "klab-"+strconv.Itoa(os.Geteuid()) {
		t.Errorf("etcd socket %q, want one in the private klab-<uid> dir", st.EtcdSocket)
	}
	pid, _ := sandboxctl.Running(dir)
	socks := listeningSockets(t, pid)
	for _, ap := range socks.tcp {
		if int(ap.Port()) == clientPort || int(ap.Port()) == peerPort {
			t.Errorf("still listens on the TCP-era etcd port %s", ap)
		}
	}
	if len(socks.tcp) != 1 {
		t.Errorf("listens on TCP %v, want the apiserver only (the nodes' kubelet APIs are behind the egress tunnel)", socks.tcp)
	}
	if _, err := c.CoreV1().ConfigMaps("default").Create(context.Background(), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "from-socket-era"}, Data: map[string]string{"k": "new"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stop()
	if _, err := os.Lstat(st.EtcdSocket); !os.IsNotExist(err) {
		t.Errorf("etcd socket %s left after stop: %v", st.EtcdSocket, err)
	}

	// And once more, now that the member has run on its socket.
	p = up()
	c = kube()
	has(c, "from-tcp-era", "kept")
	has(c, "from-socket-era", "new")
	stop()
}
