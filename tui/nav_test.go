package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/klabdev/klab/assets"
)

// keyMsg builds the key press a terminal sends for a key name.
func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	}
	if rest, ok := strings.CutPrefix(k, "ctrl+"); ok {
		return tea.KeyPressMsg{Code: rune(rest[0]), Mod: tea.ModCtrl}
	}
	r := []rune(k)
	return tea.KeyPressMsg{Code: r[0], Text: k}
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

// TestNavReplay replays key sequences through actionFor and nav.apply;
// steps are 1-based, as in lessons and progress.json.
func TestNavReplay(t *testing.T) {
	km := newKeyMap(assets.Catalog("en").T)
	tests := []struct {
		name     string
		unlocked []int
		keys     []string
		state    state
		step     int
		list     bool
	}{
		{"start", nil, nil, stateIntro, 0, false},
		{"enter starts", nil, []string{"enter"}, stateStep, 1, false},
		{"n starts", nil, []string{"n"}, stateStep, 1, false},
		{"locked step blocks n", nil, []string{"n", "n", "n"}, stateStep, 1, false},
		{"unlocked step allows n", []int{1}, []string{"n", "n", "n"}, stateStep, 2, false},
		{"all unlocked reach finish", []int{1, 2, 3}, []string{"n", "n", "n", "n", "n"}, stateFinish, 0, false},
		{"p from finish goes to last step", []int{1, 2, 3}, []string{"n", "n", "n", "n", "p"}, stateStep, 3, false},
		{"p from step 1 goes to intro", nil, []string{"n", "p"}, stateIntro, 0, false},
		{"p on intro stays", nil, []string{"p", "p"}, stateIntro, 0, false},
		{"list opens", []int{1}, []string{"n", "l"}, stateStep, 1, true},
		{"list jumps to reachable step", []int{1, 2}, []string{"n", "l", "down", "down", "enter"}, stateStep, 3, false},
		{"list refuses locked step", nil, []string{"n", "l", "down", "down", "enter"}, stateStep, 1, true},
		{"list esc closes", []int{1}, []string{"n", "l", "down", "esc"}, stateStep, 1, false},
		{"list cursor stops at end", []int{1, 2, 3}, []string{"n", "l", "down", "down", "down", "down", "enter"}, stateStep, 3, false},
		{"list from finish starts on the last step", []int{1, 2, 3}, []string{"n", "n", "n", "n", "l", "up", "enter"}, stateStep, 2, false},
		{"list from intro starts on step 1", []int{1, 2, 3}, []string{"l", "enter"}, stateStep, 1, false},
		{"n on finish stays", []int{1, 2, 3}, []string{"n", "n", "n", "n", "n", "n"}, stateFinish, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lp := &LessonProgress{Unlocked: tt.unlocked}
			n := newNav(3)
			for _, k := range tt.keys {
				a, _ := actionFor(km, keyMsg(k), false)
				n = n.apply(a, lp.IsUnlocked)
			}
			if n.State != tt.state || (n.State == stateStep && n.Step != tt.step) || n.List != tt.list {
				t.Fatalf("after %v: state=%v step=%d list=%v, want %v %d %v", tt.keys, n.State, n.Step, n.List, tt.state, tt.step, tt.list)
			}
		})
	}
}

// TestResume opens a lesson where the learner stopped, never past a
// locked step.
func TestResume(t *testing.T) {
	tests := []struct {
		name  string
		lp    LessonProgress
		state state
		step  int
	}{
		{"new lesson", LessonProgress{}, stateIntro, 0},
		{"on a step", LessonProgress{Page: pageStep, Step: 2, Unlocked: []int{1}}, stateStep, 2},
		{"past a locked step", LessonProgress{Page: pageStep, Step: 3, Unlocked: []int{2}}, stateStep, 1},
		{"finish page", LessonProgress{Page: pageFinish, Unlocked: []int{1, 2, 3}}, stateFinish, 0},
		{"finish with a locked step", LessonProgress{Page: pageFinish, Unlocked: []int{1, 3}}, stateStep, 2},
		{"a step past the last is the finish", LessonProgress{Page: pageStep, Step: 4, Unlocked: []int{1, 2, 3}}, stateFinish, 0},
		{"step 0 is the intro", LessonProgress{Page: pageStep, Step: 0}, stateIntro, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := resume(&tt.lp, 3)
			if n.State != tt.state || n.Step != tt.step {
				t.Fatalf("resume = %v step %d, want %v step %d", n.State, n.Step, tt.state, tt.step)
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
