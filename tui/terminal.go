package tui

import (
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
)

// Terminal is an interactive shell the UI draws in its terminal pane
// (runner.Terminal in production).
type Terminal interface {
	Write(p []byte) (int, error)
	Resize(cols, rows int) error
	Done() <-chan struct{}
	Close() error
}

// TerminalStarter is implemented by backends that run the lab shell for the
// terminal pane: the same shell as `klab shell`, under a terminal of its own.
type TerminalStarter interface {
	StartTerminal(cols, rows int, out func([]byte)) (Terminal, error)
}

// The terminal pane shows the lab shell beside the text on a wide screen,
// below it otherwise; smaller screens have no pane (exec blocks run in the
// output pane and `s` opens a full-screen shell, as before).
const (
	sideBySideCols = 140 // from this width the pane is beside the text
	paneMinCols    = 80
	paneMinRows    = 28
	termScrollback = 5000
	// termFrame bounds how often the pane is redrawn while output streams.
	termFrame = 16 * time.Millisecond
)

type (
	termStartedMsg struct {
		gen  int
		term Terminal
		err  error
	}
	termDirtyMsg struct{ gen int }
	termExitMsg  struct{ gen int }
)

// termPart is the terminal pane: the emulator that draws the lab shell, and
// where the focus is.
type termPart struct {
	gen      int
	emu      *vt.SafeEmulator
	term     Terminal
	dirty    chan struct{} // output arrived (capacity 1: bursts coalesce)
	feed     *termFeed
	cols     int
	rows     int
	focused  bool
	starting bool
	exited   bool
	errMsg   string
	scroll   int // lines scrolled back into the scrollback, 0 follows the screen
	// where the pane's first cell is on screen (for the cursor), set by view
	x, y int
}

// paneLayout says whether there is a terminal pane and where.
type paneLayout int

const (
	paneNone paneLayout = iota
	paneBelow
	paneBeside
)

// layout is the pane layout for the screen size and backend.
func (m *lessonModel) layout() paneLayout {
	if _, ok := m.be.(TerminalStarter); !ok || m.trust != nil {
		return paneNone
	}
	w, h := m.c.width, m.c.height
	switch {
	case w >= sideBySideCols && h >= 20:
		return paneBeside
	case w >= paneMinCols && h >= paneMinRows:
		return paneBelow
	}
	return paneNone
}

// paneSize is the inner size (cells) of the terminal pane for a layout.
func (m *lessonModel) paneSize(l paneLayout) (cols, rows int) {
	w, h := m.c.width, m.c.height
	switch l {
	case paneBeside:
		return w - m.textWidth() - 3, max(h-6, 4)
	case paneBelow:
		return w - 2, max(h*2/5, 8) - 2
	}
	return 0, 0
}

// textWidth is the width of the lesson's text column.
func (m *lessonModel) textWidth() int {
	if m.layout() == paneBeside {
		return m.c.width * 11 / 20
	}
	return m.c.width
}

// startTerm starts the lab shell for the pane, once connected.
func (m *lessonModel) startTerm() tea.Cmd {
	ts, ok := m.be.(TerminalStarter)
	l := m.layout()
	if !ok || l == paneNone || !m.conn.up || m.tp.term != nil || m.tp.starting {
		return nil
	}
	cols, rows := m.paneSize(l)
	m.tp.gen++
	m.tp.starting, m.tp.exited, m.tp.errMsg, m.tp.scroll = true, false, "", 0
	m.tp.cols, m.tp.rows = cols, rows
	emu := vt.NewSafeEmulator(cols, rows)
	emu.SetScrollbackSize(termScrollback)
	dirty := make(chan struct{}, 1)
	m.tp.emu, m.tp.dirty = emu, dirty
	gen := m.tp.gen
	feed := newTermFeed(emu, dirty)
	m.tp.feed = feed
	return func() tea.Msg {
		t, err := ts.StartTerminal(cols, rows, feed.push)
		if err == nil {
			// The emulator answers the programs' queries (cursor position,
			// colours) and encodes keys: what it says goes to the shell.
			go func() { _, _ = io.Copy(t, emu) }()
		}
		return termStartedMsg{gen: gen, term: t, err: err}
	}
}

