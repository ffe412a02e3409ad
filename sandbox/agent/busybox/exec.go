package busybox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// A command started beside a container's main process (`kubectl exec`): it runs in the same Shell, so
// it sees the container's file system, environment and working directory, and its commands appear in
// the container's `ps` and can be reached by `kill`, as a process that a runtime execs into a
// container's namespaces. Its standard input is a file whose blocked reads a terminal's Ctrl+C
// (Process.Signal) or the end of the session wakes.

// ExecOptions are the command and I/O of a command started with Shell.Start.
type ExecOptions struct {
	Argv   []string  // the command and its arguments, looked up in the container's PATH
	Stdin  io.Reader // nil: no standard input
	Stdout io.Writer
	Stderr io.Writer
	// TTY tells that Stdin and Stdout are a terminal: `sh` without a script is interactive (prompts,
	// a Ctrl+C interrupts the command it runs, not the shell).
	TTY bool
}

// ErrNotFound is returned by Shell.Start when the command is not an executable file of the container.
var ErrNotFound = errors.New("executable file not found in $PATH")

// Process is a command started with Shell.Start.
type Process struct {
	done chan struct{}
	code int
	err  error
	fg   *foreground
}

// Start runs opts.Argv in the container; Wait returns its exit status. ctx ends it (exit status 137).
// The command must name an executable file of the container (or be found in its PATH), else Start
// returns an error wrapping ErrNotFound, as a runtime fails an exec of a missing binary.
func (s *Shell) Start(ctx context.Context, opts ExecOptions) (*Process, error) {
	if len(opts.Argv) == 0 {
		return nil, errors.New("exec: no command")
	}
	env := expand.ListEnviron(s.Env...)
	if !s.executable(env, opts.Argv[0]) {
		return nil, fmt.Errorf("exec: %q: %w", opts.Argv[0], ErrNotFound)
	}
	src, err := quoteCommand("exec", opts.Argv)
	if err != nil {
		return nil, err
	}
	prog, err := syntax.NewParser().Parse(strings.NewReader(src), "")
	if err != nil {
		return nil, fmt.Errorf("parse command: %w", err)
	}
	input, err := stdinFile(opts.Stdin)
	if err != nil {
		return nil, err
	}
	var in io.Reader
	if input != nil {
		in = input
	}
	r, err := s.newRunner(env, s.dir(), in, opts.Stdout, opts.Stderr, nil, false)
	if err != nil {
		if input != opts.Stdin {
			_ = input.Close()
		}
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	fg := &foreground{}
	fg.push(func(sig syscall.Signal) {
		cancel(signalError{sig})
		interruptReads(input)
	})
	if opts.TTY {
		ctx = context.WithValue(ctx, terminalKey{}, &terminal{fg: fg, in: input})
	}
	p := &Process{done: make(chan struct{}), fg: fg}
	go func() {
		defer close(p.done)
		defer cancel(nil)
		if input != nil && input != opts.Stdin { // our pipe: a command still reading it gets EOF
			defer func() { _ = input.Close() }()
		}
		stop := context.AfterFunc(ctx, func() { interruptReads(input) })
		defer stop()
		err := r.Run(context.WithValue(ctx, pid1Key{}, false), prog)
		p.code, p.err = processStatus(ctx, err)
	}()
	return p, nil
}

// Wait waits for the command to end and returns its exit status; the error is non-nil only when the
// shell itself failed.
func (p *Process) Wait() (int, error) {
	<-p.done
	return p.code, p.err
}

// Signal delivers sig as a terminal does to its foreground: to the command an interactive shell is
// running (or to the shell's prompt, which starts again), else to the command itself.
func (p *Process) Signal(sig syscall.Signal) { p.fg.signal(sig) }

// Interrupt delivers sig from the container's terminal (TTY) to its foreground: to the command the
// main process's interactive shell runs, or to its prompt. With no interactive shell it is dropped:
// PID 1 gets no signal it has no handler for.
func (s *Shell) Interrupt(sig syscall.Signal) { s.foreground().signal(sig) }

func (s *Shell) foreground() *foreground {
	s.fgOnce.Do(func() { s.fg = &foreground{} })
	return s.fg
}

// processStatus is the exit status of a command whose interpreter returned err: 128 + the signal that
// ended ctx, if one did.
func processStatus(ctx context.Context, err error) (int, error) {
	if ctx.Err() != nil {
		return killedStatus(ctx), nil
	}
	return exitCode(ctx, err)
}

func quoteCommand(prefix string, argv []string) (string, error) {
	var b strings.Builder
	b.WriteString(prefix)
	for _, a := range argv {
		q, err := syntax.Quote(a, syntax.LangBash)
		if err != nil {
			return "", fmt.Errorf("quote argument %q: %w", a, err)
		}
		b.WriteString(" ")
		b.WriteString(q)
	}
	return b.String(), nil
}

// executable reports whether name is a command a runtime could exec in the container: an executable
// file (by path, or in PATH from the working directory).
func (s *Shell) executable(env expand.Environ, name string) bool {
	ok := func(p string) bool {
		fi, err := s.FS.Stat(p)
		return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
	}
	if strings.Contains(name, "/") {
		return ok(Abs(s.dir(), name))
	}
	pathVar := env.Get("PATH").String()
	if !env.Get("PATH").IsSet() {
		pathVar = defaultPath
	}
	for _, dir := range strings.Split(pathVar, ":") {
		if dir != "" && ok(Abs(s.dir(), path.Join(dir, name))) {
			return true
		}
	}
	return false
}

// defaultPath is the PATH a runtime uses when the container's environment has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// foreground is a terminal session's foreground: a stack of handlers, the innermost last. The session
// itself is at the bottom (a signal ends the command); an interactive shell pushes its prompt while it
// reads and the command it runs while that runs.
type foreground struct {
	mu       sync.Mutex
	handlers []func(syscall.Signal)
}

func (f *foreground) push(h func(syscall.Signal)) (pop func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers = append(f.handlers, h)
	n := len(f.handlers)
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.handlers) >= n {
			f.handlers = f.handlers[:n-1]
		}
	}
}

