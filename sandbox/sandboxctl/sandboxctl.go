// Package sandboxctl finds, starts and stops klab's embedded sandbox cluster
// from the outside: data dir, lock and state files, detached start, stop.
// It is light on purpose (no k8s.io/kubernetes, no etcd) so that every
// package can use it; the control plane itself lives in package sandbox and
// runs inside `klab sandbox up`.
package sandboxctl

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/klabdev/klab/internal/dirs"
	"github.com/klabdev/klab/internal/platform"
)

// Files of a sandbox data dir.
const (
	LockFile   = "sandbox.lock" // held (flock) by the running sandbox; holds its pid
	StateFile  = "sandbox.json" // State of the last start
	LogFile    = "sandbox.log"  // component logs
	Kubeconfig = "kubeconfig"   // admin kubeconfig, mode 0600
)

// ReadyTimeout bounds how long a start may take before it is reported as failed.
const ReadyTimeout = 3 * time.Minute

// DefaultDataDir is $KLAB_SANDBOX_DIR, else $XDG_STATE_HOME/klab/sandbox.
func DefaultDataDir() string {
	if d := os.Getenv("KLAB_SANDBOX_DIR"); d != "" {
		return d
	}
	return filepath.Join(dirs.State(), "sandbox")
}

// KubeconfigPath is the admin kubeconfig of the sandbox in dataDir.
func KubeconfigPath(dataDir string) string { return filepath.Join(dataDir, Kubeconfig) }

// LogPath is the log file of the sandbox in dataDir.
func LogPath(dataDir string) string { return filepath.Join(dataDir, LogFile) }

// State describes the sandbox process that last started in a data dir.
type State struct {
	PID           int       `json:"pid"`
	Started       time.Time `json:"started"`
	Ready         time.Time `json:"ready,omitzero"` // zero until ready
	Server        string    `json:"server"`         // https://127.0.0.1:PORT
	APIServerPort int       `json:"apiserverPort"`
	EtcdSocket    string    `json:"etcdSocket"`      // etcd's unix socket (no TCP port)
	EgressSocket  string    `json:"egressSocket"`    // the apiserver's egress tunnel to its nodes
	Nodes         int       `json:"nodes,omitempty"` // how many nodes it runs (0: written by a klab with one klab-sandbox node)
	ReadyLine     string    `json:"readyLine,omitempty"`
}

// ReadState reads the state file of dataDir.
func ReadState(dataDir string) (State, error) {
	var s State
	b, err := os.ReadFile(filepath.Join(dataDir, StateFile))
	if err != nil {
		return s, fmt.Errorf("read sandbox state: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("read sandbox state %s: %w", filepath.Join(dataDir, StateFile), err)
	}
	return s, nil
}

// WriteState writes the state file of dataDir (mode 0600, atomically).
func WriteState(dataDir string, s State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode sandbox state: %w", err)
	}
	path := filepath.Join(dataDir, StateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write sandbox state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write sandbox state: %w", err)
	}
	return nil
}

// ErrRunning is returned by Acquire when another process holds the lock.
type ErrRunning struct{ PID int }

func (e *ErrRunning) Error() string {
	return fmt.Sprintf("a sandbox is already running on this data dir (pid %d)", e.PID)
}

// Lock is the data-dir lock held by a running sandbox for its whole life. It
// is an flock, so the kernel releases it when the process dies, even by
// kill -9: a lock file left behind is stale and simply taken over.
type Lock struct {
	f *os.File
	// StalePID is the pid found in a lock file nobody held (0 if none).
	StalePID int
}

// Acquire takes the lock of dataDir and writes the current pid into it.
func Acquire(dataDir string) (*Lock, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create sandbox data dir: %w", err)
	}
	path := filepath.Join(dataDir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sandbox lock: %w", err)
	}
	// A concurrent Running() holds a shared lock for an instant: retry briefly.
	deadline := time.Now().Add(time.Second)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			pid := readPID(f)
			_ = f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &ErrRunning{PID: pid}
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	l := &Lock{f: f, StalePID: readPID(f)}
	if err := f.Truncate(0); err != nil {
		l.Release()
		return nil, fmt.Errorf("write sandbox lock: %w", err)
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		l.Release()
		return nil, fmt.Errorf("write sandbox lock: %w", err)
	}
	return l, nil
}

// Release removes the lock file and releases the lock.
func (l *Lock) Release() {
	if l == nil || l.f == nil {
		return
	}
	_ = os.Remove(l.f.Name())
	_ = l.f.Close() // closing releases the flock
	l.f = nil
}

func readPID(f *os.File) int {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil {
		return 0
	}
	return pid
}

