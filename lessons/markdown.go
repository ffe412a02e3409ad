package lessons

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

// Markers left in Page.Markdown (and Hint.Markdown) after an inline block's
// code span: `kubectl get pods`{{exec}} becomes "`kubectl get pods` ▶3" where
// 3 is the block's Index, so a UI can say "press 3 to run it". Inline copy
// blocks get " ⧉N". `x`{{}} keeps only the code span.
const (
	InlineExecMarker = "▶"
	InlineCopyMarker = "⧉"
)

// annotation is what an author wrote on a closing fence or after a code span.
type annotation struct {
	kind      BlockKind // "" for {{}} (display only)
	interrupt bool
}

var (
	inlineAnnot = regexp.MustCompile(`^\{\{([^{}\n]*)\}\}`)
	fenceAnnot  = regexp.MustCompile(`^(\{\{[^{}]*\}\}|<<exec>>)$`)
	termTarget  = regexp.MustCompile(`^(T|HOST)[0-9]+$`)
	fenceOpen   = regexp.MustCompile("^([ \t>]*)(`{3,}|~{3,})(.*)$")
	detailsTag  = regexp.MustCompile(`(?i)<details(\s[^>]*)?>`)
	detailsEnd  = regexp.MustCompile(`(?i)</details\s*>`)
	summaryElem = regexp.MustCompile(`(?is)<summary(\s[^>]*)?>(.*?)</summary\s*>`)
	summaryTag  = regexp.MustCompile(`(?i)</?summary(\s[^>]*)?>`)
	htmlTag     = regexp.MustCompile(`<[^>]+>`)
)

// parseAnnotation reads the inside of {{…}}: exec, exec interrupt, copy, the
// Katacoda forms execute, execute interrupt, execute T2 (a terminal target,
// also accepted on exec), or nothing. Katacoda's open (the code is a file to
// open in the editor; see testdata/killercoda-shapes/commandes/etape2.md)
// has no block in klab, which has no editor: the code shows as plain code,
// like {{}}.
func parseAnnotation(inner string) (annotation, error) {
	f := strings.Fields(inner)
	if len(f) == 0 {
		return annotation{}, nil
	}
	switch f[0] {
	case "exec", "execute":
		a := annotation{kind: BlockExec}
		for _, w := range f[1:] {
			switch {
			case w == "interrupt":
				a.interrupt = true
			case termTarget.MatchString(w):
				// Killercoda/Katacoda terminal target (T1, HOST2): klab has one terminal.
			default:
				return a, fmt.Errorf("unknown option %q in annotation {{%s}} (want {{exec}}, {{exec interrupt}} or {{copy}})", w, inner)
			}
		}
		return a, nil
	case "copy":
		if len(f) > 1 {
			return annotation{}, fmt.Errorf("unknown option %q in annotation {{%s}} ({{copy}} takes none)", f[1], inner)
		}
		return annotation{kind: BlockCopy}, nil
	case "open":
		if len(f) > 1 {
			return annotation{}, fmt.Errorf("unknown option %q in annotation {{%s}} ({{open}} takes none)", f[1], inner)
		}
		return annotation{}, nil
	}
	return annotation{}, fmt.Errorf("unknown annotation {{%s}} (want {{exec}}, {{exec interrupt}}, {{copy}} or {{}})", inner)
}

// fence is a fenced code block found by the pre-pass (0-based line indexes).
type fence struct {
	open, close int // close is -1 when the fence is never closed
	ann         *annotation
	highlight   []int // lines to highlight (1-based in the block)
}

// fenceHighlight is an info string with Killercoda's line highlighting:
// a language followed by {2,5,6} or {6-9}.
var fenceHighlight = regexp.MustCompile(`^[ \t]*([^\s{}` + "`" + `]*)\{([0-9][0-9,\- \t]*)\}[ \t]*$`)

