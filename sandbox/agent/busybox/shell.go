// Package busybox runs container commands for the klab sandbox: a POSIX shell (mvdan.cc/sh/v3) whose
// commands are a busybox-like set implemented in Go. Nothing is ever exec'd on the host and every file
// access goes through the pod's FS (os.Root per mount), so a pod cannot read or change a host file.
//
// The command set is one table (registry.go); README.md lists every command with where its
// implementation comes from (ours, the interpreter's builtin, or GoAWK) and why.
package busybox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// Shell is the environment a container's command runs in.
type Shell struct {
	FS       *FS
	Env      []string // KEY=VALUE, the container's environment
	Dir      string   // working directory inside the pod ("" = "/")
	Hostname string
	Stdin    io.Reader // nil = empty
	Stdout   io.Writer
	Stderr   io.Writer
	Node     Node     // what the commands see of the node (nproc, free, uptime)
	Signals  *Signals // the container runtime's signals to PID 1 (nil: none)
	TTY      bool     // Stdin and Stdout are the container's terminal (tty: true): see Interrupt
	Net      Network  // the pod's network (nil: none; wget and nc then find no route)
	UID      int64    // the user the commands run as (securityContext.runAsUser; 0: root)
	GID      *int64   // its group (runAsGroup); nil: the user's group in /etc/passwd, else 0
	Extra    []string // the commands the image ships besides busybox's (ImageCommands), e.g. curl
	// NetAdmin: the container may change its pod's network (privileged, or CAP_NET_ADMIN added); Links
	// are the interfaces it added, shared by the pod's containers (nil: none can be added).
	NetAdmin bool
	Links    *Links
	// NoNewPrivs: the kernel's no_new_privs is set (allowPrivilegeEscalation: false): setuid programs keep
	// the caller's uid.
	NoNewPrivs bool

	fgOnce sync.Once
	fg     *foreground // the terminal's foreground, with TTY

	procs procTable // the commands running now (ps, kill); the first one is PID 1

	indexOnce sync.Once
	index     map[string]applet // the command table by name (appletFor)
}

// Run runs argv (the container's command followed by its args) and returns its exit code. A cancelled
// ctx stops it: the code is then 137, like a killed process. The error is non-nil only when the shell
// itself failed.
func (s *Shell) Run(ctx context.Context, argv []string) (int, error) {
	if len(argv) == 0 {
		return 0, nil
	}
	var b strings.Builder
	b.WriteString("exec")
	for _, a := range argv {
		q, err := syntax.Quote(a, syntax.LangBash)
		if err != nil {
			return 126, fmt.Errorf("quote argument %q: %w", a, err)
		}
		b.WriteString(" ")
		b.WriteString(q)
	}
	prog, err := syntax.NewParser().Parse(strings.NewReader(b.String()), "")
	if err != nil {
		return 126, fmt.Errorf("parse command: %w", err)
	}
	env := expand.ListEnviron(s.Env...)
	r, err := s.newRunner(env, s.dir(), s.Stdin, s.Stdout, s.Stderr, nil, true)
	if err != nil {
		return 126, err
	}
	if f, ok := s.Stdin.(*os.File); ok { // a command blocked on stdin ends with the container
		stop := context.AfterFunc(ctx, func() { interruptReads(f) })
		defer stop()
		if s.TTY {
			ctx = context.WithValue(ctx, terminalKey{}, &terminal{fg: s.foreground(), in: f})
		}
	}
	return exitCode(ctx, r.Run(context.WithValue(ctx, pid1Key{}, false), prog))
}

func (s *Shell) dir() string {
	if s.Dir == "" {
		return "/"
	}
	return Clean(s.Dir)
}

// exitCode maps the interpreter's result to a process exit code.
func exitCode(ctx context.Context, err error) (int, error) {
	if ctx.Err() != nil {
		return 137, nil
	}
	if err == nil {
		return 0, nil
	}
	if code, ok := errors.AsType[interp.ExitStatus](err); ok {
		return int(code), nil
	}
	return 2, err
}

