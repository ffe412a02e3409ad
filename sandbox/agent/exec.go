package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	remotecommand "k8s.io/cri-streaming/pkg/streaming/remotecommand"
	utilexec "k8s.io/utils/exec"

	"github.com/klabdev/klab/sandbox/agent/busybox"
)

// `kubectl exec`, `kubectl attach` and `kubectl cp` reach the agent as they reach a kubelet: the
// apiserver (pods/exec, pods/attach) opens https://<node InternalIP>:<kubelet port>/exec/... or
// /attach/... with its kubelet-client certificate, and the agent serves the stream with the kubelet's
// own server side of the remote-command protocols (k8s.io/cri-streaming: SPDY v1-v4 and the channel
// WebSocket protocols; kubectl's WebSocket v5 is translated to SPDY by the apiserver, as for any node
// that does not declare ExtendWebSocketsToKubelet). The command runs in the container's shell
// (busybox.Shell.Start): its file system with its volumes, its environment and working dir, confined
// by os.Root like the container's own commands.

// Timeouts of the streaming server, the kubelet's defaults (streamingConnectionIdleTimeout 4 h, CRI
// stream creation 30 s).
const (
	streamIdleTimeout     = 4 * time.Hour
	streamCreationTimeout = remotecommand.DefaultStreamCreationTimeout
)

// running is what exec and attach reach of a container's current run.
type running struct {
	ctx context.Context // ends with the run
	sh  *busybox.Shell
	io  *containerIO
}

// streamTarget parses /exec/{namespace}/{pod}[/{uid}]/{container} (or /attach/...) and finds the
// container's current run; it answers the request itself and returns nil when there is none, as the
// kubelet does.
func (a *agent) streamTarget(w http.ResponseWriter, r *http.Request, prefix string) (*corev1.Pod, *running) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, prefix), "/")
	if len(parts) != 3 && len(parts) != 4 || slicesContainEmpty(parts) {
		writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("expected %s{namespace}/{pod}/{container}", prefix))
		return nil, nil
	}
	ns, name, ctr := parts[0], parts[1], parts[len(parts)-1]
	pod, ok := a.nodePod(r, ns, name) // only a pod of the node the request reached, as each kubelet
	if !ok {
		http.Error(w, "pod does not exist", http.StatusNotFound)
		return nil, nil
	}
	if len(parts) == 4 && string(pod.UID) != parts[2] {
		http.Error(w, "pod does not exist", http.StatusNotFound)
		return nil, nil
	}
	run := a.pods.runningContainer(pod, ctr)
	if run == nil {
		// What the kubelet answers when the runtime has no running container of that name; kubectl
		// prints "error: unable to upgrade connection: container not found (…)".
		msg := fmt.Sprintf("container not found (%q)", ctr)
		if prefix == "/attach/" {
			msg = fmt.Sprintf("container %s not found in pod %s_%s", ctr, name, ns)
		}
		http.Error(w, msg, http.StatusInternalServerError)
		return nil, nil
	}
	return pod, run
}

func slicesContainEmpty(parts []string) bool {
	for _, p := range parts {
		if p == "" {
			return true
		}
	}
	return false
}

// runningContainer returns the current run of the pod's container name, nil unless it is running.
func (m *podManager) runningContainer(pod *corev1.Pod, name string) *running {
	m.mu.Lock()
	w := m.workers[pod.UID]
	m.mu.Unlock()
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.ctr(name)
	if st == nil || st.state.Running == nil || st.run == nil || st.run.ctx.Err() != nil {
		return nil
	}
	return st.run
}

func (a *agent) serveExec(w http.ResponseWriter, r *http.Request) {
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	pod, run := a.streamTarget(w, r, "/exec/")
	if run == nil {
		return
	}
	cmd := r.URL.Query()["command"]
	remotecommand.ServeExec(w, r, executor{run}, pod.Name, string(pod.UID), "", cmd, opts,
		streamIdleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

func (a *agent) serveAttach(w http.ResponseWriter, r *http.Request) {
	opts, err := remotecommand.NewOptions(r)
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	pod, run := a.streamTarget(w, r, "/attach/")
	if run == nil {
		return
	}
	remotecommand.ServeAttach(w, r, executor{run}, pod.Name, string(pod.UID), "", opts,
		streamIdleTimeout, streamCreationTimeout, remotecommand.SupportedStreamingProtocols)
}

// executor runs exec and attach sessions in one container run.
type executor struct{ run *running }

// ExecInContainer runs cmd in the container, with a pseudo-terminal when tty is set (resized as the
// client's, Ctrl+C interrupting the foreground command). A non-zero exit status is returned as an
// ExitError, which the protocol reports as kubectl's "command terminated with exit code N".
func (e executor) ExecInContainer(ctx context.Context, _, _, _ string, cmd []string, in io.Reader, out, errw io.WriteCloser, tty bool, resize <-chan remotecommand.TerminalSize, _ time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(e.run.ctx, cancel) // the container stops: so does the command
	defer stop()
	opts := busybox.ExecOptions{Argv: cmd, TTY: tty}
	if in != nil {
		opts.Stdin = in
	}
	if out != nil {
		opts.Stdout = out
	}
	if errw != nil {
		opts.Stderr = errw
	}
	var master, slave *os.File
	if tty {
		var err error
		if master, slave, err = openTerminal(); err != nil {
			return fmt.Errorf("exec: %w", err)
		}
		defer func() { _ = master.Close() }()
		opts.Stdin, opts.Stdout, opts.Stderr = slave, slave, slave
	}
	proc, err := e.run.sh.Start(ctx, opts)
	if err != nil {
		if slave != nil {
			_ = slave.Close()
		}
		if errors.Is(err, busybox.ErrNotFound) {
			// containerd's and runc's words for it.
			return fmt.Errorf("failed to exec in container: failed to start exec %q: OCI runtime exec failed: exec failed: unable to start container process: exec: %q: executable file not found in $PATH: unknown",
				newExecID(), cmd[0])
		}
		return fmt.Errorf("failed to exec in container: %w", err)
	}
	copied := make(chan struct{})
	if tty {
		go followResize(ctx, master, resize)
		if in != nil {
			go func() { _ = copyToTerminal(master, slave, in, proc.Signal) }()
		}
		go func() {
			defer close(copied)
			if out != nil {
				_, _ = io.Copy(out, master)
			}
		}()
	} else {
		close(copied)
	}
	code, err := proc.Wait()
	if slave != nil {
		_ = slave.Close() // the terminal hangs up: its output ends once read
		<-copied
	}
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	if code != 0 {
		return utilexec.CodeExitError{Err: fmt.Errorf("command terminated with exit code %d", code), Code: code}
	}
	return nil
}

// AttachContainer connects the client to the container's main process (its terminal when the
// container has `tty: true`) until the container run ends or the client leaves.
func (e executor) AttachContainer(ctx context.Context, _, _, _ string, in io.Reader, out, errw io.WriteCloser, _ bool, resize <-chan remotecommand.TerminalSize) error {
	// The session ends with the run's I/O (once the terminal's last output was sent), not with the run's
	// context, which ends as soon as the main process returns.
	e.run.io.attach(ctx, in, out, errw, resize)
	return nil
}

func newExecID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