// parseHighlight reads "2,5,6" or "6-9" into sorted line numbers (bad
// parts are skipped: highlighting is decoration).
func parseHighlight(spec string) []int {
	var out []int
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil || a < 1 {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a || b-a > 10000 {
				continue
			}
		}
		for n := a; n <= b; n++ {
			out = append(out, n)
		}
	}
	sort.Ints(out)
	return out
}

func chomp(line string) (string, string) {
	switch {
	case strings.HasSuffix(line, "\r\n"):
		return line[:len(line)-2], "\r\n"
	case strings.HasSuffix(line, "\n"):
		return line[:len(line)-1], "\n"
	}
	return line, ""
}

// mdCtx parses one markdown file of a lesson.
type mdCtx struct {
	ld     *loader
	file   string
	lines  []string // pre-passed lines (closing-fence annotations removed)
	fences map[int]*fence
	inFen  []bool
}

func (m *mdCtx) errorf(line, col int, format string, args ...any) {
	m.ld.add(SevError, m.file, line, col, fmt.Sprintf(format, args...))
}

func (m *mdCtx) warnf(line, col int, format string, args ...any) {
	m.ld.add(SevWarning, m.file, line, col, fmt.Sprintf(format, args...))
}

// prepass finds fenced code blocks line by line, records the annotation of
// each closing fence and strips it, so the markdown becomes valid CommonMark
// with every line where it was.
func (m *mdCtx) prepass(src []byte) {
	m.lines = splitLines(src)
	m.fences = map[int]*fence{}
	m.inFen = make([]bool, len(m.lines))
	var cur *fence
	var fch byte
	var flen int
	htmlEnd := "" // inside an HTML block that hides fences, until this text
	for i, raw := range m.lines {
		line, eol := chomp(raw)
		if cur == nil && htmlEnd != "" {
			if strings.Contains(strings.ToLower(line), htmlEnd) {
				htmlEnd = ""
			}
			continue
		}
		if cur == nil {
			if end := htmlBlockEnd(line); end != "" {
				if !strings.Contains(strings.ToLower(line), end) {
					htmlEnd = end
				}
				continue
			}
			g := fenceOpen.FindStringSubmatch(line)
			if g == nil || (g[2][0] == '`' && strings.Contains(g[3], "`")) {
				continue
			}
			cur = &fence{open: i, close: -1}
			if hl := fenceHighlight.FindStringSubmatch(g[3]); hl != nil {
				// Killercoda's line highlighting (```yaml{2,5,6}): keep the
				// language for CommonMark and the lines for the block.
				cur.highlight = parseHighlight(hl[2])
				m.lines[i] = g[1] + g[2] + hl[1] + eol
			}
			fch, flen = g[2][0], len(g[2])
			m.fences[i] = cur
			m.inFen[i] = true
			if a := strings.TrimSpace(g[3]); strings.HasPrefix(a, "{{") || a == "<<exec>>" {
				m.warnf(i+1, len(g[1])+len(g[2])+1, "annotation %s on an opening fence: Killercoda reads annotations on the closing fence", a)
			}
			continue
		}
		m.inFen[i] = true
		prefix := len(line) - len(strings.TrimLeft(line, " \t>"))
		rest := line[prefix:]
		n := 0
		for n < len(rest) && rest[n] == fch {
			n++
		}
		if n < flen {
			continue
		}
		after := strings.TrimSpace(rest[n:])
		if after != "" && !fenceAnnot.MatchString(after) {
			continue // content (or an opening-looking line) inside the block
		}
		cur.close = i
		if after != "" {
			col := prefix + n + strings.Index(rest[n:], after[:1]) + 1
			if after == "<<exec>>" {
				cur.ann = &annotation{kind: BlockExec}
			} else if a, err := parseAnnotation(after[2 : len(after)-2]); err != nil {
				m.errorf(i+1, col, "%v", err)
			} else {
				cur.ann = &a
			}
			m.lines[i] = line[:prefix+n] + eol
		}
		cur = nil
	}
	if cur != nil {
		m.warnf(cur.open+1, 1, "code fence is never closed: the rest of the page is code")
	}
}

