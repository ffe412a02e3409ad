package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/klabdev/klab/internal/platform"
	"github.com/klabdev/klab/lessons"
)

// Result is how a run ended.
type Result struct {
	// Output is everything the command printed (stdout and stderr through
	// the terminal, "\n" line ends), its last MaxOutput bytes when longer.
	Output      string
	ExitCode    int // 128+N when killed by signal N
	Duration    time.Duration
	Interrupted bool // the context, Interrupt, Reset or Close ended the run
}

const (
	// InterruptGrace is how long an interrupted run has between SIGINT and SIGKILL.
	InterruptGrace = 2 * time.Second
	// MaxOutput bounds Result.Output (streams such as `-w` can run for long).
	MaxOutput = 1 << 20
	// closeGrace is how long Close lets processes end after SIGTERM.
	closeGrace = time.Second
)

// ErrClosed is returned by runs on a closed lab.
var ErrClosed = errors.New("lab is closed")

// SetWindowSize sets the terminal size of the runs: the next ones, and the
// running ones (their programs get SIGWINCH, so a `-w` table redraws to fit).
func (l *Lab) SetWindowSize(cols, rows int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if cols > 0 && cols <= 0xffff {
		l.cols = uint16(cols)
	}
	if rows > 0 && rows <= 0xffff {
		l.rows = uint16(rows)
	}
	for _, p := range l.procs {
		_ = setSize(p.master, l.cols, l.rows)
	}
}

// setSize resizes the terminal of master without putting it in blocking
// mode (as File.Fd would).
func setSize(master *os.File, cols, rows uint16) error {
	rc, err := master.SyscallConn()
	if err != nil {
		return fmt.Errorf("pty size: %w", err)
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		ierr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
	}); err != nil {
		return fmt.Errorf("pty size: %w", err)
	}
	if ierr != nil {
		return fmt.Errorf("pty size: %w", ierr)
	}
	return nil
}

// Run runs script with bash in the workspace under a pseudo-terminal. out,
// when not nil, receives the output as it comes, in order, from a single
// goroutine, before Run returns; each chunk is its own copy. When ctx ends,
// the run's process group gets SIGINT, then SIGKILL after InterruptGrace, and
// the Result says Interrupted. Processes the script left behind end with it.
// The error is only for runs that could not start.
func (l *Lab) Run(ctx context.Context, script string, out func([]byte)) (Result, error) {
	return l.run(ctx, "klab", script, out)
}

// RunScript runs a lesson script like Run; bash reports its errors as
// <script path>: line N.
func (l *Lab) RunScript(ctx context.Context, s *lessons.Script, out func([]byte)) (Result, error) {
	if s == nil {
		return Result{}, errors.New("run script: no script")
	}
	return l.run(ctx, s.Path, s.Body, out)
}

func (l *Lab) run(ctx context.Context, name, script string, out func([]byte)) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{ExitCode: 130, Interrupted: true}, fmt.Errorf("run %s: %w", name, err)
	}
	var output tailBuffer
	pr, err := l.startPTY(name, script, true, func(chunk []byte) {
		output.Write(chunk)
		if out != nil {
			out(chunk)
		}
	})
	if err != nil {
		return Result{}, fmt.Errorf("run %s: %w", name, err)
	}
	defer l.finish(pr.p)
	start := time.Now()
	waitDone := make(chan struct{})
	go func() {
		_ = pr.cmd.Wait() // the exit status is read from ProcessState
		close(waitDone)
	}()

	var res Result
	ctxDone := ctx.Done()
	var kill <-chan time.Time
wait:
	for {
		select {
		case <-waitDone:
			break wait
		case <-ctxDone:
			ctxDone = nil
			res.Interrupted = true
			_ = syscall.Kill(-pr.p.pgid, syscall.SIGINT)
			kill = time.After(InterruptGrace)
		case <-kill:
			kill = nil
			killSession(pr.p, syscall.SIGKILL)
		}
	}
	res.Duration = time.Since(start)
	res.ExitCode = exitCode(pr.cmd.ProcessState)
	res.Interrupted = res.Interrupted || pr.p.interrupted.Load()
	pr.drain()
	res.Output = output.String()
	return res, nil
}

// ptyRun is one command under a terminal of its own, in its own session: the one path of foreground
// runs and background scripts. Its output goes to sink, chunk by chunk, with the terminal's queries
// answered as a terminal would.
type ptyRun struct {
	cmd      *exec.Cmd
	p        *proc
	master   *os.File
	readDone chan struct{}
}

