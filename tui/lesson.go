package tui

import (
	"context"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	osc52 "github.com/aymanbagabas/go-osc52/v2"

	"github.com/klabdev/klab/assets"
	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/verify"
)

// promptKind is a pending yes/no question.
type promptKind int

const (
	promptNone promptKind = iota
	promptSolution
	promptReset
)

// runState is the running or last command.
type runState struct {
	id          int
	block       *lessons.Block
	out         []byte // the output's last maxOutput bytes
	done        bool
	res         RunResult
	err         error
	cancel      context.CancelFunc
	interrupted bool // Ctrl+C was pressed once
}

// maxOutput bounds the output kept for the pane (streams such as `-w` run
// for long: the pane shows their tail); maxOutLines bounds what is drawn.
const (
	maxOutput   = 64 << 10
	maxOutLines = 500
	outputFlush = 50 * time.Millisecond
)

// lessonModel is one open lesson: intro, steps, finish.
type lessonModel struct {
	c    *common
	l    *lessons.Lesson
	msg  *assets.Messages
	keys keyMap
	help help.Model
	be   Backend
	ctx  context.Context

	nav  nav
	warn string

	conn  connPart
	prog  progressPart
	text  textPart
	obj   objectivesPart
	out   outputPart
	pages pagePart
	tp    termPart  // the terminal pane (terminal.go)
	prep  prepState // the environment being prepared (background scripts), prepare.go

	// untrusted: the lesson's scripts may not run yet; trust is the trust
	// screen when open.
	untrusted bool
	trust     *trustScreen

	prompt   promptKind
	toast    string
	toastOK  bool
	toastID  int
	quitting bool
}

func newLessonModel(ctx context.Context, c *common, l *lessons.Lesson, prog *Progress, warn string) *lessonModel {
	m := &lessonModel{c: c, l: l, ctx: ctx, warn: warn}
	m.prog.all = prog
	m.text.sel = -1
	m.pages.entered = map[*lessons.Page]bool{}
	m.msg = c.catalog(l.Lang)
	m.keys = newKeyMap(m.msg.T)
	m.help = help.New()
	m.help.Styles.ShortKey = lipgloss.NewStyle().Bold(true)
	m.help.Styles.FullKey = lipgloss.NewStyle().Bold(true)
	m.help.Styles.ShortDesc = c.st.Subtle
	m.help.Styles.FullDesc = c.st.Subtle
	m.help.Styles.ShortSeparator = c.st.Subtle
	m.help.Styles.FullSeparator = c.st.Subtle
	m.help.Styles.Ellipsis = c.st.Subtle
	if c.cfg.NewBackend != nil {
		m.be = c.cfg.NewBackend(l)
	}
	if c.cfg.Restart {
		delete(prog.Lessons, l.ID)
	}
	m.prog.lp = prog.lesson(l.ID)
	for k, v := range m.prog.lp.Hints { // a hand-edited file must not crash us
		if v < 0 {
			m.prog.lp.Hints[k] = 0
		}
	}
	m.prog.base = max(time.Duration(m.prog.lp.Elapsed), 0)
	m.prog.since = c.now()
	m.nav = resume(m.prog.lp, len(l.Steps))
	m.text.vp = viewport.New()
	m.out.vp = viewport.New()
	m.resize()
	if tr, ok := m.be.(Truster); ok && !tr.Trusted() {
		m.untrusted = true
		m.openTrust() // asked once, when the lesson opens
	}
	return m
}

func (m *lessonModel) t(key string, args ...any) string { return m.msg.T(key, args...) }

func (m *lessonModel) init() tea.Cmd {
	m.conn.dialing = true
	return tea.Batch(m.connectCmd(), m.onEnterPage())
}

// step is the current step, nil outside steps.
func (m *lessonModel) step() *lessons.Step {
	if m.nav.State != stateStep || m.nav.Step < 1 || m.nav.Step > len(m.l.Steps) {
		return nil
	}
	return m.l.Steps[m.nav.Step-1]
}

// page is the page on screen.
func (m *lessonModel) page() *lessons.Page {
	switch m.nav.State {
	case stateIntro:
		return m.l.Intro
	case stateFinish:
		return m.l.Finish
	}
	if s := m.step(); s != nil {
		return &s.Page
	}
	return nil
}

