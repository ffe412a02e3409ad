package tui

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/runner"
)

// resize adapts the viewports to the terminal and re-renders the page (the
// glamour renderer is cached per width, so this is the only costly path).
func (m *lessonModel) resize() {
	tw := m.textWidth()
	m.text.vp.SetWidth(tw)
	m.out.vp.SetWidth(tw)
	m.help.SetWidth(m.c.width)
	if r, ok := m.be.(Resizer); ok && m.c.width > 0 {
		r.SetSize(tw, max(m.c.height/3, 10))
	}
	m.resizeTerm()
	m.recompose()
	m.refreshOutput()
}

// recompose builds the main pane: glamour-rendered text segments, blocks
// drawn and numbered by us, revealed hints, and the finish summary.
func (m *lessonModel) recompose() {
	if m.c.width == 0 {
		return
	}
	w := m.textWidth()
	p := m.page()
	var b strings.Builder
	m.text.blockLines = m.text.blockLines[:0]
	lines := 0
	add := func(s string) {
		if s == "" {
			return
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
			lines += 2
		}
		b.WriteString(s)
		lines += strings.Count(s, "\n") + 1
	}
	if m.nav.State == stateFinish {
		// Time spent and hints used come first: the finish page can be long.
		add(m.c.render.Render(m.t("tui.finish.summary", fmtDuration(m.elapsed()), m.prog.lp.HintsUsed(), len(m.l.Steps)), w))
	}
	switch {
	case p == nil && m.nav.State == stateIntro:
		add(m.c.render.Render("# "+m.l.Title+"\n\n"+m.l.Description+"\n\n"+m.t("tui.intro.default"), w))
	case p == nil && m.nav.State == stateFinish:
		add(m.c.render.Render("# "+m.t("tui.finish.title")+"\n\n"+m.t("tui.finish.default"), w))
	case p != nil:
		if m.nav.State == stateIntro && !strings.HasPrefix(strings.TrimSpace(p.Markdown), "#") {
			add(m.c.render.Render("# "+m.l.Title, w))
		}
		if len(p.Segments) == 0 {
			add(m.c.render.Render(p.Markdown, w))
		}
		sel := m.selected()
		for _, seg := range p.Segments {
			if seg.Block == nil {
				if strings.TrimSpace(seg.Markdown) != "" {
					add(m.c.render.Render(seg.Markdown, w))
				}
				continue
			}
			m.text.blockLines = append(m.text.blockLines, lines+2)
			add(m.drawBlock(seg.Block, seg.Block == sel, w))
		}
	}
	if s := m.step(); s != nil {
		hs := m.hints()
		for i := 0; i < m.prog.lp.Hints[s.Index] && i < len(hs); i++ {
			h := hs[i]
			label := m.t("tui.hint.title", i+1, len(hs))
			if h.Solution {
				label = m.t("tui.hint.solution")
			}
			md := "## " + label
			if h.Summary != "" {
				md += " · " + h.Summary
			}
			add(m.c.render.Render(md+"\n\n"+h.Markdown, w))
			// The hint's blocks are runnable once shown: say their numbers.
			for _, bl := range p.Blocks {
				if h.n != 0 && bl.Hint == h.n {
					mark := " "
					st := m.c.st.BlockLabel
					if bl == m.selected() {
						mark, st = m.c.sym.Sel, m.c.st.BlockLabelSel
					}
					add(st.Render(fmt.Sprintf("%s [%d] ", mark, bl.Index)) + m.c.st.Subtle.Render(m.t("tui.hint.block", fmtCmd(bl.Code, m.c.sym.Ellipsis))))
				}
			}
		}
	}
	m.text.content = b.String()
	m.text.vp.SetContent(m.text.content)
}