// waitTerm waits for output (at most one redraw per termFrame) or the end of the shell.
func (m *lessonModel) waitTerm(first bool) tea.Cmd {
	t, dirty, gen := m.tp.term, m.tp.dirty, m.tp.gen
	if t == nil {
		return nil
	}
	return func() tea.Msg {
		if !first {
			time.Sleep(termFrame)
		}
		select {
		case <-dirty:
			return termDirtyMsg{gen: gen}
		case <-t.Done():
			return termExitMsg{gen: gen}
		}
	}
}

// updateTerm handles the terminal pane's messages; ok is false for others.
func (m *lessonModel) updateTerm(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case termStartedMsg:
		if msg.gen != m.tp.gen {
			if msg.term != nil {
				_ = msg.term.Close()
			}
			return nil, true
		}
		m.tp.starting = false
		if msg.err != nil {
			m.c.logf("terminal: %v", msg.err)
			m.tp.errMsg = m.t("tui.term.failed", msg.err)
			return nil, true
		}
		m.tp.term = msg.term
		// The size may have changed while the shell started.
		m.resizeTerm()
		return m.waitTerm(true), true
	case termDirtyMsg:
		if msg.gen != m.tp.gen {
			return nil, true
		}
		return m.waitTerm(false), true
	case termExitMsg:
		if msg.gen != m.tp.gen {
			return nil, true
		}
		m.tp.term, m.tp.exited, m.tp.focused = nil, true, false
		return nil, true
	case tea.PasteMsg:
		if m.tp.focused && m.tp.term != nil {
			m.tp.emu.Paste(msg.Content)
		}
		return nil, true
	}
	return nil, false
}

// termKey sends a key to the focused terminal; Ctrl+G gives the focus back
// to the lesson, Shift+PgUp/PgDn scroll back.
func (m *lessonModel) termKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "ctrl+g":
		m.tp.focused = false
		return nil
	case "shift+pgup":
		m.tp.scroll = min(m.tp.scroll+m.tp.rows/2, m.tp.feed.screen().history)
		return nil
	case "shift+pgdown":
		m.tp.scroll = max(m.tp.scroll-m.tp.rows/2, 0)
		return nil
	}
	if m.tp.term == nil {
		if m.tp.exited && k.String() == "t" {
			m.tp.focused = false
			return m.focusTerm()
		}
		return nil
	}
	m.tp.scroll = 0
	m.tp.emu.SendKey(uv.KeyPressEvent{Code: k.Code, Mod: k.Mod, Text: k.Text, ShiftedCode: k.ShiftedCode, BaseCode: k.BaseCode})
	return nil
}

// focusTerm moves the focus to the terminal pane (starting the shell again
// if it ended).
func (m *lessonModel) focusTerm() tea.Cmd {
	if m.layout() == paneNone {
		return nil
	}
	m.tp.focused = true
	if m.tp.term == nil && !m.tp.starting {
		return m.startTerm()
	}
	return nil
}

// typeInTerm types an exec block at the shell's prompt, as Killercoda does:
// its output, history and variables are the learner's. An interrupt block
// sends Ctrl+C first.
func (m *lessonModel) typeInTerm(code string, interrupt bool) {
	var b strings.Builder
	if interrupt {
		b.WriteString("\x03")
	}
	// Lines are typed as Enter sends them (the terminal turns \r into \n).
	b.WriteString(strings.ReplaceAll(strings.TrimRight(code, "\n"), "\n", "\r"))
	b.WriteString("\r")
	m.tp.scroll = 0
	if _, err := m.tp.term.Write([]byte(b.String())); err != nil {
		m.c.logf("type in terminal: %v", err)
	}
}

// resizeTerm fits the emulator and the shell's terminal to the pane.
func (m *lessonModel) resizeTerm() {
	l := m.layout()
	if l == paneNone || m.tp.emu == nil {
		return
	}
	cols, rows := m.paneSize(l)
	m.resizeTermTo(cols, rows)
}

// sizePane fits the terminal to the pane the view draws (width x height
// with its border).
func (m *lessonModel) sizePane(width, height int) { m.resizeTermTo(width-2, height-2) }

func (m *lessonModel) resizeTermTo(cols, rows int) {
	if m.tp.emu == nil || cols < 1 || rows < 1 {
		return
	}
	if cols == m.tp.cols && rows == m.tp.rows {
		return
	}
	m.tp.cols, m.tp.rows = cols, rows
	m.tp.emu.Resize(cols, rows)
	m.tp.feed.snap()
	if m.tp.term != nil {
		if err := m.tp.term.Resize(cols, rows); err != nil {
			m.c.logf("resize terminal: %v", err)
		}
	}
}

