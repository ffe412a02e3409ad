package lessons

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"charm.land/glamour/v2"
)

// parseMD runs the markdown pass on src as file name.
func parseMD(name string, src []byte) (*Page, []Diagnostic) {
	ld := &loader{lang: "en"}
	p := &Page{TextFile: name}
	ld.parseMarkdown(p, name, src)
	return p, ld.diags
}

// TestMarkdownGolden covers every annotation form: each testdata/markdown/X.md
// has X.golden with the page's markdown, segments, blocks, hints and diagnostics.
func TestMarkdownGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/markdown/*.md")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".md")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, diags := parseMD(filepath.Base(f), src)
			type seg struct {
				Block    int    `json:"block,omitempty"`
				Markdown string `json:"markdown"`
			}
			var segs []seg
			for _, s := range p.Segments {
				sg := seg{Markdown: s.Markdown}
				if s.Block != nil {
					sg.Block = s.Block.Index
				}
				segs = append(segs, sg)
			}
			golden(t, "markdown/"+name+".golden", toJSON(t, map[string]any{
				"markdown":    p.Markdown,
				"segments":    segs,
				"blocks":      p.Blocks,
				"hints":       p.Hints,
				"diagnostics": diagStrings(diags),
			}))
			// Invariants of every page.
			var cat strings.Builder
			for _, s := range p.Segments {
				cat.WriteString(s.Markdown)
			}
			if cat.String() != p.Markdown {
				t.Errorf("segments do not concatenate to Markdown")
			}
			for i, b := range p.Blocks {
				if b.Index != i+1 {
					t.Errorf("block %d has index %d", i+1, b.Index)
				}
			}
			for _, h := range p.Hints {
				if strings.Contains(p.Markdown, h.Markdown) && strings.TrimSpace(h.Markdown) != "" {
					t.Errorf("hint %q is printed in the open", h.Summary)
				}
			}
		})
	}
}

func TestAnnotationForms(t *testing.T) {
	tests := []struct {
		src       string
		kind      BlockKind
		interrupt bool
		inline    bool
	}{
		{"```\nls\n```{{exec}}\n", BlockExec, false, false},
		{"```\nls\n```{{exec interrupt}}\n", BlockExec, true, false},
		{"```\nls\n```{{copy}}\n", BlockCopy, false, false},
		{"```\nls\n```{{execute}}\n", BlockExec, false, false},
		{"```\nls\n```{{execute interrupt}}\n", BlockExec, true, false},
		{"```\nls\n```{{execute T2}}\n", BlockExec, false, false},
		{"```\nls\n```{{exec T1}}\n", BlockExec, false, false},
		{"`ls`{{execute HOST1}}\n", BlockExec, false, true},
		{"```\nls\n```<<exec>>\n", BlockExec, false, false},
		{"```\nls\n``` {{exec}}  \n", BlockExec, false, false},
		{"```\r\nls\r\n```{{exec}}\r\n", BlockExec, false, false},
		{"`ls`{{exec}}\n", BlockExec, false, true},
		{"`ls`{{exec interrupt}}\n", BlockExec, true, true},
		{"`ls`{{copy}}\n", BlockCopy, false, true},
		{"`ls`{{execute}}\n", BlockExec, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			p, diags := parseMD("t.md", []byte(tt.src))
			if len(diags) > 0 {
				t.Fatalf("diagnostics: %v", diagStrings(diags))
			}
			if len(p.Blocks) != 1 {
				t.Fatalf("blocks = %d, want 1", len(p.Blocks))
			}
			b := p.Blocks[0]
			if b.Kind != tt.kind || b.Interrupt != tt.interrupt || b.Inline != tt.inline || b.Code != "ls" {
				t.Errorf("block = %+v", b)
			}
			if strings.Contains(p.Markdown, "{{") || strings.Contains(p.Markdown, "<<exec") {
				t.Errorf("annotation left in Markdown: %q", p.Markdown)
			}
		})
	}
	// Display-only forms produce no block.
	for _, src := range []string{"```\nls\n```\n", "`ls`{{}}\n", "`ls`\n", "Helm: {{ .Values.x }}\n",
		"`app/create.py`{{open}}\n", "```\napp/create.py\n```{{open}}\n"} {
		p, diags := parseMD("t.md", []byte(src))
		if len(p.Blocks) != 0 || len(diags) != 0 {
			t.Errorf("%q: blocks %d, diags %v", src, len(p.Blocks), diagStrings(diags))
		}
		if strings.Contains(p.Markdown, "{{}}") || strings.Contains(p.Markdown, "{{open}}") {
			t.Errorf("%q: annotation left in Markdown: %q", src, p.Markdown)
		}
	}
}

// TestGlamourKeepsText renders pages the way the TUI does: no annotation may
// show, and the text after a closing-fence annotation must not be swallowed
// into the code block.
func TestGlamourKeepsText(t *testing.T) {
	r, err := glamour.NewTermRenderer(glamour.WithStandardStyle("notty"), glamour.WithWordWrap(100))
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := Load("testdata/killercoda")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, md, last string
	}{
		{"killercoda step1", l.Steps[0].Markdown, "This text comes after every block and must stay visible."},
		{"killercoda step2", l.Steps[1].Markdown, "kubectl get events"},
	}
	for f, last := range map[string]string{
		"fence-exec":           "Text after the block stays visible.",
		"fence-exec-interrupt": "Done.",
		"fence-copy":           "After.",
		"katacoda":             "echo six ▶6",
		"details":              "The end stays visible.",
		"list-indented":        "Finished.",
		"html-blocks":          "Visible text.",
	} {
		src, err := os.ReadFile("testdata/markdown/" + f + ".md")
		if err != nil {
			t.Fatal(err)
		}
		p, _ := parseMD(f+".md", src)
		tests = append(tests, struct{ name, md, last string }{f, p.Markdown, last})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := r.Render(tt.md)
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"{{exec", "{{copy", "{{execute", "<<exec>>", "<details", "<summary"} {
				if strings.Contains(out, bad) {
					t.Errorf("rendered text shows %q:\n%s", bad, out)
				}
			}
			if !strings.Contains(out, tt.last) {
				t.Errorf("rendered text lost %q (swallowed by a code block?):\n%s", tt.last, out)
			}
		})
	}
	// The raw Killercoda text is what glamour would swallow: this is the bug
	// the pre-pass prevents (if glamour ever changes, this documents it).
	raw, err := os.ReadFile("testdata/killercoda/step1/text.md")
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Render(string(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "{{exec}}") {
		t.Logf("glamour no longer shows raw annotations")
	}
}

func TestSolutionSummaries(t *testing.T) {
	for _, s := range []string{"Solution", "✅ Solution", "Lösung", "Solución", "solution (spoiler)"} {
		if !isSolutionSummary(s) {
			t.Errorf("%q is a solution summary", s)
		}
	}
	for _, s := range []string{"Hint", "Indice", "Tip", ""} {
		if isSolutionSummary(s) {
			t.Errorf("%q is not a solution summary", s)
		}
	}
}

// TestEmbeddedRender renders every page of every embedded lesson: no
// annotation, <details> or hint text may show, and each text segment's last
// line must survive (nothing swallowed into a code block).
func TestEmbeddedRender(t *testing.T) {
	r, err := glamour.NewTermRenderer(glamour.WithStandardStyle("notty"), glamour.WithWordWrap(0))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		pages := []*Page{l.Intro, l.Finish}
		for _, s := range l.Steps {
			pages = append(pages, &s.Page)
		}
		for _, p := range pages {
			if p == nil {
				continue
			}
			out, err := r.Render(p.Markdown)
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"{{exec", "{{copy", "{{execute", "<details", "<summary", "</details"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s: rendered text shows %q", l.FilePath(p.TextFile), bad)
				}
			}
			for _, h := range p.Hints {
				if first := firstWords(h.Markdown); first != "" && strings.Contains(out, first) {
					t.Errorf("%s:%d: hint %q is printed in the open", l.FilePath(p.TextFile), h.Line, h.Summary)
				}
			}
		}
	}
}

// firstWords is the first plain line of a hint (skipping fences), for a
// containment check that does not depend on glamour's styling.
func firstWords(md string) string {
	inFence := false
	for _, line := range strings.Split(md, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "```") || strings.HasPrefix(line, "~~~") {
			inFence = !inFence
			continue
		}
		if !inFence && len(line) > 40 && strings.IndexFunc(line, func(r rune) bool { return strings.ContainsRune("`*_[]<>#|", r) }) < 0 {
			return line[:40]
		}
	}
	return ""
}