// newRunner makes an interpreter: one shell process; pid1 when it is the container's main process.
func (s *Shell) newRunner(env expand.Environ, dir string, in io.Reader, out, errw io.Writer, params []string, pid1 bool) (*interp.Runner, error) {
	rs := &runnerState{pid1: pid1}
	if out == nil {
		out = io.Discard
	}
	if errw == nil {
		errw = io.Discard
	}
	opts := []interp.RunnerOption{
		interp.Env(podEnviron{env}),
		interp.StdIO(in, out, errw),
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc { return s.exec }),
		interp.CallHandler(func(ctx context.Context, args []string) ([]string, error) { return s.call(ctx, rs, args) }),
		interp.OpenHandler(s.open),
		interp.ReadDirHandler2(s.readDir),
		interp.StatHandler(s.stat),
		interp.AccessHandler(s.access),
	}
	if params != nil {
		opts = append(opts, interp.Params(params...))
	}
	r, err := interp.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("new shell: %w", err)
	}
	// Dir is a pod path: set it after New, whose Dir option would stat the host.
	r.Dir = dir
	r.Reset()
	r.Dir = dir
	return r, nil
}

func (s *Shell) open(ctx context.Context, p string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
	hc := interp.HandlerCtx(ctx)
	switch Abs(hc.Dir, p) {
	case "/dev/stdout":
		return writeOnly{hc.Stdout}, nil
	case "/dev/stderr":
		return writeOnly{hc.Stderr}, nil
	}
	f, err := s.FS.OpenFile(Abs(hc.Dir, p), flag, perm)
	if err != nil {
		return nil, redirectError(ctx, p, flag, err)
	}
	return f, nil
}

// shellNameKey carries the running script's $0, which busybox ash puts before its own error messages.
type shellNameKey struct{}

// redirectError words a failed redirection as busybox ash does ("sh: can't create /file: Read-only file
// system", "can't open x: no such file"); the interpreter prints an *os.PathError as it is.
func redirectError(ctx context.Context, p string, flag int, err error) error {
	name, _ := ctx.Value(shellNameKey{}).(string)
	if name == "" {
		name = "sh"
	}
	inner := unwrapPath(err)
	op, missing := name+": can't open", "no such file"
	if flag&(os.O_WRONLY|os.O_RDWR|os.O_CREATE) != 0 {
		op, missing = name+": can't create", "nonexistent directory"
	}
	msg := describe(inner)
	if errors.Is(inner, fs.ErrNotExist) || errors.Is(inner, syscall.ENOTDIR) {
		msg = missing
	}
	return &os.PathError{Op: op, Path: p, Err: errors.New(msg)}
}

func (s *Shell) readDir(ctx context.Context, p string) ([]fs.DirEntry, error) {
	return s.FS.ReadDir(Abs(interp.HandlerCtx(ctx).Dir, p))
}

func (s *Shell) stat(ctx context.Context, p string, follow bool) (fs.FileInfo, error) {
	p = Abs(interp.HandlerCtx(ctx).Dir, p)
	if follow {
		return s.FS.Stat(p)
	}
	return s.FS.Lstat(p)
}

func (s *Shell) access(ctx context.Context, p string, mode interp.AccessMode) error {
	fi, err := s.FS.Stat(Abs(interp.HandlerCtx(ctx).Dir, p))
	if err != nil {
		return err
	}
	if mode&interp.AccessExec != 0 && !fi.IsDir() && fi.Mode()&0o111 == 0 {
		return &fs.PathError{Op: "access", Path: p, Err: fs.ErrPermission}
	}
	return nil
}

type writeOnly struct{ w io.Writer }

func (w writeOnly) Read([]byte) (int, error)    { return 0, io.EOF }
func (w writeOnly) Write(b []byte) (int, error) { return w.w.Write(b) }
func (w writeOnly) Close() error                { return nil }

// proc is one running command: its arguments and the shell state it was called with.
type proc struct {
	ctx   context.Context
	sh    *Shell
	hc    interp.HandlerContext
	name  string
	argv0 string   // the command name as invoked ("/bin/sh"): the shell's $0
	args  []string // without the command name

	findBase   [2]string // find: the operand as a pod path and as typed
	findFailed bool
}

