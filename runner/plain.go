package runner

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Plain turns terminal output (a pty's CRLF, colours, cursor moves, carriage
// return redraws, terminal queries) into plain lines for reports and panes.
func Plain(s string) string {
	s = ansi.Strip(s)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		// A bare carriage return redraws the line: keep what was drawn last.
		if j := strings.LastIndexByte(strings.TrimRight(l, "\r"), '\r'); j >= 0 {
			l = l[j+1:]
		}
		lines[i] = strings.TrimRight(strings.Map(func(r rune) rune {
			if r == '\t' {
				return r
			}
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, l), " \r")
	}
	return strings.Join(lines, "\n")
}