// startPTY starts script (named name in bash's messages) on a new pty of the lab's window size.
func (l *Lab) startPTY(name, script string, foreground bool, sink func([]byte)) (*ptyRun, error) {
	l.mu.Lock()
	cols, rows := l.cols, l.rows
	l.mu.Unlock()
	master, slave, err := openPTY(cols, rows)
	if err != nil {
		return nil, err
	}
	cmd := l.bashCommand(name, l.MapPaths(script))
	cmd.Env = append(cmd.Env, termEnv(cmd.Env)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	p, err := l.start(cmd, foreground, master)
	_ = slave.Close()
	if err != nil {
		_ = master.Close()
		return nil, err
	}
	pr := &ptyRun{cmd: cmd, p: p, master: master, readDone: make(chan struct{})}
	go func() {
		defer close(pr.readDone)
		buf := make([]byte, 32<<10)
		var answers queryAnswerer
		emit := func(chunk []byte) {
			if len(chunk) > 0 {
				sink(chunk)
			}
		}
		for {
			n, err := master.Read(buf)
			if n > 0 {
				emit(answers.feed(buf[:n], master))
			}
			if err != nil {
				emit(answers.flush())
				return
			}
		}
	}()
	return pr, nil
}

// drain ends, once the command has exited, whatever it left behind in its session (no orphans); the
// terminal then hangs up, the reader sees the end of the output, and the terminal is closed.
func (pr *ptyRun) drain() {
	killSession(pr.p, syscall.SIGKILL)
	awaitReader(pr.master, pr.readDone)
	_ = pr.master.Close()
}

// awaitReader waits until the reader of master has seen the end of the output (readDone). After a
// second, a process outside the session still holds the terminal: the read is unblocked (or, on a
// master that cannot take a deadline, the master closed) and the reader ends.
func awaitReader(master *os.File, readDone <-chan struct{}) {
	select {
	case <-readDone:
	case <-time.After(time.Second):
		if master.SetReadDeadline(time.Now()) != nil {
			_ = master.Close()
		}
		<-readDone
	}
}

// StartBackground runs a lesson background script detached, in its own
// session and terminal (so it hangs up if klab dies without Close), with its
// output in LogPath(s). It ends when it finishes (taking what it left behind
// with it), when ctx ends, or at Close or Reset; Interrupt leaves it alone.
func (l *Lab) StartBackground(ctx context.Context, s *lessons.Script) error {
	if s == nil {
		return errors.New("start background: no script")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start background %s: %w", s.Path, err)
	}
	f, err := os.OpenFile(l.LogPath(s), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("start background %s: %w", s.Path, err)
	}
	pr, err := l.startPTY(s.Path, s.Body, false, func(chunk []byte) { _, _ = f.Write(chunk) })
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("start background %s: %w", s.Path, err)
	}
	job := l.trackBackground(s)
	waitDone := make(chan struct{})
	go func() {
		_ = pr.cmd.Wait()
		close(waitDone)
		pr.drain()
		_ = f.Close()
		l.finishBackground(job, exitCode(pr.cmd.ProcessState), pr.p.interrupted.Load())
		l.finish(pr.p)
	}()
	go func() {
		select {
		case <-waitDone:
		case <-ctx.Done():
			pr.p.interrupted.Store(true)
			killSession(pr.p, syscall.SIGTERM)
			select {
			case <-waitDone:
			case <-time.After(InterruptGrace):
				killSession(pr.p, syscall.SIGKILL)
			}
		}
	}()
	return nil
}

