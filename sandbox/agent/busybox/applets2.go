package busybox

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

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

// strftime formats t with the date(1) directives lessons use.
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		pad := ""
		if f[i] == '-' && i+1 < len(f) {
			pad = "-"
			i++
		}
		num := func(v, w int) string {
			if pad == "-" {
				return strconv.Itoa(v)
			}
			return fmt.Sprintf("%0*d", w, v)
		}
		switch f[i] {
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'y':
			b.WriteString(num(t.Year()%100, 2))
		case 'm':
			b.WriteString(num(int(t.Month()), 2))
		case 'd':
			b.WriteString(num(t.Day(), 2))
		case 'e':
			b.WriteString(fmt.Sprintf("%2d", t.Day()))
		case 'H':
			b.WriteString(num(t.Hour(), 2))
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b.WriteString(num(h, 2))
		case 'M':
			b.WriteString(num(t.Minute(), 2))
		case 'S':
			b.WriteString(num(t.Second(), 2))
		case 'N':
			b.WriteString(fmt.Sprintf("%09d", t.Nanosecond()))
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'j':
			b.WriteString(num(t.YearDay(), 3))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b', 'h':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case 'R':
			b.WriteString(t.Format("15:04"))
		case 'c':
			b.WriteString(t.Format("Mon Jan _2 15:04:05 2006"))
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			b.WriteString(strconv.Itoa(wd))
		case 'w':
			b.WriteString(strconv.Itoa(int(t.Weekday())))
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

func date(p *proc) int {
	t := time.Now()
	format := "%a %b %e %H:%M:%S %Z %Y"
	utc := false
	args := p.args
	for len(args) > 0 {
		a := args[0]
		args = args[1:]
		switch {
		case a == "-u" || a == "--utc":
			utc = true
		case a == "-d" || a == "--date":
			if len(args) == 0 {
				return p.errf("option requires an argument -- 'd'")
			}
			d, err := parseDate(args[0])
			if err != nil {
				return p.errf("invalid date '%s'", args[0])
			}
			t, args = d, args[1:]
		case strings.HasPrefix(a, "--date="):
			d, err := parseDate(strings.TrimPrefix(a, "--date="))
			if err != nil {
				return p.errf("invalid date '%s'", a)
			}
			t = d
		case a == "-R":
			format = "%a, %d %b %Y %H:%M:%S %z"
		case strings.HasPrefix(a, "-I") || strings.HasPrefix(a, "--iso-8601"):
			spec := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(a, "--iso-8601"), "="), "-I")
			switch spec {
			case "seconds":
				format = "%Y-%m-%dT%H:%M:%S%z"
			case "minutes":
				format = "%Y-%m-%dT%H:%M%z"
			case "hours":
				format = "%Y-%m-%dT%H%z"
			default:
				format = "%Y-%m-%d"
			}
		case strings.HasPrefix(a, "+"):
			format = a[1:]
		default:
			return p.errf("invalid date '%s'", a)
		}
	}
	t = t.UTC()
	if tz := p.hc.Env.Get("TZ").String(); tz != "" && !utc {
		if loc, err := time.LoadLocation(tz); err == nil {
			t = t.In(loc)
		}
	}
	fmt.Fprintln(p.out(), strftime(t, format))
	return 0
}

// expr evaluates POSIX expr(1) arguments.
func expr(p *proc) int {
	e := &exprParser{toks: p.args}
	if len(p.args) == 0 {
		p.errf("missing operand")
		return 2
	}
	v := e.or()
	if e.err == nil && len(e.toks) > 0 {
		e.err = fmt.Errorf("syntax error")
	}
	if e.err != nil {
		p.errf("%v", e.err)
		return 2
	}
	fmt.Fprintln(p.out(), v)
	if v == "" || v == "0" {
		return 1
	}
	return 0
}

type exprParser struct {
	toks []string
	err  error
}

func (e *exprParser) peek(ops ...string) string {
	if len(e.toks) > 0 {
		for _, o := range ops {
			if e.toks[0] == o {
				e.toks = e.toks[1:]
				return o
			}
		}
	}
	return ""
}

func isNull(v string) bool { return v == "" || v == "0" }