// Running reports whether a sandbox process holds the lock of dataDir, and its pid.
func Running(dataDir string) (pid int, ok bool) {
	f, err := os.Open(filepath.Join(dataDir, LockFile))
	if err != nil {
		return 0, false
	}
	defer func() { _ = f.Close() }()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return 0, false
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		return 0, false
	}
	return readPID(f), true
}

// Ready reports whether the sandbox of dataDir runs and has reported ready.
func Ready(dataDir string) (State, bool) {
	pid, ok := Running(dataDir)
	if !ok {
		return State{}, false
	}
	s, err := ReadState(dataDir)
	if err != nil || s.PID != pid || s.Ready.IsZero() {
		return s, false
	}
	return s, true
}

// WaitReady waits until the sandbox of dataDir is ready, or stops running.
func WaitReady(ctx context.Context, dataDir string) (State, error) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if s, ok := Ready(dataDir); ok {
			return s, nil
		}
		if _, ok := Running(dataDir); !ok {
			return State{}, fmt.Errorf("the sandbox in %s stopped before it was ready (log: %s)", dataDir, LogPath(dataDir))
		}
		select {
		case <-ctx.Done():
			return State{}, fmt.Errorf("wait for the sandbox in %s: %w", dataDir, ctx.Err())
		case <-t.C:
		}
	}
}

// ErrOtherNodes is returned by Ensure when the running sandbox has fewer nodes than asked.
type ErrOtherNodes struct {
	DataDir       string
	Running, Want int
}

func (e *ErrOtherNodes) Error() string {
	return fmt.Sprintf("the sandbox in %s runs %d node(s), %d asked: stop it with `klab sandbox down --data-dir %s` "+
		"(its objects are kept) and start again", e.DataDir, e.Running, e.Want, e.DataDir)
}

// RunningNodes is how many nodes the sandbox that wrote s runs (one for a state written before nodes were
// counted).
func (s State) RunningNodes() int {
	if s.Nodes == 0 {
		return 1
	}
	return s.Nodes
}

// Ensure reuses a running sandbox or starts `klabBin sandbox up --detach
// --data-dir dataDir [--nodes N]`; it returns the admin kubeconfig once the
// sandbox is ready. nodes is the node count the caller needs (0: any, and the
// sandbox's default when it starts one). A running sandbox with more nodes
// serves a lesson that asks fewer (Killercoda's one-node lessons run on its
// controlplane, which a two-node sandbox has too); one with fewer is an
// *ErrOtherNodes, since restarting it would stop what others run on it.
func Ensure(ctx context.Context, dataDir, klabBin string, nodes int) (kubeconfig string, started bool, err error) {
	reuse := func() (string, bool, error) {
		wctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
		defer cancel()
		st, err := WaitReady(wctx, dataDir)
		if err != nil {
			return "", false, err
		}
		if nodes != 0 && st.RunningNodes() < nodes {
			return "", false, &ErrOtherNodes{DataDir: dataDir, Running: st.RunningNodes(), Want: nodes}
		}
		return KubeconfigPath(dataDir), false, nil
	}
	if _, ok := Running(dataDir); ok {
		return reuse()
	}
	// Start our own detached sandbox: it is "started" only if it is the one
	// that became ready, not one that found another holding the lock.
	if _, err := Start(ctx, dataDir, klabBin, StartOptions{Detach: true, Nodes: nodes}); err != nil {
		// Someone else may have started it at the same moment: use theirs.
		if _, ok := Running(dataDir); ok {
			if kc, _, rerr := reuse(); rerr == nil {
				return kc, false, nil
			} else if errors.As(rerr, new(*ErrOtherNodes)) {
				return "", false, rerr
			}
		}
		return "", false, fmt.Errorf("start the sandbox: %w", err)
	}
	return KubeconfigPath(dataDir), true, nil
}

// StartOptions say how Start runs `klab sandbox up`.
type StartOptions struct {
	// Detach runs the sandbox in its own session, so it outlives the caller.
	// Otherwise it is a child of the caller that stops when the caller dies
	// (kill -9 included): it watches a lifeline pipe (LifelineFlag).
	Detach bool
	// Output receives the sandbox's stdout and stderr; nil means the log file.
	Output io.Writer
	// Nodes is passed as `--nodes` (0: the sandbox's default).
	Nodes int
}

// Process is a sandbox started by Start.
type Process struct {
	Cmd       *exec.Cmd
	ReadyLine string // "ready in 2.8s: … — KUBECONFIG=…"
	logFile   *os.File
	lifeline  *platform.Lifeline // nil when detached; cut once the process ended
}

// LifelineFlag is the hidden flag of `klab sandbox up` that names the
// inherited descriptor of a lifeline (see platform.Lifeline): the sandbox
// stops when it reads end-of-file there, that is when its parent died.
const LifelineFlag = "lifeline-fd"

