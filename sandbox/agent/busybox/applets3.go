package busybox

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// sedCmd is one command of a sed script.
type sedCmd struct {
	from, to sedAddr
	hasTo    bool
	op       byte // s d p q
	re       *regexp.Regexp
	repl     string
	global   bool
	print    bool
	inRange  bool
}

type sedAddr struct {
	line int // >0: line number; -1: last line ($); 0: none
	re   *regexp.Regexp
}

func (a sedAddr) match(n int, last bool, line string) bool {
	switch {
	case a.re != nil:
		return a.re.MatchString(line)
	case a.line == -1:
		return last
	case a.line > 0:
		return n == a.line
	}
	return true
}

// parseSed parses the subset of sed lessons use: [addr[,addr]]{s/re/repl/[gpI]|d|p|q}, separated by ; or
// newlines; addresses are line numbers, $ or /re/.
func parseSed(script string, extended bool) ([]*sedCmd, error) {
	var cmds []*sedCmd
	s := script
	readDelimited := func(delim byte) (string, error) {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			if s[i] == '\\' && i+1 < len(s) && s[i+1] == delim {
				b.WriteByte(delim)
				i++
				continue
			}
			if s[i] == delim {
				s = s[i+1:]
				return b.String(), nil
			}
			b.WriteByte(s[i])
		}
		return "", fmt.Errorf("unterminated `s' command")
	}
	compile := func(pat string, icase bool) (*regexp.Regexp, error) {
		return regexpFor(pat, extended, false, icase, false)
	}
	addr := func() (sedAddr, error) {
		switch {
		case s != "" && s[0] == '$':
			s = s[1:]
			return sedAddr{line: -1}, nil
		case s != "" && s[0] == '/':
			s = s[1:]
			pat, err := readDelimited('/')
			if err != nil {
				return sedAddr{}, err
			}
			re, err := compile(pat, false)
			return sedAddr{re: re}, err
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 {
			return sedAddr{}, nil
		}
		n, _ := strconv.Atoi(s[:i])
		s = s[i:]
		return sedAddr{line: n}, nil
	}
	for {
		s = strings.TrimLeft(s, " \t\n;")
		if s == "" {
			return cmds, nil
		}
		c := &sedCmd{}
		var err error
		if c.from, err = addr(); err != nil {
			return nil, err
		}
		if s != "" && s[0] == ',' {
			s = s[1:]
			c.hasTo = true
			if c.to, err = addr(); err != nil {
				return nil, err
			}
		}
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, errors.New("missing command")
		}
		c.op, s = s[0], s[1:]
		switch c.op {
		case 'd', 'p', 'q', '=':
		case 's':
			if s == "" {
				return nil, errors.New("unterminated `s' command")
			}
			delim := s[0]
			s = s[1:]
			pat, err := readDelimited(delim)
			if err != nil {
				return nil, err
			}
			repl, err := readDelimited(delim)
			if err != nil {
				return nil, err
			}
			icase := false
			for s != "" && strings.IndexByte("gpiI0123456789", s[0]) >= 0 {
				switch s[0] {
				case 'g':
					c.global = true
				case 'p':
					c.print = true
				case 'i', 'I':
					icase = true
				}
				s = s[1:]
			}
			if c.re, err = compile(pat, icase); err != nil {
				return nil, err
			}
			c.repl = sedRepl(repl)
		default:
			return nil, fmt.Errorf("unsupported command %c (the klab sandbox implements s, d, p, q and =)", c.op)
		}
		cmds = append(cmds, c)
	}
}

// sedRepl turns sed's replacement (& and \1) into Go's template syntax.
func sedRepl(r string) string {
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		switch {
		case r[i] == '\\' && i+1 < len(r) && r[i+1] >= '0' && r[i+1] <= '9':
			b.WriteString("${" + string(r[i+1]) + "}")
			i++
		case r[i] == '\\' && i+1 < len(r) && r[i+1] == 'n':
			b.WriteByte('\n')
			i++
		case r[i] == '\\' && i+1 < len(r):
			if r[i+1] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(r[i+1])
			}
			i++
		case r[i] == '&':
			b.WriteString("${0}")
		case r[i] == '$':
			b.WriteString("$$")
		default:
			b.WriteByte(r[i])
		}
	}
	return b.String()
}

