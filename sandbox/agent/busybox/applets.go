package busybox

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
)

// Applets lists the commands every pod has, in the order the image skeleton writes them in /bin.
func Applets() []string {
	return []string{
		"[", "ash", "awk", "base64", "basename", "bash", "busybox", "cat", "chmod", "cp", "cut", "date", "df",
		"dirname", "du", "echo", "egrep", "env", "expr", "false", "fgrep", "find", "free", "grep", "gunzip",
		"gzip", "head", "hostname", "id", "kill", "ln", "ls", "md5sum", "mkdir", "mktemp", "mv", "nproc", "perl",
		"printenv", "printf", "ps", "pwd", "readlink", "rev", "rm", "rmdir", "sed", "seq", "sh", "sha1sum",
		"sha256sum", "sleep", "sort", "stat", "tail", "tee", "test", "timeout", "touch", "tr", "true", "uname",
		"uniq", "uptime", "wc", "which", "whoami", "xargs", "yes", "zcat",
	}
}

func appletFor(name string) (applet, bool) {
	var a applet
	switch name {
	case "sh", "ash", "bash":
		a = shApplet
	case "echo", "printf", "test", "[", "true", "false", "pwd":
		a = builtinApplet
	case "busybox":
		a = busyboxApplet
	case "basename":
		a = basename
	case "dirname":
		a = dirname
	case "cat":
		a = cat
	case "chmod":
		a = chmod
	case "cp":
		a = cp
	case "cut":
		a = cut
	case "date":
		a = date
	case "env":
		a = env
	case "expr":
		a = expr
	case "find":
		a = find
	case "grep", "egrep", "fgrep":
		a = grep
	case "gzip", "gunzip", "zcat":
		a = gzipApplet
	case "head":
		a = head
	case "tail":
		a = tail
	case "hostname":
		a = hostname
	case "id", "whoami":
		a = id
	case "ln":
		a = ln
	case "ls":
		a = ls
	case "mkdir":
		a = mkdir
	case "mv":
		a = mv
	case "nproc":
		a = func(p *proc) int { fmt.Fprintln(p.out(), 16); return 0 }
	case "printenv":
		a = printenv
	case "readlink":
		a = readlink
	case "rm":
		a = rm
	case "rmdir":
		a = rmdir
	case "seq":
		a = seq
	case "sleep":
		a = sleep
	case "sort":
		a = sortApplet
	case "tee":
		a = tee
	case "touch":
		a = touch
	case "tr":
		a = tr
	case "uname":
		a = uname
	case "uniq":
		a = uniq
	case "wc":
		a = wc
	case "xargs":
		a = xargs
	case "yes":
		a = yes
	case "sed":
		a = sed
	case "awk":
		a = awk
	case "base64":
		a = base64Applet
	case "md5sum", "sha1sum", "sha256sum":
		a = sumApplet
	case "timeout":
		a = timeoutApplet
	case "du":
		a = du
	case "df":
		a = df
	case "free":
		a = free
	case "ps":
		a = ps
	case "stat":
		a = stat
	case "which":
		a = which
	case "rev":
		a = rev
	case "kill":
		a = kill
	case "uptime":
		a = uptime
	case "mktemp":
		a = mktemp
	case "perl":
		a = perl
	default:
		return nil, false
	}
	return a, true
}

// flags splits leading single-letter options ("-rf", "-n 3" style handled by callers) from operands.
// withValue lists letters taking a value ("n" for head -n 3 or -n3).
func flags(args []string, withValue string) (set map[byte]string, rest []string, bad byte) {
	set = map[byte]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return set, args[i+1:], 0
		}
		if len(a) < 2 || a[0] != '-' {
			return set, args[i:], 0
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			if strings.IndexByte(withValue, c) >= 0 {
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return set, nil, c
					}
					i++
					v = args[i]
				}
				set[c] = v
				break
			}
			set[c] = "1"
		}
	}
	return set, nil, 0
}

func has(set map[byte]string, cs string) bool {
	for i := 0; i < len(cs); i++ {
		if _, ok := set[cs[i]]; ok {
			return true
		}
	}
	return false
}

