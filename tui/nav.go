package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// state is the screen the root model shows.
type state int

const (
	statePicker state = iota
	stateIntro
	stateStep
	stateFinish
)

func (s state) String() string {
	return [...]string{"picker", "intro", "step", "finish"}[s]
}

// action is what a key asks for, independent of the screen.
type action int

const (
	actNone action = iota
	actQuit
	actInterrupt
	actUp
	actDown
	actPageUp
	actPageDown
	actNextBlock
	actPrevBlock
	actRun    // run the selected block
	actRunN   // run block N (arg)
	actCheck  // check now
	actNext   // next step
	actPrev   // previous step
	actList   // step list
	actHint   // next hint
	actShell  // open a shell
	actReset  // reset this step
	actCopy   // copy the selected block (OSC 52)
	actHelp   // toggle long help
	actDiff   // toggle the diff of the selected failing objective
	actOutput // collapse/expand the output pane
	actOutUp  // scroll the output pane
	actOutDown
	actTrust    // show the trust screen
	actTerminal // focus the terminal pane
	actYes      // confirm a prompt
	actNo       // cancel a prompt / close an overlay
)

// keyMap holds the bindings; its help texts come from the catalog.
type keyMap struct {
	Up, Down, PageUp, PageDown, NextBlock, PrevBlock, Run, RunN, Interrupt,
	Check, Next, Prev, List, Hint, Shell, Terminal, Reset, Copy, Diff, Output, OutUp, OutDown, Trust, Help, Quit key.Binding
}

func newKeyMap(t func(string, ...any) string) keyMap {
	b := func(help string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(keyLabel(keys), t("tui.key."+help)))
	}
	km := keyMap{
		Up:        b("up", "up", "k"),
		Down:      b("down", "down", "j"),
		PageUp:    b("pgup", "pgup", "b"),
		PageDown:  b("pgdown", "pgdown", "space", "f"),
		NextBlock: b("nextblock", "tab"),
		PrevBlock: b("prevblock", "shift+tab"),
		Run:       b("run", "enter"),
		RunN:      b("runn", "1", "2", "3", "4", "5", "6", "7", "8", "9"),
		Interrupt: b("interrupt", "ctrl+c"),
		Check:     b("check", "c"),
		Next:      b("next", "n"),
		Prev:      b("prev", "p"),
		List:      b("list", "l"),
		Hint:      b("hint", "h"),
		Shell:     b("shell", "s"),
		Reset:     b("reset", "r"),
		Copy:      b("copy", "y"),
		Diff:      b("diff", "d"),
		Output:    b("output", "o"),
		OutUp:     b("outup", "["),
		OutDown:   b("outdown", "]"),
		Trust:     b("trust", "a"),
		Terminal:  b("terminal", "t"),
		Help:      b("help", "?"),
		Quit:      b("quit", "q"),
	}
	km.RunN.SetHelp("1-9", t("tui.key.runn"))
	km.PageDown.SetHelp("pgdn", t("tui.key.pgdown"))
	return km
}

func keyLabel(keys []string) string {
	switch keys[0] {
	case "up":
		return "↑"
	case "down":
		return "↓"
	case "shift+tab":
		return "⇧tab"
	case "enter":
		return "⏎"
	}
	return keys[0]
}

// ShortHelp is the footer line.
func (k keyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Run, k.NextBlock, k.Check, k.Next, k.Hint, k.Help, k.Quit}
}

// FullHelp is the `?` screen.
func (k keyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.NextBlock, k.PrevBlock},
		{k.Run, k.RunN, k.Interrupt, k.Copy, k.Terminal, k.Shell, k.Output},
		{k.Check, k.Diff, k.Hint, k.Reset, k.OutUp, k.OutDown},
		{k.Next, k.Prev, k.List, k.Trust, k.Help, k.Quit},
	}
}

// actionFor maps a key press to an action and its argument (block number
// for actRunN). While a prompt is open only yes/no keys count.
func actionFor(km keyMap, msg tea.KeyMsg, prompt bool) (action, int) {
	s := msg.String()
	if prompt {
		switch s {
		case "y", "Y", "o", "O", "enter":
			return actYes, 0
		case "ctrl+c":
			return actInterrupt, 0
		default:
			return actNo, 0
		}
	}
	if s == "esc" {
		return actNo, 0
	}
	pairs := []struct {
		b key.Binding
		a action
	}{
		{km.Interrupt, actInterrupt}, {km.Quit, actQuit}, {km.Up, actUp}, {km.Down, actDown},
		{km.PageUp, actPageUp}, {km.PageDown, actPageDown}, {km.NextBlock, actNextBlock},
		{km.PrevBlock, actPrevBlock}, {km.Run, actRun}, {km.Check, actCheck}, {km.Next, actNext},
		{km.Prev, actPrev}, {km.List, actList}, {km.Hint, actHint}, {km.Shell, actShell},
		{km.Reset, actReset}, {km.Copy, actCopy}, {km.Help, actHelp}, {km.Diff, actDiff},
		{km.Output, actOutput}, {km.OutUp, actOutUp}, {km.OutDown, actOutDown}, {km.Trust, actTrust},
		{km.Terminal, actTerminal},
	}
	for _, p := range pairs {
		if key.Matches(msg, p.b) {
			return p.a, 0
		}
	}
	if key.Matches(msg, km.RunN) {
		return actRunN, int(s[0] - '0')
	}
	return actNone, 0
}