func sed(p *proc) int {
	var scripts []string
	quiet, inPlace, extended := false, false, false
	args := p.args
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		a := args[0]
		args = args[1:]
		switch {
		case a == "-n":
			quiet = true
		case a == "-i":
			inPlace = true
		case a == "-E" || a == "-r":
			extended = true
		case a == "-e" && len(args) > 0:
			scripts, args = append(scripts, args[0]), args[1:]
		case strings.HasPrefix(a, "-") && strings.Trim(a[1:], "nEri") == "":
			quiet = quiet || strings.Contains(a, "n")
			inPlace = inPlace || strings.Contains(a, "i")
			extended = extended || strings.ContainsAny(a, "Er")
		default:
			return p.errf("unsupported option %s", a)
		}
	}
	if len(scripts) == 0 {
		if len(args) == 0 {
			return p.errf("no script specified")
		}
		scripts, args = []string{args[0]}, args[1:]
	}
	cmds, err := parseSed(strings.Join(scripts, "\n"), extended)
	if err != nil {
		return p.errf("-e expression #1: %v", err)
	}
	run := func(r io.Reader, w io.Writer) error {
		var lines []string
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		if err := sc.Err(); err != nil {
			return err
		}
		for _, c := range cmds {
			c.inRange = false
		}
	lines:
		for i, line := range lines {
			n, last := i+1, i == len(lines)-1
			deleted := false
			for _, c := range cmds {
				hit := c.from.match(n, last, line)
				if c.hasTo {
					switch {
					case c.inRange:
						hit = true
						if c.to.match(n, last, line) || (c.to.line > 0 && n >= c.to.line) {
							c.inRange = false
						}
					case hit:
						c.inRange = !(c.to.line > 0 && n >= c.to.line) && !(c.to.re == nil && c.to.line == 0)
					}
				}
				if !hit {
					continue
				}
				switch c.op {
				case 'd':
					deleted = true
				case 'p':
					fmt.Fprintln(w, line)
				case '=':
					fmt.Fprintln(w, n)
				case 'q':
					if !quiet {
						fmt.Fprintln(w, line)
					}
					break lines
				case 's':
					var out string
					if c.global {
						out = c.re.ReplaceAllString(line, c.repl)
					} else if loc := c.re.FindStringSubmatchIndex(line); loc != nil {
						out = line[:loc[0]] + string(c.re.ExpandString(nil, c.repl, line, loc)) + line[loc[1]:]
					} else {
						out = line
					}
					if out != line || c.re.MatchString(line) {
						line = out
						if c.print {
							fmt.Fprintln(w, line)
						}
					}
				}
				if deleted {
					break
				}
			}
			if !deleted && !quiet {
				fmt.Fprintln(w, line)
			}
		}
		return nil
	}
	if len(args) == 0 {
		if err := run(p.stdin(), p.out()); err != nil {
			return p.fail(err)
		}
		return 0
	}
	code := 0
	for _, n := range args {
		vp := p.abs(n)
		f, err := p.sh.FS.Open(vp)
		if err != nil {
			fmt.Fprintf(p.hc.Stderr, "sed: can't read %s: %s\n", n, describe(unwrapPath(err)))
			code = 2
			continue
		}
		if !inPlace {
			err = run(f, p.out())
			f.Close()
			if err != nil {
				code = p.fail(err)
			}
			continue
		}
		var b strings.Builder
		err = run(f, &b)
		f.Close()
		if err == nil {
			err = p.sh.FS.WriteFile(vp, []byte(b.String()), 0o644)
		}
		if err != nil {
			code = p.fail(err)
		}
	}
	return code
}

// awk implements the print-only subset of awk lessons use: [BEGIN|END|/re/|NR==N] { print …; … }.
func awk(p *proc) int {
	sep := ""
	var vars []string
	args := p.args
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && len(args[0]) > 1 {
		switch a := args[0]; {
		case a == "-F" && len(args) > 1:
			sep, args = args[1], args[1:]
		case strings.HasPrefix(a, "-F"):
			sep = a[2:]
		case a == "-v" && len(args) > 1:
			vars, args = append(vars, args[1]), args[1:]
		default:
			return p.errf("unsupported option %s", a)
		}
		args = args[1:]
	}
	if len(args) == 0 {
		return p.errf("usage: awk [-F sep] 'program' [file...]")
	}
	prog, err := parseAwk(args[0])
	if err != nil {
		p.errf("%v (the klab sandbox implements print statements with /re/, NR, BEGIN and END patterns)", err)
		return 2
	}
	if sep == `\t` {
		sep = "\t"
	}
	env := map[string]string{}
	for _, v := range vars {
		k, val, _ := strings.Cut(v, "=")
		env[k] = val
	}
	nr := 0
	for _, r := range prog {
		if r.pattern == "BEGIN" {
			r.run(p.out(), nil, 0, env)
		}
	}
	code := p.lines(args[1:], func(line string) {
		nr++
		var fields []string
		switch sep {
		case "":
			fields = strings.Fields(line)
		default:
			fields = strings.Split(line, sep)
		}
		rec := append([]string{line}, fields...)
		for _, r := range prog {
			if r.matches(rec, nr) {
				r.run(p.out(), rec, nr, env)
			}
		}
	})
	for _, r := range prog {
		if r.pattern == "END" {
			r.run(p.out(), nil, nr, env)
		}
	}
	return code
}