// ---- commands ----

func (m *lessonModel) connectCmd() tea.Cmd {
	m.conn.gen++
	gen, be, ctx := m.conn.gen, m.be, m.ctx
	if be == nil {
		return nil
	}
	return func() tea.Msg {
		info, err := be.Connect(ctx)
		return connectedMsg{gen: gen, info: info, err: err}
	}
}

// enterCmd runs the scripts of the intro (once a session) and of step s
// (when it is not done yet), in that order.
func (m *lessonModel) enterCmd(s *lessons.Step) tea.Cmd {
	if !m.conn.up || m.be == nil || m.untrusted {
		return nil
	}
	var pages []*lessons.Page
	if in := m.l.Intro; in != nil && !m.pages.entered[in] && (in.Background != nil || in.Foreground != nil) {
		pages = append(pages, in)
	}
	if s != nil && !m.pages.entered[&s.Page] && !m.prog.lp.IsUnlocked(s.Index) && (s.Background != nil || s.Foreground != nil) {
		pages = append(pages, &s.Page)
	}
	if len(pages) == 0 {
		return nil
	}
	for _, p := range pages {
		m.pages.entered[p] = true
	}
	be, ctx, pctx := m.be, m.ctx, m.stepScriptsCtx(s, pages)
	idx := 0
	if s != nil {
		idx = s.Index
	}
	// A step's scripts end when its page is left (pagectx.go); the intro's live as long as klab.
	ctxOf := func(p *lessons.Page) context.Context {
		if s != nil && p == &s.Page {
			return pctx
		}
		return ctx
	}
	if bs, ok := be.(BackgroundStarter); ok {
		return func() tea.Msg {
			fg, err := startPages(ctxOf, bs, pages)
			return enteredMsg{step: idx, err: err, fg: fg}
		}
	}
	return func() tea.Msg {
		for _, p := range pages {
			if err := be.EnterPage(ctxOf(p), p); err != nil {
				return enteredMsg{step: idx, err: err}
			}
		}
		return enteredMsg{step: idx}
	}
}

func (m *lessonModel) watchCmd() tea.Cmd {
	m.obj.stop()
	s := m.step()
	if s == nil || !m.conn.up || len(s.Objectives) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(m.ctx)
	m.obj.cancel = cancel
	gen, be := m.obj.gen, m.be
	return func() tea.Msg {
		ch := be.Watch(ctx, s)
		res, ok := <-ch
		if !ok {
			return nil
		}
		return resultsMsg{gen: gen, step: s.Index, res: res, ch: ch}
	}
}

func (m *lessonModel) checkCmd() tea.Cmd {
	s := m.step()
	if s == nil || !m.conn.up || len(s.Objectives) == 0 {
		return nil
	}
	be, ctx := m.be, m.ctx
	return func() tea.Msg { return checkedMsg{step: s.Index, res: be.Check(ctx, s)} }
}

func (m *lessonModel) saveCmd() tea.Cmd {
	m.prog.lp.Elapsed = Duration(m.elapsed())
	m.prog.lp.Updated = m.c.now().UTC()
	m.nav.save(m.prog.lp)
	seq, snap := m.c.store.snapshot(m.prog.all)
	sv := m.c.store
	return func() tea.Msg { return savedMsg{err: sv.save(seq, snap)} }
}

func (m *lessonModel) elapsed() time.Duration {
	return m.prog.elapsed(m.c.now())
}

func (m *lessonModel) runCmd(b *lessons.Block) tea.Cmd {
	if b.Kind == lessons.BlockCopy {
		return m.copyCmd(b)
	}
	if !m.conn.up {
		return m.setToast(m.t("tui.run.not_ready"), false)
	}
	if m.preparing() {
		m.prep.pending = b // run when the environment is ready, as typed ahead on Killercoda
		return m.setToast(m.t("tui.prep.wait"), false)
	}
	if m.tp.term != nil && m.layout() != paneNone {
		m.typeInTerm(b.Code, b.Interrupt)
		return m.setToast(m.t("tui.term.typed", b.Index), true)
	}
	if m.out.busy() {
		if !b.Interrupt {
			return m.setToast(m.t("tui.run.busy"), false)
		}
		m.out.run.cancel()
	}
	return m.startRun(b)
}

