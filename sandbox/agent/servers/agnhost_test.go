package servers

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpchealth "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// The agnhost subcommands the upstream e2e tests run, as test/images/agnhost (v2.66.1) answers them.
func TestAgnhost(t *testing.T) {
	t.Run("pause by default", func(t *testing.T) {
		_, stdout, _, _, _ := startArgs(t, "agnhost", "2.55")
		waitFor(t, func() bool { return stdout.String() == "Paused\nSignals registered\n" }, "pause's output: %q", stdout)
	})
	t.Run("serve-hostname", func(t *testing.T) {
		client, _, stderr, _, _ := startArgs(t, "agnhost", "2.66.1", "serve-hostname")
		if resp, body := get(t, client, "GET", "http://10.244.0.2:9376/"); resp.StatusCode != 200 || body != "agnhost-0" {
			t.Errorf("GET /: %d %q", resp.StatusCode, body)
		}
		if !strings.Contains(stderr.String(), "Serving on port 9376.") || !strings.Contains(stderr.String(), "HTTP request from 10.244.0.3:") {
			t.Errorf("log:\n%s", stderr)
		}
	})
	t.Run("test-webserver", func(t *testing.T) {
		client, _, _, root, _ := startArgs(t, "agnhost", "2.55", "test-webserver")
		resp, body := get(t, client, "GET", "http://10.244.0.2/localhost.crt")
		if resp.StatusCode != 200 || !strings.HasPrefix(body, "-----BEGIN CERTIFICATE-----") || resp.Header.Get("Cache-Control") != "private" {
			t.Errorf("GET /localhost.crt: %d %q %v", resp.StatusCode, body, resp.Header)
		}
		// What the StatefulSet tests do to make a pod unready: mv /localhost.crt /tmp/.
		if err := os.Rename(filepath.Join(root, "localhost.crt"), filepath.Join(root, "uploads", "localhost.crt")); err != nil {
			t.Fatal(err)
		}
		if resp, _ := get(t, client, "GET", "http://10.244.0.2/localhost.crt"); resp.StatusCode != 404 {
			t.Errorf("moved away: %d", resp.StatusCode)
		}
	})
	t.Run("netexec", func(t *testing.T) {
		client, _, stderr, _, exit := startArgs(t, "agnhost", "2.66.1", "netexec", "--http-port=80", "--udp-port=80")
		for path, want := range map[string]string{"/hostname": "agnhost-0", "/hostName": "agnhost-0", "/echo?msg=bonjour": "bonjour", "/serverport": "80", "/readyz": "ok"} {
			if resp, body := get(t, client, "GET", "http://10.244.0.2"+path); resp.StatusCode != 200 || body != want {
				t.Errorf("GET %s: %d %q, want %q", path, resp.StatusCode, body, want)
			}
		}
		if resp, body := get(t, client, "GET", "http://10.244.0.2/clientip"); !strings.HasPrefix(body, "10.244.0.3:") {
			t.Errorf("GET /clientip: %d %q", resp.StatusCode, body)
		}
		if resp, _ := get(t, client, "GET", "http://10.244.0.2/echo?msg=x&code=503"); resp.StatusCode != 503 {
			t.Errorf("echo code: %d", resp.StatusCode)
		}
		// /dial reaches a pod (here the server itself) over HTTP, as the lifecycle-hook e2e tests use it.
		if resp, body := get(t, client, "GET", "http://10.244.0.2/dial?host=10.244.0.2&port=80&request=echo%3Fmsg%3Dhop&tries=2"); resp.StatusCode != 200 || body != `{"responses":["hop","hop"]}` {
			t.Errorf("GET /dial: %d %q", resp.StatusCode, body)
		}
		if resp, _ := get(t, client, "GET", "http://10.244.0.2/shell?cmd=ls"); resp.StatusCode != 501 {
			t.Errorf("shell: %d", resp.StatusCode)
		}
		go func() {
			c := &http.Client{Transport: &http.Transport{DialContext: client.DialContext}, Timeout: 5 * time.Second}
			if resp, err := c.Get("http://10.244.0.2/exit?code=3"); err == nil {
				_ = resp.Body.Close()
			}
		}()
		select {
		case code := <-exit:
			if code != 3 {
				t.Errorf("exit code %d after /exit?code=3", code)
			}
		case <-time.After(5 * time.Second):
			t.Error("netexec did not exit after /exit?code=3")
		}
		if !strings.Contains(stderr.String(), "Started HTTP server on port 80") || !strings.Contains(stderr.String(), "GET /echo?msg=bonjour&code=") {
			t.Errorf("log:\n%s", stderr)
		}
	})
	t.Run("liveness", func(t *testing.T) {
		client, _, _, _, _ := startArgs(t, "agnhost", "2.66.1", "liveness")
		if resp, body := get(t, client, "GET", "http://10.244.0.2:8080/healthz"); resp.StatusCode != 200 || body != "ok" {
			t.Errorf("GET /healthz: %d %q", resp.StatusCode, body)
		}
	})
	t.Run("entrypoint-tester", func(t *testing.T) {
		_, stdout, _, _, exit := startArgs(t, "agnhost", "2.66.1", "entrypoint-tester", "override", "arguments")
		if code := <-exit; code != 0 || stdout.String() != "[/agnhost entrypoint-tester override arguments]\n" {
			t.Errorf("exit %d, stdout %q", code, stdout)
		}
	})
	t.Run("unavailable subcommand", func(t *testing.T) {
		_, _, stderr, _, exit := startArgs(t, "agnhost", "2.66.1", "webhook")
		if code := <-exit; code != 1 || !strings.Contains(stderr.String(), `agnhost: the subcommand "webhook" is not available in the klab sandbox`) {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("bad flag", func(t *testing.T) {
		_, _, stderr, _, exit := startArgs(t, "agnhost", "2.66.1", "serve-hostname", "--nope")
		if code := <-exit; code != 1 || stderr.String() != "Error: unknown flag: --nope\n" {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}

func waitFor(t *testing.T, ok func() bool, format string, args ...any) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf(format, args...)
		}
	}
}

// grpc-health-checking answers grpc.health.v1.Health as agnhost does, and /make-not-serving turns it off.
func TestAgnhostGRPCHealth(t *testing.T) {
	client, _, stderr, _, _ := startArgs(t, "agnhost", "2.66.1", "grpc-health-checking")
	conn, err := grpc.NewClient("10.244.0.2:5000", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) { return client.DialContext(ctx, "tcp", a) }))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	health := grpchealth.NewHealthClient(conn)
	check := func(service string) (grpchealth.HealthCheckResponse_ServingStatus, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := health.Check(ctx, &grpchealth.HealthCheckRequest{Service: service})
		return resp.GetStatus(), err
	}
	if st, err := check(""); err != nil || st != grpchealth.HealthCheckResponse_SERVING {
		t.Fatalf("Check: %v %v", st, err)
	}
	if _, err := check("other"); status.Code(err) != codes.NotFound {
		t.Errorf("Check(other): %v, want NotFound", err)
	}
	if resp, _ := get(t, client, "GET", "http://10.244.0.2:8080/make-not-serving"); resp.StatusCode != 200 {
		t.Errorf("/make-not-serving: %d", resp.StatusCode)
	}
	if st, err := check(""); err != nil || st != grpchealth.HealthCheckResponse_NOT_SERVING {
		t.Errorf("Check after /make-not-serving: %v %v", st, err)
	}
	if !strings.Contains(stderr.String(), "gRPC server starting to listen on :5000") || !strings.Contains(stderr.String(), "Mark as unhealthy") {
		t.Errorf("log:\n%s", stderr)
	}
}

// netexec with --tls-cert-file serves HTTPS on its port, with the image's own localhost certificate.
func TestAgnhostNetexecTLS(t *testing.T) {
	client, _, stderr, _, _ := startArgs(t, "agnhost", "2.66.1", "netexec", "--http-port=8080", "--udp-port=-1",
		"--tls-cert-file", "/localhost.crt", "--tls-private-key-file", "/localhost.key")
	tr := &http.Transport{DialContext: client.DialContext, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // the image's self-signed certificate
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	var resp *http.Response
	waitFor(t, func() bool {
		var err error
		resp, err = c.Get("https://10.244.0.2:8080/echo?msg=tls")
		return err == nil
	}, "no HTTPS answer; log:\n%s", stderr)
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if string(body) != "tls" || resp.TLS == nil {
		t.Errorf("HTTPS /echo: %q (TLS %v)", body, resp.TLS != nil)
	}
	if !strings.Contains(stderr.String(), "Started HTTPS server on port 8080") {
		t.Errorf("log:\n%s", stderr)
	}
}
