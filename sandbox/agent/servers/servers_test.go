package servers

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klabdev/klab/sandbox/agent/podnet"
)

// dirFiles serves a host folder as the container's root.
type dirFiles string

func (d dirFiles) ReadFile(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(string(d), filepath.FromSlash(name)))
}
func (d dirFiles) Stat(name string) (fs.FileInfo, error) {
	return os.Stat(filepath.Join(string(d), filepath.FromSlash(name)))
}
func (d dirFiles) Open(name string) (*os.File, error) {
	return os.Open(filepath.Join(string(d), filepath.FromSlash(name)))
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// start runs the server name in a pod of a fresh network, its image files laid in a temporary root; it
// returns a client pod and the server's logs.
func start(t *testing.T, name, version string) (client *podnet.Host, stdout, stderr *syncBuf) {
	t.Helper()
	client, stdout, stderr, _, _ = startArgs(t, name, version)
	return client, stdout, stderr
}

// startArgs is start with the container's args; it also returns the container's root on the host and
// the channel of the server's exit code.
func startArgs(t *testing.T, name, version string, args ...string) (client *podnet.Host, stdout, stderr *syncBuf, root string, exit <-chan int) {
	t.Helper()
	srv := Get(name)
	if srv == nil {
		t.Fatalf("no server %s", name)
	}
	root = t.TempDir()
	for p, content := range srv.Files {
		host := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(host, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n := podnet.New()
	pod, err := n.AddPod("10.244.0.2", name, "default")
	if err != nil {
		t.Fatal(err)
	}
	client, err = n.AddPod("10.244.0.3", "client", "default")
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr = &syncBuf{}, &syncBuf{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	codes := make(chan int, 1)
	go func() {
		code := srv.Run(ctx, &Env{Listen: pod.Listen, Dial: pod.DialContext, Files: dirFiles(root), Stdout: stdout, Stderr: stderr, IP: "10.244.0.2",
			Hostname: name + "-0", Version: srv.VersionFor(version), Args: args})
		codes <- code
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("server did not stop")
		}
		pod.Close()
		client.Close()
	})
	return client, stdout, stderr, root, codes
}

func get(t *testing.T, client *podnet.Host, method, url string) (*http.Response, string) {
	t.Helper()
	tr := &http.Transport{DialContext: client.DialContext, DisableKeepAlives: true}
	req, _ := http.NewRequest(method, url, nil)
	req.Header.Set("User-Agent", "Wget")
	var resp *http.Response
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err = (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestNginx(t *testing.T) {
	client, stdout, stderr := start(t, "nginx", "1.27.3-alpine")
	resp, body := get(t, client, "GET", "http://10.244.0.2/")
	if resp.StatusCode != 200 || len(body) != 615 || !strings.Contains(body, "<h1>Welcome to nginx!</h1>") {
		t.Errorf("GET /: %d, %d bytes", resp.StatusCode, len(body))
	}
	for k, v := range map[string]string{"Server": "nginx/1.27.3", "Content-Type": "text/html", "Content-Length": "615", "Accept-Ranges": "bytes"} {
		if resp.Header.Get(k) != v {
			t.Errorf("%s: %q, want %q", k, resp.Header.Get(k), v)
		}
	}
	if resp.Header.Get("ETag") == "" || resp.Header.Get("Last-Modified") == "" {
		t.Errorf("headers %v", resp.Header)
	}
	resp, body = get(t, client, "GET", "http://10.244.0.2/healthz")
	want404 := "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx/1.27.3</center>\r\n</body>\r\n</html>\r\n"
	if resp.StatusCode != 404 || body != want404 || len(body) != 153 {
		t.Errorf("GET /healthz: %d %q", resp.StatusCode, body)
	}
	if resp, _ = get(t, client, "POST", "http://10.244.0.2/"); resp.StatusCode != 405 {
		t.Errorf("POST: %d", resp.StatusCode)
	}
	if !strings.Contains(stdout.String(), `10.244.0.3 - - [`) || !strings.Contains(stdout.String(), `] "GET / HTTP/1.1" 200 615 "-" "Wget" "-"`) ||
		!strings.Contains(stdout.String(), `"GET /healthz HTTP/1.1" 404 153 "-" "Wget" "-"`) {
		t.Errorf("access log:\n%s", stdout)
	}
	if !strings.Contains(stderr.String(), `open() "/usr/share/nginx/html/healthz" failed (2: No such file or directory), client: 10.244.0.3, server: localhost, request: "GET /healthz HTTP/1.1", host: "10.244.0.2"`) {
		t.Errorf("error log:\n%s", stderr)
	}
}

func TestHttpd(t *testing.T) {
	client, stdout, _ := start(t, "httpd", "2.4")
	resp, body := get(t, client, "GET", "http://10.244.0.2/")
	if resp.StatusCode != 200 || body != "<html><body><h1>It works!</h1></body></html>\n" || resp.Header.Get("Server") != "Apache/2.4.62 (Unix)" {
		t.Errorf("GET /: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	resp, body = get(t, client, "GET", "http://10.244.0.2/nope")
	if resp.StatusCode != 404 || !strings.Contains(body, "<p>The requested URL was not found on this server.</p>") || resp.Header.Get("Content-Type") != "text/html; charset=iso-8859-1" {
		t.Errorf("GET /nope: %d %q", resp.StatusCode, body)
	}
	if !strings.Contains(stdout.String(), `10.244.0.3 - - [`) || !strings.Contains(stdout.String(), `"GET /nope HTTP/1.1" 404 196`) {
		t.Errorf("access log:\n%s", stdout)
	}
}

func TestRedis(t *testing.T) {
	client, stdout, _ := start(t, "redis", "7")
	var c net.Conn
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err = client.DialContext(context.Background(), "tcp", "10.244.0.2:6379"); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	_, _ = io.WriteString(c, "PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nINCR n\r\nPING hi\r\nNOPE a b\r\nGET missing\r\nQUIT\r\n")
	b, _ := io.ReadAll(bufio.NewReader(c))
	want := "+PONG\r\n+OK\r\n$5\r\nhello\r\n:1\r\n$2\r\nhi\r\n-ERR unknown command 'NOPE', with args beginning with: 'a' 'b' \r\n$-1\r\n+OK\r\n"
	if string(b) != want {
		t.Errorf("redis answered %q, want %q", b, want)
	}
	if !strings.Contains(stdout.String(), "Ready to accept connections tcp") || !strings.Contains(stdout.String(), "Redis version=7.4.1") {
		t.Errorf("redis log:\n%s", stdout)
	}
}

func TestBindFailure(t *testing.T) {
	n := podnet.New()
	pod, _ := n.AddPod("10.244.0.2", "web", "default")
	defer pod.Close()
	l, err := pod.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	var stderr syncBuf
	code := Get("nginx").Run(context.Background(), &Env{Listen: pod.Listen, Files: dirFiles(t.TempDir()), Stdout: io.Discard, Stderr: &stderr, Version: "1.27.3"})
	if code != 1 || !strings.Contains(stderr.String(), "nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)") {
		t.Errorf("second nginx on :80: exit %d, %q", code, stderr.String())
	}
}