func (f *foreground) signal(sig syscall.Signal) {
	f.mu.Lock()
	var h func(syscall.Signal)
	if n := len(f.handlers); n > 0 {
		h = f.handlers[n-1]
	}
	f.mu.Unlock()
	if h != nil {
		h(sig)
	}
}

// terminal is what a command started with a TTY knows of its terminal.
type terminal struct {
	fg *foreground
	in *os.File // the terminal's input (nil: none)
}

type terminalKey struct{}

func terminalFrom(ctx context.Context) *terminal {
	t, _ := ctx.Value(terminalKey{}).(*terminal)
	return t
}

// stdinFile gives the interpreter a file it can read and whose blocked reads can be woken: the
// interpreter turns any other reader into a pipe itself, and wakes its own `read` builtin with read
// deadlines, which the container's commands get too.
func stdinFile(r io.Reader) (*os.File, error) {
	switch r := r.(type) {
	case nil:
		return nil, nil
	case *os.File:
		return r, nil
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	go func() {
		_, _ = io.Copy(pw, r)
		_ = pw.Close()
	}()
	return pr, nil
}

// interruptReads wakes the reads of f blocked now (os.ErrDeadlineExceeded), as a signal interrupts a
// process blocked on its terminal; resumeReads lets the next ones wait again.
func interruptReads(f *os.File) {
	if f != nil {
		_ = f.SetReadDeadline(time.Now())
	}
}

func resumeReads(f *os.File) {
	if f != nil {
		_ = f.SetReadDeadline(time.Time{})
	}
}

// interrupted reports whether err is a read that interruptReads woke.
func interrupted(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