// startRun runs b in the output pane, streaming its output.
func (m *lessonModel) startRun(b *lessons.Block) tea.Cmd {
	m.out.seq++
	ctx, cancel := context.WithCancel(m.ctx)
	rs := &runState{id: m.out.seq, block: b, cancel: cancel}
	m.out.run = rs
	m.out.open, m.out.tail = true, true
	m.refreshOutput()
	be, id, done := m.be, rs.id, m.ctx.Done()
	// The run streams its output through ch; each message re-issues the
	// command that waits for the next one.
	return func() tea.Msg {
		ch := make(chan tea.Msg, 64)
		go func() {
			defer close(ch)
			res, err := be.Run(ctx, b, func(p []byte) {
				select {
				case ch <- outputMsg{id: id, data: append([]byte(nil), p...), ch: ch}:
				case <-done:
				}
			})
			cancel()
			select {
			case ch <- runDoneMsg{id: id, res: res, err: err}:
			case <-done:
			}
		}()
		return waitOutput(ch)()
	}
}

func (m *lessonModel) copyCmd(b *lessons.Block) tea.Cmd {
	w := m.c.cfg.Clipboard
	if w == nil {
		return m.setToast(m.t("tui.copy.unavailable"), false)
	}
	code := strings.TrimRight(b.Code, "\n")
	return func() tea.Msg {
		_, err := osc52.New(code).WriteTo(w)
		return copiedMsg{err: err}
	}
}

func (m *lessonModel) resetCmd() tea.Cmd {
	s := m.step()
	if s == nil || !m.conn.up {
		return m.setToast(m.t("tui.run.not_ready"), false)
	}
	if m.out.busy() {
		m.out.run.cancel()
	}
	be, ctx := m.be, m.ctx
	toast := m.setToast(m.t("tui.reset.running"), true)
	return tea.Batch(toast, func() tea.Msg { return resetMsg{step: s.Index, err: be.ResetStep(ctx, s)} })
}

// pingLater schedules the next reachability check of a connected cluster.
func (m *lessonModel) pingLater() tea.Cmd {
	if _, ok := m.be.(Pinger); !ok || !m.conn.up {
		return nil
	}
	return tick(m.c.cfg.PingEvery, pingTick{gen: m.conn.gen})
}

func (m *lessonModel) setToast(s string, ok bool) tea.Cmd {
	m.toast, m.toastOK = s, ok
	m.toastID++
	return tick(4*time.Second, toastExpire{id: m.toastID})
}

// ---- update ----

