package busybox

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"syscall"

	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// shStdin runs `sh` without -c or a script file: the commands come from standard input and run as each
// complete line arrives (not once the input ends), as busybox's sh reads them. The shell is
// interactive when its standard input is the session's terminal (`kubectl exec -it POD -- sh`) or -i
// is given: it prints $PS1 (default `\w \$ `, so `/ # ` as root) before each command and $PS2 (`> `)
// on a continuation line, reports syntax errors and goes on, and a Ctrl+C ends the command it runs
// (status 130) or, at the prompt, drops the line being typed.
func (p *proc) shStdin(setOpts []string, forceInteractive bool) int {
	term := terminalFrom(p.ctx)
	interactive := forceInteractive || (term != nil && term.in != nil && sameFile(p.hc.Stdin, term.in))
	params := append(append([]string{}, setOpts...), "--")
	r, err := p.sh.newRunner(exported(p.hc.Env), p.hc.Dir, p.hc.Stdin, p.hc.Stdout, p.hc.Stderr, params, pid1From(p.ctx))
	if err != nil {
		return p.fail(err)
	}
	rl := &repl{p: p, r: r, term: term, interactive: interactive}
	return rl.run()
}

type repl struct {
	p           *proc
	r           *interp.Runner
	term        *terminal
	interactive bool
	status      int
}

func (rl *repl) run() int {
	for {
		done, code := rl.session()
		if done {
			return code
		}
	}
}

// session reads and runs commands until the input ends, `exit` runs, a syntax error ends a
// non-interactive shell (done), or a Ctrl+C at the prompt asks for a fresh line (not done).
func (rl *repl) session() (done bool, code int) {
	p := rl.p
	parser := syntax.NewParser()
	in := p.hc.Stdin
	if in == nil {
		in = strings.NewReader("")
	}
	popPrompt := func() {}
	if rl.term != nil && rl.interactive {
		popPrompt = rl.term.fg.push(func(syscall.Signal) { interruptReads(rl.term.in) })
	}
	defer func() { popPrompt() }()
	rl.prompt("PS1", `\w \$ `)
	for stmts, err := range parser.InteractiveSeq(in) {
		if p.ctx.Err() != nil {
			return true, killedStatus(p.ctx)
		}
		if err != nil {
			if interrupted(err) && rl.term != nil {
				resumeReads(rl.term.in)
				fmt.Fprintln(p.hc.Stdout)
				rl.setStatus(130)
				return false, 0
			}
			fmt.Fprintf(p.hc.Stderr, "sh: %v\n", err)
			if !rl.interactive {
				return true, 2
			}
			rl.setStatus(2)
			return false, 0
		}
		if parser.Incomplete() {
			rl.prompt("PS2", "> ")
			continue
		}
		popPrompt()
		popPrompt = func() {}
		for _, st := range stmts {
			if err := checkSyntax(st); err != nil {
				fmt.Fprintf(p.hc.Stderr, "sh: %v\n", err)
				rl.setStatus(2)
				continue
			}
			if exited, code := rl.runStmt(st); exited {
				return true, code
			}
		}
		if p.ctx.Err() != nil {
			return true, killedStatus(p.ctx)
		}
		if rl.term != nil && rl.interactive {
			popPrompt = rl.term.fg.push(func(syscall.Signal) { interruptReads(rl.term.in) })
		}
		rl.prompt("PS1", `\w \$ `)
	}
	if rl.interactive && rl.term != nil {
		fmt.Fprintln(p.hc.Stdout) // Ctrl+D at the prompt: the shell ends on a new line
	}
	return true, rl.status
}

// runStmt runs one statement; in an interactive shell on a terminal, a Ctrl+C meanwhile ends it with
// status 130 and the shell goes on.
func (rl *repl) runStmt(st *syntax.Stmt) (exited bool, code int) {
	p := rl.p
	ctx, cancel := context.WithCancelCause(p.ctx)
	defer cancel(nil)
	if rl.term != nil && rl.interactive {
		pop := rl.term.fg.push(func(sig syscall.Signal) {
			cancel(signalError{sig})
			interruptReads(rl.term.in)
		})
		defer pop()
		defer resumeReads(rl.term.in)
	}
	err := rl.r.Run(context.WithValue(ctx, pid1Key{}, false), st)
	if p.ctx.Err() != nil {
		return true, killedStatus(p.ctx)
	}
	if ctx.Err() != nil { // interrupted: the shell reports it on a new line, with 128 + the signal
		fmt.Fprintln(p.hc.Stdout)
		rl.setStatus(killedStatus(ctx))
		return false, 0
	}
	rl.status = statusOf(err)
	if rl.r.Exited() {
		return true, rl.status
	}
	return false, 0
}

// sameFile reports whether r is the file f.
func sameFile(r io.Reader, f *os.File) bool {
	g, ok := r.(*os.File)
	return ok && g == f
}

// setStatus makes $? be code for the next command.
func (rl *repl) setStatus(code int) {
	rl.status = code
	prog, err := syntax.NewParser().Parse(strings.NewReader(fmt.Sprintf("(exit %d)", code)), "")
	if err == nil {
		_ = rl.r.Run(rl.p.ctx, prog)
	}
}

// prompt prints the prompt variable name (or def) of an interactive shell, with busybox's escapes.
func (rl *repl) prompt(name, def string) {
	if !rl.interactive {
		return
	}
	ps := def
	if v, ok := rl.r.Vars[name]; ok && v.IsSet() {
		ps = v.String()
	} else if v := rl.p.hc.Env.Get(name); v.IsSet() {
		ps = v.String()
	}
	out := rl.p.hc.Stderr
	if rl.term != nil {
		out = rl.p.hc.Stdout
	}
	fmt.Fprint(out, rl.expandPrompt(ps))
}

func (rl *repl) expandPrompt(ps string) string {
	var b strings.Builder
	dir := rl.r.Dir
	home := ""
	if v, ok := rl.r.Vars["HOME"]; ok {
		home = v.String()
	} else {
		home = rl.p.hc.Env.Get("HOME").String()
	}
	for i := 0; i < len(ps); i++ {
		c := ps[i]
		if c != '\\' || i+1 == len(ps) {
			b.WriteByte(c)
			continue
		}
		i++
		switch ps[i] {
		case 'w':
			if home != "" && home != "/" && (dir == home || strings.HasPrefix(dir, home+"/")) {
				b.WriteString("~" + strings.TrimPrefix(dir, home))
			} else {
				b.WriteString(dir)
			}
		case 'W':
			b.WriteString(path.Base(dir))
		case '$':
			b.WriteByte('#') // the user is root
		case 'u':
			b.WriteString("root")
		case 'h':
			b.WriteString(strings.SplitN(rl.p.sh.Hostname, ".", 2)[0])
		case 'H':
			b.WriteString(rl.p.sh.Hostname)
		case 'n':
			b.WriteByte('\n')
		case '\\':
			b.WriteByte('\\')
		default:
			b.WriteByte('\\')
			b.WriteByte(ps[i])
		}
	}
	return b.String()
}