var htmlRawStart = regexp.MustCompile(`(?i)^ {0,3}<(pre|script|style|textarea)(\s|>|$)`)

// htmlBlockEnd returns the end marker of a CommonMark HTML block of type 1
// (<pre>, <script>, <style>, <textarea>) or 2 (<!-- comment -->) starting on
// line, or "". Such blocks run until their end marker, blank lines included,
// and hide the fences inside them from CommonMark, so the pre-pass skips
// them too.
func htmlBlockEnd(line string) string {
	t := strings.TrimLeft(line, " ")
	if len(line)-len(t) > 3 {
		return ""
	}
	if strings.HasPrefix(t, "<!--") {
		if strings.Contains(t[4:], "-->") {
			return "" // a one-line comment hides nothing
		}
		return "-->"
	}
	if g := htmlRawStart.FindStringSubmatch(line); g != nil {
		return "</" + strings.ToLower(g[1]) + ">"
	}
	return ""
}

// region is a <details> section (0-based inclusive line range).
type region struct {
	start, end int
	summary    string
	body       []string // the region's lines with the details/summary tags removed
}

// detailsRegions finds <details> sections outside code fences.
func (m *mdCtx) detailsRegions() []*region {
	var out []*region
	var cur *region
	depth := 0
	for i, line := range m.lines {
		if m.inFen[i] && cur == nil {
			continue
		}
		if cur == nil {
			t := strings.TrimLeft(line, " \t")
			if loc := detailsTag.FindStringIndex(t); loc == nil || loc[0] != 0 {
				continue
			}
			cur = &region{start: i, end: -1}
			depth = 0
		}
		if !m.inFen[i] {
			depth += len(detailsTag.FindAllStringIndex(line, -1)) - len(detailsEnd.FindAllStringIndex(line, -1))
		}
		if depth <= 0 {
			cur.end = i
			out = append(out, cur)
			cur = nil
		}
	}
	if cur != nil {
		// CommonMark shows what follows an unclosed <details> as page text:
		// klab does too, with the tags taken out, and says so.
		m.warnf(cur.start+1, 1, "<details> is never closed with </details>: what follows shows in the page, not as a hint")
		for i := cur.start; i < len(m.lines) && i < cur.start+5 && !m.inFen[i]; i++ {
			line, eol := chomp(m.lines[i])
			if i == cur.start {
				line = detailsTag.ReplaceAllString(line, "")
			}
			closes := strings.Contains(strings.ToLower(line), "</summary")
			m.lines[i] = summaryTag.ReplaceAllString(line, "") + eol
			if closes {
				break
			}
		}
	}
	for _, r := range out {
		m.splitRegion(r)
	}
	return out
}

// splitRegion extracts a region's summary and body, keeping one body line
// per source line so that block lines stay exact.
func (m *mdCtx) splitRegion(r *region) {
	whole := strings.Join(m.lines[r.start:r.end+1], "")
	if loc := detailsTag.FindStringIndex(whole); loc != nil {
		whole = whole[:loc[0]] + whole[loc[1]:]
	}
	if g := summaryElem.FindStringSubmatchIndex(whole); g != nil {
		s := whole[g[4]:g[5]]
		r.summary = strings.Join(strings.Fields(htmlTag.ReplaceAllString(s, "")), " ")
		// Keep the summary's newlines so lines do not shift.
		whole = whole[:g[0]] + strings.Repeat("\n", strings.Count(whole[g[0]:g[1]], "\n")) + whole[g[1]:]
	}
	if locs := detailsEnd.FindAllStringIndex(whole, -1); len(locs) > 0 {
		last := locs[len(locs)-1]
		whole = whole[:last[0]] + whole[last[1]:]
	}
	r.body = splitLines([]byte(whole))
	for len(r.body) < r.end-r.start+1 {
		r.body = append(r.body, "")
	}
}