func (p *proc) stdin() io.Reader {
	if p.hc.Stdin == nil {
		return strings.NewReader("")
	}
	return p.hc.Stdin
}
func (p *proc) out() io.Writer { return p.hc.Stdout }
func (p *proc) abs(s string) string {
	return Abs(p.hc.Dir, s)
}

// errf prints "NAME: message" on stderr and returns 1.
func (p *proc) errf(format string, args ...any) int {
	fmt.Fprintf(p.hc.Stderr, p.name+": "+format+"\n", args...)
	return 1
}

// fail prints an error the way busybox does ("cat: can't open 'x': No such file or directory").
func (p *proc) fail(err error) int {
	return p.errf("%s", errMsg(err))
}

func errMsg(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s: %s", pe.Path, describe(pe.Err))
	}
	return describe(err)
}

func describe(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "No such file or directory"
	case errors.Is(err, fs.ErrExist):
		return "File exists"
	case errors.Is(err, fs.ErrPermission):
		return "Permission denied"
	}
	msg := err.Error()
	if strings.Contains(msg, "escapes from parent") || strings.Contains(msg, "path escapes") {
		return "Permission denied (outside the container)"
	}
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return msg
}

type applet func(p *proc) int

// call adapts the builtins that would look at the host (PATH lookups of `.`, `source`, `type`,
// `command -v`) or that the interpreter lacks (`kill`, a `printf` with precision, traps of signals) to
// the pod: `.` reads the pod's file, `type` and `command -v` look in the pod's PATH, `kill` and
// `printf` run the pod's own commands. As in a POSIX shell, an error of a special builtin (`.` of a
// missing file, `eval` or `trap` of bad syntax) ends the shell with status 2. In PID 1, a pending
// signal's trap runs first, and `exec` hands PID 1 over to the command it runs.
func (s *Shell) call(ctx context.Context, rs *runnerState, args []string) ([]string, error) {
	if trapped, ok := s.pendingTrap(rs, args); ok {
		return trapped, nil
	}
	hc := interp.HandlerCtx(ctx)
	switch args[0] {
	case "exec":
		if rs.pid1 && len(args) > 1 {
			return append([]string{"exec", internalPID1}, args[1:]...), nil
		}
	case "eval", "trap":
		src := strings.Join(args[1:], " ")
		if args[0] == "trap" && len(args) > 1 {
			src = args[1]
		}
		prog, err := syntax.NewParser().Parse(strings.NewReader(src), "")
		if err == nil {
			err = checkSyntax(prog)
		}
		if err != nil {
			return nil, s.fatal(hc, args[0], err.Error())
		}
		if args[0] == "trap" {
			return s.trapCall(rs, args), nil
		}
	case ".", "source":
		if len(args) < 2 {
			return args, nil
		}
		p, ok := s.lookPath(hc, args[1], false)
		if !ok {
			return nil, s.fatal(hc, args[0], args[1]+": not found")
		}
		src, err := s.FS.ReadFile(p)
		if err != nil {
			return nil, s.fatal(hc, args[0], errMsg(err))
		}
		prog, err := syntax.NewParser().Parse(strings.NewReader(string(src)), args[1])
		if err == nil {
			err = checkSyntax(prog)
		}
		if err != nil {
			return nil, s.fatal(hc, args[0], err.Error())
		}
		return []string{"eval", string(src)}, nil
	case "type":
		return append([]string{internalLookup, "type"}, args[1:]...), nil
	case "command":
		if len(args) > 2 && (args[1] == "-v" || args[1] == "-V") {
			return append([]string{internalLookup, args[1]}, args[2:]...), nil
		}
	case "kill", "printf":
		return append([]string{"/bin/" + args[0]}, args[1:]...), nil
	}
	return args, nil
}

// fatal prints a special builtin's error the way busybox sh does and returns the status that ends the
// shell.
func (s *Shell) fatal(hc interp.HandlerContext, builtin, msg string) error {
	fmt.Fprintf(hc.Stderr, "sh: %s: line %d: %s\n", builtin, hc.Pos.Line(), msg)
	return interp.ExitStatus(2)
}