// drawBlock draws an exec/copy block: `[N] ▶ exécuter` and the code in a box,
// highlighted when selected.
func (m *lessonModel) drawBlock(bl *lessons.Block, selected bool, w int) string {
	st, sym := m.c.st, m.c.sym
	kind := m.t("tui.block.exec")
	if bl.Kind == lessons.BlockCopy {
		kind = m.t("tui.block.copy")
	}
	if bl.Interrupt {
		kind += " " + sym.Sep + " " + m.t("tui.block.interrupt")
	}
	num := fmt.Sprintf("[%d]", bl.Index)
	label := st.BlockLabel.Render(num) + " " + st.Subtle.Render(kind)
	box := st.Block
	if selected {
		label = st.BlockLabelSel.Render(sym.Sel+" "+num) + " " + st.Accent.Render(kind)
		box = st.BlockSel
	}
	code := st.Code.Render(strings.TrimRight(bl.Code, "\n"))
	inner := max(w-4, 12) // lipgloss v2: the width includes the border
	return lipgloss.JoinVertical(lipgloss.Left,
		" "+label,
		lipgloss.NewStyle().MarginLeft(1).Render(box.Width(inner).Render(code)),
	)
}

// scrollToSel keeps the selected block visible.
func (m *lessonModel) scrollToSel() {
	p := m.page()
	if p == nil || m.text.sel < 0 {
		return
	}
	// blockLines is in segment order; find the drawn position of the selection.
	n := 0
	for _, seg := range p.Segments {
		if seg.Block == nil {
			continue
		}
		if seg.Block == m.selected() && n < len(m.text.blockLines) {
			line := m.text.blockLines[n]
			if line < m.text.vp.YOffset() || line+3 > m.text.vp.YOffset()+m.text.vp.Height() {
				m.text.vp.SetYOffset(max(line-2, 0))
			}
			return
		}
		n++
	}
}

// refreshOutput puts the command output in its viewport, following the tail.
func (m *lessonModel) refreshOutput() {
	if m.out.run == nil {
		m.out.vp.SetContent("")
		return
	}
	text := strings.TrimRight(runner.Plain(string(m.out.run.out)), "\n")
	if lines := strings.Split(text, "\n"); len(lines) > maxOutLines {
		text = strings.Join(lines[len(lines)-maxOutLines:], "\n")
	}
	if m.out.run.done && m.out.run.err != nil {
		text += "\n" + m.c.st.Fail.Render(m.t("tui.run.error", m.out.run.err))
	}
	if m.out.vp.Width() > 0 {
		text = lipgloss.NewStyle().Width(m.out.vp.Width()).Render(text)
	}
	m.out.vp.SetContent(text)
	if m.out.tail {
		m.out.vp.GotoBottom()
	}
}

// view draws the lesson screen: header, banner, main pane, objectives,
// output, status and help.
func (m *lessonModel) view() string {
	if m.trust != nil {
		return m.trustView()
	}
	w, h := m.c.width, m.c.height
	top := []string{m.header()}
	if b := m.banner(); b != "" {
		top = append(top, b)
	}
	topS := strings.Join(top, "\n")
	tail := m.tailView()
	// The text keeps at least a third of the screen: on a small terminal the
	// output pane shrinks first, then objective details go.
	minText := max(h/3, 4)
	obj := m.objectivesView(false)
	fixed := lipgloss.Height(topS) + lipgloss.Height(tail)
	if obj != "" {
		fixed += lipgloss.Height(obj)
		if h-fixed < minText {
			obj = m.objectivesView(true)
			fixed = lipgloss.Height(topS) + lipgloss.Height(tail) + lipgloss.Height(obj)
		}
	}
	lay := m.layout()
	tw := m.textWidth()
	paneH := 0
	if lay == paneBelow {
		paneH = max(h*2/5, 8)
		fixed += paneH
	}
	out, fixed := m.outputLines(h, fixed, minText)
	if lay == paneBeside {
		fixed = lipgloss.Height(topS) + lipgloss.Height(tail) + len(out)
		if out != nil {
			fixed += lipgloss.Height(out[len(out)-1]) - 1
		}
		if obj != "" {
			fixed += lipgloss.Height(obj)
		}
	}
	m.text.vp.SetHeight(max(h-fixed, 1))
	main := m.text.vp.View()
	if m.nav.List {
		main = m.listView(m.text.vp.Height())
	}
	left := []string{main}
	if obj != "" {
		left = append(left, obj)
	}
	left = append(left, out...)
	parts := []string{topS}
	switch lay {
	case paneBeside:
		colH := h - lipgloss.Height(topS) - lipgloss.Height(tail)
		col := lipgloss.NewStyle().Width(tw).MaxWidth(tw).Height(colH).MaxHeight(colH).Render(strings.Join(left, "\n"))
		m.sizePane(w-tw-1, colH)
		m.tp.x, m.tp.y = tw+2, lipgloss.Height(topS)+1
		parts = append(parts, lipgloss.JoinHorizontal(lipgloss.Top, col, " ", m.termView(w-tw-1, colH)))
	case paneBelow:
		above := strings.Join(left, "\n")
		m.sizePane(w, paneH)
		m.tp.x, m.tp.y = 1, lipgloss.Height(topS)+lipgloss.Height(above)+1
		parts = append(parts, above, m.termView(w, paneH))
	default:
		parts = append(parts, left...)
	}
	parts = append(parts, tail)
	return lipgloss.NewStyle().MaxWidth(w).MaxHeight(h).Render(strings.Join(parts, "\n"))
}