// edit replaces bytes [from, to) of one line of a parsed document.
type edit struct {
	line     int // 0-based line within the document's lines
	from, to int
	block    *Block // marker for this block; nil = remove only
}

// mdDoc is one goldmark document: the page (details blanked) or a hint body.
type mdDoc struct {
	lines []string
	first int // global 0-based line of lines[0]
	hint  int // 0 for the page, n for the n-th hint
	edits []edit
}

// blocks parses the document with goldmark and collects annotated blocks.
func (m *mdCtx) blocks(d *mdDoc) []*Block {
	src := []byte(strings.Join(d.lines, ""))
	idx := newLineIndex(src)
	doc := m.ld.mdParser().Parse(text.NewReader(src))
	var out []*Block
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.FencedCodeBlock:
			if b := m.fencedBlock(d, idx, src, n); b != nil {
				out = append(out, b)
			}
			return ast.WalkSkipChildren, nil
		case *ast.CodeSpan:
			if b := m.inlineBlock(d, idx, src, n); b != nil {
				out = append(out, b)
			}
			return ast.WalkSkipChildren, nil
		case *ast.Text:
			m.strayAnnotation(d, idx, src, n)
		}
		return ast.WalkContinue, nil
	})
	return out
}

func (m *mdCtx) fencedBlock(d *mdDoc, idx *lineIndex, src []byte, n *ast.FencedCodeBlock) *Block {
	pos := n.Pos()
	if pos < 0 {
		return nil
	}
	open := d.first + idx.line(pos) - 1
	m.checkSwallow(d, idx, src, n, open)
	f := m.fences[open]
	if f == nil || f.ann == nil || f.ann.kind == "" {
		return nil
	}
	c := fenceText(n, src)
	if strings.TrimSpace(c) == "" {
		m.warnf(open+1, 1, "%s block is empty", f.ann.kind)
	}
	return &Block{
		Kind:      f.ann.kind,
		Interrupt: f.ann.interrupt,
		Lang:      string(n.Language(src)),
		Highlight: f.highlight,
		Code:      c,
		File:      m.file,
		Line:      open + 2,
		Hint:      d.hint,
		open:      open,
		close:     f.close,
	}
}

var annotatedCloser = regexp.MustCompile("^[ \t>]*(`{3,}|~{3,})[ \t]*(\\{\\{[^{}]*\\}\\}|<<exec>>)[ \t]*\r?\n?$")

// checkSwallow reports a code block that holds an annotated closing fence
// of its own kind: the pre-pass paired fences differently than goldmark
// (a lone fence in an HTML comment or an indented block), so the page
// would render as code from there on.
func (m *mdCtx) checkSwallow(d *mdDoc, idx *lineIndex, src []byte, n *ast.FencedCodeBlock, open int) {
	local := open - d.first
	if local < 0 || local >= len(d.lines) {
		return
	}
	opener := strings.TrimLeft(d.lines[local], " \t>")
	flen := 0
	for flen < len(opener) && opener[flen] == opener[0] && (opener[0] == '`' || opener[0] == '~') {
		flen++
	}
	if flen < 3 {
		return
	}
	lines := n.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		g := annotatedCloser.FindSubmatch(seg.Value(src))
		if g != nil && g[1][0] == opener[0] && len(g[1]) >= flen {
			line := d.first + idx.line(seg.Start)
			m.errorf(line, 1, "this annotated closing fence is inside the code block opened at line %d: the fences before it are unbalanced (a lone fence in an HTML comment or an indented block?), so the rest of the page would show as code", open+1)
			return
		}
	}
}

