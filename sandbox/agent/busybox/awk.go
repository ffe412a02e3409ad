package busybox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/benhoyt/goawk/interp"
	"github.com/benhoyt/goawk/parser"
)

// awk runs the AWK language with GoAWK, confined to the pod: system(), command pipes and file
// redirections are refused (the interpreter's NoExec, NoFileWrites and NoFileReads), and file operands
// are read through the pod's FS and fed to the program as one input stream. So FILENAME is the first
// operand and FNR counts across files like NR (the one difference from busybox awk, written in the
// package documentation).
func awk(p *proc) int {
	prog, vars, args, code := p.awkArgs()
	if code >= 0 {
		return code
	}
	parsed, err := parser.ParseProgram([]byte(prog), nil)
	if err != nil {
		var pe *parser.ParseError
		if errors.As(err, &pe) {
			fmt.Fprintf(p.hc.Stderr, "awk: cmd. line:%d: %s\n", pe.Position.Line, pe.Message)
		} else {
			fmt.Fprintf(p.hc.Stderr, "awk: %v\n", err)
		}
		return 1
	}
	// Operands of the form var=value are assignments, as in every awk; the rest are files.
	var files []string
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok && isAwkName(k) {
			vars = append(vars, k, v)
			continue
		}
		files = append(files, a)
	}
	in, closeIn, code := p.awkInput(files)
	defer closeIn()
	if code != 0 {
		return code // busybox's awk stops at a file it cannot open
	}
	if len(files) > 0 {
		vars = append(vars, "FILENAME", files[0])
	}
	out := bufio.NewWriter(p.out())
	status, err := interp.ExecProgram(parsed, &interp.Config{
		Stdin: in, Output: out, Error: p.hc.Stderr, Argv0: "awk", Vars: vars, Environ: envList(p),
		NoExec: true, NoFileWrites: true, NoFileReads: true, NoArgVars: true,
	})
	if ferr := out.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		if p.ctx.Err() != nil {
			return killedStatus(p.ctx)
		}
		msg := err.Error()
		if strings.Contains(msg, "due to NoExec") || strings.Contains(msg, "due to NoFile") {
			msg += " (awk in the klab sandbox cannot run commands or open files itself)"
		}
		fmt.Fprintf(p.hc.Stderr, "awk: %s\n", msg)
		return 2
	}
	if code != 0 {
		return code
	}
	return status
}

// awkArgs reads awk's options: the program (from -f files, -e or the first operand), the -F and -v
// variables and the remaining operands; code is -1 when they are good, else the exit status.
func (p *proc) awkArgs() (prog string, vars, rest []string, code int) {
	var progFiles []string
	haveProg := false
	args := p.args
	for len(args) > 0 && args[0] != "--" && len(args[0]) > 1 && args[0][0] == '-' {
		a := args[0]
		opt, val := a[:2], a[2:]
		if val == "" && (opt == "-F" || opt == "-v" || opt == "-f" || opt == "-e") {
			if len(args) < 2 {
				return "", nil, nil, p.errf("option requires an argument -- %s", opt[1:])
			}
			val, args = args[1], args[1:]
		}
		switch opt {
		case "-F":
			if val == `\t` || val == "t" {
				val = "\t"
			}
			vars = append(vars, "FS", val)
		case "-v":
			k, v, ok := strings.Cut(val, "=")
			if !ok {
				return "", nil, nil, p.errf("invalid -v argument '%s'", val)
			}
			vars = append(vars, k, v)
		case "-f":
			progFiles = append(progFiles, val)
		case "-e":
			prog, haveProg = prog+val+"\n", true
		default:
			return "", nil, nil, p.errf("unrecognized option '%s'", a)
		}
		args = args[1:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	for _, f := range progFiles {
		b, err := p.sh.FS.ReadFile(p.abs(f))
		if err != nil {
			return "", nil, nil, p.errf("can't open '%s': %s", f, describe(unwrapPath(err)))
		}
		prog, haveProg = prog+string(b)+"\n", true
	}
	if !haveProg {
		if len(args) == 0 {
			return "", nil, nil, p.errf("usage: awk [-F SEP] [-v VAR=VAL] [-f FILE | 'PROGRAM'] [FILE]...")
		}
		prog, args = args[0], args[1:]
	}
	return prog, vars, args, -1
}

// awkInput opens the file operands through the pod's FS as one stream ("-" is standard input); a file
// that cannot be opened is reported, with exit status 1.
func (p *proc) awkInput(files []string) (io.Reader, func(), int) {
	if len(files) == 0 {
		return p.stdin(), func() {}, 0
	}
	var readers []io.Reader
	var closers []io.Closer
	code := 0
	for _, f := range files {
		if f == "-" {
			readers = append(readers, p.stdin())
			continue
		}
		fh, err := p.sh.FS.Open(p.abs(f))
		if err != nil {
			fmt.Fprintf(p.hc.Stderr, "awk: %s: %s\n", f, describe(unwrapPath(err)))
			code = 1
			break
		}
		readers = append(readers, fh)
		closers = append(closers, fh)
	}
	return io.MultiReader(readers...), func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}, code
}

func isAwkName(s string) bool {
	for i, c := range s {
		letter := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

// envList is the command's exported environment, for ENVIRON.
func envList(p *proc) []string {
	list := []string{}
	for name, v := range p.hc.Env.Each {
		if v.Exported && v.IsSet() {
			list = append(list, name, v.String())
		}
	}
	return list
}
