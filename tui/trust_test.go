package tui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/klabdev/klab/internal/trust"
	"github.com/klabdev/klab/lessons"
)

// trustFake is a fake backend whose lesson's scripts need trust.
type trustFake struct {
	*fakeBackend
	tmu     sync.Mutex
	trusted bool
	trusts  int
	scripts []trust.Script
}

func (f *trustFake) Trusted() bool {
	f.tmu.Lock()
	defer f.tmu.Unlock()
	return f.trusted
}

func (f *trustFake) Scripts() []trust.Script { return f.scripts }

func (f *trustFake) Trust(context.Context) error {
	f.tmu.Lock()
	defer f.tmu.Unlock()
	f.trusted = true
	f.trusts++
	return nil
}

// trustLesson is the fixture lesson with an intro background script.
func trustLesson() (*lessons.Lesson, []trust.Script) {
	l := fixtureLesson()
	l.Dir = "/tmp/lesson"
	var b strings.Builder
	b.WriteString("#!/bin/bash\n# prépare le lab\ntouch \"$HOME/canary\"\n")
	for i := 4; i <= 40; i++ {
		fmt.Fprintf(&b, "echo ligne %d\n", i)
	}
	l.Intro.Background = &lessons.Script{Path: "setup.sh", Body: b.String()}
	return l, []trust.Script{{Path: "setup.sh", Role: "background", Size: b.Len(), Body: b.String()}}
}

func TestTrustKey(t *testing.T) {
	tests := map[string]trustAct{
		"y": trustYes, "o": trustYes, "n": trustLater, "esc": trustLater, "q": trustLater,
		"down": trustDown, "j": trustDown, "up": trustUp, "pgdown": trustPageDown, "space": trustPageDown,
		"pgup": trustPageUp, "ctrl+c": trustQuit, "enter": trustNone, "x": trustNone,
	}
	for k, want := range tests {
		if got := trustKey(k); got != want {
			t.Errorf("trustKey(%q) = %d, want %d", k, got, want)
		}
	}
}

// An untrusted lesson asks once when it opens, runs no script of its own
// until trusted (exec blocks still run), and trusting runs the intro's
// background script.
func TestUntrustedLessonAsksOnce(t *testing.T) {
	l, scripts := trustLesson()
	f := &trustFake{fakeBackend: newFake(), scripts: scripts}
	cfg := testConfig(f.fakeBackend, t.TempDir())
	cfg.Lessons = []*lessons.Lesson{l}
	cfg.NewBackend = func(*lessons.Lesson) Backend { return f }
	m := New(cfg)
	drive(m, tea.WindowSizeMsg{Width: termW, Height: termH}, time.Second)
	screen := ansi.Strip(m.Screen())
	for _, want := range []string{"1 script(s) qui s'exécuteront sur votre machine", "▸ setup.sh · arrière-plan", `touch "$HOME/canary"`, "y approuver et lancer"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("trust screen lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "echo ligne 40") {
		t.Fatalf("the whole script fits? the test wants a scrollable one:\n%s", screen)
	}
	driveCmd(m, m.Init(), 200*time.Millisecond)
	// Scroll to the end of the script.
	for range 40 {
		drive(m, keyMsg("down"), time.Second)
	}
	if s := ansi.Strip(m.Screen()); !strings.Contains(s, "echo ligne 40") {
		t.Fatalf("scrolling does not reach the end of the script:\n%s", s)
	}
	drive(m, keyMsg("n"), time.Second)
	if len(f.entered) != 0 {
		t.Fatalf("scripts ran before trust: %v", f.entered)
	}
	screen = ansi.Strip(m.Screen())
	if !strings.Contains(screen, "Scripts de la leçon non approuvés") || !strings.Contains(screen, "Bienvenue") {
		t.Fatalf("after 'later' the lesson should show with a banner:\n%s", screen)
	}
	// Exec blocks still run on request.
	drive(m, keyMsg("enter"), 200*time.Millisecond)
	drive(m, keyMsg("1"), 200*time.Millisecond)
	if len(f.runs) != 1 || len(f.entered) != 0 {
		t.Fatalf("runs %q, entered %v", f.runs, f.entered)
	}
	// A script objective says it is not trusted, with the key.
	drive(m, checkedMsg{step: 1, res: []ObjectiveResult{{ID: "job-exists", Title: "Le Job pi existe", Status: StatusError, Untrusted: true, Message: "x"}}}, time.Second)
	if s := ansi.Strip(m.Screen()); !strings.Contains(s, "script non approuvé · a : approuver") {
		t.Fatalf("untrusted objective not shown:\n%s", s)
	}
	// a opens the screen again; y trusts and starts the intro's background.
	drive(m, keyMsg("a"), time.Second)
	if s := ansi.Strip(m.Screen()); !strings.Contains(s, "▸ setup.sh") {
		t.Fatalf("a does not show the trust screen:\n%s", s)
	}
	drive(m, keyMsg("y"), 500*time.Millisecond)
	if f.trusts != 1 || len(f.entered) != 1 || f.entered[0] != "Intro" {
		t.Fatalf("after trust: trusts %d, entered %v", f.trusts, f.entered)
	}
	if s := ansi.Strip(m.Screen()); strings.Contains(s, "non approuvés") {
		t.Fatalf("banner still shown after trust:\n%s", s)
	}
	drive(m, keyMsg("a"), time.Second)
	if m.lesson.trust != nil {
		t.Fatal("a trusted lesson opened the trust screen again")
	}
}

// A trusted (or embedded) lesson never asks.
func TestTrustedLessonNeverAsks(t *testing.T) {
	l, scripts := trustLesson()
	f := &trustFake{fakeBackend: newFake(), scripts: scripts, trusted: true}
	cfg := testConfig(f.fakeBackend, t.TempDir())
	cfg.Lessons = []*lessons.Lesson{l}
	cfg.NewBackend = func(*lessons.Lesson) Backend { return f }
	m := New(cfg)
	drive(m, tea.WindowSizeMsg{Width: termW, Height: termH}, time.Second)
	driveCmd(m, m.Init(), 200*time.Millisecond)
	if s := ansi.Strip(m.Screen()); strings.Contains(s, "setup.sh") || !strings.Contains(s, "Bienvenue") {
		t.Fatalf("a trusted lesson shows the trust screen:\n%s", s)
	}
	if len(f.entered) != 1 {
		t.Fatalf("intro scripts of a trusted lesson: %v", f.entered)
	}
}

// The trust screen as the learner sees it (golden).
func TestFlowTrustScreen(t *testing.T) {
	l, scripts := trustLesson()
	f := &trustFake{fakeBackend: newFake(), scripts: scripts}
	cfg := testConfig(f.fakeBackend, t.TempDir())
	cfg.Lessons = []*lessons.Lesson{l}
	cfg.NewBackend = func(*lessons.Lesson) Backend { return f }
	tm := startFlow(t, cfg)
	waitFor(t, tm, "▸ setup.sh · arrière-plan", "y approuver et lancer")
	press(tm, "ctrl+c")
	m := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if f.trusts != 0 || len(f.entered) != 0 {
		t.Fatalf("quitting the trust screen trusted or ran: %d %v", f.trusts, f.entered)
	}
	golden.RequireEqual(t, []byte(ansi.Strip(m.Screen())))
}