// checkSyntax refuses what the interpreter would do on the host itself: process substitution creates
// FIFOs in a host temp folder.
func checkSyntax(node syntax.Node) error {
	var err error
	syntax.Walk(node, func(n syntax.Node) bool {
		if ps, ok := n.(*syntax.ProcSubst); ok && err == nil {
			err = fmt.Errorf("%s: process substitution is not supported in the klab sandbox", ps.Pos())
		}
		return err == nil
	})
	return err
}

// Internal commands the call handler rewrites to; their names cannot be typed by a script.
const (
	internalLookup = "klab\x00lookup" // type, command -v: answered from the pod's PATH
	internalPID1   = "klab\x00pid1"   // exec from PID 1: what it runs becomes PID 1
)

// lookPath finds name the way the shell would, inside the pod: a path if it has a slash, else in $PATH
// (and, for `.`, the working directory).
func (s *Shell) lookPath(hc interp.HandlerContext, name string, exec bool) (string, bool) {
	ok := func(p string) bool {
		fi, err := s.FS.Stat(p)
		return err == nil && fi.Mode().IsRegular() && (!exec || fi.Mode()&0o111 != 0)
	}
	if strings.Contains(name, "/") {
		p := Abs(hc.Dir, name)
		return p, ok(p)
	}
	for _, dir := range strings.Split(hc.Env.Get("PATH").String(), ":") {
		if dir == "" {
			dir = "."
		}
		if p := Abs(hc.Dir, path.Join(dir, name)); ok(p) {
			return p, true
		}
	}
	if !exec {
		if p := Abs(hc.Dir, name); ok(p) {
			return p, true
		}
	}
	return "", false
}

// lookup answers `type NAME`, `command -v NAME` and `command -V NAME` from the pod's point of view.
func (s *Shell) lookup(hc interp.HandlerContext, mode string, names []string) int {
	code := 0
	for _, n := range names {
		var kind, where string
		switch {
		case syntax.IsKeyword(n):
			kind = "keyword"
		case interp.IsBuiltin(n):
			kind = "builtin"
		default:
			if _, ok := s.appletFor(n); ok && !strings.Contains(n, "/") {
				kind, where = "file", "/bin/"+n
			} else if p, ok := s.lookPath(hc, n, true); ok {
				kind, where = "file", p
			}
		}
		switch {
		case kind == "":
			code = 127
			if mode != "-v" {
				fmt.Fprintf(hc.Stderr, "sh: %s: not found\n", n)
			}
		case mode == "-v" && kind == "file":
			fmt.Fprintln(hc.Stdout, where)
		case mode == "-v":
			fmt.Fprintln(hc.Stdout, n)
		case kind == "keyword":
			fmt.Fprintf(hc.Stdout, "%s is a shell keyword\n", n)
		case kind == "builtin":
			fmt.Fprintf(hc.Stdout, "%s is a shell builtin\n", n)
		default:
			fmt.Fprintf(hc.Stdout, "%s is %s\n", n, where)
		}
	}
	return code
}

// exec runs a simple command that is neither a shell function nor an interpreter builtin.
func (s *Shell) exec(ctx context.Context, args []string) error {
	hc := interp.HandlerCtx(ctx)
	name := args[0]
	switch name {
	case internalLookup:
		if code := s.lookup(hc, args[1], args[2:]); code != 0 {
			return interp.ExitStatus(uint8(code))
		}
		return nil
	case internalPID1:
		return s.exec(context.WithValue(ctx, pid1Key{}, true), args[1:])
	}
	if strings.Contains(name, "/") {
		base := path.Base(name)
		if _, ok := s.appletFor(base); !ok || isScript(s, Abs(hc.Dir, name)) {
			return s.runScriptFile(ctx, hc, name, args[1:])
		}
		name = base
	}
	a, ok := s.appletFor(name)
	if !ok {
		fmt.Fprintf(hc.Stderr, "sh: %s: not found\n", name)
		return interp.ExitStatus(127)
	}
	if ctx.Err() != nil {
		return interp.ExitStatus(uint8(killedStatus(ctx)))
	}
	pctx, done := s.procs.start(ctx, args)
	defer done()
	code := a(&proc{ctx: pctx, sh: s, hc: hc, name: name, argv0: args[0], args: args[1:]})
	if pctx.Err() != nil && ctx.Err() == nil { // killed by `kill`: the shell reports it and goes on
		code = killedStatus(pctx)
		reportSignal(hc.Stderr, syscall.Signal(code-128))
	}
	if code != 0 {
		return interp.ExitStatus(uint8(code))
	}
	return nil
}

