package busybox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// The container's processes: every command the shell runs (the container's own command is PID 1) gets
// an entry while it runs, so that `ps` lists what really runs and `kill` reaches it. A killed command
// stops as a process would: its context is cancelled with the signal as the cause, and its exit status
// is 128 + the signal number.

type procTable struct {
	mu    sync.Mutex
	next  int
	procs map[int]*procEntry
}

type procEntry struct {
	pid    int
	argv   []string
	cancel context.CancelCauseFunc
}

// signalError is the cause of a command's context when it was killed.
type signalError struct{ sig syscall.Signal }

func (e signalError) Error() string { return "killed by signal " + sigName(e.sig) }

// start registers a command and returns its context and the function that removes it.
func (t *procTable) start(ctx context.Context, argv []string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	t.mu.Lock()
	if t.procs == nil {
		t.procs = map[int]*procEntry{}
	}
	t.next++
	e := &procEntry{pid: t.next, argv: argv, cancel: cancel}
	t.procs[e.pid] = e
	t.mu.Unlock()
	return ctx, func() {
		t.mu.Lock()
		delete(t.procs, e.pid)
		t.mu.Unlock()
		cancel(nil)
	}
}

func (t *procTable) list() []procEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []procEntry
	for _, e := range t.procs {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b procEntry) int { return a.pid - b.pid })
	return out
}

func (t *procTable) signal(pid int, sig syscall.Signal) bool {
	t.mu.Lock()
	e, ok := t.procs[pid]
	t.mu.Unlock()
	if ok && sig != 0 {
		e.cancel(signalError{sig})
	}
	return ok
}

// killedStatus is the exit status of a command whose context ended: 128 + the signal that killed it
// (SIGKILL when the container itself was stopped).
func killedStatus(ctx context.Context) int {
	var se signalError
	if errors.As(context.Cause(ctx), &se) {
		return 128 + int(se.sig)
	}
	return 128 + int(syscall.SIGKILL)
}

// signalNames are the names `kill -l` lists and `kill -NAME` accepts, by number.
func signalNames() [32]string {
	return [32]string{1: "HUP", 2: "INT", 3: "QUIT", 4: "ILL", 5: "TRAP", 6: "ABRT", 7: "BUS", 8: "FPE",
		9: "KILL", 10: "USR1", 11: "SEGV", 12: "USR2", 13: "PIPE", 14: "ALRM", 15: "TERM", 16: "STKFLT", 17: "CHLD",
		18: "CONT", 19: "STOP", 20: "TSTP", 21: "TTIN", 22: "TTOU", 23: "URG", 24: "XCPU", 25: "XFSZ", 26: "VTALRM",
		27: "PROF", 28: "WINCH", 29: "POLL", 30: "PWR", 31: "SYS"}
}

// reportSignal prints what busybox's shell prints when a command it waited for was killed by sig
// (nothing for SIGINT and SIGPIPE).
func reportSignal(w io.Writer, sig syscall.Signal) {
	texts := map[syscall.Signal]string{syscall.SIGHUP: "Hangup", syscall.SIGQUIT: "Quit", syscall.SIGKILL: "Killed",
		syscall.SIGTERM: "Terminated", syscall.SIGUSR1: "User defined signal 1", syscall.SIGUSR2: "User defined signal 2",
		syscall.SIGALRM: "Alarm clock"}
	switch t, ok := texts[sig]; {
	case sig == syscall.SIGINT || sig == syscall.SIGPIPE:
	case ok:
		fmt.Fprintln(w, t)
	default:
		fmt.Fprintf(w, "Signal %d\n", int(sig))
	}
}

func sigName(sig syscall.Signal) string {
	if names := signalNames(); int(sig) > 0 && int(sig) < len(names) {
		return names[sig]
	}
	return strconv.Itoa(int(sig))
}

func parseSignal(s string) (syscall.Signal, bool) {
	if n, err := strconv.Atoi(s); err == nil {
		return syscall.Signal(n), n >= 0 && n < len(signalNames())
	}
	s = strings.TrimPrefix(strings.ToUpper(s), "SIG")
	for i, n := range signalNames() {
		if n != "" && n == s {
			return syscall.Signal(i), true
		}
	}
	return 0, false
}

// ps lists the container's running commands, as busybox's ps prints them.
func ps(p *proc) int {
	fmt.Fprintln(p.out(), "PID   USER     COMMAND")
	for _, e := range p.sh.procs.list() {
		fmt.Fprintf(p.out(), "%5d %-8s %s\n", e.pid, "root", strings.Join(e.argv, " "))
	}
	return 0
}

// kill sends a signal (-s NAME, -NAME or -N; TERM by default) to processes of the container; -l lists
// the signals. Signal 0 only checks that the process exists.
func kill(p *proc) int {
	p.name = "sh" // kill is a builtin of busybox's shell: its messages say "sh:"
	args := p.args
	sig := syscall.SIGTERM
	if len(args) > 0 && args[0] == "-l" {
		for i, n := range signalNames() {
			if n != "" {
				fmt.Fprintf(p.out(), "%2d) %s\n", i, n)
			}
		}
		return 0
	}
	if len(args) > 1 && args[0] == "-s" {
		s, ok := parseSignal(args[1])
		if !ok {
			return p.errf("bad signal name '%s'", args[1])
		}
		sig, args = s, args[2:]
	} else if len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && args[0] != "--" {
		s, ok := parseSignal(args[0][1:])
		if !ok {
			return p.errf("bad signal name '%s'", args[0][1:])
		}
		sig, args = s, args[1:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return p.errf("usage: kill [-s SIG | -SIG] PID...")
	}
	code := 0
	for _, a := range args {
		pid, err := strconv.Atoi(a)
		if err != nil {
			code = p.errf("invalid number '%s'", a)
			continue
		}
		if pid == 1 {
			// PID 1 of a container gets only the signals it traps (the kernel drops the others, SIGKILL
			// included, when they come from inside its namespace): the trap runs at its next command.
			if p.sh.Signals != nil && sig != 0 {
				p.sh.Signals.Send(sigName(sig))
			}
			continue
		}
		if !p.sh.procs.signal(pid, sig) {
			code = p.errf("can't kill pid %d: No such process", pid)
		}
	}
	return code
}
