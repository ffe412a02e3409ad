package runner

import (
	"bytes"
	"io"
)

// A pty has no terminal emulator behind it, so programs that ask the terminal
// a question wait for an answer that never comes: termenv (linked into klab
// itself through Bubble Tea, so `klab kubectl` does it) asks for the background
// colour and the cursor position and waits 5 s. The runner answers the common
// queries the way a dark xterm does, at once.
var termQueries = []struct{ query, answer []byte }{
	{[]byte("\x1b]11;?\x1b\\"), []byte("\x1b]11;rgb:0000/0000/0000\x1b\\")}, // background colour (ST)
	{[]byte("\x1b]11;?\a"), []byte("\x1b]11;rgb:0000/0000/0000\a")},         // background colour (BEL)
	{[]byte("\x1b]10;?\x1b\\"), []byte("\x1b]10;rgb:ffff/ffff/ffff\x1b\\")}, // foreground colour
	{[]byte("\x1b]10;?\a"), []byte("\x1b]10;rgb:ffff/ffff/ffff\a")},
	{[]byte("\x1b[6n"), []byte("\x1b[1;1R")},   // cursor position report
	{[]byte("\x1b[c"), []byte("\x1b[?62;22c")}, // primary device attributes
	{[]byte("\x1b[0c"), []byte("\x1b[?62;22c")},
}

// queryAnswerer finds terminal queries in a stream of output chunks (a query
// may be split across two chunks), writes their answers to the terminal and,
// as a terminal does, does not show them: every klab process asks (Bubble
// Tea's init queries the background colour), and `klab kubectl` output must
// not start with escape codes.
type queryAnswerer struct {
	carry []byte // the end of the previous chunk, when it may start a query
}

// feed answers every query that chunk completes and returns chunk without
// the queries; a trailing partial query is held back for the next chunk.
func (q *queryAnswerer) feed(chunk []byte, w io.Writer) []byte {
	data := chunk
	if len(q.carry) > 0 {
		data = append(append(make([]byte, 0, len(q.carry)+len(chunk)), q.carry...), chunk...)
		q.carry = nil
	}
	out := make([]byte, 0, len(data))
scan:
	for i := 0; i < len(data); {
		if data[i] == 0x1b {
			rest := data[i:]
			for _, t := range termQueries {
				if bytes.HasPrefix(rest, t.query) {
					_, _ = w.Write(t.answer)
					i += len(t.query)
					continue scan
				}
			}
			for _, t := range termQueries {
				if len(rest) < len(t.query) && bytes.HasPrefix(t.query, rest) {
					q.carry = bytes.Clone(rest)
					break scan
				}
			}
		}
		out = append(out, data[i])
		i++
	}
	return out
}

// flush returns what feed held back once the output has ended.
func (q *queryAnswerer) flush() []byte {
	rest := q.carry
	q.carry = nil
	return rest
}
