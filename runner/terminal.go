package runner

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
)

// Terminal is the learner's interactive shell in the lab (the one `klab
// shell` opens: ShellCommand) under a pseudo-terminal of its own, for a
// terminal emulator to draw: the TUI's terminal pane. Unlike a run, it is a
// plain interactive terminal (echo, line editing, job control), it keeps
// its own size, and it outlives Reset and the steps: it ends when the shell
// exits, on Close, or when the lab closes.
type Terminal struct {
	cmd    *exec.Cmd
	master *os.File
	done   chan struct{}
	read   chan struct{}
	lab    *Lab

	mu     sync.Mutex
	closed bool
	err    error // how the shell ended
}

// terminalGrace is how long the shell has between SIGHUP and SIGKILL.
const terminalGrace = 500 * time.Millisecond

// StartTerminal starts the lab shell on a cols x rows terminal; everything
// it prints goes to out, chunk by chunk, from one goroutine.
func (l *Lab) StartTerminal(cols, rows int, out func([]byte)) (*Terminal, error) {
	cmd := ShellCommand(l)
	cmd.Env = append(cmd.Env, termEnv(cmd.Env)...)
	ws := &pty.Winsize{Cols: clampSize(cols), Rows: clampSize(rows)}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, ErrClosed
	}
	l.mu.Unlock()
	// pty.StartWithSize puts the shell in a new session with the terminal as
	// its controlling one, so Ctrl+C, job control and full-screen programs
	// behave as in any terminal.
	master, err := pty.StartWithSize(cmd, ws)
	if err != nil {
		return nil, fmt.Errorf("start the lab shell: %w", err)
	}
	t := &Terminal{cmd: cmd, master: master, done: make(chan struct{}), read: make(chan struct{}), lab: l}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		_ = t.Close()
		return nil, ErrClosed
	}
	l.terms[t] = struct{}{}
	l.mu.Unlock()
	go func() {
		defer close(t.read)
		buf := make([]byte, 32<<10)
		for {
			n, err := master.Read(buf)
			if n > 0 {
				out(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		// What the shell left in its session (a `sleep &`) goes with it.
		killGroup(cmd.Process.Pid, syscall.SIGKILL)
		awaitReader(master, t.read)
		t.mu.Lock()
		t.err = err
		t.mu.Unlock()
		l.mu.Lock()
		delete(l.terms, t)
		l.mu.Unlock()
		close(t.done)
	}()
	return t, nil
}

func clampSize(n int) uint16 {
	return uint16(min(max(n, 1), 0xffff))
}

// Write types p into the terminal (keys, pasted text, a terminal's answers).
func (t *Terminal) Write(p []byte) (int, error) {
	n, err := t.master.Write(p)
	if err != nil {
		return n, fmt.Errorf("lab terminal: %w", err)
	}
	return n, nil
}

// Resize gives the terminal a new size; the shell and its programs get SIGWINCH.
func (t *Terminal) Resize(cols, rows int) error {
	if err := setSize(t.master, clampSize(cols), clampSize(rows)); err != nil {
		return err
	}
	return nil
}

// Done is closed once the shell has exited and its output was read.
func (t *Terminal) Done() <-chan struct{} { return t.done }

// Err is how the shell ended (nil for exit 0), once Done is closed.
func (t *Terminal) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Close hangs up the terminal: the shell and what runs in its session get
// SIGHUP, then SIGKILL after a grace; it returns once they are gone.
func (t *Terminal) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		<-t.done
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	pid := t.cmd.Process.Pid
	killGroup(pid, syscall.SIGHUP)
	select {
	case <-t.done:
	case <-time.After(terminalGrace):
		killGroup(pid, syscall.SIGKILL)
		<-t.done
	}
	if err := t.master.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("close the lab terminal: %w", err)
	}
	return nil
}

// killGroup signals the session led by pid: its process group, and every
// other process of the session (jobs the shell put in groups of their own).
func killGroup(pid int, sig syscall.Signal) {
	killSession(&proc{pgid: pid, sid: pid}, sig)
}
