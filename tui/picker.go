package tui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/klabdev/klab/lessons"
)

type pickResult int

const (
	pickNone pickResult = iota
	pickOpen
	pickQuit
)

// pickerModel lists the embedded lessons with the learner's progress.
type pickerModel struct {
	c       *common
	lessons []*lessons.Lesson
	prog    *Progress
	cursor  int
}

func newPicker(c *common, ls []*lessons.Lesson, prog *Progress) pickerModel {
	return pickerModel{c: c, lessons: ls, prog: prog}
}

func (p *pickerModel) update(k tea.KeyMsg) pickResult {
	switch k.String() {
	case "up", "k", "shift+tab":
		if p.cursor > 0 {
			p.cursor--
		}
	case "down", "j", "tab":
		if p.cursor < len(p.lessons)-1 {
			p.cursor++
		}
	case "enter", "right", "l":
		if len(p.lessons) > 0 {
			return pickOpen
		}
	case "q", "ctrl+c", "esc":
		return pickQuit
	default:
		if n := int(k.String()[0] - '0'); len(k.String()) == 1 && n >= 1 && n <= len(p.lessons) {
			p.cursor = n - 1
			return pickOpen
		}
	}
	return pickNone
}

func (p *pickerModel) view() string {
	lang := p.c.cfg.Lang
	if lang == "" && len(p.lessons) > 0 {
		lang = p.lessons[0].Lang
	}
	t := p.c.catalog(lang).T
	st, sym := p.c.st, p.c.sym
	var b strings.Builder
	b.WriteString(st.Title.Render("klab") + " " + st.Subtle.Render(sym.Sep+" "+t("tui.picker.title")) + "\n\n")
	if len(p.lessons) == 0 {
		b.WriteString(st.Warn.Render(t("tui.picker.empty")) + "\n")
	}
	for i, l := range p.lessons {
		done := 0
		if lp := p.prog.Lessons[l.ID]; lp != nil {
			done = lp.unlockedIn(len(l.Steps))
		}
		mark := "  "
		title := l.Title
		if i == p.cursor {
			mark = st.Selected.Render(sym.Sel + " ")
			title = st.Selected.Render(title)
		}
		status := st.Subtle.Render(t("tui.picker.progress", done, len(l.Steps)))
		if done == len(l.Steps) && done > 0 {
			status = st.Pass.Render(sym.Pass + " " + t("tui.picker.done"))
		}
		fmt.Fprintf(&b, "%s%d. %s  %s\n", mark, i+1, title, status)
		if l.Description != "" {
			b.WriteString("     " + st.Subtle.Render(truncate(l.Description, p.c.width-6)) + "\n")
		}
	}
	b.WriteString("\n" + st.Subtle.Render(t("tui.picker.help")))
	return b.String()
}

// truncate cuts s, styled or not, to n cells with an ellipsis.
func truncate(s string, n int) string {
	if n <= 1 {
		return s
	}
	return ansi.Truncate(s, n, "…")
}