type awkRule struct {
	pattern string // "", BEGIN, END, /re/, NR==N, NR>N, NR<N
	re      *regexp.Regexp
	prints  [][]string // each print statement's items: $N, NR, NF, "literal", or , separators
}

func (r *awkRule) matches(rec []string, nr int) bool {
	switch {
	case r.pattern == "":
		return true
	case r.pattern == "BEGIN" || r.pattern == "END":
		return false
	case r.re != nil:
		return r.re.MatchString(rec[0])
	}
	for _, op := range []string{"==", "!=", ">=", "<=", ">", "<"} {
		if l, rv, ok := strings.Cut(r.pattern, op); ok && strings.TrimSpace(l) == "NR" {
			n, _ := strconv.Atoi(strings.TrimSpace(rv))
			switch op {
			case "==":
				return nr == n
			case "!=":
				return nr != n
			case ">=":
				return nr >= n
			case "<=":
				return nr <= n
			case ">":
				return nr > n
			case "<":
				return nr < n
			}
		}
	}
	return false
}

func (r *awkRule) run(w io.Writer, rec []string, nr int, env map[string]string) {
	for _, items := range r.prints {
		var b strings.Builder
		if len(items) == 0 && rec != nil {
			b.WriteString(rec[0])
		}
		for _, it := range items {
			switch {
			case it == ",":
				b.WriteByte(' ')
			case strings.HasPrefix(it, `"`):
				b.WriteString(strings.NewReplacer(`\t`, "\t", `\n`, "\n", `\"`, `"`).Replace(strings.Trim(it, `"`)))
			case it == "NR":
				b.WriteString(strconv.Itoa(nr))
			case it == "NF":
				b.WriteString(strconv.Itoa(max(len(rec)-1, 0)))
			case it == "$NF" && len(rec) > 1:
				b.WriteString(rec[len(rec)-1])
			case strings.HasPrefix(it, "$"):
				if n, err := strconv.Atoi(it[1:]); err == nil && n < len(rec) {
					b.WriteString(rec[n])
				}
			default:
				b.WriteString(env[it])
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

var awkToken = regexp.MustCompile(`^\s*("(?:[^"\\]|\\.)*"|\$NF|\$\d+|NR|NF|[A-Za-z_]\w*|,)`)

func parseAwk(src string) ([]*awkRule, error) {
	var rules []*awkRule
	s := strings.TrimSpace(src)
	for s != "" {
		r := &awkRule{}
		open := strings.IndexByte(s, '{')
		if open < 0 {
			return nil, fmt.Errorf("awk: unsupported program %q", src)
		}
		r.pattern = strings.TrimSpace(s[:open])
		if strings.HasPrefix(r.pattern, "/") && strings.HasSuffix(r.pattern, "/") && len(r.pattern) > 1 {
			re, err := regexp.Compile(r.pattern[1 : len(r.pattern)-1])
			if err != nil {
				return nil, fmt.Errorf("awk: %w", err)
			}
			r.re = re
		} else if r.pattern != "" && r.pattern != "BEGIN" && r.pattern != "END" && !strings.HasPrefix(r.pattern, "NR") {
			return nil, fmt.Errorf("awk: unsupported pattern %q", r.pattern)
		}
		end := strings.IndexByte(s[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("awk: missing }")
		}
		body := s[open+1 : open+end]
		s = strings.TrimSpace(s[open+end+1:])
		for _, stmt := range strings.FieldsFunc(body, func(r rune) bool { return r == ';' || r == '\n' }) {
			stmt = strings.TrimSpace(stmt)
			if stmt == "" {
				continue
			}
			rest, ok := strings.CutPrefix(stmt, "print")
			if !ok {
				return nil, fmt.Errorf("awk: unsupported statement %q", stmt)
			}
			var items []string
			for strings.TrimSpace(rest) != "" {
				m := awkToken.FindStringSubmatch(rest)
				if m == nil {
					return nil, fmt.Errorf("awk: unsupported expression %q", strings.TrimSpace(rest))
				}
				items = append(items, m[1])
				rest = rest[len(m[0]):]
			}
			r.prints = append(r.prints, items)
		}
		rules = append(rules, r)
	}
	return rules, nil
}

func base64Applet(p *proc) int {
	set, rest, _ := flags(p.args, "w")
	return p.inputs(rest, func(_ string, r io.Reader) error {
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if has(set, "d") {
			out, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(string(b)), ""))
			if err != nil {
				return errors.New("invalid input")
			}
			_, err = p.out().Write(out)
			return err
		}
		enc := base64.StdEncoding.EncodeToString(b)
		width := 76
		if w, ok := set['w']; ok {
			width, _ = strconv.Atoi(w)
		}
		for width > 0 && len(enc) > width {
			fmt.Fprintln(p.out(), enc[:width])
			enc = enc[width:]
		}
		fmt.Fprintln(p.out(), enc)
		return nil
	})
}

func sumApplet(p *proc) int {
	var h func() hash.Hash
	switch p.name {
	case "md5sum":
		h = md5.New
	case "sha1sum":
		h = sha1.New
	default:
		h = sha256.New
	}
	_, rest, _ := flags(p.args, "")
	return p.inputs(rest, func(name string, r io.Reader) error {
		hh := h()
		if _, err := io.Copy(hh, r); err != nil {
			return err
		}
		fmt.Fprintf(p.out(), "%s  %s\n", hex.EncodeToString(hh.Sum(nil)), name)
		return nil
	})
}

func timeoutApplet(p *proc) int {
	args := p.args
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		if (args[0] == "-s" || args[0] == "-k") && len(args) > 1 {
			args = args[1:]
		}
		args = args[1:]
	}
	if len(args) < 2 {
		return p.errf("usage: timeout DURATION COMMAND [ARG]...")
	}
	d, err := parseDuration(args[0])
	if err != nil {
		return p.errf("%v", err)
	}
	ctx, cancel := context.WithTimeout(p.ctx, d)
	defer cancel()
	code := statusOf(p.sh.runSource(ctx, p.hc, `"$@"`, p.name, args[1:], nil))
	if ctx.Err() != nil && p.ctx.Err() == nil {
		return 124
	}
	return code
}

func du(p *proc) int {
	set, rest, _ := flags(p.args, "d")
	if len(rest) == 0 {
		rest = []string{"."}
	}
	code := 0
	for _, n := range rest {
		var total int64
		err := p.walk(p.abs(n), n, func(_, shown string, fi fs.FileInfo) error {
			total += (fi.Size() + 1023) / 1024
			return nil
		})
		if err != nil {
			code = p.fail(err)
			continue
		}
		size := strconv.FormatInt(total, 10)
		if has(set, "h") {
			size = human(total * 1024)
		}
		fmt.Fprintf(p.out(), "%s\t%s\n", size, n)
	}
	return code
}

func df(p *proc) int {
	set, _, _ := flags(p.args, "")
	if has(set, "h") {
		fmt.Fprintln(p.out(), "Filesystem                Size      Used Available Use% Mounted on")
		fmt.Fprintln(p.out(), "overlay                 100.0G      1.2G     98.8G   1% /")
		return 0
	}
	fmt.Fprintln(p.out(), "Filesystem           1K-blocks      Used Available Use% Mounted on")
	fmt.Fprintln(p.out(), "overlay              104857600   1258291 103599309   1% /")
	return 0
}

func free(p *proc) int {
	fmt.Fprintln(p.out(), "              total        used        free      shared  buff/cache   available")
	fmt.Fprintln(p.out(), "Mem:       33554432      524288    32505856           0      524288    32768000")
	fmt.Fprintln(p.out(), "Swap:             0           0           0")
	return 0
}

func ps(p *proc) int {
	fmt.Fprintln(p.out(), "PID   USER     TIME  COMMAND")
	fmt.Fprintln(p.out(), "    1 root      0:00 sh")
	return 0
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

func which(p *proc) int {
	code := 0
	for _, n := range p.args {
		if _, ok := appletFor(n); ok {
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

func rev(p *proc) int {
	return p.lines(p.args, func(l string) {
		r := []rune(l)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		fmt.Fprintln(p.out(), string(r))
	})
}

func kill(p *proc) int {
	return p.errf("no such process (containers in the klab sandbox are one shell)")
}

func uptime(p *proc) int {
	fmt.Fprintf(p.out(), " %s up 1 day,  0:00,  0 users,  load average: 0.00, 0.00, 0.00\n", time.Now().UTC().Format("15:04:05"))
	return 0
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
				f.Close()
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
