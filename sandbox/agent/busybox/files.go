package busybox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

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
			code = p.errf("%s: %s", n, describe(unwrapPath(serr)))
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
		if _, err := p.sh.FS.Lstat(p.abs(s)); err != nil {
			code = p.errf("can't stat '%s': %s", s, describe(unwrapPath(err)))
			continue
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
	defer func() { _ = in.Close() }()
	out, err := p.sh.FS.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

func ln(p *proc) int {
	set, rest, _ := flags(p.args, "")
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
	if !has(set, "s") {
		if err := p.sh.FS.Link(p.abs(target), lp); err != nil {
			return p.errf("%s: %s", link, describe(unwrapPath(err)))
		}
		return 0
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
		if _, err := p.sh.FS.Lstat(src); err != nil {
			code = p.errf("can't rename '%s': %s", s, describe(unwrapPath(err)))
			continue
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
		real, err := p.sh.FS.RealPath(p.abs(rest[0]))
		if err != nil {
			return 1
		}
		fmt.Fprintln(p.out(), real)
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
		defer func() { _ = f.Close() }()
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
			_ = f.Close()
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

// walk visits vp and, when it is a directory, everything below it (symlinks are not followed).
func (p *proc) walk(vp, shown string, fn func(vp, shown string, fi fs.FileInfo) error) error {
	fi, err := p.sh.FS.Lstat(vp)
	if err != nil {
		return err
	}
	if err := fn(vp, shown, fi); err != nil {
		return err
	}
	if !fi.IsDir() {
		return nil
	}
	ents, err := p.sh.FS.ReadDir(vp)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := p.walk(path.Join(vp, e.Name()), path.Join(shown, e.Name()), fn); err != nil {
			return err
		}
	}
	return nil
}

func ls(p *proc) int {
	set, rest, _ := flags(p.args, "")
	long, all, recursive, dirOnly := has(set, "lng"), has(set, "aA"), has(set, "R"), has(set, "d")
	if len(rest) == 0 {
		rest = []string{"."}
	}
	type entry struct {
		name string
		vp   string
		fi   fs.FileInfo
	}
	sortEntries := func(es []entry) {
		sort.SliceStable(es, func(i, j int) bool {
			switch {
			case has(set, "t"):
				return es[i].fi.ModTime().After(es[j].fi.ModTime())
			case has(set, "S"):
				return es[i].fi.Size() > es[j].fi.Size()
			}
			return es[i].name < es[j].name
		})
		if has(set, "r") {
			for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
				es[i], es[j] = es[j], es[i]
			}
		}
	}
	show := func(e entry) {
		name := e.name
		if has(set, "F") {
			switch {
			case e.fi.IsDir():
				name += "/"
			case e.fi.Mode()&fs.ModeSymlink != 0:
				name += "@"
			case e.fi.Mode()&0o111 != 0:
				name += "*"
			}
		}
		if !long {
			fmt.Fprintln(p.out(), name)
			return
		}
		size := strconv.FormatInt(e.fi.Size(), 10)
		if has(set, "h") {
			size = human(e.fi.Size())
		}
		mt := e.fi.ModTime()
		when := mt.Format("Jan _2 15:04")
		if time.Since(mt) > 180*24*time.Hour || mt.After(time.Now().Add(time.Hour)) {
			when = mt.Format("Jan _2  2006")
		}
		nlink := 1
		if e.fi.IsDir() {
			nlink = 2
		}
		if e.fi.Mode()&fs.ModeSymlink != 0 {
			if t, err := p.sh.FS.Readlink(e.vp); err == nil {
				name += " -> " + t
			}
		}
		fmt.Fprintf(p.out(), "%s %4d root     root     %8s %s %s\n", modeString(e.fi.Mode()), nlink, size, when, name)
	}
	code := 0
	var files []entry
	var dirs []entry
	for _, a := range rest {
		vp := p.abs(a)
		fi, err := p.sh.FS.Stat(vp)
		if err != nil {
			if lfi, lerr := p.sh.FS.Lstat(vp); lerr == nil {
				fi = lfi
			} else {
				fmt.Fprintf(p.hc.Stderr, "ls: %s: %s\n", a, describe(unwrapPath(err)))
				code = 1
				continue
			}
		}
		if fi.IsDir() && !dirOnly {
			dirs = append(dirs, entry{a, vp, fi})
		} else {
			files = append(files, entry{a, vp, fi})
		}
	}
	sortEntries(files)
	for _, f := range files {
		show(f)
	}
	header := len(rest) > 1 || recursive
	var listDir func(e entry, first bool)
	listDir = func(d entry, first bool) {
		ents, err := p.sh.FS.ReadDir(d.vp)
		if err != nil {
			fmt.Fprintf(p.hc.Stderr, "ls: %s: %s\n", d.name, describe(unwrapPath(err)))
			code = 1
			return
		}
		if header {
			if !first || len(files) > 0 {
				fmt.Fprintln(p.out())
			}
			fmt.Fprintf(p.out(), "%s:\n", d.name)
		}
		var es []entry
		for _, de := range ents {
			if !all && strings.HasPrefix(de.Name(), ".") {
				continue
			}
			vp := path.Join(d.vp, de.Name())
			fi, err := p.sh.FS.Lstat(vp)
			if err != nil {
				continue
			}
			es = append(es, entry{de.Name(), vp, fi})
		}
		if has(set, "a") { // -a shows the folder and its parent too; -A does not
			for _, n := range []string{".", ".."} {
				if fi, err := p.sh.FS.Stat(path.Join(d.vp, n)); err == nil {
					es = append(es, entry{n, path.Join(d.vp, n), fi})
				}
			}
		}
		sortEntries(es)
		if long {
			var blocks int64
			for _, e := range es {
				blocks += (e.fi.Size() + 1023) / 1024
			}
			fmt.Fprintf(p.out(), "total %d\n", blocks)
		}
		for _, e := range es {
			show(e)
		}
		if recursive {
			for _, e := range es {
				if e.fi.IsDir() {
					listDir(entry{path.Join(d.name, e.name), e.vp, e.fi}, false)
				}
			}
		}
	}
	sortEntries(dirs)
	for i, d := range dirs {
		listDir(d, i == 0)
	}
	return code
}

func human(n int64) string {
	f := float64(n)
	for _, u := range []string{"", "K", "M", "G", "T"} {
		if f < 1024 || u == "T" {
			if u == "" {
				return strconv.FormatInt(n, 10)
			}
			return strconv.FormatFloat(f, 'f', 1, 64) + u
		}
		f /= 1024
	}
	return strconv.FormatInt(n, 10)
}

func modeString(m fs.FileMode) string {
	b := []byte("-rwxrwxrwx")
	switch {
	case m.IsDir():
		b[0] = 'd'
	case m&fs.ModeSymlink != 0:
		b[0] = 'l'
	case m&fs.ModeNamedPipe != 0:
		b[0] = 'p'
	}
	for i := 0; i < 9; i++ {
		if m&(1<<uint(8-i)) == 0 {
			b[i+1] = '-'
		}
	}
	return string(b)
}

// findExpr is a node of find's expression.
type findExpr func(vp string, fi fs.FileInfo, depth int) bool

type findParser struct {
	p        *proc
	toks     []string
	maxDepth int
	minDepth int
	hasDel   bool
	hasAct   bool
	err      error
}

func (fp *findParser) next() string {
	t := fp.toks[0]
	fp.toks = fp.toks[1:]
	return t
}

func (fp *findParser) parseOr() findExpr {
	l := fp.parseAnd()
	for len(fp.toks) > 0 && (fp.toks[0] == "-o" || fp.toks[0] == "-or") {
		fp.next()
		r := fp.parseAnd()
		a, b := l, r
		l = func(vp string, fi fs.FileInfo, d int) bool { return a(vp, fi, d) || b(vp, fi, d) }
	}
	return l
}

func (fp *findParser) parseAnd() findExpr {
	l := fp.parseNot()
	for len(fp.toks) > 0 && fp.toks[0] != "-o" && fp.toks[0] != "-or" && fp.toks[0] != ")" {
		if fp.toks[0] == "-a" || fp.toks[0] == "-and" {
			fp.next()
		}
		r := fp.parseNot()
		a, b := l, r
		l = func(vp string, fi fs.FileInfo, d int) bool { return a(vp, fi, d) && b(vp, fi, d) }
	}
	return l
}

func (fp *findParser) parseNot() findExpr {
	if len(fp.toks) > 0 && (fp.toks[0] == "!" || fp.toks[0] == "-not") {
		fp.next()
		e := fp.parseNot()
		return func(vp string, fi fs.FileInfo, d int) bool { return !e(vp, fi, d) }
	}
	return fp.parsePrimary()
}

func (fp *findParser) arg(name string) string {
	if len(fp.toks) == 0 {
		if fp.err == nil {
			fp.err = fmt.Errorf("%s: requires an argument", name)
		}
		return ""
	}
	return fp.next()
}

// numCmp parses find's N, +N, -N.
func numCmp(s string) (func(int64) bool, error) {
	sign := byte(0)
	if s != "" && (s[0] == '+' || s[0] == '-') {
		sign, s = s[0], s[1:]
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("invalid argument '%s'", s)
	}
	switch sign {
	case '+':
		return func(v int64) bool { return v > n }, nil
	case '-':
		return func(v int64) bool { return v < n }, nil
	}
	return func(v int64) bool { return v == n }, nil
}

func (fp *findParser) parsePrimary() findExpr {
	always := func(string, fs.FileInfo, int) bool { return true }
	if len(fp.toks) == 0 {
		if fp.err == nil {
			fp.err = errors.New("missing argument")
		}
		return always
	}
	t := fp.next()
	switch t {
	case "(":
		e := fp.parseOr()
		if len(fp.toks) == 0 || fp.next() != ")" {
			if fp.err == nil {
				fp.err = errors.New("missing ')'")
			}
		}
		return e
	case "-name", "-iname":
		pat := fp.arg(t)
		if t == "-iname" {
			pat = strings.ToLower(pat)
		}
		return func(vp string, _ fs.FileInfo, _ int) bool {
			b := path.Base(vp)
			if t == "-iname" {
				b = strings.ToLower(b)
			}
			ok, _ := path.Match(pat, b)
			return ok
		}
	case "-path", "-wholename":
		pat := fp.arg(t)
		return func(vp string, _ fs.FileInfo, _ int) bool { ok, _ := path.Match(pat, vp); return ok }
	case "-type":
		c := fp.arg(t)
		return func(_ string, fi fs.FileInfo, _ int) bool {
			switch c {
			case "f":
				return fi.Mode().IsRegular()
			case "d":
				return fi.IsDir()
			case "l":
				return fi.Mode()&fs.ModeSymlink != 0
			case "p":
				return fi.Mode()&fs.ModeNamedPipe != 0
			}
			return false
		}
	case "-mtime", "-mmin":
		cmp, err := numCmp(fp.arg(t))
		if err != nil && fp.err == nil {
			fp.err = fmt.Errorf("%s: %w", t, err)
		}
		unit := 24 * time.Hour
		if t == "-mmin" {
			unit = time.Minute
		}
		now := time.Now()
		return func(_ string, fi fs.FileInfo, _ int) bool {
			if cmp == nil {
				return false
			}
			age := now.Sub(fi.ModTime())
			if t == "-mmin" {
				return cmp(int64(math.Ceil(float64(age) / float64(unit))))
			}
			return cmp(int64(age / unit))
		}
	case "-size":
		s := fp.arg(t)
		unit := int64(512)
		if s != "" {
			switch s[len(s)-1] {
			case 'c':
				unit, s = 1, s[:len(s)-1]
			case 'k':
				unit, s = 1024, s[:len(s)-1]
			case 'M':
				unit, s = 1<<20, s[:len(s)-1]
			}
		}
		cmp, err := numCmp(s)
		if err != nil && fp.err == nil {
			fp.err = err
		}
		return func(_ string, fi fs.FileInfo, _ int) bool {
			return cmp != nil && cmp((fi.Size()+unit-1)/unit)
		}
	case "-empty":
		return func(vp string, fi fs.FileInfo, _ int) bool {
			if fi.IsDir() {
				ents, err := fp.p.sh.FS.ReadDir(vp)
				return err == nil && len(ents) == 0
			}
			return fi.Mode().IsRegular() && fi.Size() == 0
		}
	case "-newer":
		ref, err := fp.p.sh.FS.Stat(fp.p.abs(fp.arg(t)))
		if err != nil {
			if fp.err == nil {
				fp.err = err
			}
			return always
		}
		return func(_ string, fi fs.FileInfo, _ int) bool { return fi.ModTime().After(ref.ModTime()) }
	case "-maxdepth", "-mindepth":
		n, err := strconv.Atoi(fp.arg(t))
		if err != nil && fp.err == nil {
			fp.err = fmt.Errorf("%s: invalid argument", t)
		}
		if t == "-maxdepth" {
			fp.maxDepth = n
		} else {
			fp.minDepth = n
		}
		return always
	case "-depth", "-xdev", "-mount":
		return always
	case "-true":
		return always
	case "-false":
		return func(string, fs.FileInfo, int) bool { return false }
	case "-print", "-print0":
		fp.hasAct = true
		sep := "\n"
		if t == "-print0" {
			sep = "\x00"
		}
		return func(vp string, _ fs.FileInfo, _ int) bool {
			fmt.Fprint(fp.p.out(), fp.p.shownPath(vp)+sep)
			return true
		}
	case "-delete":
		fp.hasAct, fp.hasDel = true, true
		return func(vp string, fi fs.FileInfo, _ int) bool {
			if err := fp.p.sh.FS.Remove(vp); err != nil {
				fmt.Fprintf(fp.p.hc.Stderr, "find: %s\n", errMsg(err))
				fp.p.findFailed = true
				return false
			}
			return true
		}
	case "-exec":
		fp.hasAct = true
		var argv []string
		for len(fp.toks) > 0 && fp.toks[0] != ";" && fp.toks[0] != "+" {
			argv = append(argv, fp.next())
		}
		if len(fp.toks) == 0 {
			if fp.err == nil {
				fp.err = errors.New("-exec: missing terminating ';'")
			}
			return always
		}
		fp.next()
		return func(vp string, _ fs.FileInfo, _ int) bool {
			args := make([]string, len(argv))
			for i, a := range argv {
				args[i] = strings.ReplaceAll(a, "{}", fp.p.shownPath(vp))
			}
			return fp.p.call(args) == 0
		}
	}
	if fp.err == nil {
		fp.err = fmt.Errorf("unrecognized: %s", t)
	}
	return always
}

func find(p *proc) int {
	var roots []string
	args := p.args
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") && args[0] != "!" && args[0] != "(" {
		roots = append(roots, args[0])
		args = args[1:]
	}
	if len(roots) == 0 {
		roots = []string{"."}
	}
	fp := &findParser{p: p, toks: args, maxDepth: -1}
	var expr findExpr = func(string, fs.FileInfo, int) bool { return true }
	if len(args) > 0 {
		expr = fp.parseOr()
		if fp.err == nil && len(fp.toks) > 0 {
			fp.err = fmt.Errorf("unexpected %s", fp.toks[0])
		}
	}
	if fp.err != nil {
		return p.errf("%v", fp.err)
	}
	code := 0
	for _, r := range roots {
		p.findBase = [2]string{p.abs(r), r}
		var visit func(vp string, depth int) error
		visit = func(vp string, depth int) error {
			fi, err := p.sh.FS.Lstat(vp)
			if err != nil {
				return err
			}
			eval := func() {
				if depth < fp.minDepth {
					return
				}
				if expr(vp, fi, depth) && !fp.hasAct {
					fmt.Fprintln(p.out(), p.shownPath(vp))
				}
			}
			if !fp.hasDel {
				eval()
			}
			if fi.IsDir() && (fp.maxDepth < 0 || depth < fp.maxDepth) {
				ents, err := p.sh.FS.ReadDir(vp)
				if err != nil {
					fmt.Fprintf(p.hc.Stderr, "find: %s\n", errMsg(err))
					code = 1
				}
				for _, e := range ents {
					if err := visit(path.Join(vp, e.Name()), depth+1); err != nil {
						fmt.Fprintf(p.hc.Stderr, "find: %s\n", errMsg(err))
						code = 1
					}
					if p.ctx.Err() != nil {
						return p.ctx.Err()
					}
				}
			}
			if fp.hasDel { // -delete implies -depth: children first
				eval()
			}
			return nil
		}
		if err := visit(p.findBase[0], 0); err != nil {
			fmt.Fprintf(p.hc.Stderr, "find: %s: %s\n", r, describe(unwrapPath(err)))
			code = 1
		}
	}
	if p.findFailed {
		code = 1
	}
	return code
}

// shownPath prints a pod path the way find does: relative to the operand as the user typed it.
func (p *proc) shownPath(vp string) string {
	base, shown := p.findBase[0], p.findBase[1]
	if base == "" {
		return vp
	}
	if vp == base {
		return shown
	}
	rel := strings.TrimPrefix(vp, strings.TrimSuffix(base, "/")+"/")
	if strings.HasSuffix(shown, "/") {
		return shown + rel
	}
	return shown + "/" + rel
}

// du prints disk usage in KiB as the file system really allocates it (st_blocks), folder by folder
// after their contents, like busybox: -s only the totals, -a files too, -d N down to depth N, -h human.
func du(p *proc) int {
	set, rest, bad := flags(p.args, "d")
	if bad != 0 {
		return p.errf("option requires an argument -- '%c'", bad)
	}
	maxDepth := -1
	if v, ok := set['d']; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p.errf("invalid number '%s'", v)
		}
		maxDepth = n
	}
	if has(set, "s") {
		maxDepth = 0
	}
	if len(rest) == 0 {
		rest = []string{"."}
	}
	show := func(kib int64, name string) {
		size := strconv.FormatInt(kib, 10)
		if has(set, "h") {
			size = human(kib * 1024)
		}
		fmt.Fprintf(p.out(), "%s\t%s\n", size, name)
	}
	code := 0
	var walk func(vp, shown string, depth int) int64
	walk = func(vp, shown string, depth int) int64 {
		fi, err := p.sh.FS.Lstat(vp)
		if err != nil {
			code = p.errf("%s: %s", shown, describe(unwrapPath(err)))
			return 0
		}
		total := allocatedKiB(fi)
		if fi.IsDir() {
			entries, err := p.sh.FS.ReadDir(vp)
			if err != nil {
				code = p.errf("%s: %s", shown, describe(unwrapPath(err)))
			}
			for _, e := range entries {
				total += walk(path.Join(vp, e.Name()), path.Join(shown, e.Name()), depth+1)
			}
		}
		if (fi.IsDir() || has(set, "a") || depth == 0) && (maxDepth < 0 || depth <= maxDepth) {
			show(total, shown)
		}
		return total
	}
	for _, n := range rest {
		walk(p.abs(n), n, 0)
	}
	return code
}

