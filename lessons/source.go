package lessons

import (
	"bytes"
	"unicode/utf8"
)

// lineIndex maps byte offsets of a file to 1-based line and column numbers
// (columns count runes, as editors do).
type lineIndex struct {
	src    []byte
	starts []int // byte offset of each line's first byte
}

func newLineIndex(src []byte) *lineIndex {
	starts := []int{0}
	for i, b := range src {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return &lineIndex{src: src, starts: starts}
}

// pos returns the 1-based line and column of byte offset off (clamped to the file).
func (x *lineIndex) pos(off int) (line, col int) {
	if off < 0 {
		off = 0
	}
	if off > len(x.src) {
		off = len(x.src)
	}
	lo, hi := 0, len(x.starts)-1
	for lo < hi { // last start <= off
		mid := (lo + hi + 1) / 2
		if x.starts[mid] <= off {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo + 1, utf8.RuneCount(x.src[x.starts[lo]:off]) + 1
}

// line returns the 1-based line of byte offset off.
func (x *lineIndex) line(off int) int {
	l, _ := x.pos(off)
	return l
}

// splitLines splits src into lines, each keeping its "\n" (the last may lack it).
func splitLines(src []byte) []string {
	var out []string
	for len(src) > 0 {
		i := bytes.IndexByte(src, '\n')
		if i < 0 {
			out = append(out, string(src))
			break
		}
		out = append(out, string(src[:i+1]))
		src = src[i+1:]
	}
	return out
}

// stripBOM drops a leading UTF-8 byte order mark (some editors write one).
func stripBOM(b []byte) []byte {
	return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
}
