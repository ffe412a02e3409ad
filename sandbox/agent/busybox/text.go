package busybox

import (
	"bufio"
	"compress/gzip"
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
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

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
			return killedStatus(p.ctx)
		}
		s := strconv.FormatFloat(v, 'f', prec, 64)
		for len(s) < w {
			s = "0" + s
		}
		if i > 0 {
			_, _ = bw.WriteString(sep)
		}
		if _, err := bw.WriteString(s); err != nil {
			return 1
		}
		n++
	}
	if n > 0 {
		_, _ = bw.WriteString("\n")
	}
	if err := bw.Flush(); err != nil {
		return 1
	}
	return 0
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

// tr translates, deletes (-d) or squeezes (-s) characters of standard input; -s squeezes runs of the
// last set given (after translating or deleting).
func tr(p *proc) int {
	set, rest, _ := flags(p.args, "")
	del, squeeze := has(set, "d"), has(set, "s")
	if len(rest) == 0 || (len(rest) < 2 && !del && !squeeze) || (del && squeeze && len(rest) < 2) {
		return p.errf("missing operand")
	}
	from := expandSet(rest[0])
	var to []rune
	if len(rest) > 1 {
		to = expandSet(rest[1])
	}
	b, err := io.ReadAll(p.stdin())
	if err != nil {
		return p.fail(err)
	}
	squeezeSet := from
	if len(rest) > 1 {
		squeezeSet = to
	}
	var out strings.Builder
	var last rune = -1
	for _, r := range string(b) {
		switch {
		case del && slices.Contains(from, r):
			continue
		case !del && len(to) > 0:
			if i := slices.Index(from, r); i >= 0 {
				r = to[min(i, len(to)-1)]
			}
		}
		if squeeze && r == last && slices.Contains(squeezeSet, r) {
			continue
		}
		last = r
		out.WriteRune(r)
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
			if errors.Is(err, io.EOF) {
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
	f := "%9d"
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
	set, rest, bad := flags(p.args, "emABC")
	if bad != 0 {
		return p.errf("option requires an argument -- '%c'", bad)
	}
	var pats []string
	if _, ok := set['e']; ok {
		pats = optionValues(p.args, 'e') // -e may be given several times
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
		alts := append([]string(nil), pats...)
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
	after, before, err := grepContext(set)
	if err != nil {
		return p.errf("%v", err)
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
		around := &grepLines{out: p.out(), name: name, showName: showName, number: number, after: after, before: before}
		for sc.Scan() {
			n++
			line := sc.Text()
			if re.MatchString(line) == invert {
				if !count && !onlyNames {
					around.other(n, line)
				}
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
				around.match(n)
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

// optionValues lists every value of a repeatable option (-e PAT -e PAT2, -ePAT), up to "--".
func optionValues(args []string, opt byte) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' || a[1] == '-' {
			continue
		}
		for j := 1; j < len(a); j++ {
			if a[j] != opt {
				continue
			}
			if j+1 < len(a) {
				out = append(out, a[j+1:])
			} else if i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			break
		}
	}
	return out
}

// grepContext reads -A, -B and -C (lines after, before, around each match).
func grepContext(set map[byte]string) (after, before int, err error) {
	num := func(flag byte) (int, error) {
		v, ok := set[flag]
		if !ok {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid context length argument")
		}
		return n, nil
	}
	c, err := num('C')
	if err != nil {
		return 0, 0, err
	}
	after, before = c, c
	if _, ok := set['A']; ok {
		if after, err = num('A'); err != nil {
			return 0, 0, err
		}
	}
	if _, ok := set['B']; ok {
		if before, err = num('B'); err != nil {
			return 0, 0, err
		}
	}
	return after, before, nil
}

// grepLines prints the context lines around matches as busybox grep does: "N-" before non-matching lines
// with -n, and "--" between groups that do not touch.
type grepLines struct {
	out              io.Writer
	name             string
	showName, number bool
	after, before    int
	pending          []grepLine // the last lines before a match (-B)
	left             int        // context lines still to print after a match (-A)
	last             int        // the number of the last line printed (0: none yet)
}

type grepLine struct {
	n    int
	text string
}

// other takes a line that does not match: printed as context after a match, kept for one before.
func (g *grepLines) other(n int, text string) {
	if g.left > 0 {
		g.left--
		g.print(n, text)
		return
	}
	if g.before > 0 {
		g.pending = append(g.pending, grepLine{n, text})
		if len(g.pending) > g.before {
			g.pending = g.pending[1:]
		}
	}
}

// match prints the kept lines before the match at line n (the caller prints the match itself).
func (g *grepLines) match(n int) {
	if g.after == 0 && g.before == 0 {
		return
	}
	first := n
	if len(g.pending) > 0 {
		first = g.pending[0].n
	}
	if g.last > 0 && first > g.last+1 {
		fmt.Fprintln(g.out, "--")
	}
	for _, l := range g.pending {
		g.print(l.n, l.text)
	}
	g.pending = g.pending[:0]
	g.last, g.left = n, g.after
}

func (g *grepLines) print(n int, text string) {
	prefix := ""
	if g.showName {
		prefix = g.name + "-"
	}
	if g.number {
		prefix += strconv.Itoa(n) + "-"
	}
	fmt.Fprintln(g.out, prefix+text)
	g.last = n
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
	defer func() { _ = f.Close() }()
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
			_ = in.Close()
			continue
		}
		if _, err := p.sh.FS.Stat(dst); err == nil && !has(set, "f") {
			_ = in.Close()
			fmt.Fprintf(p.hc.Stderr, "%s: can't open '%s': File exists\n", p.name, strings.TrimPrefix(dst, "/"))
			code = 1
			continue
		}
		out, err := p.sh.FS.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			_ = in.Close()
			code = p.fail(err)
			continue
		}
		c := p.gzipStream(in, out, decompress)
		_ = in.Close()
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
		defer func() { _ = zr.Close() }()
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

func rev(p *proc) int {
	return p.lines(p.args, func(l string) {
		r := []rune(l)
		for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
			r[i], r[j] = r[j], r[i]
		}
		fmt.Fprintln(p.out(), string(r))
	})
}