func (m *mdCtx) inlineBlock(d *mdDoc, idx *lineIndex, src []byte, n *ast.CodeSpan) *Block {
	next, ok := n.NextSibling().(*ast.Text)
	if !ok {
		return nil
	}
	start := next.Segment.Start
	g := inlineAnnot.FindSubmatchIndex(src[start:])
	if g == nil {
		return nil
	}
	line, col := idx.pos(start)
	line0 := line - 1
	from := start - idx.starts[line0]
	e := edit{line: line0, from: from, to: from + g[1]}
	a, err := parseAnnotation(string(src[start+g[2] : start+g[3]]))
	if err != nil {
		m.errorf(d.first+line, col, "%v", err)
		d.edits = append(d.edits, e) // still hide it from learners
		return nil
	}
	if a.kind == "" {
		d.edits = append(d.edits, e)
		return nil
	}
	var code strings.Builder
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if t, ok := c.(*ast.Text); ok {
			code.Write(t.Segment.Value(src))
			if t.SoftLineBreak() {
				code.WriteByte(' ')
			}
		}
	}
	b := &Block{
		Kind:      a.kind,
		Interrupt: a.interrupt,
		Inline:    true,
		Code:      code.String(),
		File:      m.file,
		Line:      d.first + line,
		Hint:      d.hint,
		open:      -1,
		close:     -1,
	}
	if strings.TrimSpace(b.Code) == "" {
		m.warnf(b.Line, col, "%s block is empty", a.kind)
	}
	e.block = b
	d.edits = append(d.edits, e)
	return b
}

var strayAnnot = regexp.MustCompile(`\{\{\s*(exec|execute|copy)\b[^{}\n]*\}\}`)

// strayAnnotation warns about an annotation that is neither right after a
// code span nor on a closing fence: it would show as text.
func (m *mdCtx) strayAnnotation(d *mdDoc, idx *lineIndex, src []byte, n *ast.Text) {
	seg := n.Segment.Value(src)
	loc := strayAnnot.FindIndex(seg)
	if loc == nil {
		return
	}
	if _, afterCode := n.PreviousSibling().(*ast.CodeSpan); afterCode && loc[0] == 0 {
		return // an inline annotation, handled by inlineBlock
	}
	line, col := idx.pos(n.Segment.Start + loc[0])
	m.warnf(d.first+line, col, "annotation %s is not right after a `code span` or on a closing fence: it shows as text", seg[loc[0]:loc[1]])
}

// applyEdits rewrites d.lines with annotations removed and inline markers added.
func applyEdits(d *mdDoc) {
	sort.SliceStable(d.edits, func(i, j int) bool {
		if d.edits[i].line != d.edits[j].line {
			return d.edits[i].line < d.edits[j].line
		}
		return d.edits[i].from > d.edits[j].from // right to left within a line
	})
	for _, e := range d.edits {
		l := d.lines[e.line]
		if e.from < 0 || e.to > len(l) || e.from > e.to {
			continue
		}
		repl := ""
		if e.block != nil {
			mark := InlineExecMarker
			if e.block.Kind == BlockCopy {
				mark = InlineCopyMarker
			}
			repl = fmt.Sprintf(" %s%d", mark, e.block.Index)
		}
		d.lines[e.line] = l[:e.from] + repl + l[e.to:]
	}
}