// allocatedKiB is the space a file takes on disk, in KiB (its size rounded up when the system does not
// say).
func allocatedKiB(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int64(st.Blocks) * 512 / 1024 //nolint:unconvert // Blocks is int64 on Linux and macOS
	}
	return (fi.Size() + 1023) / 1024
}

func stat(p *proc) int {
	_, rest, _ := flags(p.args, "c")
	if len(rest) == 0 {
		return p.errf("missing operand")
	}
	code := 0
	for _, n := range rest {
		fi, err := p.sh.FS.Lstat(p.abs(n))
		if err != nil {
			fmt.Fprintf(p.hc.Stderr, "stat: can't stat '%s': %s\n", n, describe(unwrapPath(err)))
			code = 1
			continue
		}
		kind := "regular file"
		switch {
		case fi.IsDir():
			kind = "directory"
		case fi.Mode()&fs.ModeSymlink != 0:
			kind = "symbolic link"
		case fi.Size() == 0:
			kind = "regular empty file"
		}
		fmt.Fprintf(p.out(), "  File: %s\n  Size: %d\t\t%s\nAccess: (%04o/%s)  Uid: (    0/    root)   Gid: (    0/    root)\nModify: %s\n",
			n, fi.Size(), kind, fi.Mode().Perm(), modeString(fi.Mode()), fi.ModTime().UTC().Format("2006-01-02 15:04:05.000000000 -0700"))
	}
	return code
}