func shApplet(p *proc) int {
	var setOpts []string
	args := p.args
	var script string
	haveScript := false
	for len(args) > 0 && len(args[0]) > 1 && (args[0][0] == '-' || args[0][0] == '+') && args[0] != "--" {
		a := args[0]
		args = args[1:]
		for _, c := range a[1:] {
			switch c {
			case 'c':
				haveScript = true
			case 'l', 'i', 's':
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
		b, err := io.ReadAll(p.stdin())
		if err != nil {
			return p.fail(err)
		}
		script = string(b)
	}
	return statusOf(p.sh.runSource(p.ctx, p.hc, script, name, args, setOpts))
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func statusOf(err error) int {
	if err == nil {
		return 0
	}
	var code uint8
	var ok bool
	if code, ok = interp.IsExitStatus(err); ok {
		return int(code)
	}
	return 2
}

// builtinApplet runs an interpreter builtin as a command (`env echo hi`, `/bin/true`).
func builtinApplet(p *proc) int {
	return statusOf(p.sh.runSource(p.ctx, p.hc, `"$@"`, p.name, append([]string{p.name}, p.args...), nil))
}

func busyboxApplet(p *proc) int {
	if len(p.args) == 0 {
		fmt.Fprintln(p.out(), "BusyBox v1.36.1 (klab sandbox) multi-call binary.")
		fmt.Fprintln(p.out(), "Currently defined functions:\n\t"+strings.Join(Applets(), ", "))
		return 0
	}
	a, ok := appletFor(p.args[0])
	if !ok {
		return p.errf("applet not found")
	}
	return a(&proc{ctx: p.ctx, sh: p.sh, hc: p.hc, name: p.args[0], args: p.args[1:]})
}

func basename(p *proc) int {
	if len(p.args) == 0 {
		return p.errf("missing operand")
	}
	b := path.Base(p.args[0])
	if len(p.args) > 1 && b != p.args[1] {
		b = strings.TrimSuffix(b, p.args[1])
	}
	fmt.Fprintln(p.out(), b)
	return 0
}

func dirname(p *proc) int {
	if len(p.args) == 0 {
		return p.errf("missing operand")
	}
	fmt.Fprintln(p.out(), path.Dir(p.args[0]))
	return 0
}

// inputs calls fn with stdin ("-" or no operand) or each named file; it reports unreadable files.
func (p *proc) inputs(names []string, fn func(name string, r io.Reader) error) int {
	if len(names) == 0 {
		names = []string{"-"}
	}
	code := 0
	for _, n := range names {
		if n == "-" {
			if err := fn(n, p.stdin()); err != nil {
				return p.fail(err)
			}
			continue
		}
		f, err := p.sh.FS.Open(p.abs(n))
		if err == nil {
			var fi fs.FileInfo
			if fi, err = f.Stat(); err == nil && fi.IsDir() {
				err = &fs.PathError{Op: "read", Path: n, Err: errors.New("Is a directory")}
			}
		}
		if err != nil {
			if f != nil {
				f.Close()
			}
			fmt.Fprintf(p.hc.Stderr, "%s: can't open '%s': %s\n", p.name, n, describe(unwrapPath(err)))
			code = 1
			continue
		}
		err = fn(n, f)
		f.Close()
		if err != nil {
			fmt.Fprintf(p.hc.Stderr, "%s: %s: %s\n", p.name, n, describe(unwrapPath(err)))
			code = 1
		}
	}
	return code
}

func cat(p *proc) int {
	set, rest, _ := flags(p.args, "")
	number := has(set, "n")
	line := 0
	return p.inputs(rest, func(_ string, r io.Reader) error {
		if !number {
			_, err := io.Copy(p.out(), r)
			return err
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			line++
			fmt.Fprintf(p.out(), "%6d\t%s\n", line, sc.Text())
		}
		return sc.Err()
	})
}

func chmod(p *proc) int {
	set, rest, _ := flags(p.args, "")
	_ = set
	if len(rest) < 2 {
		return p.errf("missing operand")
	}
	m, err := strconv.ParseUint(rest[0], 8, 32)
	code := 0
	for _, n := range rest[1:] {
		fi, serr := p.sh.FS.Stat(p.abs(n))
		if serr != nil {
			code = p.fail(serr)
			continue
		}
		mode := fi.Mode().Perm()
		if err == nil {
			mode = fs.FileMode(m)
		} else {
			mode = symbolicMode(rest[0], mode)
		}
		if err := p.sh.FS.Chmod(p.abs(n), mode); err != nil {
			code = p.fail(err)
		}
	}
	return code
}

// symbolicMode applies "+x", "u+w", "go-r", "a=r" style changes.
func symbolicMode(spec string, mode fs.FileMode) fs.FileMode {
	for _, part := range strings.Split(spec, ",") {
		i := strings.IndexAny(part, "+-=")
		if i < 0 {
			continue
		}
		who, op, perms := part[:i], part[i], part[i+1:]
		if who == "" || who == "a" {
			who = "ugo"
		}
		var bits fs.FileMode
		for _, c := range perms {
			var b fs.FileMode
			switch c {
			case 'r':
				b = 4
			case 'w':
				b = 2
			case 'x':
				b = 1
			}
			for _, w := range who {
				switch w {
				case 'u':
					bits |= b << 6
				case 'g':
					bits |= b << 3
				case 'o':
					bits |= b
				}
			}
		}
		switch op {
		case '+':
			mode |= bits
		case '-':
			mode &^= bits
		case '=':
			mode = bits
		}
	}
	return mode
}

// copyTargets splits cp/mv operands into sources and a destination, which
// must be a folder when there are several sources; it reports the error itself.
func (p *proc) copyTargets(rest []string) (dst string, srcs []string, toDir, ok bool) {
	if len(rest) < 2 {
		p.errf("missing file operand")
		return "", nil, false, false
	}
	dst = p.abs(rest[len(rest)-1])
	srcs = rest[:len(rest)-1]
	dfi, derr := p.sh.FS.Stat(dst)
	toDir = derr == nil && dfi.IsDir()
	if len(srcs) > 1 && !toDir {
		p.errf("'%s' is not a directory", rest[len(rest)-1])
		return "", nil, false, false
	}
	return dst, srcs, toDir, true
}

func cp(p *proc) int {
	set, rest, _ := flags(p.args, "")
	recursive := has(set, "rRa")
	dst, srcs, toDir, ok := p.copyTargets(rest)
	if !ok {
		return 1
	}
	code := 0
	for _, s := range srcs {
		target := dst
		if toDir {
			target = path.Join(dst, path.Base(Clean(s)))
		}
		if err := p.copyTree(p.abs(s), target, recursive); err != nil {
			code = p.fail(err)
		}
	}
	return code
}

func (p *proc) copyTree(src, dst string, recursive bool) error {
	fi, err := p.sh.FS.Lstat(src)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		if !recursive {
			return fmt.Errorf("omitting directory '%s'", src)
		}
		if dst == src || strings.HasPrefix(dst, src+"/") {
			return fmt.Errorf("cannot copy a directory, '%s', into itself", src)
		}
		if err := p.sh.FS.MkdirAll(dst, fi.Mode().Perm()|0o700); err != nil {
			return err
		}
		ents, err := p.sh.FS.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range ents {
			if err := p.copyTree(path.Join(src, e.Name()), path.Join(dst, e.Name()), true); err != nil {
				return err
			}
		}
		return nil
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		t, err := p.sh.FS.Readlink(src)
		if err != nil {
			return err
		}
		_ = p.sh.FS.Remove(dst)
		return p.sh.FS.Symlink(t, dst)
	}
	in, err := p.sh.FS.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := p.sh.FS.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func cut(p *proc) int {
	set, rest, bad := flags(p.args, "dfc")
	if bad != 0 {
		return p.errf("option requires an argument -- '%c'", bad)
	}
	delim := "\t"
	if d, ok := set['d']; ok {
		delim = d
	}
	spec, byChar := set['f'], false
	if c, ok := set['c']; ok {
		spec, byChar = c, true
	}
	if spec == "" {
		return p.errf("you must specify a list of bytes, characters, or fields")
	}
	sel, err := parseRanges(spec)
	if err != nil {
		return p.errf("%v", err)
	}
	return p.lines(rest, func(line string) {
		var parts []string
		if byChar {
			for i, r := range []rune(line) {
				if sel(i + 1) {
					parts = append(parts, string(r))
				}
			}
			fmt.Fprintln(p.out(), strings.Join(parts, ""))
			return
		}
		if !strings.Contains(line, delim) {
			fmt.Fprintln(p.out(), line)
			return
		}
		for i, f := range strings.Split(line, delim) {
			if sel(i + 1) {
				parts = append(parts, f)
			}
		}
		fmt.Fprintln(p.out(), strings.Join(parts, delim))
	})
}

func parseRanges(spec string) (func(int) bool, error) {
	type rng struct{ lo, hi int }
	var rs []rng
	for _, part := range strings.Split(spec, ",") {
		lo, hi := 1, math.MaxInt
		a, b, isRange := strings.Cut(part, "-")
		var err error
		if a != "" {
			if lo, err = strconv.Atoi(a); err != nil {
				return nil, fmt.Errorf("invalid list %q", spec)
			}
		}
		if !isRange {
			hi = lo
		} else if b != "" {
			if hi, err = strconv.Atoi(b); err != nil {
				return nil, fmt.Errorf("invalid list %q", spec)
			}
		}
		rs = append(rs, rng{lo, hi})
	}
	return func(i int) bool {
		for _, r := range rs {
			if i >= r.lo && i <= r.hi {
				return true
			}
		}
		return false
	}, nil
}

// lines calls fn for each line of the inputs.
func (p *proc) lines(names []string, fn func(string)) int {
	return p.inputs(names, func(_ string, r io.Reader) error {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			fn(sc.Text())
		}
		return sc.Err()
	})
}

func env(p *proc) int {
	args := p.args
	clear := false
	for len(args) > 0 && (args[0] == "-i" || args[0] == "-") {
		clear = true
		args = args[1:]
	}
	vars := map[string]string{}
	var order []string
	if !clear {
		for name, v := range exported(p.hc.Env).Each {
			vars[name] = v.String()
			order = append(order, name)
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

func hostname(p *proc) int {
	fmt.Fprintln(p.out(), p.sh.Hostname)
	return 0
}

func id(p *proc) int {
	if p.name == "whoami" {
		fmt.Fprintln(p.out(), "root")
		return 0
	}
	set, _, _ := flags(p.args, "")
	switch {
	case has(set, "u") && has(set, "n"), has(set, "g") && has(set, "n"):
		fmt.Fprintln(p.out(), "root")
	case has(set, "u"), has(set, "g"):
		fmt.Fprintln(p.out(), 0)
	case has(set, "G"):
		fmt.Fprintln(p.out(), "0 1 2 3 4 6 10 11 20 26 27")
	default:
		fmt.Fprintln(p.out(), "uid=0(root) gid=0(root) groups=0(root),1(bin),2(daemon),3(sys),4(adm),6(disk),10(wheel),11(floppy),20(dialout),26(tape),27(video)")
	}
	return 0
}

func ln(p *proc) int {
	set, rest, _ := flags(p.args, "")
	if !has(set, "s") {
		return p.errf("hard links are not supported in the klab sandbox; use ln -s")
	}
	if len(rest) < 1 {
		return p.errf("missing file operand")
	}
	target := rest[0]
	link := path.Base(target)
	if len(rest) > 1 {
		link = rest[1]
	}
	lp := p.abs(link)
	if fi, err := p.sh.FS.Lstat(lp); err == nil {
		if fi.IsDir() && !has(set, "n") {
			lp = path.Join(lp, path.Base(target))
		} else if has(set, "f") {
			_ = p.sh.FS.Remove(lp)
		}
	}
	if err := p.sh.FS.Symlink(target, lp); err != nil {
		return p.fail(err)
	}
	return 0
}

func mkdir(p *proc) int {
	set, rest, bad := flags(p.args, "m")
	if bad != 0 {
		return p.errf("option requires an argument -- '%c'", bad)
	}
	if len(rest) == 0 {
		return p.errf("missing operand")
	}
	code := 0
	for _, d := range rest {
		var err error
		if has(set, "p") {
			err = p.sh.FS.MkdirAll(p.abs(d), 0o755)
		} else {
			err = p.sh.FS.Mkdir(p.abs(d), 0o755)
		}
		if err != nil {
			fmt.Fprintf(p.hc.Stderr, "mkdir: can't create directory '%s': %s\n", d, describe(unwrapPath(err)))
			code = 1
		}
	}
	return code
}

func mv(p *proc) int {
	_, rest, _ := flags(p.args, "")
	dst, srcs, toDir, ok := p.copyTargets(rest)
	if !ok {
		return 1
	}
	code := 0
	for _, s := range srcs {
		src, target := p.abs(s), dst
		if toDir {
			target = path.Join(dst, path.Base(src))
		}
		err := p.sh.FS.Rename(src, target)
		if err != nil && errors.Is(err, syscall.EXDEV) {
			if err = p.copyTree(src, target, true); err == nil {
				err = p.sh.FS.RemoveAll(src)
			}
		}
		if err != nil {
			code = p.fail(err)
		}
	}
	return code
}

func readlink(p *proc) int {
	set, rest, _ := flags(p.args, "")
	if len(rest) == 0 {
		return 1
	}
	if has(set, "f") {
		fmt.Fprintln(p.out(), p.abs(rest[0]))
		return 0
	}
	t, err := p.sh.FS.Readlink(p.abs(rest[0]))
	if err != nil {
		return 1
	}
	fmt.Fprintln(p.out(), t)
	return 0
}

func rm(p *proc) int {
	set, rest, _ := flags(p.args, "")
	force, recursive := has(set, "f"), has(set, "rR")
	if len(rest) == 0 && !force {
		return p.errf("missing operand")
	}
	code := 0
	for _, n := range rest {
		ap := p.abs(n)
		fi, err := p.sh.FS.Lstat(ap)
		if err != nil {
			if !force {
				fmt.Fprintf(p.hc.Stderr, "rm: can't remove '%s': %s\n", n, describe(unwrapPath(err)))
				code = 1
			}
			continue
		}
		if fi.IsDir() && !recursive {
			fmt.Fprintf(p.hc.Stderr, "rm: '%s' is a directory\n", n)
			code = 1
			continue
		}
		if recursive {
			err = p.sh.FS.RemoveAll(ap)
		} else {
			err = p.sh.FS.Remove(ap)
		}
		if err != nil {
			for _, e := range flatten(err) {
				fmt.Fprintf(p.hc.Stderr, "rm: can't remove %s\n", quotedErr(e))
			}
			code = 1
		}
	}
	return code
}

// quotedErr prints a path error as busybox does: 'path': Message.
func quotedErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("'%s': %s", pe.Path, describe(pe.Err))
	}
	return describe(err)
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

func rmdir(p *proc) int {
	_, rest, _ := flags(p.args, "")
	code := 0
	for _, n := range rest {
		if err := p.sh.FS.Remove(p.abs(n)); err != nil {
			code = p.fail(err)
		}
	}
	return code
}

func seq(p *proc) int {
	sep, width := "\n", false
	args := p.args
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' && (args[0][1] < '0' || args[0][1] > '9') {
		switch {
		case args[0] == "-w":
			width = true
		case args[0] == "-s" && len(args) > 1:
			sep = args[1]
			args = args[1:]
		case strings.HasPrefix(args[0], "-s"):
			sep = args[0][2:]
		default:
			return p.errf("invalid option -- '%s'", args[0][1:])
		}
		args = args[1:]
	}
	nums := make([]float64, len(args))
	for i, a := range args {
		f, err := strconv.ParseFloat(a, 64)
		if err != nil {
			return p.errf("invalid number '%s'", a)
		}
		nums[i] = f
	}
	first, inc, last := 1.0, 1.0, 0.0
	switch len(nums) {
	case 1:
		last = nums[0]
	case 2:
		first, last = nums[0], nums[1]
	case 3:
		first, inc, last = nums[0], nums[1], nums[2]
	default:
		return p.errf("usage: seq [-w] [-s SEP] [FIRST [INC]] LAST")
	}
	if inc == 0 {
		return p.errf("invalid zero increment")
	}
	prec := 0
	for _, a := range args {
		if i := strings.IndexByte(a, '.'); i >= 0 && len(a)-i-1 > prec {
			prec = len(a) - i - 1
		}
	}
	w := 0
	if width {
		w = len(strconv.FormatFloat(math.Max(math.Abs(first), math.Abs(last)), 'f', prec, 64))
	}
	bw := bufio.NewWriter(p.out())
	n := 0
	for i := 0; ; i++ {
		v := first + float64(i)*inc
		if (inc > 0 && v > last+1e-9) || (inc < 0 && v < last-1e-9) {
			break
		}
		if i%4096 == 0 && p.ctx.Err() != nil {
			return 137
		}
		s := strconv.FormatFloat(v, 'f', prec, 64)
		for len(s) < w {
			s = "0" + s
		}
		if i > 0 {
			bw.WriteString(sep)
		}
		if _, err := bw.WriteString(s); err != nil {
			return 1
		}
		n++
	}
	if n > 0 {
		bw.WriteString("\n")
	}
	if err := bw.Flush(); err != nil {
		return 1
	}
	return 0
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
		return 137
	}
}

func sortApplet(p *proc) int {
	set, rest, bad := flags(p.args, "kto")
	if bad != 0 {
		return p.errf("option requires an argument -- '%c'", bad)
	}
	var lines []string
	code := p.lines(rest, func(l string) { lines = append(lines, l) })
	key := func(l string) string { return l }
	if k, ok := set['k']; ok {
		n, _ := strconv.Atoi(strings.SplitN(k, ",", 2)[0])
		sep := set['t']
		key = func(l string) string {
			var fs []string
			if sep != "" {
				fs = strings.Split(l, sep)
			} else {
				fs = strings.Fields(l)
			}
			if n >= 1 && n <= len(fs) {
				return strings.Join(fs[n-1:], " ")
			}
			return ""
		}
	}
	less := func(a, b string) int { return strings.Compare(key(a), key(b)) }
	if has(set, "n") {
		less = func(a, b string) int {
			x, _ := strconv.ParseFloat(strings.Fields(key(a) + " 0")[0], 64)
			y, _ := strconv.ParseFloat(strings.Fields(key(b) + " 0")[0], 64)
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return strings.Compare(a, b)
		}
	}
	slices.SortStableFunc(lines, less)
	if has(set, "r") {
		slices.Reverse(lines)
	}
	if has(set, "u") {
		lines = slices.CompactFunc(lines, func(a, b string) bool { return less(a, b) == 0 })
	}
	for _, l := range lines {
		fmt.Fprintln(p.out(), l)
	}
	return code
}

func tee(p *proc) int {
	set, rest, _ := flags(p.args, "")
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if has(set, "a") {
		flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	ws := []io.Writer{p.out()}
	code := 0
	for _, n := range rest {
		f, err := p.sh.FS.OpenFile(p.abs(n), flag, 0o644)
		if err != nil {
			code = p.fail(err)
			continue
		}
		defer f.Close()
		ws = append(ws, f)
	}
	if _, err := io.Copy(io.MultiWriter(ws...), p.stdin()); err != nil {
		return p.fail(err)
	}
	return code
}

func touch(p *proc) int {
	set, rest, bad := flags(p.args, "dtr")
	if bad != 0 {
		return p.errf("option requires an argument -- '%c'", bad)
	}
	if len(rest) == 0 {
		return p.errf("missing file operand")
	}
	when := time.Now()
	if d, ok := set['d']; ok {
		t, err := parseDate(d)
		if err != nil {
			return p.errf("invalid date '%s'", d)
		}
		when = t
	}
	if r, ok := set['r']; ok {
		fi, err := p.sh.FS.Stat(p.abs(r))
		if err != nil {
			return p.fail(err)
		}
		when = fi.ModTime()
	}
	code := 0
	for _, n := range rest {
		ap := p.abs(n)
		if _, err := p.sh.FS.Stat(ap); err != nil {
			if has(set, "c") {
				continue
			}
			f, err := p.sh.FS.OpenFile(ap, os.O_WRONLY|os.O_CREATE, 0o644)
			if err != nil {
				fmt.Fprintf(p.hc.Stderr, "touch: %s: %s\n", n, describe(unwrapPath(err)))
				code = 1
				continue
			}
			f.Close()
		}
		if err := p.sh.FS.Chtimes(ap, when, when); err != nil {
			code = p.fail(err)
		}
	}
	return code
}

// parseDate accepts the forms lessons use with date -d and touch -d: RFC 3339, "YYYY-MM-DD[ HH:MM[:SS]]",
// "@EPOCH", and "N days ago" / "N minutes ago" style relative dates.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "@") {
		n, err := strconv.ParseInt(s[1:], 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("invalid date %q", s)
		}
		return time.Unix(n, 0), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	f := strings.Fields(s)
	if len(f) >= 2 {
		n, err := strconv.Atoi(f[0])
		if err == nil {
			unit := strings.TrimSuffix(f[1], "s")
			units := map[string]time.Duration{"second": time.Second, "sec": time.Second, "minute": time.Minute,
				"min": time.Minute, "hour": time.Hour, "day": 24 * time.Hour, "week": 7 * 24 * time.Hour}
			if u, ok := units[unit]; ok {
				d := time.Duration(n) * u
				if len(f) > 2 && f[2] == "ago" {
					d = -d
				}
				return time.Now().Add(d), nil
			}
		}
	}
	switch s {
	case "now":
		return time.Now(), nil
	case "yesterday":
		return time.Now().Add(-24 * time.Hour), nil
	case "tomorrow":
		return time.Now().Add(24 * time.Hour), nil
	}
	return time.Time{}, fmt.Errorf("invalid date %q", s)
}

func tr(p *proc) int {
	set, rest, _ := flags(p.args, "")
	if len(rest) == 0 || (len(rest) < 2 && !has(set, "d")) {
		return p.errf("missing operand")
	}
	from := expandSet(rest[0])
	b, err := io.ReadAll(p.stdin())
	if err != nil {
		return p.fail(err)
	}
	var out strings.Builder
	if has(set, "d") {
		for _, r := range string(b) {
			if !slices.Contains(from, r) {
				out.WriteRune(r)
			}
		}
	} else {
		to := expandSet(rest[1])
		for _, r := range string(b) {
			if i := slices.Index(from, r); i >= 0 && len(to) > 0 {
				if i >= len(to) {
					i = len(to) - 1
				}
				r = to[i]
			}
			out.WriteRune(r)
		}
	}
	fmt.Fprint(p.out(), out.String())
	return 0
}

func expandSet(s string) []rune {
	classes := map[string]string{"[:lower:]": "a-z", "[:upper:]": "A-Z", "[:digit:]": "0-9", "[:space:]": " \t\n\r\v\f", "[:alpha:]": "a-zA-Z", "[:alnum:]": "a-zA-Z0-9"}
	for k, v := range classes {
		s = strings.ReplaceAll(s, k, v)
	}
	s = strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\\`, `\`).Replace(s)
	rs := []rune(s)
	var out []rune
	for i := 0; i < len(rs); i++ {
		if i+2 < len(rs) && rs[i+1] == '-' && rs[i] <= rs[i+2] {
			for r := rs[i]; r <= rs[i+2]; r++ {
				out = append(out, r)
			}
			i += 2
			continue
		}
		out = append(out, rs[i])
	}
	return out
}

func uname(p *proc) int {
	set, _, _ := flags(p.args, "")
	fields := []struct {
		flag, val string
	}{{"s", "Linux"}, {"n", p.sh.Hostname}, {"r", "6.1.0-klab"}, {"v", "#1 SMP klab sandbox"}, {"m", "x86_64"}, {"o", "GNU/Linux"}}
	var out []string
	for _, f := range fields {
		if has(set, f.flag) || has(set, "a") {
			out = append(out, f.val)
		}
	}
	if len(out) == 0 {
		out = []string{"Linux"}
	}
	fmt.Fprintln(p.out(), strings.Join(out, " "))
	return 0
}

func uniq(p *proc) int {
	set, rest, _ := flags(p.args, "")
	var prev string
	n := 0
	flush := func() {
		if n == 0 {
			return
		}
		if (has(set, "d") && n < 2) || (has(set, "u") && n > 1) {
			return
		}
		if has(set, "c") {
			fmt.Fprintf(p.out(), "%7d %s\n", n, prev)
		} else {
			fmt.Fprintln(p.out(), prev)
		}
	}
	code := p.lines(rest, func(l string) {
		if n > 0 && l == prev {
			n++
			return
		}
		flush()
		prev, n = l, 1
	})
	flush()
	return code
}

func wc(p *proc) int {
	set, rest, _ := flags(p.args, "")
	show := func(c string) bool { return has(set, c) || !has(set, "lwcm") }
	var tl, tw, tc int
	files := 0
	code := p.inputs(rest, func(name string, r io.Reader) error {
		var l, w, c int
		inWord := false
		br := bufio.NewReaderSize(r, 64<<10)
		for {
			ch, size, err := br.ReadRune()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if has(set, "m") {
				c++
			} else {
				c += size
			}
			if ch == '\n' {
				l++
			}
			space := ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f'
			if !space && !inWord {
				w++
			}
			inWord = !space
		}
		tl, tw, tc = tl+l, tw+w, tc+c
		files++
		p.wcLine(show, l, w, c, name)
		return nil
	})
	if files > 1 {
		p.wcLine(show, tl, tw, tc, "total")
	}
	return code
}

func (p *proc) wcLine(show func(string) bool, l, w, c int, name string) {
	var parts []string
	single := (show("l") && !show("w") && !show("c")) || (!show("l") && show("w") && !show("c")) || (!show("l") && !show("w") && show("c"))
	f := "%7d"
	if single {
		f = "%d"
	}
	if show("l") {
		parts = append(parts, fmt.Sprintf(f, l))
	}
	if show("w") {
		parts = append(parts, fmt.Sprintf(f, w))
	}
	if show("c") || show("m") {
		parts = append(parts, fmt.Sprintf(f, c))
	}
	if name != "-" {
		parts = append(parts, name)
	}
	fmt.Fprintln(p.out(), strings.Join(parts, " "))
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
	return 137
}

// regexpFor compiles a grep pattern: basic (default, \( \) \| \{ \} \+ \? are operators), extended (-E)
// or fixed (-F).
func regexpFor(pat string, extended, fixed, icase, word bool) (*regexp.Regexp, error) {
	switch {
	case fixed:
		pat = regexp.QuoteMeta(pat)
	case !extended:
		var b strings.Builder
		for i := 0; i < len(pat); i++ {
			c := pat[i]
			if c == '\\' && i+1 < len(pat) {
				n := pat[i+1]
				i++
				if strings.IndexByte("(){}|+?", n) >= 0 {
					b.WriteByte(n)
				} else {
					b.WriteByte('\\')
					b.WriteByte(n)
				}
				continue
			}
			if strings.IndexByte("(){}|+?", c) >= 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
		pat = b.String()
	}
	if word {
		pat = `\b(?:` + pat + `)\b`
	}
	if icase {
		pat = "(?i)" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, fmt.Errorf("bad regex '%s': %w", pat, err)
	}
	return re, nil
}

func grep(p *proc) int {
	set, rest, bad := flags(p.args, "emA")
	if bad != 0 {
		return p.errf("option requires an argument -- '%c'", bad)
	}
	var pats []string
	if e, ok := set['e']; ok {
		pats = append(pats, e)
	} else {
		if len(rest) == 0 {
			p.errf("usage: grep [-EFiclnqrsvwho] PATTERN [FILE]...")
			return 2
		}
		pats, rest = append(pats, rest[0]), rest[1:]
	}
	re, err := regexpFor(strings.Join(pats, "\n"), has(set, "E") || p.name == "egrep", has(set, "F") || p.name == "fgrep", has(set, "i"), has(set, "w"))
	if err != nil {
		p.errf("%v", err)
		return 2
	}
	if strings.Contains(strings.Join(pats, "\n"), "\n") {
		var alts []string
		for _, pt := range pats {
			alts = append(alts, pt)
		}
		if re, err = regexpFor(strings.Join(alts, "|"), true, false, has(set, "i"), has(set, "w")); err != nil {
			p.errf("%v", err)
			return 2
		}
	}
	invert, quiet, count, number, onlyNames, only := has(set, "v"), has(set, "q"), has(set, "c"), has(set, "n"), has(set, "l"), has(set, "o")
	maxCount := -1
	if m, ok := set['m']; ok {
		maxCount, _ = strconv.Atoi(m)
	}
	files := rest
	if has(set, "rR") {
		if len(files) == 0 {
			files = []string{"."}
		}
		var all []string
		for _, f := range files {
			_ = p.walk(p.abs(f), f, func(vp, shown string, fi fs.FileInfo) error {
				if fi.Mode().IsRegular() {
					all = append(all, shown)
				}
				return nil
			})
		}
		files = all
	}
	showName := (len(files) > 1 || has(set, "r")) && !has(set, "h") || has(set, "H")
	matched := false
	code := p.inputs(files, func(name string, r io.Reader) error {
		if name == "-" {
			name = "(standard input)"
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		n, hits := 0, 0
		for sc.Scan() {
			n++
			line := sc.Text()
			if re.MatchString(line) == invert {
				continue
			}
			hits++
			matched = true
			if quiet {
				return nil
			}
			if onlyNames {
				break
			}
			if !count {
				prefix := ""
				if showName {
					prefix = name + ":"
				}
				if number {
					prefix += strconv.Itoa(n) + ":"
				}
				if only && !invert {
					for _, m := range re.FindAllString(line, -1) {
						fmt.Fprintln(p.out(), prefix+m)
					}
				} else {
					fmt.Fprintln(p.out(), prefix+line)
				}
			}
			if maxCount >= 0 && hits >= maxCount {
				break
			}
		}
		if onlyNames && hits > 0 && !quiet {
			fmt.Fprintln(p.out(), name)
		}
		if count && !quiet {
			if showName {
				fmt.Fprintf(p.out(), "%s:%d\n", name, hits)
			} else {
				fmt.Fprintln(p.out(), hits)
			}
		}
		return sc.Err()
	})
	switch {
	case code != 0 && !has(set, "s") && !matched:
		return 2
	case matched:
		return 0
	}
	return 1
}

func head(p *proc) int { return headTail(p, true) }
func tail(p *proc) int { return headTail(p, false) }

func headTail(p *proc, isHead bool) int {
	args := slices.Clone(p.args)
	for i, a := range args { // -5 means -n 5
		if len(a) > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9' {
			args[i] = "-n" + a[1:]
		}
	}
	set, rest, bad := flags(args, "nc")
	if bad != 0 {
		return p.errf("option requires an argument -- '%c'", bad)
	}
	n, fromStart, byBytes := 10, false, false
	spec, ok := set['n']
	if c, okc := set['c']; okc {
		spec, ok, byBytes = c, true, true
	}
	if ok {
		if strings.HasPrefix(spec, "+") {
			fromStart = true
		}
		v, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(spec, "+"), "-"))
		if err != nil {
			return p.errf("invalid number '%s'", spec)
		}
		n = v
	}
	multi := len(rest) > 1
	first := true
	code := p.inputs(rest, func(name string, r io.Reader) error {
		if multi {
			if !first {
				fmt.Fprintln(p.out())
			}
			fmt.Fprintf(p.out(), "==> %s <==\n", name)
		}
		first = false
		if byBytes && isHead {
			_, err := io.CopyN(p.out(), r, int64(n))
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return err
		}
		if byBytes {
			b, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			switch {
			case isHead:
				b = b[:min(n, len(b))]
			case fromStart:
				b = b[min(max(n-1, 0), len(b)):]
			default:
				b = b[len(b)-min(n, len(b)):]
			}
			_, err = p.out().Write(b)
			return err
		}
		br := bufio.NewReader(r)
		var ring []string
		i := 0
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				i++
				switch {
				case isHead:
					if i > n {
						return nil
					}
					fmt.Fprint(p.out(), line)
				case fromStart:
					if i >= n {
						fmt.Fprint(p.out(), line)
					}
				default:
					ring = append(ring, line)
					if len(ring) > n {
						ring = ring[1:]
					}
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		for _, l := range ring {
			fmt.Fprint(p.out(), l)
		}
		if !isHead && has(set, "fF") && name != "-" {
			return p.follow(name)
		}
		return nil
	})
	return code
}

// follow prints what is appended to a file until the command is cancelled (tail -f).
func (p *proc) follow(name string) error {
	f, err := p.sh.FS.Open(p.abs(name))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return err
	}
	for {
		if _, err := io.Copy(p.out(), f); err != nil {
			return err
		}
		select {
		case <-p.ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func gzipApplet(p *proc) int {
	set, rest, _ := flags(p.args, "")
	decompress := has(set, "d") || p.name == "gunzip" || p.name == "zcat"
	toStdout := has(set, "c") || p.name == "zcat"
	keep := has(set, "k")
	if len(rest) == 0 {
		return p.gzipStream(p.stdin(), p.out(), decompress)
	}
	code := 0
	for _, n := range rest {
		src := p.abs(n)
		dst := src + ".gz"
		if decompress {
			if !strings.HasSuffix(src, ".gz") && !toStdout {
				fmt.Fprintf(p.hc.Stderr, "%s: %s: unknown suffix -- ignored\n", p.name, n)
				code = 1
				continue
			}
			dst = strings.TrimSuffix(src, ".gz")
		}
		in, err := p.sh.FS.Open(src)
		if err != nil {
			fmt.Fprintf(p.hc.Stderr, "%s: can't open '%s': %s\n", p.name, n, describe(unwrapPath(err)))
			code = 1
			continue
		}
		if toStdout {
			code = max(code, p.gzipStream(in, p.out(), decompress))
			in.Close()
			continue
		}
		if _, err := p.sh.FS.Stat(dst); err == nil && !has(set, "f") {
			in.Close()
			fmt.Fprintf(p.hc.Stderr, "%s: can't open '%s': File exists\n", p.name, strings.TrimPrefix(dst, "/"))
			code = 1
			continue
		}
		out, err := p.sh.FS.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			in.Close()
			code = p.fail(err)
			continue
		}
		c := p.gzipStream(in, out, decompress)
		in.Close()
		if err := out.Close(); err != nil && c == 0 {
			c = p.fail(err)
		}
		if c != 0 {
			_ = p.sh.FS.Remove(dst)
			code = c
			continue
		}
		if !keep {
			if err := p.sh.FS.Remove(src); err != nil {
				code = p.fail(err)
			}
		}
	}
	return code
}

func (p *proc) gzipStream(in io.Reader, out io.Writer, decompress bool) int {
	if decompress {
		zr, err := gzip.NewReader(in)
		if err != nil {
			return p.errf("invalid magic")
		}
		defer zr.Close()
		if _, err := io.Copy(out, zr); err != nil {
			return p.fail(err)
		}
		return 0
	}
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		return p.fail(err)
	}
	if err := zw.Close(); err != nil {
		return p.fail(err)
	}
	return 0
}
