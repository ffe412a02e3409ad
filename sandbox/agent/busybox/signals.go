package busybox

import (
	"context"
	"strings"
	"sync"
	"syscall"

	"mvdan.cc/sh/v3/syntax"
)

// Signals carries the signals a container runtime sends to a container's main process (PID 1): the
// kubelet's SIGTERM on pod deletion. PID 1 is the shell that Shell.Run starts, or the one it `exec`s
// (`sh -c SCRIPT` as a container command). A signal with a `trap` set in PID 1 runs its action at
// PID 1's next command, as a POSIX shell runs a trap once its foreground command has finished; a
// signal without a trap is ignored, as the kernel does for a container's init process (the runtime
// then kills it when the grace period ends). The zero value is ready to use.
type Signals struct {
	mu      sync.Mutex
	traps   map[string]string // PID 1's actions by signal name ("" = ignored)
	pending []string
}

// Send delivers sig (a name such as "TERM" or "SIGTERM", or a number) to PID 1. It reports whether PID 1
// has a trap that will act on it.
func (s *Signals) Send(sig string) bool {
	name, ok := signalName(sig)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.traps[name] == "" {
		return false
	}
	s.pending = append(s.pending, name)
	return true
}

// Trapped reports whether PID 1 has set a non-empty trap for sig.
func (s *Signals) Trapped(sig string) bool {
	name, ok := signalName(sig)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.traps[name] != ""
}

func (s *Signals) setTrap(name, action string, reset bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.traps == nil {
		s.traps = map[string]string{}
	}
	if reset {
		delete(s.traps, name)
		return
	}
	s.traps[name] = action
}

// take returns the action of the oldest pending signal that still has a trap ("" when none).
func (s *Signals) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.pending) > 0 {
		name := s.pending[0]
		s.pending = s.pending[1:]
		if a := s.traps[name]; a != "" {
			return a
		}
	}
	return ""
}

// signalName normalises "SIGTERM", "term", "15" to "TERM"; ok is false for what is not one of the
// signals the sandbox's `trap` handles itself (the interpreter handles EXIT and ERR).
func signalName(s string) (string, bool) {
	sig, ok := parseSignal(s)
	switch {
	case !ok:
		return "", false
	case sig == syscall.SIGHUP, sig == syscall.SIGINT, sig == syscall.SIGQUIT, sig == syscall.SIGUSR1,
		sig == syscall.SIGUSR2, sig == syscall.SIGTERM:
		return sigName(sig), true
	}
	return "", false
}

// runnerState is what one interpreter (one shell process) keeps besides the interpreter's own state.
type runnerState struct {
	pid1 bool // this shell is the container's main process: its traps receive Signals
}

type pid1Key struct{}

// trapCall handles `trap` for the signals of signalNumbers and leaves EXIT, ERR (and `trap` alone) to
// the interpreter; it returns the args to run instead.
func (s *Shell) trapCall(rs *runnerState, args []string) []string {
	rest := args[1:]
	if len(rest) > 0 && rest[0] == "--" {
		rest = rest[1:]
	}
	if len(rest) == 0 || strings.HasPrefix(rest[0], "-") && rest[0] != "-" {
		return args // listing and options: the interpreter's
	}
	action, reset := "", false
	sigs := rest
	if _, isSig := signalName(rest[0]); len(rest) == 1 && isSig {
		reset = true // `trap TERM`: back to the default
	} else {
		action, sigs = rest[0], rest[1:]
		reset = action == "-"
	}
	keep := []string{"trap", action}
	if reset {
		keep[1] = "-"
	}
	for _, sig := range sigs {
		name, ok := signalName(sig)
		if !ok {
			keep = append(keep, sig)
			continue
		}
		if rs.pid1 && s.Signals != nil {
			s.Signals.setTrap(name, action, reset)
		}
	}
	if len(keep) == 2 {
		return []string{":"}
	}
	return keep
}

// pendingTrap rewrites the command PID 1 is about to run into "the pending signal's trap action, then
// that command", when a signal arrived; ok is false otherwise.
func (s *Shell) pendingTrap(rs *runnerState, args []string) ([]string, bool) {
	if !rs.pid1 || s.Signals == nil {
		return nil, false
	}
	action := s.Signals.take()
	if action == "" {
		return nil, false
	}
	var b strings.Builder
	b.WriteString(action)
	b.WriteString("\n")
	for i, a := range args {
		q, err := syntax.Quote(a, syntax.LangBash)
		if err != nil {
			return []string{"eval", action}, true
		}
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(q)
	}
	return []string{"eval", b.String()}, true
}

func pid1From(ctx context.Context) bool {
	v, _ := ctx.Value(pid1Key{}).(bool)
	return v
}
