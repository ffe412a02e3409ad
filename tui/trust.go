package tui

import (
	"context"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/klabdev/klab/internal/trust"
)

// Truster is implemented by backends whose lesson holds scripts of its own
// (background, foreground, verify, solution): until Trusted, the UI runs
// none of them, shows the lesson, runs exec blocks and evaluates
// declarative objectives; Trust is called from a tea.Cmd once the learner
// said yes on the trust screen.
type Truster interface {
	Trusted() bool
	Scripts() []trust.Script
	Trust(ctx context.Context) error
}

// trustedMsg says the learner's trust was recorded (or could not be).
type trustedMsg struct{ err error }

// trustAct is what a key asks for on the trust screen.
type trustAct int

const (
	trustNone trustAct = iota
	trustUp
	trustDown
	trustPageUp
	trustPageDown
	trustYes
	trustLater
	trustQuit
)

// trustKey maps a key of the trust screen to its action (pure).
func trustKey(k string) trustAct {
	switch k {
	case "up", "k":
		return trustUp
	case "down", "j":
		return trustDown
	case "pgup", "b":
		return trustPageUp
	case "pgdown", "space", "f":
		return trustPageDown
	case "y", "Y", "o", "O":
		return trustYes
	case "n", "N", "esc", "q":
		return trustLater
	case "ctrl+c":
		return trustQuit
	}
	return trustNone
}

// trustScreen lists the lesson's scripts, whole, and asks once.
type trustScreen struct {
	scripts []trust.Script
	vp      viewport.Model
	width   int
}

func newTrustScreen(scripts []trust.Script) *trustScreen {
	return &trustScreen{scripts: scripts, vp: viewport.New()}
}

// trustContent is every script: a title line (path, role, size), then its
// whole text, numbered.
func (m *lessonModel) trustContent(w int) string {
	st := m.c.st
	var b strings.Builder
	for i, s := range m.trust.scripts {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(st.Title.Render(truncate(m.t("tui.trust.script", s.Path, m.t("tui.trust.role."+s.Role), s.Size), w)))
		b.WriteString("\n")
		lines := strings.Split(strings.TrimRight(s.Body, "\n"), "\n")
		for n, l := range lines {
			l = strings.ReplaceAll(l, "\t", "    ")
			b.WriteString(st.Subtle.Render(fmt.Sprintf("%4d ", n+1)))
			b.WriteString(truncate(l, w-6))
			b.WriteString("\n")
		}
	}
	return b.String()
}

// openTrust shows the trust screen (when the lesson is not trusted yet).
func (m *lessonModel) openTrust() {
	tr, ok := m.be.(Truster)
	if !ok || !m.untrusted {
		return
	}
	m.trust = newTrustScreen(tr.Scripts())
	m.sizeTrust()
}

// sizeTrust fits the trust screen's viewport to the terminal.
func (m *lessonModel) sizeTrust() {
	if m.trust == nil {
		return
	}
	w, h := max(m.c.width, 20), max(m.c.height, 10)
	m.trust.vp.SetWidth(w)
	m.trust.vp.SetHeight(max(h-6, 1))
	if m.trust.width != w {
		m.trust.width = w
		m.trust.vp.SetContent(m.trustContent(w - 1))
	}
}

// trustUpdate handles a key on the trust screen.
func (m *lessonModel) trustUpdate(k tea.KeyMsg) tea.Cmd {
	switch trustKey(k.String()) {
	case trustUp:
		m.trust.vp.ScrollUp(1)
	case trustDown:
		m.trust.vp.ScrollDown(1)
	case trustPageUp:
		m.trust.vp.PageUp()
	case trustPageDown:
		m.trust.vp.PageDown()
	case trustLater:
		m.trust = nil
		return m.setToast(m.t("tui.trust.later"), false)
	case trustQuit:
		return m.quit()
	case trustYes:
		m.trust = nil
		tr, ctx := m.be.(Truster), m.ctx
		return func() tea.Msg { return trustedMsg{err: tr.Trust(ctx)} }
	}
	return nil
}

// onTrusted starts what trust unlocks: the page's scripts and the script
// objectives.
func (m *lessonModel) onTrusted(msg trustedMsg) tea.Cmd {
	if msg.err != nil {
		m.c.logf("trust: %v", msg.err)
		return m.setToast(m.t("tui.trust.failed", msg.err), false)
	}
	m.untrusted = false
	return tea.Batch(m.setToast(m.t("tui.trust.done"), true), m.enterCmd(m.step()), m.watchCmd())
}

// trustView draws the trust screen.
func (m *lessonModel) trustView() string {
	st, w := m.c.st, m.c.width
	m.sizeTrust()
	head := []string{
		m.header(),
		st.Warn.Render(truncate(m.t("tui.trust.title", len(m.trust.scripts)), w)),
		st.Subtle.Render(truncate(m.t("tui.trust.explain"), w)),
	}
	pct := fmt.Sprintf(" %3.f%%", m.trust.vp.ScrollPercent()*100)
	foot := []string{
		st.Subtle.Render(strings.Repeat(m.c.sym.BarEmpty, max(w-len(pct), 1))) + st.Subtle.Render(pct),
		truncate(m.t("tui.trust.keys"), w),
	}
	parts := append(append([]string(nil), head...), m.trust.vp.View())
	parts = append(parts, foot...)
	return lipgloss.NewStyle().MaxWidth(w).MaxHeight(m.c.height).Render(strings.Join(parts, "\n"))
}