// Start runs `klabBin sandbox up --data-dir dataDir` and returns once the
// sandbox is ready (it reports readiness on an inherited pipe), or fails with
// the tail of its log if it exits first.
func Start(ctx context.Context, dataDir, klabBin string, o StartOptions) (*Process, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create sandbox data dir: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start the sandbox: %w", err)
	}
	defer func() { _ = r.Close() }()
	cmd := exec.Command(klabBin, "sandbox", "up", "--data-dir", dataDir, "--ready-fd", "3")
	if o.Nodes != 0 {
		cmd.Args = append(cmd.Args, "--nodes", strconv.Itoa(o.Nodes))
	}
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	p := &Process{Cmd: cmd}
	if !o.Detach {
		var childEnd *os.File
		p.lifeline, childEnd, err = platform.NewLifeline()
		if err != nil {
			_ = w.Close()
			return nil, fmt.Errorf("start the sandbox: %w", err)
		}
		defer func() { _ = childEnd.Close() }() // the child holds its own copy once started
		cmd.ExtraFiles = append(cmd.ExtraFiles, childEnd)
		cmd.Args = append(cmd.Args, "--"+LifelineFlag, "4")
	}
	if o.Output != nil {
		cmd.Stdout, cmd.Stderr = o.Output, o.Output
	} else {
		rotateLog(dataDir)
		lf, err := os.OpenFile(LogPath(dataDir), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			_ = w.Close()
			_ = p.lifeline.Close()
			return nil, fmt.Errorf("open sandbox log: %w", err)
		}
		cmd.Stdout, cmd.Stderr = lf, lf
		p.logFile = lf
	}
	if err := cmd.Start(); err != nil {
		_ = w.Close()
		p.closeLog()
		return nil, fmt.Errorf("start %s sandbox up: %w", klabBin, err)
	}
	_ = w.Close()
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		lines <- strings.TrimSpace(line)
	}()
	timer := time.NewTimer(ReadyTimeout)
	defer timer.Stop()
	var line string
	select {
	case line = <-lines:
	case <-ctx.Done():
		p.kill()
		return nil, fmt.Errorf("start the sandbox: %w", ctx.Err())
	case <-timer.C:
		p.kill()
		return nil, fmt.Errorf("the sandbox was not ready within %s (log: %s)", ReadyTimeout, LogPath(dataDir))
	}
	if line == "" {
		err := cmd.Wait()
		p.closeLog()
		return nil, fmt.Errorf("the sandbox exited before it was ready (%w): %s", err, tail(LogPath(dataDir), 15))
	}
	p.ReadyLine = line
	if o.Detach {
		p.closeLog()
		_ = cmd.Process.Release()
	}
	return p, nil
}

// Stop asks a sandbox started without Detach to stop and waits for it.
func (p *Process) Stop(timeout time.Duration) error {
	defer p.closeLog()
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- p.Cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("sandbox exit: %w", err)
		}
		return nil
	case <-time.After(timeout):
		_ = p.Cmd.Process.Kill()
		<-done //nolint:errcheck // after the kill its error only says so
		return fmt.Errorf("the sandbox did not stop within %s: killed", timeout)
	}
}

func (p *Process) kill() {
	_ = p.Cmd.Process.Kill()
	_ = p.Cmd.Wait()
	p.closeLog()
}

// closeLog closes the log and, the process being gone or let go, the lifeline.
func (p *Process) closeLog() {
	if p.logFile != nil {
		_ = p.logFile.Close()
		p.logFile = nil
	}
	_ = p.lifeline.Close()
}

// Stop sends SIGTERM to the sandbox running on dataDir and waits until its
// process is gone (SIGKILL after timeout). It is not an error if none runs.
func Stop(ctx context.Context, dataDir string, timeout time.Duration) (stopped bool, err error) {
	pid, ok := Running(dataDir)
	if !ok {
		return false, nil
	}
	if pid <= 0 {
		return false, fmt.Errorf("the sandbox lock of %s holds no pid", dataDir)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return false, fmt.Errorf("stop sandbox pid %d: %w", pid, err)
	}
	deadline := time.Now().Add(timeout)
	killed := false
	for {
		_, held := Running(dataDir)
		if !held && !platform.Alive(pid) {
			if killed {
				return true, fmt.Errorf("the sandbox (pid %d) did not stop within %s: killed", pid, timeout)
			}
			return true, nil
		}
		if !killed && time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			killed = true
		}
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("wait for sandbox pid %d to stop: %w", pid, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// maxLog is the size beyond which a start moves the log to sandbox.log.1.
const maxLog = 8 << 20

func rotateLog(dataDir string) {
	if st, err := os.Stat(LogPath(dataDir)); err == nil && st.Size() > maxLog {
		_ = os.Rename(LogPath(dataDir), LogPath(dataDir)+".1")
	}
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "\n" + strings.Join(lines, "\n") + "\n(log: " + path + ")"
}