// closeTerm ends the shell (klab quits).
func (m *lessonModel) closeTerm() {
	m.tp.gen++
	if m.tp.term != nil {
		_ = m.tp.term.Close()
		m.tp.term = nil
	}
	if m.tp.feed != nil {
		m.tp.feed.stop()
	}
	if m.tp.emu != nil {
		_ = m.tp.emu.Close()
	}
}

// termFeed moves the shell's output into the emulator on a goroutine of its
// own: the shell's reader never waits for the emulator (which a key being
// encoded holds), so output and keys cannot block each other. Output is
// written in slices of at most feedSlice bytes, so a redraw never waits
// long for the emulator; past feedMax bytes queued, the reader waits, as a
// slow terminal makes a fast program wait.
type termFeed struct {
	emu     *vt.SafeEmulator
	frame   atomic.Pointer[termSnap] // the screen as last drawn by the feeder
	mu      sync.Mutex
	space   *sync.Cond
	buf     []byte // queued output from off on
	off     int
	wake    chan struct{}
	done    chan struct{}
	stopped sync.Once
}

const (
	feedSlice = 1 << 10
	feedMax   = 1 << 20
)

// termSnap is the emulated screen, drawn: what the pane shows. The UI
// reads it without waiting for the emulator.
type termSnap struct {
	screen  string
	cursor  uv.Position
	hidden  bool
	history int // lines in the scrollback
}

// snap draws the emulator's screen for the UI.
func (f *termFeed) snap() {
	f.frame.Store(&termSnap{screen: f.emu.Render(), cursor: f.emu.CursorPosition(), hidden: f.emu.CursorHidden(), history: f.emu.ScrollbackLen()})
}

// screen is the last drawn screen (never nil).
func (f *termFeed) screen() *termSnap {
	if s := f.frame.Load(); s != nil {
		return s
	}
	return &termSnap{}
}

func newTermFeed(emu *vt.SafeEmulator, dirty chan struct{}) *termFeed {
	f := &termFeed{emu: emu, wake: make(chan struct{}, 1), done: make(chan struct{})}
	f.space = sync.NewCond(&f.mu)
	f.snap()
	go func() {
		var batch []byte
		last := time.Now()
		for {
			select {
			case <-f.wake:
			case <-f.done:
				return
			}
			for {
				alt, rows := emu.IsAltScreen(), emu.Height() // not under f.mu: the emulator may be busy
				f.mu.Lock()
				if len(f.buf)-f.off > feedSlice && !alt {
					f.off += floodCut(f.buf[f.off:], rows)
				}
				n := min(len(f.buf)-f.off, feedSlice)
				batch = append(batch[:0], f.buf[f.off:f.off+n]...)
				f.off += n
				if f.off == len(f.buf) || f.off > feedMax/2 {
					// Compact now and then, not for every slice.
					f.buf = f.buf[:copy(f.buf, f.buf[f.off:])]
					f.off = 0
				}
				f.space.Broadcast()
				f.mu.Unlock()
				if n == 0 {
					break
				}
				_, _ = emu.Write(batch)
				// Draw at most once a frame while output streams, and once
				// it stops.
				if time.Since(last) >= termFrame {
					f.snap()
					last = time.Now()
					select {
					case dirty <- struct{}{}:
					default:
					}
				}
			}
			f.snap()
			last = time.Now()
			select {
			case dirty <- struct{}{}:
			default:
			}
		}
	}()
	return f
}

// floodCut is how much of a backlog of output the emulator may skip
// without changing what it shows: x/vt scrolls by moving every cell of the
// screen, so a flood of lines (`seq 1 200000`) would take it minutes. When
// the backlog starts with plain text (printable characters, tabs, CR and LF
// only: no escape sequence, no other control) holding more than rows+2
// lines, every line but the last rows+2 scrolls off the screen before it is
// seen, whatever the cursor's position: they are dropped, and the cut falls
// right after a CR LF. The dropped lines are not in the pane's scrollback.
func floodCut(buf []byte, rows int) int {
	plain := len(buf)
	for i, c := range buf {
		if c < ' ' && c != '\r' && c != '\n' && c != '\t' || c == 0x7f {
			plain = i
			break
		}
	}
	keep := rows + 2
	for i := plain - 1; i >= 1; i-- {
		if buf[i] == '\n' && buf[i-1] == '\r' {
			keep--
			if keep == 0 {
				return i + 1
			}
		}
	}
	return 0
}

