package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/klabdev/klab/lessons"
)

// Messages returned by commands. Each carries what it needs to be matched
// with the state it belongs to (a generation or a run id), so that late
// answers for a screen the learner left are ignored.
type (
	connectedMsg struct {
		gen  int
		info ClusterInfo
		err  error
	}
	retryMsg struct{ gen int }
	// outputFlushMsg redraws the output pane after a burst of output.
	outputFlushMsg struct{}
	pingTick       struct{ gen int }
	pingMsg        struct {
		gen int
		err error
	}
	enteredMsg struct {
		step int
		err  error
		fg   []*lessons.Script // foreground scripts to run in view (BackgroundStarter)
	}
	outputMsg struct {
		id   int
		data []byte
		ch   <-chan tea.Msg
	}
	runDoneMsg struct {
		id  int
		res RunResult
		err error
	}
	resultsMsg struct {
		gen, step int
		res       []ObjectiveResult
		ch        <-chan []ObjectiveResult
	}
	checkedMsg struct {
		step int
		res  []ObjectiveResult
	}
	resetMsg struct {
		step int
		err  error
	}
	savedMsg    struct{ err error }
	shellMsg    struct{ err error }
	copiedMsg   struct{ err error }
	toastExpire struct{ id int }
)

// Model is the root Bubble Tea model: the lesson picker, then one lesson.
type Model struct {
	c      *common
	picker pickerModel
	lesson *lessonModel
	prog   *Progress
	warn   string // progress file was corrupt and moved aside
	ctx    context.Context
	cancel context.CancelFunc
	quit   bool
}

// New builds the root model. It reads progress.json (fast, local); nothing
// else happens before Init.
func New(cfg Config) *Model {
	c := newCommon(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	m := &Model{c: c, ctx: ctx, cancel: cancel}
	prog, aside, err := cfg.Store.Load()
	if err != nil {
		c.logf("progress: %v", err)
	}
	if aside != "" {
		c.logf("progress: corrupt file moved to %s", aside)
		m.warn = aside
	}
	m.prog = prog
	m.picker = newPicker(c, cfg.Lessons, prog)
	switch {
	case cfg.Open != nil:
		m.open(cfg.Open)
	case len(cfg.Lessons) == 1:
		m.open(cfg.Lessons[0])
	}
	return m
}

// WithOutput makes the program draw on out (the terminal klab run checked).
func WithOutput(out io.Writer) tea.ProgramOption { return tea.WithOutput(out) }

// Run runs the UI until the learner quits. The terminal is restored on
// every exit path, panics included (Bubble Tea recovers them).
func Run(ctx context.Context, cfg Config, opts ...tea.ProgramOption) error {
	m := New(cfg)
	defer m.cancel()
	opts = append([]tea.ProgramOption{tea.WithContext(ctx), tea.WithColorProfile(cfg.Profile)}, opts...)
	_, err := tea.NewProgram(m, opts...).Run()
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("tui: %w", err)
	}
	return nil
}

func (m *Model) open(l *lessons.Lesson) {
	m.lesson = newLessonModel(m.ctx, m.c, l, m.prog, m.warn)
}

// Init starts connecting to the cluster when a lesson is open.
func (m *Model) Init() tea.Cmd {
	if m.lesson != nil {
		return m.lesson.init()
	}
	return nil
}

// Update routes messages to the picker or the lesson.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if ws, ok := msg.(tea.WindowSizeMsg); ok {
		m.c.width, m.c.height = ws.Width, ws.Height
	}
	if m.lesson == nil {
		k, ok := msg.(tea.KeyPressMsg)
		if !ok {
			return m, nil
		}
		switch m.picker.update(k) {
		case pickQuit:
			m.quit = true
			m.cancel()
			return m, tea.Quit
		case pickOpen:
			m.open(m.picker.lessons[m.picker.cursor])
			m.lesson.resize()
			return m, m.lesson.init()
		}
		return m, nil
	}
	cmd := m.lesson.update(msg)
	if m.lesson.quitting {
		m.quit = true
	}
	return m, cmd
}

// View draws the current screen, on the alternate screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.screen())
	v.AltScreen = true
	if m.lesson != nil && !m.quit {
		v.Cursor = m.lesson.cursor()
	}
	return v
}

// screen is the current screen as text.
func (m *Model) screen() string {
	if m.quit {
		return ""
	}
	if m.c.width == 0 {
		return "" // wait for the first WindowSizeMsg
	}
	if m.c.width < 60 || m.c.height < 20 {
		t := m.c.catalog(m.langHint()).T
		return m.c.plain(m.c.st.Warn.Render(t("tui.too_small", m.c.width, m.c.height)))
	}
	if m.lesson == nil {
		return m.c.plain(m.picker.view())
	}
	return m.c.plain(m.lesson.view())
}

func (m *Model) langHint() string {
	if m.lesson != nil {
		return m.lesson.l.Lang
	}
	if len(m.c.cfg.Lessons) > 0 {
		return m.c.cfg.Lessons[0].Lang
	}
	return ""
}

// State reports the current screen ("picker", "intro", "step", "finish").
func (m *Model) State() string { return m.state().String() }

// state is the screen on view, derived from the open lesson's navigation.
func (m *Model) state() state {
	if m.lesson == nil {
		return statePicker
	}
	return m.lesson.nav.State
}

// Step reports the current 1-based step (0 outside steps).
func (m *Model) Step() int {
	if m.state() != stateStep {
		return 0
	}
	return m.lesson.nav.Step
}

// fmtCmd shows a block's code on one line for the output title.
func fmtCmd(code string, ell string) string {
	code = strings.TrimSpace(code)
	if i := strings.IndexByte(code, '\n'); i >= 0 {
		return code[:i] + " " + ell
	}
	return code
}

// wait returns a command that waits for the next value of a stream.
func waitOutput(ch <-chan tea.Msg) tea.Cmd {
	return func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return msg
	}
}

func waitResults(gen, step int, ch <-chan []ObjectiveResult) tea.Cmd {
	return func() tea.Msg {
		res, ok := <-ch
		if !ok {
			return nil
		}
		return resultsMsg{gen: gen, step: step, res: res, ch: ch}
	}
}

func tick(d time.Duration, msg tea.Msg) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return msg })
}

// Screen renders the current screen even after quitting (tests, goldens).
func (m *Model) Screen() string {
	q := m.quit
	m.quit = false
	defer func() { m.quit = q }()
	return m.screen()
}