// tailView is the bottom of the screen: the setup's progress, the status line and the help.
func (m *lessonModel) tailView() string {
	help := m.help.ShortHelpView(m.keys.ShortHelp())
	if m.text.showHelp {
		help = m.help.FullHelpView(m.keys.FullHelp())
	}
	tail := m.statusLine() + "\n" + help
	if pv := m.prepView(); pv != "" {
		tail = pv + "\n" + tail
	}
	return tail
}

// outputLines is the output pane of a block's run (its title, and its text when open) in a screen of
// height h whose other parts take fixed lines, leaving the text at least minText; it returns the
// lines and fixed grown by them.
func (m *lessonModel) outputLines(h, fixed, minText int) ([]string, int) {
	if m.out.run == nil {
		return nil, fixed
	}
	out := []string{m.outputTitle()}
	fixed++
	if !m.out.open {
		return out, fixed
	}
	if n := min(h/3, m.out.vp.TotalLineCount(), h-fixed-minText); n >= 1 {
		m.out.vp.SetHeight(n)
		if m.out.tail {
			m.out.vp.GotoBottom()
		}
		out = append(out, m.out.vp.View())
		fixed += n
	}
	return out, fixed
}

// header: lesson title and cluster on one line, step and progress on the next.
func (m *lessonModel) header() string {
	st, sym, w := m.c.st, m.c.sym, m.c.width
	left := st.Title.Render("klab") + st.Subtle.Render(" "+sym.Sep+" ") + lipgloss.NewStyle().Bold(true).Render(m.l.Title)
	var right string
	switch {
	case m.conn.up && m.conn.err != nil:
		right = st.Fail.Render(sym.Dot) + " " + m.conn.cluster.Name + " " + st.Fail.Render(m.t("tui.cluster.unreachable"))
	case m.conn.up:
		right = st.Pass.Render(sym.Dot) + " " + m.conn.cluster.Name
	case m.conn.err != nil:
		right = st.Fail.Render(sym.Dot) + " " + m.t("tui.cluster.unreachable")
	default:
		right = st.Pending.Render(sym.Dot) + " " + m.t("tui.cluster.connecting")
	}
	line1 := spread(left, right, w)

	n := len(m.l.Steps)
	var where string
	switch m.nav.State {
	case stateIntro:
		where = m.t("tui.header.intro")
	case stateFinish:
		where = m.t("tui.header.finish")
	default:
		s := m.step()
		where = m.t("tui.header.step", s.Index, n) + " " + sym.Sep + " " + s.Title
	}
	done := m.prog.lp.unlockedIn(n)
	bar := m.bar(done, n, 20) + st.Subtle.Render(fmt.Sprintf(" %d/%d", done, n))
	line2 := spread(st.Accent.Render(truncate(where, w-lipgloss.Width(bar)-2)), bar, w)
	return line1 + "\n" + line2
}

func (m *lessonModel) bar(done, total, width int) string {
	if total == 0 {
		return ""
	}
	full := done * width / total
	return m.c.st.BarFull.Render(strings.Repeat(m.c.sym.Bar, full)) +
		m.c.st.BarEmpty.Render(strings.Repeat(m.c.sym.BarEmpty, width-full))
}

