package lessons

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
)

// Where a step's solution comes from (Step.Solve).
const (
	SolutionFromScript = "script" // the step's solution file (klab key)
	SolutionFromBlocks = "blocks" // the step's exec blocks
	SolutionFromHint   = "hint"   // the code of its Solution <details>
)

// HintCode is a fenced code block of a hint, annotated or not.
type HintCode struct {
	Lang string `json:"lang,omitempty"`
	Code string `json:"code"`
	Line int    `json:"line"` // of its first code line in the page's file
	// Manifest says the code is Kubernetes YAML (apiVersion and kind):
	// applying it solves the hint.
	Manifest bool `json:"manifest,omitempty"`
}

// shellLangs are fence languages that hold commands (no language too).
var shellLangs = map[string]bool{"": true, "sh": true, "bash": true, "shell": true, "console": true, "zsh": true, "plain": true, "text": true, "plaintext": true}

var (
	manifestAPIVersion = regexp.MustCompile(`(?m)^\s*(- )?apiVersion:\s*\S`)
	manifestKind       = regexp.MustCompile(`(?m)^\s*(- )?kind:\s*\S`)
	yamlLangs          = map[string]bool{"yaml": true, "yml": true, "": true, "plain": true, "text": true}
)

// isManifest reports whether code (a fence of language lang) is
// Kubernetes YAML rather than commands.
func isManifest(lang, code string) bool {
	if !yamlLangs[lang] || !manifestAPIVersion.MatchString(code) || !manifestKind.MatchString(code) {
		return false
	}
	// A command with a heredoc mentions apiVersion too: commands come first.
	first := strings.TrimSpace(strings.SplitN(strings.TrimSpace(code), "\n", 2)[0])
	return strings.HasPrefix(first, "apiVersion:") || strings.HasPrefix(first, "kind:") ||
		strings.HasPrefix(first, "---") || strings.HasPrefix(first, "#") || strings.HasPrefix(first, "- ")
}

// hintCode lists the fenced blocks of a hint's markdown (first is the
// line of the hint's first markdown line in its file).
func (ld *loader) hintCode(md string, first int) []HintCode {
	src := []byte(md)
	idx := newLineIndex(src)
	doc := ld.mdParser().Parse(text.NewReader(src))
	var out []HintCode
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		fc, ok := n.(*ast.FencedCodeBlock)
		if !entering || !ok {
			return ast.WalkContinue, nil
		}
		lines := fc.Lines()
		code := fenceText(fc, src)
		if strings.TrimSpace(code) == "" {
			return ast.WalkSkipChildren, nil
		}
		lang := strings.ToLower(string(fc.Language(src)))
		line := first
		if lines.Len() > 0 {
			line = first + idx.line(lines.At(0).Start) - 1
		}
		out = append(out, HintCode{Lang: lang, Code: code, Line: line, Manifest: isManifest(lang, code)})
		return ast.WalkSkipChildren, nil
	})
	return out
}

// hasPageExec reports whether the step has exec blocks outside its hints.
func (s *Step) hasPageExec() bool {
	for _, b := range s.Blocks {
		if b.Kind == BlockExec && b.Hint == 0 {
			return true
		}
	}
	return false
}

// HintSolution is the script made of the step's Solution hint, used when
// the step has no solution file and no exec block outside its hints:
// manifests are applied, command fences run as written, other fences (a
// config file to write by hand) are left out. Nil otherwise. Its Path
// names the hint ("step1.md:12 (Solution)").
func (s *Step) HintSolution() *Script {
	h := s.SolutionHint
	if s.Solution != nil || s.hasPageExec() || h == nil {
		return nil
	}
	var b strings.Builder
	for i, c := range h.Code {
		switch {
		case c.Manifest:
			delim := fmt.Sprintf("KLAB_MANIFEST_%d", i+1)
			fmt.Fprintf(&b, "kubectl apply -f - <<'%s'\n%s\n%s\n", delim, c.Code, delim)
		case shellLangs[c.Lang]:
			b.WriteString(c.Code)
			b.WriteString("\n")
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return &Script{Path: fmt.Sprintf("%s:%d (%s)", s.TextFile, h.Line, h.Summary), Body: b.String()}
}

// Solve is what `klab validate` runs to solve the step and where it comes
// from: the solution file, else the exec blocks (nil script: run them one
// by one), else the Solution hint. from is "" when the step has none.
func (s *Step) Solve() (script *Script, from string) {
	switch {
	case s.Solution != nil:
		return s.Solution, SolutionFromScript
	case s.hasPageExec():
		return nil, SolutionFromBlocks
	}
	if hs := s.HintSolution(); hs != nil {
		return hs, SolutionFromHint
	}
	for _, b := range s.Blocks {
		if b.Kind == BlockExec {
			return nil, SolutionFromBlocks // exec blocks in ordinary hints
		}
	}
	return nil, ""
}

// interactiveRe finds, at a command position, a command that waits for a
// person: editors, pagers, read, and kubectl's interactive verbs.
var interactiveRe = regexp.MustCompile(`(?m)(?:^|[;&|(` + "`" + `]|\$\(|\bthen\b|\bdo\b|\bsudo\s+)\s*` +
	`((?:kubectl|k)\s+(?:edit\b|(?:exec|run|attach)\b[^\n;&|]*\s(?:-it|-ti|-i|--stdin|--tty|-t)\b)` +
	`|(?:vi|vim|nvim|nano|emacs|pico|joe|mcedit|less|more|top|htop)\b|read\b(?:\s|$))`)

// InteractiveCommand returns the first command of code that waits for a
// person at the keyboard (kubectl edit, vi, nano, read …), "" when none:
// validate cannot run it, it would hang.
func InteractiveCommand(code string) string {
	for _, line := range strings.Split(code, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if g := interactiveRe.FindStringSubmatch(line); g != nil {
			f := strings.Fields(g[1])
			if len(f) > 1 && (f[0] == "kubectl" || f[0] == "k") {
				return f[0] + " " + f[1]
			}
			return f[0]
		}
	}
	return ""
}