// nav is the pure navigation state of one lesson: where the learner is and
// the step-list overlay. Which steps are unlocked is not kept here: it is
// the learner's progress (LessonProgress.Unlocked), passed to apply as done.
type nav struct {
	State  state
	Step   int // 1-based, as lessons.Step.Index; meaningful on stateStep
	Steps  int // steps in the lesson
	List   bool
	Cursor int // step under the step list's cursor, 1-based
}

// done reports whether a step (1-based) is unlocked.
type done func(step int) bool

func newNav(steps int) nav { return nav{State: stateIntro, Steps: steps} }

// resume is where a lesson opens: the page the learner saved, but never
// past a locked step.
func resume(lp *LessonProgress, steps int) nav {
	n := newNav(steps)
	if lp.Page == pageFinish || (lp.Page == pageStep && lp.Step > steps) {
		n.State = stateFinish
	} else if lp.Page == pageStep && lp.Step >= 1 {
		n.State, n.Step = stateStep, lp.Step
	}
	if n.State == stateIntro || steps == 0 {
		return n
	}
	last := steps
	if n.State == stateStep {
		last = n.Step - 1
	}
	for i := 1; i <= last; i++ {
		if !lp.IsUnlocked(i) {
			return nav{State: stateStep, Step: i, Steps: steps}
		}
	}
	return n
}

// save records where the learner stands in lp.
func (n nav) save(lp *LessonProgress) {
	switch n.State {
	case stateStep:
		lp.Page, lp.Step = pageStep, n.Step
	case stateFinish:
		lp.Page, lp.Step, lp.Finished = pageFinish, 0, true
	default:
		lp.Page, lp.Step = pageIntro, 0
	}
}

// canNext reports whether `n` leaves the current screen.
func (n nav) canNext(d done) bool {
	switch n.State {
	case stateIntro:
		return n.Steps > 0
	case stateStep:
		return d(n.Step)
	}
	return false
}

// reachable reports whether step i may be opened from the step list: the
// first step, or any step whose previous one is unlocked.
func (n nav) reachable(i int, d done) bool {
	return i == 1 || (i > 1 && i <= n.Steps && d(i-1))
}

// apply returns the navigation state after a; other actions leave it as is.
func (n nav) apply(a action, d done) nav {
	if n.List {
		switch a {
		case actUp, actPrevBlock:
			if n.Cursor > 1 {
				n.Cursor--
			}
		case actDown, actNextBlock:
			if n.Cursor < n.Steps {
				n.Cursor++
			}
		case actRun, actYes:
			if n.reachable(n.Cursor, d) {
				n.State, n.Step, n.List = stateStep, n.Cursor, false
			}
		case actList, actNo, actQuit:
			n.List = false
		}
		return n
	}
	switch a {
	case actNext:
		if !n.canNext(d) {
			return n
		}
		switch {
		case n.State == stateIntro:
			n.State, n.Step = stateStep, 1
		case n.Step < n.Steps:
			n.Step++
		default:
			n.State = stateFinish
		}
	case actRun:
		if n.State == stateIntro && n.Steps > 0 {
			n.State, n.Step = stateStep, 1
		}
	case actPrev:
		switch {
		case n.State == stateFinish && n.Steps > 0:
			n.State, n.Step = stateStep, n.Steps
		case n.State == stateStep && n.Step > 1:
			n.Step--
		case n.State == stateStep:
			n.State = stateIntro
		}
	case actList:
		if n.Steps > 0 {
			n.List, n.Cursor = true, n.Step
			switch n.State {
			case stateIntro:
				n.Cursor = 1
			case stateFinish:
				n.Cursor = n.Steps
			}
		}
	}
	return n
}

// moveSel moves a block selection by delta, wrapping around n blocks; -1
// means nothing selected.
func moveSel(cur, n, delta int) int {
	if n == 0 {
		return -1
	}
	if cur < 0 {
		if delta > 0 {
			return 0
		}
		return n - 1
	}
	return ((cur+delta)%n + n) % n
}
