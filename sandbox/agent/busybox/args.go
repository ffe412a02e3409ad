package busybox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"syscall"

	"mvdan.cc/sh/v3/interp"
)

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

// getoptLong parses options as busybox's getopt32 with long options does (GNU getopt_long): clusters
// of short options (-qS, -O FILE, -OFILE), --name and --name=value, "--" ending the options, and
// operands anywhere. short maps each short option to its long name; value reports whether a long
// name takes a value. set receives each option by its long name, in order; its error (an unknown
// long option, a bad value) ends the parse. The operands are returned in order.
func getoptLong(args []string, short map[byte]string, value func(long string) bool, set func(long, v string) error) ([]string, error) {
	var operands []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(operands, args[i+1:]...), nil
		case strings.HasPrefix(a, "--"):
			name, v, hasV := strings.Cut(a[2:], "=")
			if value(name) && !hasV {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("option '--%s' requires an argument", name)
				}
				i++
				v = args[i]
			}
			if err := set(name, v); err != nil {
				return nil, err
			}
		case len(a) < 2 || a[0] != '-':
			operands = append(operands, a)
		default:
			for j := 1; j < len(a); j++ {
				long, ok := short[a[j]]
				if !ok {
					return nil, fmt.Errorf("invalid option -- '%c'", a[j])
				}
				v := ""
				if value(long) {
					if v = a[j+1:]; v == "" {
						if i+1 >= len(args) {
							return nil, fmt.Errorf("option requires an argument -- '%c'", a[j])
						}
						i++
						v = args[i]
					}
					j = len(a)
				}
				if err := set(long, v); err != nil {
					return nil, err
				}
			}
		}
	}
	return operands, nil
}

func has(set map[byte]string, cs string) bool {
	for i := 0; i < len(cs); i++ {
		if _, ok := set[cs[i]]; ok {
			return true
		}
	}
	return false
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
	if code, ok := errors.AsType[interp.ExitStatus](err); ok {
		return int(code)
	}
	return 2
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
				if interrupted(err) { // Ctrl+C on the terminal: ended like a process
					return killedStatus(p.ctx)
				}
				return p.fail(err)
			}
			continue
		}
		f, err := p.sh.FS.Open(p.abs(n))
		if err == nil {
			var fi fs.FileInfo
			if fi, err = f.Stat(); err == nil && fi.IsDir() {
				err = &fs.PathError{Op: "read", Path: n, Err: syscall.EISDIR}
			}
		}
		if err != nil {
			if f != nil {
				_ = f.Close()
			}
			fmt.Fprintf(p.hc.Stderr, "%s: can't open '%s': %s\n", p.name, n, describe(unwrapPath(err)))
			code = 1
			continue
		}
		err = fn(n, f)
		_ = f.Close()
		if err != nil {
			fmt.Fprintf(p.hc.Stderr, "%s: %s: %s\n", p.name, n, describe(unwrapPath(err)))
			code = 1
		}
	}
	return code
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