// push queues a chunk of output; it waits while feedMax bytes are queued.
func (f *termFeed) push(p []byte) {
	f.mu.Lock()
	for len(f.buf)-f.off >= feedMax {
		select {
		case <-f.done:
			f.mu.Unlock()
			return
		default:
		}
		f.space.Wait()
	}
	f.buf = append(f.buf, p...)
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *termFeed) stop() {
	f.stopped.Do(func() {
		close(f.done)
		f.mu.Lock()
		f.space.Broadcast()
		f.mu.Unlock()
	})
}

// termView draws the pane: a border whose top line names the terminal and
// the key that moves the focus, around the emulated screen.
func (m *lessonModel) termView(width, height int) string {
	st := m.c.st
	cols, rows := width-2, height-2
	var lines []string
	switch {
	case m.tp.emu == nil || m.tp.starting:
		lines = []string{st.Subtle.Render(m.t("tui.term.starting"))}
	case m.tp.scroll > 0:
		lines = m.scrollbackLines(cols, rows)
	default:
		lines = strings.Split(m.tp.feed.screen().screen, "\n")
	}
	if m.tp.exited {
		lines = append(lines, st.Warn.Render(m.t("tui.term.exited")))
	}
	if m.tp.errMsg != "" {
		lines = []string{st.Fail.Render(m.tp.errMsg)}
	}
	if len(lines) > rows {
		lines = lines[len(lines)-rows:]
	}
	for len(lines) < rows {
		lines = append(lines, "")
	}
	border, bst := lipgloss.RoundedBorder(), st.Subtle
	hint := m.t("tui.term.focus_hint")
	if m.tp.focused {
		border, bst, hint = lipgloss.ThickBorder(), st.Accent, m.t("tui.term.back_hint")
	}
	if m.c.cfg.ASCII {
		border = lipgloss.ASCIIBorder()
	}
	title := " " + m.t("tui.term.title") + " " + m.c.sym.Sep + " " + hint + " "
	if m.tp.scroll > 0 {
		title += m.t("tui.term.scrolled", m.tp.scroll) + " "
	}
	title = ansi.Truncate(title, max(width-4, 1), m.c.sym.Ellipsis)
	top := bst.Render(border.TopLeft+border.Top) + bst.Bold(m.tp.focused).Render(title) +
		bst.Render(strings.Repeat(border.Top, max(width-3-lipgloss.Width(title), 0))+border.TopRight)
	body := make([]string, 0, rows+1)
	side := bst.Render(border.Left)
	rside := bst.Render(border.Right)
	for _, l := range lines {
		l = ansi.Truncate(l, cols, "")
		if pad := cols - ansi.StringWidth(l); pad > 0 {
			l += strings.Repeat(" ", pad)
		}
		body = append(body, side+l+"\x1b[m"+rside)
	}
	bottom := bst.Render(border.BottomLeft + strings.Repeat(border.Bottom, max(width-2, 0)) + border.BottomRight)
	return top + "\n" + strings.Join(body, "\n") + "\n" + bottom
}

// scrollbackLines is the pane's window when scrolled back: plain text of
// the scrollback's last lines and the top of the screen.
func (m *lessonModel) scrollbackLines(cols, rows int) []string {
	emu := m.tp.emu
	sb := emu.ScrollbackLen()
	total := sb + emu.Height()
	end := max(total-m.tp.scroll, rows)
	start := max(end-rows, 0)
	out := make([]string, 0, rows)
	for y := start; y < end && y < total; y++ {
		var b strings.Builder
		for x := 0; x < cols; x++ {
			var c *uv.Cell
			if y < sb {
				c = emu.ScrollbackCellAt(x, y)
			} else {
				c = emu.CellAt(x, y-sb)
			}
			if c == nil || c.Content == "" {
				if c == nil || c.Width != 0 {
					b.WriteByte(' ')
				}
				continue
			}
			b.WriteString(c.Content)
		}
		out = append(out, strings.TrimRight(b.String(), " "))
	}
	return out
}

// cursor is where the learner's cursor is on screen, when the focused
// terminal shows it.
func (m *lessonModel) cursor() *tea.Cursor {
	if !m.tp.focused || m.tp.term == nil || m.tp.scroll > 0 {
		return nil
	}
	s := m.tp.feed.screen()
	if s.hidden {
		return nil
	}
	return tea.NewCursor(m.tp.x+s.cursor.X, m.tp.y+s.cursor.Y)
}