func exprInt(v string) (int64, bool) {
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

func (e *exprParser) or() string {
	l := e.and()
	for e.peek("|") != "" {
		r := e.and()
		if isNull(l) {
			l = r
			if isNull(l) {
				l = "0"
			}
		}
	}
	return l
}

func (e *exprParser) and() string {
	l := e.cmp()
	for e.peek("&") != "" {
		r := e.cmp()
		if isNull(l) || isNull(r) {
			l = "0"
		}
	}
	return l
}

func (e *exprParser) cmp() string {
	l := e.add()
	for {
		op := e.peek("=", "==", "!=", "<", "<=", ">", ">=")
		if op == "" {
			return l
		}
		r := e.add()
		var c int
		a, aok := exprInt(l)
		b, bok := exprInt(r)
		if aok && bok {
			c = map[bool]int{true: -1, false: 0}[a < b] + map[bool]int{true: 1, false: 0}[a > b]
		} else {
			c = strings.Compare(l, r)
		}
		res := false
		switch op {
		case "=", "==":
			res = c == 0
		case "!=":
			res = c != 0
		case "<":
			res = c < 0
		case "<=":
			res = c <= 0
		case ">":
			res = c > 0
		case ">=":
			res = c >= 0
		}
		l = map[bool]string{true: "1", false: "0"}[res]
	}
}

func (e *exprParser) arith(l, r, op string) string {
	a, aok := exprInt(l)
	b, bok := exprInt(r)
	if !aok || !bok {
		if e.err == nil {
			e.err = errors.New("non-numeric argument")
		}
		return "0"
	}
	switch op {
	case "+":
		return strconv.FormatInt(a+b, 10)
	case "-":
		return strconv.FormatInt(a-b, 10)
	case "*":
		return strconv.FormatInt(a*b, 10)
	}
	if b == 0 {
		if e.err == nil {
			e.err = errors.New("division by zero")
		}
		return "0"
	}
	if op == "/" {
		return strconv.FormatInt(a/b, 10)
	}
	return strconv.FormatInt(a%b, 10)
}

func (e *exprParser) add() string {
	l := e.mul()
	for {
		op := e.peek("+", "-")
		if op == "" {
			return l
		}
		l = e.arith(l, e.mul(), op)
	}
}

func (e *exprParser) mul() string {
	l := e.match()
	for {
		op := e.peek("*", "/", "%")
		if op == "" {
			return l
		}
		l = e.arith(l, e.match(), op)
	}
}

func (e *exprParser) regexMatch(s, pat string) string {
	re, err := regexpFor(pat, false, false, false, false)
	if err != nil {
		if e.err == nil {
			e.err = err
		}
		return "0"
	}
	re = regexp.MustCompile("^(?:" + re.String() + ")")
	m := re.FindStringSubmatch(s)
	if re.NumSubexp() > 0 {
		if m == nil {
			return ""
		}
		return m[1]
	}
	if m == nil {
		return "0"
	}
	return strconv.Itoa(len(m[0]))
}

func (e *exprParser) match() string {
	l := e.primary()
	for e.peek(":") != "" {
		l = e.regexMatch(l, e.primary())
	}
	return l
}

func (e *exprParser) primary() string {
	if len(e.toks) == 0 {
		if e.err == nil {
			e.err = errors.New("syntax error")
		}
		return ""
	}
	t := e.toks[0]
	e.toks = e.toks[1:]
	switch t {
	case "(":
		v := e.or()
		if e.peek(")") == "" && e.err == nil {
			e.err = errors.New("syntax error")
		}
		return v
	case "length":
		return strconv.Itoa(len([]rune(e.primary())))
	case "match":
		s := e.primary()
		return e.regexMatch(s, e.primary())
	case "substr":
		s := []rune(e.primary())
		pos, _ := exprInt(e.primary())
		n, _ := exprInt(e.primary())
		if pos < 1 || pos > int64(len(s)) || n < 1 {
			return ""
		}
		end := min(int64(len(s)), pos-1+n)
		return string(s[pos-1 : end])
	case "index":
		s, chars := e.primary(), e.primary()
		i := strings.IndexAny(s, chars)
		return strconv.Itoa(i + 1)
	case "+":
		if len(e.toks) > 0 {
			t = e.toks[0]
			e.toks = e.toks[1:]
		}
	}
	return t
}