// mktemp creates a unique file (or directory with -d) under /tmp.
func mktemp(p *proc) int {
	set, rest, _ := flags(p.args, "p")
	tmpl := "tmp.XXXXXXXXXX"
	if len(rest) > 0 {
		tmpl = rest[0]
	}
	dir := "/tmp"
	if d, ok := set['p']; ok {
		dir = d
	}
	if strings.Contains(tmpl, "/") {
		dir, tmpl = path.Dir(tmpl), path.Base(tmpl)
	}
	for attempt := 0; attempt < 100; attempt++ {
		suffix := strconv.FormatInt(time.Now().UnixNano()+int64(attempt)*7919, 36)
		name := strings.Replace(tmpl, "XXXXXX", suffix[len(suffix)-6:], 1)
		name = strings.ReplaceAll(name, "X", "0")
		vp := p.abs(path.Join(dir, name))
		var err error
		if has(set, "d") {
			err = p.sh.FS.Mkdir(vp, 0o700)
		} else {
			var f *os.File
			f, err = p.sh.FS.OpenFile(vp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err == nil {
				_ = f.Close()
			}
		}
		if err == nil {
			fmt.Fprintln(p.out(), vp)
			return 0
		}
		if !errors.Is(err, fs.ErrExist) {
			return p.fail(err)
		}
	}
	return p.errf("cannot create a unique name")
}
