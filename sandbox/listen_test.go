package sandbox_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klabdev/klab/sandbox/sandboxctl"
)

// procSockets are the listening sockets a process holds, read from the
// kernel: /proc/<pid>/fd gives the socket inodes, /proc/<pid>/net/{tcp,tcp6,unix}
// what they are.
type procSockets struct {
	tcp  []netip.AddrPort
	unix []string // paths; "@name" for an abstract socket, "" for an unnamed one
}

func listeningSockets(t testing.TB, pid int) procSockets {
	t.Helper()
	proc := filepath.Join("/proc", strconv.Itoa(pid))
	fds, err := os.ReadDir(filepath.Join(proc, "fd"))
	if err != nil {
		t.Skipf("no procfs access: %v", err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join(proc, "fd", fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var s procSockets
	for _, table := range []string{"tcp", "tcp6"} {
		forLines(t, filepath.Join(proc, "net", table), func(f []string) {
			// sl local_address rem_address st … inode
			if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] { // 0A = LISTEN
				return
			}
			ap, err := parseProcAddr(f[1])
			if err != nil {
				t.Fatalf("%s: %q: %v", table, f[1], err)
			}
			s.tcp = append(s.tcp, ap)
		})
	}
	forLines(t, filepath.Join(proc, "net", "unix"), func(f []string) {
		// Num RefCount Protocol Flags Type St Inode [Path]
		if len(f) < 7 || !inodes[f[6]] {
			return
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil || flags&0x10000 == 0 { // __SO_ACCEPTCON: listening
			return
		}
		path := ""
		if len(f) > 7 {
			path = f[7]
		}
		s.unix = append(s.unix, path)
	})
	return s
}

// forLines calls f with the fields of each line of a /proc table but the header.
func forLines(t testing.TB, path string, f func([]string)) {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) { // no IPv6
			return
		}
		t.Fatal(err)
	}
	defer func() { _ = file.Close() }()
	sc := bufio.NewScanner(file)
	sc.Scan()
	for sc.Scan() {
		f(strings.Fields(sc.Text()))
	}
}

// parseProcAddr parses /proc/net/tcp's "0100007F:1F90": the address in
// 32-bit words of host (little-endian) order, the port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	host, port, ok := strings.Cut(s, ":")
	b, err := hex.DecodeString(host)
	if !ok || err != nil || len(b)%4 != 0 {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	for i := 0; i < len(b); i += 4 {
		b[i], b[i+1], b[i+2], b[i+3] = b[i+3], b[i+2], b[i+1], b[i]
	}
	addr, ok := netip.AddrFromSlice(b)
	p, err := strconv.ParseUint(port, 16, 16)
	if !ok || err != nil {
		return netip.AddrPort{}, fmt.Errorf("bad address %q", s)
	}
	return netip.AddrPortFrom(addr.Unmap(), uint16(p)), nil
}

func TestParseProcAddr(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:1F90":                         "127.0.0.1:8080",
		"00000000:0050":                         "0.0.0.0:80",
		"00000000000000000000000001000000:0016": "[::1]:22",
		"0000000000000000FFFF00000100007F:01BB": "127.0.0.1:443",
	} {
		got, err := parseProcAddr(in)
		if err != nil || got.String() != want {
			t.Errorf("parseProcAddr(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
}

// etcdRangeAll asks etcd's JSON gateway for every key.
const etcdRangeAll = `{"key":"AA==","range_end":"AA=="}`

// goHTTPSAnswer is what a Go TLS server answers to plain HTTP: no data.
const goHTTPSAnswer = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"

// plainHTTP sends a plain-text HTTP request to addr and returns what came back.
func plainHTTP(addr, request string) ([]byte, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close() }()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(c, 64<<10))
	if len(b) > 0 {
		return b, nil
	}
	return nil, err
}

// strangerCert is a client certificate that claims to be the sandbox's
// admin (CN klab-admin, O system:masters) but is signed by another CA.
func strangerCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "klab-admin", Organization: []string{"system:masters"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestNoOpenDoor plays a local user without the sandbox's credentials
// against every socket the sandbox process listens on, as the kernel lists
// them (not as the sandbox says): TCP only on loopback, and each port either
// refuses, fails the TLS handshake, or answers 401/403; plain HTTP gets
// nothing. Unix sockets only in private directories, never abstract.
func TestNoOpenDoor(t *testing.T) {
	needCluster(t)
	pid, ok := sandboxctl.Running(cluster.DataDir)
	if !ok {
		t.Fatal("the test sandbox is not running")
	}
	st, err := sandboxctl.ReadState(cluster.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	socks := listeningSockets(t, pid)
	t.Logf("pid %d listens on TCP %v, unix %q", pid, socks.tcp, socks.unix)

	// The known listeners must be among them (else the probe proves
	// nothing), and there must be no other: a new one belongs in
	// sandbox/listeners.go, with its authentication.
	nodes, err := cluster.Client.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	known := map[uint16]string{uint16(st.APIServerPort): "kube-apiserver"}
	for _, n := range nodes.Items {
		known[uint16(n.Status.DaemonEndpoints.KubeletEndpoint.Port)] = "node agent (kubelet API of " + n.Name + ")"
	}
	for port, name := range known {
		if !slices.ContainsFunc(socks.tcp, func(a netip.AddrPort) bool { return a.Port() == port }) {
			t.Errorf("the %s's port %d is not among the process's listening sockets %v", name, port, socks.tcp)
		}
	}
	if !slices.Contains(socks.unix, st.EtcdSocket) {
		t.Errorf("etcd's socket %s is not among the process's listening unix sockets %q", st.EtcdSocket, socks.unix)
	}

	stranger := strangerCert(t)
	for _, ap := range socks.tcp {
		t.Run(ap.String(), func(t *testing.T) {
			if !ap.Addr().IsLoopback() {
				t.Errorf("listens on %s, not on loopback", ap)
			}
			if known[ap.Port()] == "" {
				t.Errorf("listens on %s, which is neither the apiserver nor the node agent: list it in sandbox/listeners.go", ap)
			}
			addr := ap.String()
			for _, req := range []string{
				"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
				fmt.Sprintf("POST /v3/kv/range HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(etcdRangeAll), etcdRangeAll),
			} {
				b, err := plainHTTP(addr, req)
				switch {
				case len(b) == 0:
					t.Logf("plain HTTP: nothing (%v)", err)
				case b[0] == 0x15: // a TLS alert record
					t.Logf("plain HTTP: a TLS alert")
				case string(b) == goHTTPSAnswer:
					t.Logf("plain HTTP: %q", strings.SplitN(string(b), "\r\n", 2)[0])
				default:
					t.Errorf("plain HTTP %q got data:\n%.300s", strings.SplitN(req, "\r\n", 2)[0], b)
				}
			}
			for cname, cert := range map[string]*tls.Certificate{"no client certificate": nil, "a forged admin certificate": &stranger} {
				client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
					DisableKeepAlives: true,
					TLSClientConfig: &tls.Config{
						InsecureSkipVerify: true, //nolint:gosec // a stranger does not check
						// Sent even when the server asks for other CAs (the
						// default would then send nothing).
						GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
							if cert == nil {
								return &tls.Certificate{}, nil
							}
							return cert, nil
						},
					},
				}}
				for _, path := range []string{"/", "/version", "/healthz", "/livez", "/readyz", "/metrics", "/openapi/v2",
					"/api/v1/namespaces/default/secrets", "/containerLogs/default/p/c", "/pods", "/stats/summary",
					"/configz", "/debug/pprof/", "/v3/kv/range"} {
					method, body := http.MethodGet, io.Reader(nil)
					if strings.HasPrefix(path, "/v3/") {
						method, body = http.MethodPost, strings.NewReader(etcdRangeAll)
					}
					req, _ := http.NewRequest(method, "https://"+addr+path, body)
					resp, err := client.Do(req)
					if err != nil {
						t.Logf("TLS, %s, %s: refused: %v", cname, path, err)
						continue
					}
					b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
					_ = resp.Body.Close()
					if (resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden) || len(b) > 512 {
						t.Errorf("TLS, %s, %s %s: %s, %d bytes:\n%.300s", cname, method, path, resp.Status, len(b), b)
					} else {
						t.Logf("TLS, %s, %s: %s", cname, path, resp.Status)
					}
				}
			}
		})
	}
	for _, path := range socks.unix {
		if path == "" || path[0] == '@' {
			t.Errorf("an abstract or unnamed listening unix socket %q: any local user can connect to it", path)
			continue
		}
		fi, err := os.Lstat(path)
		if err != nil {
			t.Errorf("unix socket %s: %v", path, err)
			continue
		}
		if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("unix socket %s: mode %v, want a socket with no access for group and others", path, fi.Mode())
		}
		dir, err := os.Lstat(filepath.Dir(path))
		if err != nil || !dir.IsDir() || dir.Mode().Perm()&0o077 != 0 || dir.Sys().(*syscall.Stat_t).Uid != uint32(os.Geteuid()) {
			t.Errorf("unix socket %s: its directory is %v (%v), want ours with mode 0700", path, dir.Mode(), err)
		}
	}
}