// appletMarker starts the files the image skeleton puts in /bin for each applet.
const appletMarker = "#!/bin/busybox\n"

func isScript(s *Shell, p string) bool {
	b, err := s.FS.ReadFile(p)
	return err == nil && !strings.HasPrefix(string(b), appletMarker)
}

func (s *Shell) runScriptFile(ctx context.Context, hc interp.HandlerContext, name string, args []string) error {
	p := Abs(hc.Dir, name)
	fi, err := s.FS.Stat(p)
	if err != nil {
		fmt.Fprintf(hc.Stderr, "sh: %s: not found\n", name)
		return interp.ExitStatus(127)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		fmt.Fprintf(hc.Stderr, "sh: %s: Permission denied\n", name)
		return interp.ExitStatus(126)
	}
	src, err := s.FS.ReadFile(p)
	if err != nil {
		fmt.Fprintf(hc.Stderr, "sh: %s: %s\n", name, errMsg(err))
		return interp.ExitStatus(126)
	}
	return s.runSource(ctx, hc, string(src), name, args, nil)
}

// runSource interprets src in a child shell (like `sh -c`), inheriting exported variables and the
// working directory.
func (s *Shell) runSource(ctx context.Context, hc interp.HandlerContext, src, name string, args, setOpts []string) error {
	return s.runSourceIn(ctx, hc, exported(hc.Env), src, name, args, setOpts)
}

func (s *Shell) runSourceIn(ctx context.Context, hc interp.HandlerContext, env expand.Environ, src, name string, args, setOpts []string) error {
	prog, err := syntax.NewParser().Parse(strings.NewReader(src), name)
	if err == nil {
		err = checkSyntax(prog)
	}
	if err != nil {
		fmt.Fprintf(hc.Stderr, "sh: %s\n", err)
		return interp.ExitStatus(2)
	}
	params := append(append([]string{}, setOpts...), "--")
	params = append(params, args...)
	r, err := s.newRunner(env, hc.Dir, hc.Stdin, hc.Stdout, hc.Stderr, params, pid1From(ctx))
	if err != nil {
		return err
	}
	code, err := exitCode(ctx, r.Run(context.WithValue(context.WithValue(ctx, pid1Key{}, false), shellNameKey{}, name), prog))
	if err != nil {
		fmt.Fprintf(hc.Stderr, "sh: %s\n", err)
		return interp.ExitStatus(2)
	}
	if code != 0 {
		return interp.ExitStatus(uint8(code))
	}
	return nil
}

// exported keeps the exported variables of env, as a child process would see them.
func exported(env expand.Environ) expand.Environ {
	var list []string
	for name, v := range env.Each {
		if v.Exported && v.IsSet() {
			list = append(list, name+"="+v.String())
		}
	}
	return expand.ListEnviron(list...)
}

// podEnviron keeps the interpreter from filling variables from the host: it sets HOME, UID, EUID and
// GID itself when the environment lacks them, from the klab process. In a pod they must come from the
// container (HOME unset stays empty; the user is root).
type podEnviron struct{ expand.Environ }

func (e podEnviron) Get(name string) expand.Variable {
	v := e.Environ.Get(name)
	if v.IsSet() {
		return v
	}
	switch name {
	case "HOME":
		return expand.Variable{Set: true, Kind: expand.String}
	case "UID", "EUID", "GID":
		return expand.Variable{Set: true, Kind: expand.String, ReadOnly: true, Str: "0"}
	}
	return v
}
