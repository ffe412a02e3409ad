package busybox

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mvdan.cc/sh/v3/expand"
)

func shApplet(p *proc) int {
	var setOpts []string
	args := p.args
	var script string
	haveScript, interactive := false, false
	for len(args) > 0 && len(args[0]) > 1 && (args[0][0] == '-' || args[0][0] == '+') && args[0] != "--" {
		a := args[0]
		args = args[1:]
		for _, c := range a[1:] {
			switch c {
			case 'c':
				haveScript = true
			case 'i':
				interactive = true
			case 'l', 's':
			case 'e', 'u', 'x', 'f', 'n', 'a':
				setOpts = append(setOpts, string(a[0])+string(c))
			case 'o':
				if len(args) > 0 {
					if args[0] == "pipefail" || args[0] == "errexit" || args[0] == "nounset" || args[0] == "xtrace" || args[0] == "noglob" {
						setOpts = append(setOpts, string(a[0])+"o", args[0])
					}
					args = args[1:]
				}
			default:
				return p.errf("-%c: invalid option", c)
			}
		}
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	name := p.name
	if p.argv0 != "" {
		name = p.argv0 // ash's $0 and error prefix: argv[0] as invoked
	}
	switch {
	case haveScript:
		if len(args) == 0 {
			return p.errf("-c requires an argument")
		}
		script = args[0]
		args = args[1:]
		if len(args) > 0 { // $0 then positional parameters
			name = args[0]
			args = args[1:]
		}
	case len(args) > 0:
		b, err := p.sh.FS.ReadFile(p.abs(args[0]))
		if err != nil {
			fmt.Fprintf(p.hc.Stderr, "%s: can't open '%s': %s\n", p.name, args[0], describe(unwrapPath(err)))
			return 2
		}
		script, name, args = string(b), args[0], args[1:]
	default:
		return p.shStdin(setOpts, interactive)
	}
	return statusOf(p.sh.runSource(p.ctx, p.hc, script, name, args, setOpts))
}

// builtinApplet runs an interpreter builtin as a command (`env echo hi`, `/bin/true`).
func builtinApplet(p *proc) int {
	return statusOf(p.sh.runSource(p.ctx, p.hc, `"$@"`, p.name, append([]string{p.name}, p.args...), nil))
}

// busyboxApplet is the multi-call entry: `busybox NAME ARGS` runs NAME, `--list` lists the commands,
// no argument or `--help` describes them by family.
func busyboxApplet(p *proc) int {
	if len(p.args) == 0 || p.args[0] == "--help" {
		fmt.Fprintln(p.out(), "BusyBox v1.36.1 (klab sandbox) multi-call binary.")
		fmt.Fprint(p.out(), "\nCommands, by family (implementation in brackets):\n"+usage())
		return 0
	}
	if p.args[0] == "--list" {
		for _, n := range Applets() {
			fmt.Fprintln(p.out(), n)
		}
		return 0
	}
	a, ok := p.sh.appletFor(p.args[0])
	if !ok {
		return p.errf("applet not found")
	}
	return a(&proc{ctx: p.ctx, sh: p.sh, hc: p.hc, name: p.args[0], args: p.args[1:]})
}

func env(p *proc) int {
	args := p.args
	clear := false
	var unset []string
options:
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' || len(args) > 0 && args[0] == "-" {
		switch a := args[0]; {
		case a == "-i" || a == "-" || a == "--ignore-environment":
			clear = true
		case a == "-u" && len(args) > 1:
			unset, args = append(unset, args[1]), args[1:]
		case strings.HasPrefix(a, "-u"):
			unset = append(unset, a[2:])
		case a == "--":
			args = args[1:]
			break options
		default:
			return p.errf("unrecognized option '%s'", a)
		}
		args = args[1:]
	}
	vars := map[string]string{}
	var order []string
	if !clear {
		for name, v := range exported(p.hc.Env).Each {
			if !slices.Contains(unset, name) {
				vars[name] = v.String()
				order = append(order, name)
			}
		}
	}
	for len(args) > 0 && strings.Contains(args[0], "=") {
		k, v, _ := strings.Cut(args[0], "=")
		if _, ok := vars[k]; !ok {
			order = append(order, k)
		}
		vars[k] = v
		args = args[1:]
	}
	if len(args) == 0 {
		sort.Strings(order)
		for _, k := range order {
			fmt.Fprintf(p.out(), "%s=%s\n", k, vars[k])
		}
		return 0
	}
	list := make([]string, 0, len(order))
	for _, k := range order {
		list = append(list, k+"="+vars[k])
	}
	return statusOf(p.sh.runSourceIn(p.ctx, p.hc, expand.ListEnviron(list...), `"$@"`, p.name, args, nil))
}

func printenv(p *proc) int {
	env := exported(p.hc.Env)
	if len(p.args) == 0 {
		var names []string
		for name := range env.Each {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(p.out(), "%s=%s\n", n, env.Get(n).String())
		}
		return 0
	}
	code := 0
	for _, n := range p.args {
		v := env.Get(n)
		if !v.IsSet() {
			code = 1
			continue
		}
		fmt.Fprintln(p.out(), v.String())
	}
	return code
}