// spread puts left and right at both ends of a line of width w.
func spread(left, right string, w int) string {
	gap := w - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		return left
	}
	return left + strings.Repeat(" ", gap) + right
}

// banner explains an unreachable cluster; the text stays readable below.
func (m *lessonModel) banner() string {
	if m.conn.err == nil {
		if m.untrusted {
			return m.c.st.Warn.Render(truncate(m.t("tui.trust.banner"), m.c.width))
		}
		return ""
	}
	w := m.c.width
	reason := strings.ReplaceAll(m.conn.err.Error(), "\n", " ")
	// The reason may be long (a sandbox that cannot start): two lines at most.
	l1 := m.c.st.Banner.Width(w).Render(truncate(m.t("tui.cluster.banner", reason), 2*(w-2)))
	delay := m.c.cfg.RetryDelay
	if m.conn.up {
		delay = m.c.cfg.PingEvery
	}
	l2 := m.c.st.Warn.Render(truncate(m.t("tui.cluster.hint", fmtDuration(delay)), w))
	return l1 + "\n" + l2
}

// objectivesView lists the step's objectives; the first failing one shows
// its message and hint, and its diff on `d`.
func (m *lessonModel) objectivesView(compact bool) string {
	s := m.step()
	if s == nil || len(s.Objectives) == 0 {
		return ""
	}
	st, sym, w := m.c.st, m.c.sym, m.textWidth()
	byID := map[string]ObjectiveResult{}
	for _, r := range m.obj.results {
		byID[r.ID] = r
	}
	passed := 0
	for _, o := range s.Objectives {
		if r, ok := byID[o.ID]; ok && r.Status == StatusPass {
			passed++
		}
	}
	title := st.Subtle.Render(strings.Repeat(m.c.sym.BarEmpty, 2)+" ") + st.Title.Render(m.t("tui.objectives.title")) +
		st.Subtle.Render(fmt.Sprintf(" %d/%d", passed, len(s.Objectives)))
	lines := []string{title}
	detailShown := compact // compact: titles only
	for _, o := range s.Objectives {
		r, ok := byID[o.ID]
		name := o.Title
		if name == "" {
			name = o.ID
		}
		var mark string
		switch {
		case !ok || r.Status == StatusPending:
			mark = st.Pending.Render(sym.Pending)
		case r.Status == StatusPass:
			mark = st.Pass.Render(sym.Pass)
		case r.Status == StatusError:
			mark = st.Warn.Render(sym.Fail)
		default:
			mark = st.Fail.Render(sym.Fail)
		}
		lines = append(lines, " "+mark+" "+truncate(name, w-4))
		if ok && r.Untrusted {
			if !compact {
				lines = append(lines, "   "+st.Warn.Render(truncate(m.t("tui.trust.objective"), w-4)))
			}
			continue
		}
		if ok && !detailShown && (r.Status == StatusFail || r.Status == StatusError) {
			detailShown = true
			if r.Message != "" {
				lines = append(lines, "   "+st.Subtle.Render(truncate(strings.ReplaceAll(r.Message, "\n", " "), w-4)))
			}
			if r.Hint != "" {
				lines = append(lines, "   "+st.Accent.Render(truncate(m.t("tui.objectives.hint", r.Hint), w-4)))
			}
			if r.Diff != "" {
				if m.obj.showDiff {
					dl := strings.Split(strings.TrimRight(r.Diff, "\n"), "\n")
					if len(dl) > 8 {
						dl = append(dl[:8], sym.Ellipsis)
					}
					for _, d := range dl {
						lines = append(lines, "   "+truncate(d, w-4))
					}
				} else {
					lines = append(lines, "   "+st.Subtle.Render(m.t("tui.objectives.diff_key")))
				}
			}
		}
	}
	return strings.Join(lines, "\n")
}