func (m *lessonModel) update(msg tea.Msg) tea.Cmd {
	if cmd, ok := m.updatePrep(msg); ok {
		return cmd
	}
	if cmd, ok := m.updateTerm(msg); ok {
		return cmd
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize()
		return nil
	case tea.KeyPressMsg:
		if m.trust != nil {
			return m.trustUpdate(msg)
		}
		if m.tp.focused && m.layout() != paneNone && m.prompt == promptNone {
			return m.termKey(msg)
		}
		return m.key(msg)
	case trustedMsg:
		return m.onTrusted(msg)
	case connectedMsg:
		if msg.gen != m.conn.gen {
			return nil
		}
		m.conn.dialing = false
		if msg.err != nil {
			m.conn.up, m.conn.err = false, msg.err
			m.c.logf("connect: %v", msg.err)
			return tick(m.c.cfg.RetryDelay, retryMsg{gen: msg.gen})
		}
		m.conn.up, m.conn.err, m.conn.cluster = true, nil, msg.info
		var toast tea.Cmd
		if msg.info.Started {
			toast = m.setToast(m.t("tui.cluster.sandbox_started"), true)
		}
		return tea.Batch(toast, m.enterCmd(m.step()), m.watchCmd(), m.pingLater(), m.startTerm())
	case pingTick:
		if msg.gen != m.conn.gen {
			return nil
		}
		p := m.be.(Pinger)
		ctx, gen := m.ctx, msg.gen
		return func() tea.Msg { return pingMsg{gen: gen, err: p.Ping(ctx)} }
	case pingMsg:
		if msg.gen != m.conn.gen {
			return nil
		}
		if (msg.err == nil) != (m.conn.err == nil) {
			m.c.logf("cluster ping: %v", msg.err)
		}
		m.conn.err = msg.err
		return m.pingLater()
	case retryMsg:
		if msg.gen != m.conn.gen || m.conn.up {
			return nil
		}
		m.conn.dialing = true
		return m.connectCmd()
	case enteredMsg:
		if msg.err != nil {
			m.c.logf("step %d scripts: %v", msg.step, msg.err)
			return m.setToast(m.t("tui.step.setup_failed", msg.err), false)
		}
		m.prep.fg = append(m.prep.fg, msg.fg...)
		return tea.Batch(m.prepPollCmd(), m.nextForeground())
	case outputMsg:
		if m.out.run != nil && m.out.run.id == msg.id {
			m.out.run.out = append(m.out.run.out, msg.data...)
			if n := len(m.out.run.out); n > maxOutput {
				m.out.run.out = append(m.out.run.out[:0], m.out.run.out[n-maxOutput:]...)
			}
			// Redraw the pane at most every outputFlush, not on every chunk.
			if !m.out.dirty {
				m.out.dirty = true
				return tea.Batch(waitOutput(msg.ch), tick(outputFlush, outputFlushMsg{}))
			}
		}
		return waitOutput(msg.ch)
	case outputFlushMsg:
		if m.out.dirty {
			m.out.dirty = false
			m.refreshOutput()
		}
		return nil
	case runDoneMsg:
		if m.out.run == nil || m.out.run.id != msg.id {
			return nil
		}
		m.out.run.done, m.out.run.res, m.out.run.err = true, msg.res, msg.err
		m.out.dirty = false
		if msg.err != nil {
			m.c.logf("run block %d: %v", m.out.run.block.Index, msg.err)
		}
		m.refreshOutput()
		return tea.Batch(m.checkCmd(), m.nextForeground())
	case resultsMsg:
		if msg.gen != m.obj.gen {
			return nil
		}
		cmd := m.applyResults(msg.step, msg.res)
		return tea.Batch(cmd, waitResults(msg.gen, msg.step, msg.ch))
	case checkedMsg:
		return m.applyResults(msg.step, msg.res)
	case resetMsg:
		if msg.err != nil {
			m.c.logf("reset step %d: %v", msg.step, msg.err)
			return m.setToast(m.t("tui.reset.failed", msg.err), false)
		}
		if s := m.step(); s != nil && s.Index == msg.step {
			m.obj.results, m.out.run = nil, nil
			if len(s.Objectives) > 0 {
				m.prog.lp.SetUnlocked(s.Index, false)
			}
			delete(m.pages.entered, &s.Page)
			return tea.Batch(m.setToast(m.t("tui.reset.done"), true), m.saveCmd(), m.enterCmd(s), m.watchCmd())
		}
		return nil
	case savedMsg:
		if msg.err != nil {
			m.c.logf("save progress: %v", msg.err)
			return m.setToast(m.t("tui.progress.save_failed"), false)
		}
		return nil
	case shellMsg:
		if msg.err != nil {
			m.c.logf("shell: %v", msg.err)
		}
		return m.checkCmd()
	case copiedMsg:
		if msg.err != nil {
			return m.setToast(m.t("tui.copy.failed", msg.err), false)
		}
		return m.setToast(m.t("tui.copy.done"), true)
	case toastExpire:
		if msg.id == m.toastID {
			m.toast = ""
		}
		return nil
	}
	return nil
}

// applyResults records objective results and unlocks the step when all pass.
func (m *lessonModel) applyResults(step int, res []ObjectiveResult) tea.Cmd {
	s := m.step()
	if s == nil || s.Index != step {
		return nil
	}
	m.obj.results = res
	if m.prog.lp.IsUnlocked(step) || !verify.AllPass(s.Objectives, res) {
		return nil
	}
	m.prog.lp.SetUnlocked(step, true)
	return tea.Batch(m.setToast(m.t("tui.step.unlocked"), true), m.saveCmd())
}