// parseMarkdown fills p's Markdown, Segments, Blocks and Hints from src.
func (ld *loader) parseMarkdown(p *Page, file string, src []byte) {
	src = stripBOM(src)
	m := &mdCtx{ld: ld, file: file}
	m.prepass(src)
	regions := m.detailsRegions()

	page := &mdDoc{lines: append([]string(nil), m.lines...)}
	inRegion := make([]int, len(m.lines)) // 1-based region number
	for ri, r := range regions {
		for i := r.start; i <= r.end; i++ {
			inRegion[i] = ri + 1
			_, eol := chomp(page.lines[i])
			if eol == "" {
				eol = "\n"
			}
			page.lines[i] = eol
		}
	}
	docs := []*mdDoc{page}
	for ri, r := range regions {
		docs = append(docs, &mdDoc{lines: r.body, first: r.start, hint: ri + 1})
	}
	var blocks []*Block
	for _, d := range docs {
		blocks = append(blocks, m.blocks(d)...)
	}
	sort.SliceStable(blocks, func(i, j int) bool { return blocks[i].Line < blocks[j].Line })
	for i, b := range blocks {
		b.Index = i + 1
	}
	p.Blocks = blocks
	for _, d := range docs {
		applyEdits(d)
	}

	for ri, r := range regions {
		h := Hint{Summary: r.summary, Line: r.start + 1, Markdown: trimBlankLines(strings.Join(docs[ri+1].lines, ""))}
		h.Solution = isSolutionSummary(h.Summary)
		h.Code = m.ld.hintCode(strings.Join(docs[ri+1].lines, ""), r.start+1)
		p.Hints = append(p.Hints, h)
	}

	// Segments: text around the page's fenced exec/copy blocks.
	fenced := map[int]*Block{}
	for _, b := range blocks {
		if b.Hint == 0 && !b.Inline && b.close >= 0 {
			fenced[b.open] = b
		}
	}
	var segs []Segment
	var txt strings.Builder
	flush := func() {
		if txt.Len() > 0 {
			segs = append(segs, Segment{Markdown: txt.String()})
			txt.Reset()
		}
	}
	for i := 0; i < len(page.lines); i++ {
		if r := inRegion[i]; r > 0 {
			// A hint leaves one blank line, so paragraphs around it stay apart.
			if !strings.HasSuffix(txt.String(), "\n\n") && txt.Len() > 0 {
				txt.WriteString("\n")
			}
			i = regions[r-1].end
			for i+1 < len(page.lines) && inRegion[i+1] == 0 && strings.TrimSpace(page.lines[i+1]) == "" &&
				(txt.Len() == 0 || strings.HasSuffix(txt.String(), "\n\n")) {
				i++ // skip the blank lines that separated the hint
			}
			continue
		}
		if b := fenced[i]; b != nil {
			flush()
			segs = append(segs, Segment{Markdown: strings.Join(page.lines[b.open:b.close+1], ""), Block: b})
			i = b.close
			continue
		}
		txt.WriteString(page.lines[i])
	}
	flush()
	p.Segments = segs
	var md strings.Builder
	for _, s := range segs {
		md.WriteString(s.Markdown)
	}
	p.Markdown = md.String()
}

// trimBlankLines drops leading and trailing blank lines, keeping indentation.
func trimBlankLines(s string) string {
	lines := strings.Split(s, "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// solutionWords are summary words that mark a <details> as the step's solution.
var solutionWords = []string{"solution", "lösung", "losung", "solución", "solucion", "soluzione", "solução", "solucao", "answer", "réponse", "corrigé"}

func isSolutionSummary(s string) bool {
	s = strings.ToLower(s)
	for _, w := range solutionWords {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// solutionHint returns the first hint whose summary names a solution.
func solutionHint(hints []Hint) *Hint {
	for i := range hints {
		if hints[i].Solution {
			return &hints[i]
		}
	}
	return nil
}

// mdParser is goldmark's CommonMark parser, built once per loader.
func (ld *loader) mdParser() parser.Parser {
	if ld.md == nil {
		ld.md = parser.NewParser(
			parser.WithBlockParsers(parser.DefaultBlockParsers()...),
			parser.WithInlineParsers(parser.DefaultInlineParsers()...),
			parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...),
		)
	}
	return ld.md
}

// fenceText is a fenced block's code as written (indentation kept), without its last newline.
func fenceText(n *ast.FencedCodeBlock, src []byte) string {
	var b strings.Builder
	lines := n.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		b.WriteString(strings.Repeat(" ", seg.Padding))
		b.Write(seg.Value(src))
	}
	return strings.TrimRight(b.String(), "\r\n")
}
