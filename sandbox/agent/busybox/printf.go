package busybox

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// printf formats its arguments as busybox's printf does: %[flags][width][.precision] with the
// conversions s b c d i o u x X e E f F g G and %%, the backslash escapes, and the format reused
// until the arguments run out. A number that does not parse is reported and counts as 0 (exit 1).
func printf(p *proc) int {
	if len(p.args) == 0 {
		return p.errf("usage: printf FORMAT [ARGUMENT]...")
	}
	format, args := p.args[0], p.args[1:]
	f := &printfState{p: p}
	var b strings.Builder
	for {
		used, stop := f.once(&b, format, args)
		args = args[used:]
		if stop || used == 0 || len(args) == 0 {
			break
		}
	}
	fmt.Fprint(p.out(), b.String())
	return f.code
}

type printfState struct {
	p    *proc
	code int
}

// once formats the whole format once and returns how many arguments it used; stop is true after \c.
func (f *printfState) once(b *strings.Builder, format string, args []string) (used int, stop bool) {
	next := func() (string, bool) {
		if used < len(args) {
			used++
			return args[used-1], true
		}
		return "", false
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case c == '\\':
			s, n, halt := unescape(format[i:], false)
			b.WriteString(s)
			i += n - 1
			if halt {
				return used, true
			}
		case c == '%' && i+1 < len(format) && format[i+1] == '%':
			b.WriteByte('%')
			i++
		case c == '%':
			j := i + 1
			for j < len(format) && strings.IndexByte("-+ #0", format[j]) >= 0 {
				j++
			}
			for j < len(format) && (format[j] >= '0' && format[j] <= '9' || format[j] == '.') {
				j++
			}
			if j >= len(format) {
				f.code = f.p.errf("%s: invalid format", format[i:])
				return used, true
			}
			spec, verb := format[i+1:j], format[j]
			arg, _ := next()
			if !f.conv(b, spec, verb, arg) {
				return used, true
			}
			i = j
		default:
			b.WriteByte(c)
		}
	}
	return used, false
}

func (f *printfState) conv(b *strings.Builder, spec string, verb byte, arg string) bool {
	switch verb {
	case 's':
		fmt.Fprintf(b, "%"+spec+"s", arg)
	case 'b':
		s, _, _ := unescape(arg, true)
		fmt.Fprintf(b, "%"+spec+"s", s)
	case 'c':
		if arg != "" {
			r, _ := utf8.DecodeRuneInString(arg)
			fmt.Fprintf(b, "%"+spec+"c", r)
		}
	case 'd', 'i':
		fmt.Fprintf(b, "%"+spec+"d", f.integer(arg))
	case 'o', 'u', 'x', 'X':
		v := verb
		if verb == 'u' {
			v = 'd'
		}
		fmt.Fprintf(b, "%"+spec+string(v), uint64(f.integer(arg)))
	case 'e', 'E', 'f', 'F', 'g', 'G':
		x, err := strconv.ParseFloat(strings.TrimSpace(arg), 64)
		if err != nil && arg != "" {
			f.code = f.p.errf("invalid number '%s'", arg)
		}
		fmt.Fprintf(b, "%"+spec+string(verb), x)
	default:
		f.code = f.p.errf("%%%s%c: invalid format", spec, verb)
		return false
	}
	return true
}

// integer reads a printf integer argument: decimal, 0x hex, 0 octal, or 'c for a character's code.
func (f *printfState) integer(arg string) int64 {
	s := strings.TrimSpace(arg)
	if s == "" {
		return 0
	}
	if s[0] == '\'' || s[0] == '"' {
		if len(s) > 1 {
			r, _ := utf8.DecodeRuneInString(s[1:])
			return int64(r)
		}
		return 0
	}
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		f.code = f.p.errf("invalid number '%s'", arg)
	}
	return n
}

// unescape reads the backslash escape at the start of s (or, with all, every escape of s: %b) and
// returns the text, the bytes consumed and whether \c asked to stop all output.
func unescape(s string, all bool) (string, int, bool) {
	var b strings.Builder
	i := 0
	for i < len(s) {
		if s[i] != '\\' || i+1 >= len(s) {
			if !all {
				return s[:1], 1, false
			}
			b.WriteByte(s[i])
			i++
			continue
		}
		c := s[i+1]
		i += 2
		switch c {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '\\':
			b.WriteByte('\\')
		case 'c':
			return b.String(), i, true
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j, max := i-1, i+2
			if c == '0' {
				j, max = i, i+3
			}
			n := 0
			for j < len(s) && j < max && s[j] >= '0' && s[j] <= '7' {
				n = n*8 + int(s[j]-'0')
				j++
			}
			b.WriteByte(byte(n))
			i = j
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
		if !all {
			return b.String(), i, false
		}
	}
	return b.String(), i, false
}