func (m *lessonModel) key(k tea.KeyMsg) tea.Cmd {
	a, n := actionFor(m.keys, k, m.prompt != promptNone)
	if m.prompt != promptNone {
		p := m.prompt
		m.prompt = promptNone
		m.toast = ""
		switch {
		case a == actInterrupt:
			return m.quit()
		case a != actYes:
			return nil
		case p == promptSolution:
			return m.revealHint()
		case p == promptReset:
			return m.resetCmd()
		}
		return nil
	}
	if cmd, ok := m.prepKey(k); ok {
		return cmd
	}
	if a != actNone {
		m.toast = ""
	}
	switch a {
	case actInterrupt:
		if m.out.busy() && !m.out.run.interrupted {
			m.out.run.interrupted = true
			m.out.run.cancel()
			return m.setToast(m.t("tui.run.interrupted"), false)
		}
		return m.quit()
	case actQuit:
		if m.nav.List {
			break
		}
		return m.quit()
	case actHelp:
		m.text.showHelp = !m.text.showHelp
		return nil
	}
	if m.nav.List {
		before := m.nav
		m.nav = m.nav.apply(a, m.prog.lp.IsUnlocked)
		return m.afterNav(before)
	}
	switch a {
	case actUp:
		m.text.vp.ScrollUp(1)
	case actDown:
		m.text.vp.ScrollDown(1)
	case actPageUp:
		m.text.vp.PageUp()
	case actPageDown:
		m.text.vp.PageDown()
	case actOutUp:
		m.out.vp.ScrollUp(3)
		m.out.tail = m.out.vp.AtBottom()
	case actOutDown:
		m.out.vp.ScrollDown(3)
		m.out.tail = m.out.vp.AtBottom()
	case actNextBlock, actPrevBlock:
		d := 1
		if a == actPrevBlock {
			d = -1
		}
		m.text.sel = moveSel(m.text.sel, len(m.visibleBlocks()), d)
		m.recompose()
		m.scrollToSel()
	case actRun:
		if m.nav.State == stateIntro {
			before := m.nav
			m.nav = m.nav.apply(a, m.prog.lp.IsUnlocked)
			return m.afterNav(before)
		}
		if b := m.selected(); b != nil {
			return m.runCmd(b)
		}
	case actRunN:
		if m.page() != nil {
			for i, b := range m.visibleBlocks() {
				if b.Index == n {
					m.text.sel = i
					m.recompose()
					m.scrollToSel()
					return m.runCmd(b)
				}
			}
			return m.setToast(m.t("tui.run.no_block", n), false)
		}
	case actCopy:
		if b := m.selected(); b != nil {
			return m.copyCmd(b)
		}
	case actCheck:
		if s := m.step(); s != nil {
			if len(s.Objectives) == 0 {
				return m.setToast(m.t("tui.check.none"), true)
			}
			if !m.conn.up {
				return m.setToast(m.t("tui.run.not_ready"), false)
			}
			return tea.Batch(m.setToast(m.t("tui.check.running"), true), m.checkCmd())
		}
	case actTrust:
		if !m.untrusted {
			return m.setToast(m.t("tui.trust.already"), true)
		}
		m.openTrust()
	case actDiff:
		m.obj.showDiff = !m.obj.showDiff
	case actOutput:
		m.out.open = !m.out.open
	case actHint:
		return m.hintKey()
	case actReset:
		if m.step() != nil {
			m.prompt = promptReset
		}
	case actTerminal:
		if m.layout() == paneNone {
			if m.untrusted {
				m.openTrust() // t kept its old meaning where there is no pane
			}
			return nil
		}
		return m.focusTerm()
	case actShell:
		if m.layout() != paneNone {
			return m.focusTerm()
		}
		if m.be != nil {
			if c := m.be.Shell(); c != nil {
				return tea.ExecProcess(c, func(err error) tea.Msg { return shellMsg{err: err} })
			}
		}
		return m.setToast(m.t("tui.run.not_ready"), false)
	case actNext:
		if m.nav.State == stateStep && !m.nav.canNext(m.prog.lp.IsUnlocked) {
			return m.setToast(m.t("tui.step.locked"), false)
		}
		fallthrough
	case actPrev, actList:
		before := m.nav
		m.nav = m.nav.apply(a, m.prog.lp.IsUnlocked)
		return m.afterNav(before)
	}
	return nil
}

