package tui

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/runner"
)

// prepFake is the fake backend with Killercoda's setup: a background script
// runs until release is called.
type prepFake struct {
	*fakeBackend
	mu      sync.Mutex
	started []string
	done    bool
}

func (p *prepFake) StartBackground(ctx context.Context, page *lessons.Page) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if page.Background != nil {
		p.started = append(p.started, page.Background.Path)
	}
	return nil
}

func (p *prepFake) Preparing() []runner.BackgroundStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done || len(p.started) == 0 {
		return nil
	}
	return []runner.BackgroundStatus{{Script: p.started[0], Log: "setup.log", Running: true,
		Started: time.Date(2026, 11, 27, 9, 59, 57, 0, time.UTC)}}
}

func (p *prepFake) LogTail(log string, n int) string { return "creating namespace delta" }

func (p *prepFake) release() {
	p.mu.Lock()
	p.done = true
	p.mu.Unlock()
}

func prepConfig(t *testing.T) (*prepFake, Config) {
	f := &prepFake{fakeBackend: newFake()}
	cfg := testConfig(f.fakeBackend, t.TempDir())
	cfg.NewBackend = func(*lessons.Lesson) Backend { return f }
	l := fixtureLesson()
	l.Intro.Background = &lessons.Script{Path: "setup.sh", Body: "sleep 3; kubectl create ns delta\n"}
	l.Intro.Foreground = &lessons.Script{Path: "foreground.sh", Body: "echo Installing scenario...\n"}
	cfg.Lessons = []*lessons.Lesson{l}
	return f, cfg
}

// The intro's setup runs: the screen says the environment is being
// prepared (script, time, log on v), an exec block asked for meanwhile waits;
// once the setup is done, that block runs and the step unlocks. The
// foreground script ran in view.
func TestFlowPreparing(t *testing.T) {
	f, cfg := prepConfig(t)
	tm := startFlow(t, cfg)
	waitFor(t, tm, "Préparation de l'environnement : setup.sh · 3.0s", "v : journal · g : continuer quand même")
	waitSeen(t, tm, "foreground.sh $ echo Installing scenario...")
	press(tm, "enter")
	waitSeen(t, tm, "Étape 1/3")
	press(tm, "1")
	waitFor(t, tm, "En préparation : le bloc s'exécutera dès que ce sera prêt (g : maintenant).")
	press(tm, "v")
	waitFor(t, tm, "── setup.sh", "creating namespace delta")
	f.release()
	waitFor(t, tm, "✓ Le Job pi existe", "n : étape suivante")
	finish(t, tm)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Equal(f.started, []string{"setup.sh"}) {
		t.Errorf("backgrounds started %q", f.started)
	}
	if !slices.Equal(f.runs, []string{"echo Installing scenario...\n", "kubectl apply -f job.yaml\n"}) {
		t.Errorf("runs %q: the foreground script runs in view, then the block once the setup is done", f.runs)
	}
}

// The learner may go ahead without waiting.
func TestFlowPrepareGoAhead(t *testing.T) {
	_, cfg := prepConfig(t)
	tm := startFlow(t, cfg)
	waitFor(t, tm, "Préparation de l'environnement : setup.sh")
	press(tm, "enter")
	waitSeen(t, tm, "Étape 1/3")
	press(tm, "g")
	waitFor(t, tm, "Les blocs s'exécutent sans attendre la fin de la préparation.")
	press(tm, "1")
	waitFor(t, tm, "✓ Le Job pi existe")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

// A scenario with only a title: its intro says there is nothing to do.
func TestNoStepsLesson(t *testing.T) {
	f := newFake()
	cfg := testConfig(f, t.TempDir())
	cfg.Lessons = []*lessons.Lesson{{ID: "ubuntu-simple", Title: "Ubuntu simple", Lang: "fr", Dir: "x"}}
	m := New(cfg)
	m.Update(tea.WindowSizeMsg{Width: termW, Height: termH})
	m.Update(keyMsg("n"))
	m.Update(keyMsg("enter"))
	v := ansi.Strip(m.Screen())
	if m.State() != "intro" || !strings.Contains(v, "Ubuntu simple") || !strings.Contains(v, "Cette leçon n'a pas d'étape : rien à faire ici") {
		t.Fatalf("state %s, screen:\n%s", m.State(), v)
	}
}