// parseDuration reads sleep's operands: 1, 0.5, 2s, 3m, 1h, 1d.
func parseDuration(s string) (time.Duration, error) {
	mult := time.Second
	switch {
	case strings.HasSuffix(s, "s"):
		s = s[:len(s)-1]
	case strings.HasSuffix(s, "m"):
		s, mult = s[:len(s)-1], time.Minute
	case strings.HasSuffix(s, "h"):
		s, mult = s[:len(s)-1], time.Hour
	case strings.HasSuffix(s, "d"):
		s, mult = s[:len(s)-1], 24*time.Hour
	}
	if s == "inf" || s == "infinity" {
		return time.Duration(math.MaxInt64), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("invalid number '%s'", s)
	}
	return time.Duration(f * float64(mult)), nil
}

func sleep(p *proc) int {
	if len(p.args) == 0 {
		return p.errf("missing operand")
	}
	var total time.Duration
	for _, a := range p.args {
		d, err := parseDuration(a)
		if err != nil {
			return p.errf("%v", err)
		}
		total += d
	}
	t := time.NewTimer(total)
	defer t.Stop()
	select {
	case <-t.C:
		return 0
	case <-p.ctx.Done():
		return killedStatus(p.ctx)
	}
}

func xargs(p *proc) int {
	set, rest, bad := flags(p.args, "nI")
	if bad != 0 {
		return p.errf("option requires an argument -- '%c'", bad)
	}
	if len(rest) == 0 {
		rest = []string{"echo"}
	}
	b, err := io.ReadAll(p.stdin())
	if err != nil {
		return p.fail(err)
	}
	items := strings.Fields(string(b))
	if repl, ok := set['I']; ok {
		code := 0
		for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if l == "" {
				continue
			}
			args := make([]string, len(rest))
			for i, a := range rest {
				args[i] = strings.ReplaceAll(a, repl, l)
			}
			if c := p.call(args); c != 0 {
				code = 123
			}
		}
		return code
	}
	n := len(items)
	if v, ok := set['n']; ok {
		n, _ = strconv.Atoi(v)
	}
	if n <= 0 {
		n = 1
	}
	if len(items) == 0 && !has(set, "r") {
		return p.call(rest)
	}
	code := 0
	for i := 0; i < len(items); i += n {
		j := min(i+n, len(items))
		if c := p.call(append(append([]string{}, rest...), items[i:j]...)); c != 0 {
			code = 123
		}
	}
	return code
}

// call runs another command with the same shell state, as xargs and find -exec do.
func (p *proc) call(argv []string) int {
	return statusOf(p.sh.runSource(p.ctx, p.hc, `"$@"`, p.name, argv, nil))
}

func yes(p *proc) int {
	s := "y"
	if len(p.args) > 0 {
		s = strings.Join(p.args, " ")
	}
	for p.ctx.Err() == nil {
		if _, err := fmt.Fprintln(p.out(), s); err != nil {
			return 1
		}
	}
	return killedStatus(p.ctx)
}

// timeoutApplet runs a command and, past the duration, sends it a signal (-s SIG, TERM by default)
// as busybox's timeout does: the command then ends with 128 + the signal and the shell reports it.
func timeoutApplet(p *proc) int {
	args := p.args
	sig := syscall.SIGTERM
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && len(args[0]) > 1 {
		switch {
		case args[0] == "-s" && len(args) > 1:
			s, ok := parseSignal(args[1])
			if !ok {
				return p.errf("unknown signal '%s'", args[1])
			}
			sig, args = s, args[1:]
		case args[0] == "-k" && len(args) > 1:
			args = args[1:] // the command stops at the first signal: nothing to kill later
		case args[0] == "--":
		default:
			return p.errf("unrecognized option '%s'", args[0])
		}
		args = args[1:]
	}
	if len(args) < 2 {
		return p.errf("usage: timeout [-s SIG] SECS PROG ARGS")
	}
	d, err := parseDuration(args[0])
	if err != nil {
		return p.errf("%v", err)
	}
	ctx, cancel := context.WithTimeoutCause(p.ctx, d, signalError{sig})
	defer cancel()
	code := statusOf(p.sh.runSource(ctx, p.hc, `"$@"`, p.name, args[1:], nil))
	if ctx.Err() != nil && p.ctx.Err() == nil {
		reportSignal(p.hc.Stderr, sig)
		return 128 + int(sig)
	}
	return code
}

func which(p *proc) int {
	code := 0
	for _, n := range p.args {
		if _, ok := p.sh.appletFor(n); ok {
			fmt.Fprintln(p.out(), "/bin/"+n)
			continue
		}
		if vp, ok := p.sh.lookPath(p.hc, n, true); ok {
			fmt.Fprintln(p.out(), vp)
			continue
		}
		code = 1
	}
	return code
}
