package tui

import (
	"context"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/klabdev/klab/lessons"
)

// ctxFake records the context each page's scripts were started with.
type ctxFake struct {
	*fakeBackend
	cmu  sync.Mutex
	ctxs map[string][]context.Context
}

func (f *ctxFake) EnterPage(ctx context.Context, p *lessons.Page) error {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	f.ctxs[p.Title] = append(f.ctxs[p.Title], ctx)
	return nil
}

func (f *ctxFake) get(title string) []context.Context {
	f.cmu.Lock()
	defer f.cmu.Unlock()
	return append([]context.Context(nil), f.ctxs[title]...)
}

// A step's background script ends when its page is left and starts again
// on return; the intro's runs on.
func TestStepScriptsEndWithThePage(t *testing.T) {
	l := fixtureLesson()
	l.Intro.Background = &lessons.Script{Path: "setup.sh", Body: "sleep 100\n"}
	l.Steps[0].Background = &lessons.Script{Path: "step1/bg.sh", Body: "sleep 100\n"}
	f := &ctxFake{fakeBackend: newFake(), ctxs: map[string][]context.Context{}}
	cfg := testConfig(f.fakeBackend, t.TempDir())
	cfg.Lessons = []*lessons.Lesson{l}
	cfg.NewBackend = func(*lessons.Lesson) Backend { return f }
	m := New(cfg)
	drive(m, tea.WindowSizeMsg{Width: termW, Height: termH}, time.Second)
	driveCmd(m, m.Init(), 200*time.Millisecond)
	drive(m, keyMsg("enter"), 200*time.Millisecond) // intro → step 1
	step := f.get("Premier Job")
	if len(step) != 1 || step[0].Err() != nil {
		t.Fatalf("step 1 scripts: %d started", len(step))
	}
	drive(m, keyMsg("p"), 200*time.Millisecond) // back to the intro
	if step[0].Err() == nil {
		t.Fatal("leaving step 1 did not end its scripts")
	}
	intro := f.get("Intro")
	if len(intro) != 1 || intro[0].Err() != nil {
		t.Fatalf("the intro's scripts: %d, ended=%v", len(intro), len(intro) == 1 && intro[0].Err() != nil)
	}
	drive(m, keyMsg("enter"), 200*time.Millisecond) // step 1 again
	step = f.get("Premier Job")
	if len(step) != 2 || step[1].Err() != nil {
		t.Fatalf("coming back to step 1: %d starts", len(step))
	}
	if len(f.get("Intro")) != 1 {
		t.Fatal("the intro's scripts ran twice")
	}
}