// LogPath is the log file of a background script, in the workspace.
func (l *Lab) LogPath(s *lessons.Script) string {
	name := strings.NewReplacer("/", "-", `\`, "-").Replace(strings.TrimPrefix(filepath.ToSlash(s.Path), "./"))
	return filepath.Join(l.Workspace, ".klab-"+name+".log")
}

// Interrupt interrupts every foreground run of the lab (what `{{exec
// interrupt}}` does before it runs its block) and waits until they ended or
// ctx ends. Background scripts keep running.
func (l *Lab) Interrupt(ctx context.Context) error {
	l.mu.Lock()
	var fg []*proc
	for _, p := range l.procs {
		if p.foreground {
			fg = append(fg, p)
		}
	}
	l.mu.Unlock()
	for _, p := range fg {
		p.interrupted.Store(true)
		_ = syscall.Kill(-p.pgid, syscall.SIGINT)
	}
	for _, p := range fg {
		select {
		case <-p.done:
		case <-time.After(InterruptGrace):
			killSession(p, syscall.SIGKILL)
			select {
			case <-p.done:
			case <-ctx.Done():
				return fmt.Errorf("interrupt: %w", ctx.Err())
			}
		case <-ctx.Done():
			return fmt.Errorf("interrupt: %w", ctx.Err())
		}
	}
	return nil
}

// Close ends every process the lab started (SIGTERM, then SIGKILL after a
// short grace) and waits for them; later runs fail with ErrClosed.
func (l *Lab) Close() error {
	l.mu.Lock()
	l.closed = true
	terms := make([]*Terminal, 0, len(l.terms))
	for t := range l.terms {
		terms = append(terms, t)
	}
	l.mu.Unlock()
	for _, t := range terms {
		_ = t.Close()
	}
	l.killAll()
	return nil
}

// killAll ends every process group of the lab and waits for them.
func (l *Lab) killAll() {
	l.mu.Lock()
	procs := make([]*proc, 0, len(l.procs))
	for _, p := range l.procs {
		procs = append(procs, p)
	}
	l.mu.Unlock()
	for _, p := range procs {
		p.interrupted.Store(true)
		killSession(p, syscall.SIGTERM)
	}
	deadline := time.After(closeGrace)
	for _, p := range procs {
		select {
		case <-p.done:
		case <-deadline:
		}
	}
	for _, p := range procs {
		killSession(p, syscall.SIGKILL)
	}
	l.wg.Wait()
}

// bashCommand is `bash -c script name` in the workspace with the lab environment.
func (l *Lab) bashCommand(name, script string) *exec.Cmd {
	cmd := exec.Command(l.bash, "--noprofile", "--norc", "-c", script, name)
	cmd.Dir = l.Workspace
	cmd.Env = append([]string(nil), l.Env...)
	return cmd
}

// start starts cmd (a session leader) and tracks its process group.
func (l *Lab) start(cmd *exec.Cmd, foreground bool, master *os.File) (*proc, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start bash: %w", err)
	}
	pid := cmd.Process.Pid
	p := &proc{pgid: pid, sid: pid, done: make(chan struct{}), foreground: foreground, master: master}
	l.procs[pid] = p
	l.wg.Add(1)
	return p, nil
}

// finish forgets p once it ended.
func (l *Lab) finish(p *proc) {
	l.mu.Lock()
	delete(l.procs, p.pgid)
	l.mu.Unlock()
	close(p.done)
	l.wg.Done()
}

// killSession sends sig to p's process group and to every other process of
// its session (jobs a script put in their own group with `set -m`).
func killSession(p *proc, sig syscall.Signal) {
	_ = syscall.Kill(-p.pgid, sig)
	for _, pid := range platform.SessionMembers(p.sid) {
		_ = syscall.Kill(pid, sig)
	}
}

// openPTY opens a terminal of cols x rows that does not turn "\n" into
// "\r\n" and does not echo its input; the master is non-blocking so reads
// can be unblocked.
func openPTY(cols, rows uint16) (master, slave *os.File, err error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	fail := func(err error) (*os.File, *os.File, error) {
		_ = m.Close()
		_ = s.Close()
		return nil, nil, err
	}
	if err := pty.Setsize(s, &pty.Winsize{Cols: cols, Rows: rows}); err != nil {
		return fail(fmt.Errorf("pty size: %w", err))
	}
	// Nobody types here: what klab writes (answers to terminal queries)
	// must not be echoed into the output.
	if err := platform.QuietTerminal(int(s.Fd())); err != nil {
		return fail(fmt.Errorf("pty: %w", err))
	}
	fd, err := unix.Dup(int(m.Fd()))
	if err != nil {
		return fail(fmt.Errorf("pty dup: %w", err))
	}
	_ = m.Close()
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		_ = s.Close()
		return nil, nil, fmt.Errorf("pty nonblock: %w", err)
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), s, nil
}

// termEnv gives TERM a usable value under the pseudo-terminal.
func termEnv(env []string) []string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "TERM="); ok && v != "" && v != "dumb" {
			return nil
		}
	}
	return []string{"TERM=xterm-256color"}
}

// exitCode is the exit status, or 128+signal.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// tailBuffer keeps the last MaxOutput bytes written.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) {
	t.b = append(t.b, p...)
	if len(t.b) > MaxOutput {
		t.b = append(t.b[:0], t.b[len(t.b)-MaxOutput:]...)
	}
}

func (t *tailBuffer) String() string { return string(t.b) }