// outputTitle is `$ cmd` with the state of the run.
func (m *lessonModel) outputTitle() string {
	st, sym, w := m.c.st, m.c.sym, m.textWidth()
	r := m.out.run
	var state string
	switch {
	case !r.done:
		state = st.Pending.Render(m.t("tui.run.running"))
	case r.res.Interrupted:
		state = st.Warn.Render(m.t("tui.run.stopped", fmtDuration(r.res.Duration)))
	case r.err == nil && r.res.ExitCode == 0:
		state = st.Pass.Render(sym.Pass+" ") + st.Subtle.Render(m.t("tui.run.exit", r.res.ExitCode, fmtDuration(r.res.Duration)))
	default:
		state = st.Fail.Render(sym.Fail+" ") + st.Subtle.Render(m.t("tui.run.exit", r.res.ExitCode, fmtDuration(r.res.Duration)))
	}
	fold := "▾"
	if !m.out.open {
		fold = "▸"
	}
	if m.c.cfg.ASCII {
		fold = "v"
		if !m.out.open {
			fold = ">"
		}
	}
	cmd := st.OutTitle.Render(fmt.Sprintf("%s [%d] $ ", fold, r.block.Index)) + fmtCmd(r.block.Code, sym.Ellipsis)
	if r.block.Index == 0 { // a page's foreground script, run in view
		cmd = st.OutTitle.Render(fmt.Sprintf("%s %s $ ", fold, r.block.File)) + fmtCmd(r.block.Code, sym.Ellipsis)
	}
	return spread(truncate(cmd, w-lipgloss.Width(state)-2), state, w)
}

// statusLine shows a prompt, a toast, or what to do next.
func (m *lessonModel) statusLine() string {
	st := m.c.st
	switch {
	case m.prompt == promptSolution:
		return st.Prompt.Render(m.t("tui.hint.confirm_solution"))
	case m.prompt == promptReset:
		return st.Prompt.Render(m.t("tui.reset.confirm"))
	case m.warn != "" && m.toast == "":
		m.toast = m.t("tui.progress.corrupt", m.warn)
		m.warn = ""
	}
	if m.toast != "" {
		if m.toastOK {
			return st.Toast.Render(m.toast)
		}
		return st.Warn.Render(m.toast)
	}
	switch m.nav.State {
	case stateIntro:
		if len(m.l.Steps) == 0 {
			return st.Accent.Render(m.t("tui.intro.no_steps"))
		}
		return st.Accent.Render(m.t("tui.intro.start"))
	case stateFinish:
		return st.Pass.Render(m.t("tui.finish.done"))
	}
	if m.nav.canNext(m.prog.lp.IsUnlocked) {
		if m.nav.Step == len(m.l.Steps) {
			return st.Pass.Render(m.c.sym.Pass + " " + m.t("tui.step.next_finish"))
		}
		return st.Pass.Render(m.c.sym.Pass + " " + m.t("tui.step.next"))
	}
	if b := m.selected(); b != nil && (b.Inline || b.Hint != 0) {
		return st.Accent.Render(fmt.Sprintf("%s [%d] ", m.c.sym.Sel, b.Index)) + fmtCmd(b.Code, m.c.sym.Ellipsis)
	}
	return ""
}

// listView is the step list (`l`): unlocked steps can be opened.
func (m *lessonModel) listView(height int) string {
	st, sym := m.c.st, m.c.sym
	lines := []string{st.Title.Render(m.t("tui.list.title")), ""}
	for _, s := range m.l.Steps {
		mark := st.Subtle.Render(sym.Lock)
		switch {
		case m.prog.lp.IsUnlocked(s.Index):
			mark = st.Pass.Render(sym.Pass)
		case m.nav.reachable(s.Index, m.prog.lp.IsUnlocked):
			mark = st.Pending.Render(sym.Dot)
		}
		line := fmt.Sprintf("%s %d. %s", mark, s.Index, s.Title)
		if s.Index == m.nav.Cursor {
			line = st.Selected.Render(sym.Sel+" ") + line
		} else {
			line = "  " + line
		}
		lines = append(lines, line)
	}
	lines = append(lines, "", st.Subtle.Render(m.t("tui.list.help")))
	if len(lines) > height {
		lines = lines[:height]
	}
	return lipgloss.NewStyle().Height(height).Render(strings.Join(lines, "\n"))
}