// Other-user probe: the test binary, run again as uid 65534 with
// otherUserProbeEnv set, tries each target and prints what happened, one
// JSON probeResult a line (see TestMain).
const otherUserProbeEnv = "KLAB_TEST_OTHER_USER_PROBE"

type probeTarget struct {
	Op   string // read (a file), list (a dir) or dial (a unix socket)
	Path string
}

type probeResult struct {
	probeTarget
	Err string // "" when it worked
}

// otherUserProbe runs the probe of spec (a JSON []probeTarget).
func otherUserProbe(spec string) int {
	var targets []probeTarget
	if err := json.Unmarshal([]byte(spec), &targets); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	enc := json.NewEncoder(os.Stdout)
	for _, tg := range targets {
		var err error
		switch tg.Op {
		case "read":
			_, err = os.ReadFile(tg.Path)
		case "list":
			_, err = os.ReadDir(tg.Path)
		case "dial":
			var c net.Conn
			if c, err = net.DialTimeout("unix", tg.Path, 2*time.Second); err == nil {
				_ = c.Close()
			}
		default:
			err = fmt.Errorf("unknown op %q", tg.Op)
		}
		r := probeResult{probeTarget: tg}
		if err != nil {
			r.Err = err.Error()
		}
		_ = enc.Encode(r)
	}
	return 0
}

