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
// may be split across two chunks) and writes their answers to the terminal.
type queryAnswerer struct {
	carry []byte // the end of the previous chunk, if it may start a query
}

// feed scans chunk and answers every query it completes.
func (q *queryAnswerer) feed(chunk []byte, w io.Writer) {
	data := chunk
	if len(q.carry) > 0 {
		data = append(q.carry, chunk...)
	}
	for i := 0; i < len(data); i++ {
		if data[i] != 0x1b {
			continue
		}
		for _, t := range termQueries {
			if bytes.HasPrefix(data[i:], t.query) {
				_, _ = w.Write(t.answer)
				i += len(t.query) - 1
				break
			}
		}
	}
	q.carry = q.carry[:0]
	// Keep a trailing partial query for the next chunk.
	if j := bytes.LastIndexByte(data, 0x1b); j >= 0 && len(data)-j < 8 {
		tail := data[j:]
		for _, t := range termQueries {
			if len(tail) < len(t.query) && bytes.HasPrefix(t.query, tail) {
				q.carry = append(q.carry, tail...)
				break
			}
		}
	}
}
