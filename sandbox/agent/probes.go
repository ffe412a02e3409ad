package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	grpchealth "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/probe"
	probehttp "k8s.io/kubernetes/pkg/probe/http"

	"github.com/klabdev/klab/sandbox/agent/busybox"
)

// Probes: exec probes really run in the container's shell and file system; httpGet and tcpSocket probes
// connect from the node to the pod's IP over the pod network (package podnet), with the kubelet's own
// request building and result rules (k8s.io/kubernetes/pkg/probe/http) and its messages; grpc probes call
// grpc.health.v1.Health over the pod network as the kubelet's gRPC prober does. Timings are the pod's own (the apiserver fills
// in the defaults: period 10 s, timeout 1 s, failure threshold 3).

// probeRun is what probes need of one run of a container.
type probeRun struct {
	ctx  context.Context // the run: cancelled when the command ends
	w    *podWorker
	st   *ctrState
	c    *corev1.Container
	fsys *busybox.FS
	env  []string
	kill func() // stops the run (liveness or startup failure)
}

// startProbes starts the container's probes; the returned wait blocks until they stopped.
func (w *podWorker) startProbes(r *probeRun) (wait func()) {
	c := r.c
	if c.LivenessProbe == nil && c.ReadinessProbe == nil && c.StartupProbe == nil {
		return func() {}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if c.StartupProbe != nil {
			if !r.loop("Startup", c.StartupProbe, true) {
				return
			}
			r.w.mu.Lock()
			r.st.started = true
			r.w.mu.Unlock()
			if c.ReadinessProbe == nil && (!r.st.init || isSidecar(r.w.latest(), c.Name)) {
				r.setReady(true)
			} else {
				r.w.publish()
			}
		}
		var inner sync.WaitGroup
		if c.LivenessProbe != nil {
			inner.Add(1)
			go func() {
				defer inner.Done()
				r.loop("Liveness", c.LivenessProbe, false)
			}()
		}
		if c.ReadinessProbe != nil {
			inner.Add(1)
			go func() {
				defer inner.Done()
				r.loop("Readiness", c.ReadinessProbe, false)
			}()
		}
		inner.Wait()
	}()
	return wg.Wait
}

func seconds(v, def int32) time.Duration {
	if v <= 0 {
		v = def
	}
	return time.Duration(v) * time.Second
}

// loop probes until the run ends; a startup probe returns true at its first success. Liveness and
// startup failures past the threshold kill the run; readiness results set the container's readiness.
func (r *probeRun) loop(kind string, p *corev1.Probe, untilSuccess bool) bool {
	if !sleepCtx(r.ctx, time.Duration(p.InitialDelaySeconds)*time.Second) {
		return false
	}
	failureThreshold, successThreshold := p.FailureThreshold, p.SuccessThreshold
	if failureThreshold <= 0 {
		failureThreshold = 3
	}
	if successThreshold <= 0 {
		successThreshold = 1
	}
	failures, successes := int32(0), int32(0)
	for {
		// As the kubelet's prober: liveness and startup probes stop once the pod is being deleted.
		if kind != "Readiness" && r.w.isTerminating() {
			return false
		}
		result, out, err := r.probe(p)
		if r.ctx.Err() != nil || kind != "Readiness" && r.w.isTerminating() { // a result from before the deletion is dropped
			return false
		}
		ok := result == probe.Success || result == probe.Warning
		switch {
		case err != nil:
			ok = false
			r.w.event(r.st, corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("%s probe errored and resulted in %s state: %s", kind, result, err))
		case result == probe.Warning:
			r.w.event(r.st, corev1.EventTypeWarning, "ProbeWarning", fmt.Sprintf("%s probe warning: %s", kind, out))
		case !ok:
			r.w.event(r.st, corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("%s probe failed: %s", kind, out))
		}
		if ok {
			failures, successes = 0, successes+1
			if untilSuccess {
				return true
			}
			if kind == "Readiness" && successes >= successThreshold {
				r.setReady(true)
			}
		} else {
			successes, failures = 0, failures+1
			if kind == "Readiness" && failures >= failureThreshold {
				r.setReady(false)
			}
			if kind != "Readiness" && failures >= failureThreshold {
				r.w.event(r.st, corev1.EventTypeNormal, "Killing",
					fmt.Sprintf("Container %s failed %s probe, will be restarted", r.c.Name, strings.ToLower(kind)))
				r.kill()
				return false
			}
		}
		if !sleepCtx(r.ctx, seconds(p.PeriodSeconds, 10)) {
			return false
		}
	}
}

func (r *probeRun) setReady(v bool) {
	r.w.mu.Lock()
	change := r.ctx.Err() == nil && r.st.state.Running != nil && r.st.ready != v
	if change {
		r.st.ready = v
	}
	r.w.mu.Unlock()
	if change {
		r.w.publish()
	}
}

