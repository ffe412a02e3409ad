package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/runner"
)

// Preparer is implemented by backends that report a page's background
// scripts (Killercoda's setup.sh): while one runs, the environment is being
// prepared and exec blocks wait for it.
type Preparer interface {
	Preparing() []runner.BackgroundStatus
	// LogTail is the end of a background script's log (n lines).
	LogTail(log string, n int) string
}

// BackgroundStarter is implemented by backends that can start a page's
// background script alone: the UI then runs the page's foreground script
// itself, in view, in the output pane (as Killercoda runs it in the
// terminal), instead of EnterPage running both out of sight.
type BackgroundStarter interface {
	StartBackground(ctx context.Context, page *lessons.Page) error
}

// prepPoll is how often the UI asks whether the setup is done.
const prepPoll = 250 * time.Millisecond

// prepLogLines is how much of the setup's log `v` shows.
const prepLogLines = 12

// prepState is what the UI knows of the environment being prepared.
type prepState struct {
	list    []runner.BackgroundStatus // still running
	since   time.Time                 // when the UI first saw it preparing
	goAhead bool                      // the learner said to run blocks anyway
	showLog bool
	polling bool
	fg      []*lessons.Script // foreground scripts still to run in view
	pending *lessons.Block    // the block asked for while preparing: it runs once ready (or on g)
}

type (
	prepMsg     struct{ list []runner.BackgroundStatus }
	prepTickMsg struct{}
)

// preparing reports whether exec blocks must wait for the setup.
func (m *lessonModel) preparing() bool { return len(m.prep.list) > 0 && !m.prep.goAhead }

// prepPollCmd asks the backend which background scripts still run.
func (m *lessonModel) prepPollCmd() tea.Cmd {
	p, ok := m.be.(Preparer)
	if !ok || m.prep.polling {
		return nil
	}
	m.prep.polling = true
	return func() tea.Msg { return prepMsg{list: p.Preparing()} }
}

// updatePrep handles the preparation messages; ok is false for others.
func (m *lessonModel) updatePrep(msg tea.Msg) (cmd tea.Cmd, ok bool) {
	switch msg := msg.(type) {
	case prepMsg:
		m.prep.polling = false
		was := len(m.prep.list) > 0
		m.prep.list = msg.list
		if len(msg.list) == 0 {
			// The next preparation (a step's, a reset's) asks again.
			m.prep.since, m.prep.showLog, m.prep.goAhead = time.Time{}, false, false
			run := m.runPending()
			if was {
				return tea.Batch(m.setToast(m.t("tui.prep.ready"), true), run), true
			}
			return run, true
		}
		if !was {
			m.prep.since = m.c.now()
		}
		return tick(prepPoll, prepTickMsg{}), true
	case prepTickMsg:
		return m.prepPollCmd(), true
	}
	return nil, false
}

// runPending runs the block the learner asked for while the environment was being prepared.
func (m *lessonModel) runPending() tea.Cmd {
	b := m.prep.pending
	m.prep.pending = nil
	if b == nil {
		return nil
	}
	return m.runCmd(b)
}

// prepKey handles `g` (go ahead anyway) and `v` (the setup's log) while the
// environment is being prepared; ok is false when the key is not theirs.
func (m *lessonModel) prepKey(k tea.KeyMsg) (tea.Cmd, bool) {
	if len(m.prep.list) == 0 {
		return nil, false
	}
	switch k.String() {
	case "g":
		m.prep.goAhead = true
		return tea.Batch(m.setToast(m.t("tui.prep.go_ahead"), false), m.runPending()), true
	case "v":
		m.prep.showLog = !m.prep.showLog
		return nil, true
	}
	return nil, false
}

// prepView is the "being prepared" line (spinner, script, elapsed time),
// and the setup's log when asked: "" when nothing is being prepared.
func (m *lessonModel) prepView() string {
	if len(m.prep.list) == 0 {
		return ""
	}
	st := m.c.st
	el := m.c.now().Sub(m.prep.since)
	if !m.prep.list[0].Started.IsZero() {
		el = m.c.now().Sub(m.prep.list[0].Started)
	}
	frames := []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}
	spin := frames[int(el/(100*time.Millisecond))%len(frames)]
	names := make([]string, len(m.prep.list))
	for i, b := range m.prep.list {
		names[i] = b.Script
	}
	keys := m.t("tui.prep.keys")
	if m.prep.goAhead {
		keys = m.t("tui.prep.keys_log")
	}
	line := st.Accent.Render(fmt.Sprintf("%s %s", spin, m.t("tui.prep.running", strings.Join(names, ", "), fmtDuration(el.Truncate(time.Second))))) +
		st.Subtle.Render(" — "+keys)
	if !m.prep.showLog {
		return line
	}
	logs := []string{line}
	if p, ok := m.be.(Preparer); ok {
		for _, b := range m.prep.list {
			tail := p.LogTail(b.Log, prepLogLines)
			if tail == "" {
				tail = m.t("tui.prep.log_empty")
			}
			logs = append(logs, st.Subtle.Render("── "+b.Script), tail)
		}
	}
	return strings.Join(logs, "\n")
}

// startPages starts the pages' background scripts and returns the
// foreground scripts the UI will run in view.
func startPages(ctxOf func(*lessons.Page) context.Context, bs BackgroundStarter, pages []*lessons.Page) ([]*lessons.Script, error) {
	var fg []*lessons.Script
	for _, p := range pages {
		if p.Background != nil {
			if err := bs.StartBackground(ctxOf(p), p); err != nil {
				return fg, err
			}
		}
		if p.Foreground != nil {
			fg = append(fg, p.Foreground)
		}
	}
	return fg, nil
}

// nextForeground runs the next foreground script in the output pane.
func (m *lessonModel) nextForeground() tea.Cmd {
	if len(m.prep.fg) == 0 || m.out.busy() {
		return nil
	}
	s := m.prep.fg[0]
	m.prep.fg = m.prep.fg[1:]
	return m.startRun(&lessons.Block{Kind: lessons.BlockExec, Code: s.Body, File: s.Path, Line: 1, Lang: "bash"})
}
