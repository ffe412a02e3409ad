package busybox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
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
			_ = f.Close()
			if err != nil {
				code = p.fail(err)
			}
			continue
		}
		var b strings.Builder
		err = run(f, &b)
		_ = f.Close()
		if err == nil {
			err = p.sh.FS.WriteFile(vp, []byte(b.String()), 0o644)
		}
		if err != nil {
			code = p.fail(err)
		}
	}
	return code
}