// probe runs one probe: its result, its output (the failure message), and an error when it could not
// run (a named port the container does not declare), as the kubelet's prober does.
func (r *probeRun) probe(p *corev1.Probe) (probe.Result, string, error) {
	timeout := seconds(p.TimeoutSeconds, 1)
	switch {
	case p.Exec != nil:
		return r.execProbe(p, timeout)
	case p.HTTPGet != nil:
		req, err := probehttp.NewRequestForHTTPGetAction(p.HTTPGet, r.c, r.w.ip, "probe")
		if err != nil {
			return probe.Unknown, "", err
		}
		ctx, cancel := context.WithCancel(r.ctx)
		defer cancel()
		client := &http.Client{Timeout: timeout, Transport: r.w.node().probeTransport(), CheckRedirect: probehttp.RedirectChecker(false)}
		return probehttp.DoHTTPProbe(req.WithContext(ctx), client)
	case p.TCPSocket != nil:
		port, err := probe.ResolveContainerPort(p.TCPSocket.Port, r.c)
		if err != nil {
			return probe.Unknown, "", err
		}
		host := p.TCPSocket.Host
		if host == "" {
			host = r.w.ip
		}
		ctx, cancel := context.WithTimeout(r.ctx, timeout)
		defer cancel()
		conn, err := r.w.node().net.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return probe.Failure, err.Error(), nil
		}
		_ = conn.Close()
		return probe.Success, "", nil
	case p.GRPC != nil:
		service := ""
		if p.GRPC.Service != nil {
			service = *p.GRPC.Service
		}
		useTLS := p.GRPC.Mode != nil && *p.GRPC.Mode == corev1.GRPCProbeModeTLS
		return grpcProbe(r.ctx, r.w.node().net.DialContext, net.JoinHostPort(r.w.ip, strconv.Itoa(int(p.GRPC.Port))), service, timeout, useTLS)
	}
	return probe.Success, "", nil
}

// grpcProbe is the kubelet's gRPC prober (k8s.io/kubernetes/pkg/probe/grpc), dialing over the pod network
// instead of the host's: a blocking dial bounded by the timeout, then grpc.health.v1.Health/Check, with
// the kubelet's results and messages.
func grpcProbe(ctx context.Context, dial func(ctx context.Context, network, addr string) (net.Conn, error), addr, service string, timeout time.Duration, useTLS bool) (probe.Result, string, error) {
	creds := insecure.NewCredentials()
	if useTLS {
		creds = credentials.NewTLS(&tls.Config{InsecureSkipVerify: true}) //nolint:gosec // as the kubelet's prober
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := grpc.DialContext(ctx, addr, //nolint:staticcheck // the kubelet's prober dials so (blocking, bounded by the timeout)
		grpc.WithUserAgent("kube-probe/"+strings.Join(strings.Split(strings.TrimPrefix(KubeletVersion, "v"), ".")[:2], ".")),
		grpc.WithBlock(), //nolint:staticcheck // as above
		grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) { return dial(ctx, "tcp", a) }))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return probe.Failure, fmt.Sprintf("timeout: failed to connect service %q within %v: %+v", addr, timeout, err), nil
		}
		return probe.Failure, fmt.Sprintf("error: failed to connect service at %q: %+v", addr, err), nil
	}
	defer func() { _ = conn.Close() }()
	resp, err := grpchealth.NewHealthClient(conn).Check(metadata.NewOutgoingContext(ctx, metadata.MD{}), &grpchealth.HealthCheckRequest{Service: service})
	if err != nil {
		if stat, ok := status.FromError(err); ok {
			switch stat.Code() {
			case codes.Unimplemented:
				return probe.Failure, fmt.Sprintf("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): %s", stat.Message()), nil
			case codes.DeadlineExceeded:
				return probe.Failure, fmt.Sprintf("timeout: health rpc did not complete within %v", timeout), nil
			}
		}
		return probe.Failure, fmt.Sprintf("error: health rpc probe failed: %+v", err), nil
	}
	if resp.GetStatus() != grpchealth.HealthCheckResponse_SERVING {
		return probe.Failure, fmt.Sprintf("service unhealthy (responded with %q)", resp.GetStatus().String()), nil
	}
	return probe.Success, "service healthy", nil
}

// probeTransport is the kubelet's HTTP probe transport (no keep-alive, no proxy, no compression, TLS
// unverified), dialing from the node over the pod network.
func (n *node) probeTransport() *http.Transport {
	n.probeOnce.Do(func() {
		n.probeHTTP = &http.Transport{
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as the kubelet's prober
			DisableKeepAlives:   true,
			Proxy:               http.ProxyURL(nil),
			DisableCompression:  true,
			DialContext:         n.net.DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
		}
	})
	return n.probeHTTP
}

// execProbe runs the probe's command in the container.
func (r *probeRun) execProbe(p *corev1.Probe, timeout time.Duration) (probe.Result, string, error) {
	ctx, cancel := context.WithTimeout(r.ctx, timeout)
	defer cancel()
	var out bytes.Buffer
	lw := &capWriter{buf: &out, left: 10 << 10}
	sh := r.w.shell(r.c, r.fsys, r.env, lw, lw)
	code, err := sh.Run(ctx, p.Exec.Command)
	switch {
	case r.ctx.Err() != nil:
		return probe.Failure, "", nil
	case ctx.Err() != nil:
		return probe.Failure, fmt.Sprintf("command %q timed out", strings.Join(p.Exec.Command, " ")), nil
	case err != nil:
		return probe.Failure, err.Error(), nil
	case code != 0:
		return probe.Failure, strings.TrimSpace(out.String()), nil
	}
	return probe.Success, strings.TrimSpace(out.String()), nil
}

// capWriter keeps the first left bytes.
type capWriter struct {
	mu   sync.Mutex
	buf  *bytes.Buffer
	left int
}

func (c *capWriter) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := min(len(b), c.left)
	c.buf.Write(b[:n])
	c.left -= n
	return len(b), nil
}