// probeBinary makes this test binary executable by another user: a hard
// link (or a copy) in a fresh 0755 dir, since go test builds it in a 0700 one.
func probeBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "klab-probe-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "probe.test")
	if err := os.Link(exe, dst); err != nil {
		src, err := os.Open(exe)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = src.Close() }()
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, src); err != nil {
			t.Fatal(err)
		}
		if err := out.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestOtherUserIsLockedOut: another local user can read none of the data
// dir, the kubeconfig, the keys or etcd's data, nor reach etcd's socket.
// The owner's side: every one of them is private by its own mode too.
func TestOtherUserIsLockedOut(t *testing.T) {
	needCluster(t)
	st, err := sandboxctl.ReadState(cluster.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	data := cluster.DataDir
	keys, _ := filepath.Glob(filepath.Join(data, "pki", "*.key"))
	if len(keys) < 5 {
		t.Fatalf("pki keys: %v", keys)
	}
	private := append([]string{cluster.Kubeconfig, filepath.Join(data, "etcd", "member", "snap", "db"),
		sandboxctl.LogPath(data), filepath.Join(data, sandboxctl.StateFile)}, keys...)
	for _, f := range private {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: %v %v, want no access for group and others", f, fi.Mode(), err)
		}
	}
	for _, d := range []string{data, filepath.Join(data, "pki"), filepath.Join(data, "etcd")} {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want mode 0700", d, fi.Mode(), err)
		}
	}

	if os.Geteuid() != 0 {
		t.Skip("the other-user half runs a probe as uid 65534 and needs root to switch to it")
	}
	probe := probeBinary(t)
	var targets []probeTarget
	for _, d := range []string{data, filepath.Join(data, "pki"), filepath.Join(data, "etcd")} {
		targets = append(targets, probeTarget{"list", d})
	}
	for _, f := range private {
		targets = append(targets, probeTarget{"read", f})
	}
	targets = append(targets, probeTarget{"dial", st.EtcdSocket})
	control := probeTarget{"list", filepath.Dir(probe)} // must work: the probe can read at all
	targets = append(targets, control)
	spec, _ := json.Marshal(targets)
	cmd := exec.Command(probe, "-test.run=^$")
	cmd.Dir = filepath.Dir(probe)
	cmd.Env = append(os.Environ(), otherUserProbeEnv+"="+string(spec))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("probe as uid 65534: %v\n%s", err, stderr.String())
	}
	got := map[probeTarget]string{}
	for line := range strings.Lines(string(out)) {
		var r probeResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("probe output %q: %v", line, err)
		}
		got[r.probeTarget] = r.Err
	}
	for _, tg := range targets {
		e, ok := got[tg]
		switch {
		case !ok:
			t.Errorf("%s %s: no result from the probe", tg.Op, tg.Path)
		case tg == control:
			if e != "" {
				t.Errorf("control: uid 65534 cannot read its own probe binary (%s): the probe proves nothing", e)
			}
		case e == "":
			t.Errorf("uid 65534 can %s %s", tg.Op, tg.Path)
		case !strings.Contains(e, "permission denied"):
			t.Errorf("uid 65534, %s %s: %s; want permission denied", tg.Op, tg.Path, e)
		}
	}
}
