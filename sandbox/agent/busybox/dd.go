package busybox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// dd copies count blocks of bs bytes from if= (standard input) to of= (standard output), skipping skip
// input blocks and seeking seek output blocks, and reports the records as the busybox build of Debian
// does ("1+0 records in", "1+0 records out"; status=none says nothing).
func dd(p *proc) int {
	o := ddOptions{bs: 512, count: -1}
	for _, a := range p.args {
		if code, ok := o.parse(p, a); !ok {
			return code
		}
	}
	in, out := p.stdin(), io.Writer(p.out())
	if o.in != "" {
		f, err := p.sh.FS.Open(p.abs(o.in))
		if err != nil {
			return p.errf("can't open '%s': %s", o.in, describe(unwrapPath(err)))
		}
		defer func() { _ = f.Close() }()
		in = f
	}
	if o.out != "" {
		flag := os.O_WRONLY | os.O_CREATE
		if !o.notrunc && o.seek == 0 {
			flag |= os.O_TRUNC
		}
		f, err := p.sh.FS.OpenFile(p.abs(o.out), flag, 0o666)
		if err != nil {
			return p.errf("can't open '%s': %s", o.out, describe(unwrapPath(err)))
		}
		defer func() { _ = f.Close() }()
		if o.seek > 0 {
			if !o.notrunc {
				_ = f.Truncate(o.seek * o.bs)
			}
			if _, err := f.Seek(o.seek*o.bs, io.SeekStart); err != nil {
				return p.errf("%s", describe(unwrapPath(err)))
			}
		}
		out = f
	}
	if o.skip > 0 {
		if _, err := io.CopyN(io.Discard, in, o.skip*o.bs); err != nil && !errors.Is(err, io.EOF) {
			return p.errf("%s", describe(unwrapPath(err)))
		}
	}
	var fullIn, partIn, fullOut, partOut int64
	buf := make([]byte, o.bs)
	for o.count < 0 || fullIn+partIn < o.count {
		n, err := io.ReadFull(in, buf)
		if n > 0 {
			if int64(n) == o.bs {
				fullIn++
			} else {
				partIn++
			}
			w, werr := out.Write(buf[:n])
			if w == n {
				if int64(w) == o.bs {
					fullOut++
				} else {
					partOut++
				}
			}
			if werr != nil {
				p.report(o, fullIn, partIn, fullOut, partOut)
				return p.errf("%s", describe(unwrapPath(werr)))
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				p.report(o, fullIn, partIn, fullOut, partOut)
				return p.errf("%s", describe(unwrapPath(err)))
			}
			break
		}
	}
	if f, ok := out.(*os.File); ok && o.fsync {
		_ = f.Sync()
	}
	p.report(o, fullIn, partIn, fullOut, partOut)
	return 0
}

type ddOptions struct {
	in, out               string
	bs, count             int64
	skip, seek            int64
	notrunc, fsync, quiet bool
}

// parse takes one KEY=VALUE operand; false with the exit code when it is wrong.
func (o *ddOptions) parse(p *proc, a string) (int, bool) {
	k, v, ok := strings.Cut(a, "=")
	if !ok {
		return p.errf("unknown operand %s", a), false
	}
	num := func(dst *int64) (int, bool) {
		n, err := ddNumber(v)
		if err != nil {
			return p.errf("invalid number '%s'", v), false
		}
		*dst = n
		return 0, true
	}
	switch k {
	case "if":
		o.in = v
	case "of":
		o.out = v
	case "bs", "ibs", "obs":
		if code, ok := num(&o.bs); !ok {
			return code, false
		}
		if o.bs <= 0 {
			return p.errf("invalid number '%s'", v), false
		}
	case "count":
		return num(&o.count)
	case "skip":
		return num(&o.skip)
	case "seek":
		return num(&o.seek)
	case "conv":
		for _, c := range strings.Split(v, ",") {
			switch c {
			case "notrunc":
				o.notrunc = true
			case "fsync", "fdatasync":
				o.fsync = true
			case "noerror", "sync", "swab":
			default:
				return p.errf("invalid conv '%s'", c), false
			}
		}
	case "status":
		o.quiet = v == "none"
	default:
		return p.errf("unknown operand %s", a), false
	}
	return 0, true
}

// ddNumber reads a dd size: digits with busybox's suffixes (c w b kB K k MB M GB G).
func ddNumber(s string) (int64, error) {
	mult := int64(1)
	for _, sfx := range []struct {
		s string
		m int64
	}{{"kB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"c", 1}, {"w", 2}, {"b", 512}, {"K", 1024}, {"k", 1024}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if strings.HasSuffix(s, sfx.s) && len(s) > len(sfx.s) {
			s, mult = strings.TrimSuffix(s, sfx.s), sfx.m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid number %q", s)
	}
	return n * mult, nil
}

func (p *proc) report(o ddOptions, fullIn, partIn, fullOut, partOut int64) {
	if !o.quiet {
		fmt.Fprintf(p.hc.Stderr, "%d+%d records in\n%d+%d records out\n", fullIn, partIn, fullOut, partOut)
	}
}
