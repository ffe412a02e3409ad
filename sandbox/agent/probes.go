package agent

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/klabdev/klab/sandbox/agent/busybox"
)

// Probes: exec probes really run in the container's shell and file system; httpGet, tcpSocket and grpc
// probes succeed (nothing listens in the sandbox, and images that would serve run as idle servers).
// Timings are the pod's own (the apiserver fills in the defaults: period 10 s, timeout 1 s, failure
// threshold 3).

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
		ok, out := r.probe(p)
		if r.ctx.Err() != nil {
			return false
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
			r.w.event(r.st, corev1.EventTypeWarning, "Unhealthy", fmt.Sprintf("%s probe failed: %s", kind, out))
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

// probe runs one probe and returns its result and output.
func (r *probeRun) probe(p *corev1.Probe) (bool, string) {
	if p.Exec == nil {
		return true, ""
	}
	ctx, cancel := context.WithTimeout(r.ctx, seconds(p.TimeoutSeconds, 1))
	defer cancel()
	var out bytes.Buffer
	lw := &capWriter{buf: &out, left: 10 << 10}
	sh := &busybox.Shell{FS: r.fsys, Env: r.env, Dir: r.c.WorkingDir, Hostname: podHostname(r.w.latest()), Node: r.w.m.a.shellNode(), Stdout: lw, Stderr: lw}
	code, err := sh.Run(ctx, p.Exec.Command)
	switch {
	case r.ctx.Err() != nil:
		return false, ""
	case ctx.Err() != nil:
		return false, fmt.Sprintf("command %q timed out", strings.Join(p.Exec.Command, " "))
	case err != nil:
		return false, err.Error()
	}
	return code == 0, strings.TrimSpace(out.String())
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
