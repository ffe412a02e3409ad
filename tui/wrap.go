package tui

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// French text and the wrapping of glamour v2 (x/ansi's Wrap, through
// lipgloss): Wrap breaks lines at every Unicode space but U+00A0, so the
// narrow no-break space French puts before « : ; ! ? » and inside
// « guillemets » (U+202F) becomes a line break that leaves the punctuation
// alone at the start of a line; and a hyphen is always a break, so an option
// such as `kubectl get jobs -w` can end a line with « - » and start the next
// with « w ». The lesson text is right: this is fixed here, once, around the
// one call that wraps markdown (renderCache.Render), never in lessons.
//
// While glamour wraps, each U+202F and each hyphen that must stay with what
// follows is held as a character that Wrap sees as one cell of a word; the
// rendered text gets them back. U+202F is held as a punctuation character
// (U+2E2E), since markdown reads the source: next to `**` it must keep its
// meaning for emphasis (« **get** : » closes the bold, as a space or a
// punctuation mark would), which a private-use character does not. A hyphen may still end a line
// between two letters (« arrière-/plan »), as French typesetting allows.
const (
	holdNNBSP  = '\u2e2e' // U+202F NARROW NO-BREAK SPACE, held as REVERSED QUESTION MARK (Po)
	holdHyphen = '\ue001' // a hyphen that must not end a line
)

// holdForWrap returns md with the characters above held, and whether it
// held any (a text that already uses these private-use characters is left
// as it is: restoring would change it).
func holdForWrap(md string) (string, bool) {
	if strings.ContainsRune(md, holdNNBSP) || strings.ContainsRune(md, holdHyphen) {
		return md, false
	}
	var b strings.Builder
	b.Grow(len(md))
	fence := ""
	for line := range strings.SplitAfterSeq(md, "\n") {
		trim := strings.TrimLeft(line, " ")
		if f := fenceOf(trim); f != "" && (fence == "" || strings.HasPrefix(trim, fence)) {
			if fence == "" {
				fence = f
			} else {
				fence = ""
			}
			b.WriteString(line)
			continue
		}
		if fence != "" { // code blocks are not wrapped
			b.WriteString(line)
			continue
		}
		holdLine(&b, line)
	}
	return b.String(), true
}

// fenceOf is the fence a line opens or closes (``` or ~~~), or "".
func fenceOf(trim string) string {
	for _, f := range []string{"```", "~~~"} {
		if strings.HasPrefix(trim, f) {
			return f
		}
	}
	return ""
}

// holdLine writes one line of text with its U+202F held, and the hyphens
// of inline code and those that begin a word (`-w`, `--all`, « -1 »).
func holdLine(b *strings.Builder, line string) {
	inCode := false
	seenText := false // a list marker « - » starts the line: it is markdown, not text
	prev := ' '
	for i, r := range line {
		switch r {
		case '`':
			inCode = !inCode
		case '\u202f':
			b.WriteRune(holdNNBSP)
			prev = r
			continue
		case '-':
			next, _ := utf8.DecodeRuneInString(line[i+1:])
			startsWord := (unicode.IsSpace(prev) || prev == holdHyphen) && seenText && next != ' ' && next != '\n' && next != utf8.RuneError
			if inCode || startsWord {
				b.WriteRune(holdHyphen)
				prev = holdHyphen
				continue
			}
		}
		if !unicode.IsSpace(r) && !(r == '-' && !seenText) {
			seenText = true
		}
		b.WriteRune(r)
		prev = r
	}
}

// releaseHeld gives the rendered text its characters back.
func releaseHeld(s string) string {
	return strings.NewReplacer(string(holdNNBSP), "\u202f", string(holdHyphen), "-").Replace(s)
}
