package tui

import (
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/klabdev/klab/assets"
)

// keyMsg builds the tea.KeyMsg a terminal sends for a key name.
func keyMsg(k string) tea.KeyMsg {
	switch k {
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "pgup":
		return tea.KeyMsg{Type: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyMsg{Type: tea.KeyPgDown}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "ctrl+c":
		return tea.KeyMsg{Type: tea.KeyCtrlC}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
}

func TestActionFor(t *testing.T) {
	km := newKeyMap(assets.Catalog("fr").T)
	tests := []struct {
		key    string
		prompt bool
		want   action
		arg    int
	}{
		{"up", false, actUp, 0}, {"k", false, actUp, 0}, {"down", false, actDown, 0},
		{"pgup", false, actPageUp, 0}, {"pgdown", false, actPageDown, 0},
		{"tab", false, actNextBlock, 0}, {"shift+tab", false, actPrevBlock, 0},
		{"enter", false, actRun, 0}, {"1", false, actRunN, 1}, {"9", false, actRunN, 9},
		{"ctrl+c", false, actInterrupt, 0}, {"c", false, actCheck, 0}, {"n", false, actNext, 0},
		{"p", false, actPrev, 0}, {"l", false, actList, 0}, {"h", false, actHint, 0},
		{"s", false, actShell, 0}, {"r", false, actReset, 0}, {"y", false, actCopy, 0},
		{"?", false, actHelp, 0}, {"q", false, actQuit, 0}, {"d", false, actDiff, 0},
		{"o", false, actOutput, 0}, {"esc", false, actNo, 0}, {"z", false, actNone, 0},
		{"0", false, actNone, 0},
		{"y", true, actYes, 0}, {"o", true, actYes, 0}, {"enter", true, actYes, 0},
		{"n", true, actNo, 0}, {"q", true, actNo, 0}, {"ctrl+c", true, actInterrupt, 0},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			a, n := actionFor(km, keyMsg(tt.key), tt.prompt)
			if a != tt.want || n != tt.arg {
				t.Fatalf("actionFor(%q, prompt=%v) = %v,%d, want %v,%d", tt.key, tt.prompt, a, n, tt.want, tt.arg)
			}
		})
	}
}

// TestNavReplay replays key sequences through actionFor and nav.apply.
func TestNavReplay(t *testing.T) {
	km := newKeyMap(assets.Catalog("en").T)
	tests := []struct {
		name     string
		unlocked []bool
		keys     []string
		state    state
		step     int
		list     bool
	}{
		{"start", []bool{false, false, false}, nil, stateIntro, 0, false},
		{"enter starts", []bool{false, false, false}, []string{"enter"}, stateStep, 0, false},
		{"n starts", []bool{false, false, false}, []string{"n"}, stateStep, 0, false},
		{"locked step blocks n", []bool{false, false, false}, []string{"n", "n", "n"}, stateStep, 0, false},
		{"unlocked step allows n", []bool{true, false, false}, []string{"n", "n", "n"}, stateStep, 1, false},
		{"all unlocked reach finish", []bool{true, true, true}, []string{"n", "n", "n", "n", "n"}, stateFinish, 0, false},
		{"p from finish goes to last step", []bool{true, true, true}, []string{"n", "n", "n", "n", "p"}, stateStep, 2, false},
		{"p from step 1 goes to intro", []bool{false, false, false}, []string{"n", "p"}, stateIntro, 0, false},
		{"p on intro stays", []bool{false, false, false}, []string{"p", "p"}, stateIntro, 0, false},
		{"list opens", []bool{true, false, false}, []string{"n", "l"}, stateStep, 0, true},
		{"list jumps to reachable step", []bool{true, true, false}, []string{"n", "l", "down", "down", "enter"}, stateStep, 2, false},
		{"list refuses locked step", []bool{false, false, false}, []string{"n", "l", "down", "down", "enter"}, stateStep, 0, true},
		{"list esc closes", []bool{true, false, false}, []string{"n", "l", "down", "esc"}, stateStep, 0, false},
		{"list cursor stops at end", []bool{true, true, true}, []string{"n", "l", "down", "down", "down", "down", "enter"}, stateStep, 2, false},
		{"list from finish starts on the last step", []bool{true, true, true}, []string{"n", "n", "n", "n", "l", "up", "enter"}, stateStep, 1, false},
		{"list from intro starts on step 1", []bool{true, true, true}, []string{"l", "enter"}, stateStep, 0, false},
		{"n on finish stays", []bool{true, true, true}, []string{"n", "n", "n", "n", "n", "n"}, stateFinish, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNav(len(tt.unlocked))
			copy(n.Unlocked, tt.unlocked)
			for _, k := range tt.keys {
				a, _ := actionFor(km, keyMsg(k), false)
				n = n.apply(a)
			}
			if n.State != tt.state || (n.State == stateStep && n.Step != tt.step) || n.List != tt.list {
				t.Fatalf("after %v: state=%v step=%d list=%v, want %v %d %v", tt.keys, n.State, n.Step, n.List, tt.state, tt.step, tt.list)
			}
		})
	}
}

func TestUnlocks(t *testing.T) {
	pass := ObjectiveResult{ID: "a", Status: StatusPass}
	fail := ObjectiveResult{ID: "b", Status: StatusFail}
	errR := ObjectiveResult{ID: "c", Status: StatusError}
	tests := []struct {
		name string
		want int
		res  []ObjectiveResult
		ok   bool
	}{
		{"no objectives unlock at once", 0, nil, true},
		{"no result yet", 1, nil, false},
		{"all pass", 2, []ObjectiveResult{pass, pass}, true},
		{"one fails", 2, []ObjectiveResult{pass, fail}, false},
		{"error is not a pass", 1, []ObjectiveResult{errR}, false},
		{"partial list", 2, []ObjectiveResult{pass}, false},
		{"pending", 1, []ObjectiveResult{{Status: StatusPending}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := unlocks(tt.want, tt.res); got != tt.ok {
				t.Fatalf("unlocks = %v, want %v", got, tt.ok)
			}
		})
	}
}

func TestMoveSel(t *testing.T) {
	tests := []struct{ cur, n, d, want int }{
		{-1, 0, 1, -1}, {-1, 3, 1, 0}, {-1, 3, -1, 2}, {0, 3, 1, 1}, {2, 3, 1, 0}, {0, 3, -1, 2},
	}
	for _, tt := range tests {
		if got := moveSel(tt.cur, tt.n, tt.d); got != tt.want {
			t.Errorf("moveSel(%d,%d,%d) = %d, want %d", tt.cur, tt.n, tt.d, got, tt.want)
		}
	}
}