func (m *lessonModel) quit() tea.Cmd {
	m.quitting = true
	m.closeTerm()
	if m.out.busy() {
		m.out.run.cancel()
	}
	save := m.saveCmd()
	return tea.Sequence(save, tea.Quit)
}

// afterNav reacts to a navigation change: new page, watch, scripts, save.
func (m *lessonModel) afterNav(before nav) tea.Cmd {
	if before.State == m.nav.State && before.Step == m.nav.Step {
		return nil
	}
	return m.onEnterPage()
}

// onEnterPage prepares the page on screen and starts what it needs.
func (m *lessonModel) onEnterPage() tea.Cmd {
	m.leavePage()
	m.obj.results = nil
	m.obj.showDiff = false
	if m.out.run != nil && m.out.run.done {
		m.out.run = nil // the last command belonged to the page we left
	}
	m.text.sel = -1
	if len(m.visibleBlocks()) > 0 {
		m.text.sel = 0
	}
	var cmds []tea.Cmd
	if s := m.step(); s != nil && !m.prog.lp.IsUnlocked(s.Index) && verify.AllPass(s.Objectives, nil) {
		m.prog.lp.SetUnlocked(s.Index, true)
	}
	m.recompose()
	m.text.vp.GotoTop()
	cmds = append(cmds, m.saveCmd(), m.enterCmd(m.step()), m.watchCmd())
	return tea.Batch(cmds...)
}

// ---- hints ----

// hintRef is a hint and its 1-based position in Page.Hints (0 for a
// SolutionHint that is not among them).
type hintRef struct {
	n int
	lessons.Hint
}

// hints lists the current step's hints in reveal order: plain ones first,
// the solution last.
func (m *lessonModel) hints() []hintRef {
	s := m.step()
	if s == nil {
		return nil
	}
	var plain, sol []hintRef
	for i, h := range s.Hints {
		if h.Solution {
			sol = append(sol, hintRef{i + 1, h})
		} else {
			plain = append(plain, hintRef{i + 1, h})
		}
	}
	if s.SolutionHint != nil && len(sol) == 0 {
		sol = append(sol, hintRef{0, *s.SolutionHint})
	}
	return append(plain, sol...)
}

// visible reports whether a block can be selected and run: blocks of the
// page, and blocks of the hints already revealed.
func (m *lessonModel) visible(b *lessons.Block) bool {
	if b.Hint == 0 {
		return true
	}
	s := m.step()
	if s == nil {
		return false
	}
	for i, h := range m.hints() {
		if h.n == b.Hint {
			return i < m.prog.lp.Hints[s.Index]
		}
	}
	return false
}

// visibleBlocks are the page's selectable blocks, in order.
func (m *lessonModel) visibleBlocks() []*lessons.Block {
	p := m.page()
	if p == nil {
		return nil
	}
	var out []*lessons.Block
	for _, b := range p.Blocks {
		if m.visible(b) {
			out = append(out, b)
		}
	}
	return out
}

// selected is the selected block, or nil.
func (m *lessonModel) selected() *lessons.Block {
	vb := m.visibleBlocks()
	if m.text.sel < 0 || m.text.sel >= len(vb) {
		return nil
	}
	return vb[m.text.sel]
}

func (m *lessonModel) hintKey() tea.Cmd {
	s := m.step()
	if s == nil {
		return nil
	}
	hs := m.hints()
	n := m.prog.lp.Hints[s.Index]
	if n >= len(hs) {
		if len(hs) == 0 {
			return m.setToast(m.t("tui.hint.none"), false)
		}
		return m.setToast(m.t("tui.hint.all"), false)
	}
	if hs[n].Solution {
		m.prompt = promptSolution
		return nil
	}
	return m.revealHint()
}

func (m *lessonModel) revealHint() tea.Cmd {
	s := m.step()
	if s == nil {
		return nil
	}
	m.prog.lp.Hints[s.Index]++
	m.recompose()
	m.text.vp.GotoBottom()
	return m.saveCmd()
}
