package tui

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/charmbracelet/x/vt"

	"github.com/klabdev/klab/lessons"
)

const (
	termW = 100
	termH = 30
)

// flow drives a program and shows what it prints on an emulated terminal
// of the same size: Bubble Tea v2 repaints only the cells that changed, so
// the screen, not the byte stream, is what the learner sees.
type flow struct {
	*teatest.TestModel
	term *vt.SafeEmulator
	buf  []byte
	tee  io.Writer // also gets the raw output, when set
}

func startFlow(t *testing.T, cfg Config) *flow {
	t.Helper()
	return startFlowSized(t, cfg, termW, termH)
}

func startFlowSized(t *testing.T, cfg Config, w, h int) *flow {
	t.Helper()
	term := vt.NewSafeEmulator(w, h)
	go func() { _, _ = io.Copy(io.Discard, term) }() // answers to the program's queries
	t.Cleanup(func() { _ = term.Close() })
	tm := teatest.NewTestModel(t, New(cfg), teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithColorProfile(cfg.Profile)))
	return &flow{TestModel: tm, term: term, buf: make([]byte, 64<<10)}
}

// screen feeds what the program printed since the last call to the
// emulator and returns the screen as text.
func (f *flow) screen() string {
	for {
		n, _ := f.Output().Read(f.buf)
		if n == 0 {
			break
		}
		if f.tee != nil {
			_, _ = f.tee.Write(f.buf[:n])
		}
		// The program's output is not a terminal, so Bubble Tea counts on the
		// tty's ONLCR to turn \n into \r\n: do what that tty would.
		_, _ = f.term.Write(bytes.ReplaceAll(f.buf[:n], []byte("\n"), []byte("\r\n")))
	}
	return f.term.String()
}

// waitFor waits until the screen shows every one of subs.
func waitFor(t *testing.T, f *flow, subs ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		scr := f.screen()
		missing := ""
		for _, s := range subs {
			if !strings.Contains(scr, s) {
				missing = s
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q not shown after 5s; screen:\n%s", missing, scr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitSeen is waitFor, for what is shown before the last key press took
// effect (kept for the tests' readability: the screen is the same).
func waitSeen(t *testing.T, f *flow, subs ...string) {
	t.Helper()
	waitFor(t, f, subs...)
}

func press(f *flow, keys ...string) {
	for _, k := range keys {
		f.Send(keyMsg(k))
	}
}

// finish quits and compares the final screen with testdata/<test>.golden.
func finish(t *testing.T, f *flow) *Model {
	t.Helper()
	press(f, "q")
	m := f.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	golden.RequireEqual(t, []byte(ansi.Strip(m.Screen())))
	return m
}

// Open the lesson, run block 1, see the objective pass, go to step 2.
func TestFlowRunUnlockNext(t *testing.T) {
	f := newFake()
	dir := t.TempDir()
	tm := startFlow(t, testConfig(f, dir))
	waitFor(t, tm, "Bienvenue dans cette leçon", "commencer la leçon")
	press(tm, "enter")
	waitSeen(t, tm, "Étape 1/3", "● sandbox", "✗ Le Job pi existe", "status.succeeded : attendu 1, obtenu 0")
	press(tm, "n") // locked: stays
	waitFor(t, tm, "Terminez d'abord les objectifs")
	press(tm, "1")
	waitFor(t, tm, "$ kubectl apply -f job.yaml", "job.batch/pi created", "✓ Le Job pi existe", "n : étape suivante", "✓ code 0 · 1.2s")
	press(tm, "n")
	waitFor(t, tm, "Étape 2/3 · Lire les logs")
	m := finish(t, tm)
	if m.Step() != 2 {
		t.Fatalf("step %d, want 2", m.Step())
	}
	if got := strings.Join(f.runs, "|"); got != "kubectl apply -f job.yaml\n" {
		t.Fatalf("runs %q", got)
	}
}

// Reveal a hint, then the solution after confirming.
func TestFlowHints(t *testing.T) {
	f := newFake()
	tm := startFlow(t, testConfig(f, t.TempDir()))
	press(tm, "enter")
	waitSeen(t, tm, "● sandbox")
	press(tm, "h")
	waitFor(t, tm, "Indice 1/2 · Piste", "Regardez")
	press(tm, "h")
	waitFor(t, tm, "Afficher la solution ? (o/N)")
	press(tm, "n", "h", "o") // refused once, then asked again and confirmed
	waitFor(t, tm, "Solution · Solution")
	press(tm, "h")
	waitFor(t, tm, "Tous les indices sont affichés")
	m := finish(t, tm)
	if got := m.lesson.prog.lp.Hints[1]; got != 2 {
		t.Fatalf("hints used %d, want 2", got)
	}
}

// Reset a completed step: the objective fails again and the step locks.
func TestFlowReset(t *testing.T) {
	f := newFake()
	tm := startFlow(t, testConfig(f, t.TempDir()))
	press(tm, "enter")
	waitSeen(t, tm, "● sandbox")
	press(tm, "1")
	waitFor(t, tm, "✓ Le Job pi existe")
	press(tm, "r")
	waitFor(t, tm, "Réinitialiser cette étape ?")
	press(tm, "o")
	waitFor(t, tm, "Étape réinitialisée.", "✗ Le Job pi existe")
	m := finish(t, tm)
	if f.resets != 1 || m.lesson.prog.lp.IsUnlocked(1) {
		t.Fatalf("resets=%d unlocked=%v", f.resets, m.lesson.prog.lp.Unlocked)
	}
}

// Quit on step 2, start again: the lesson resumes on step 2; --restart
// starts over.
func TestFlowResume(t *testing.T) {
	f := newFake()
	dir := t.TempDir()
	tm := startFlow(t, testConfig(f, dir))
	press(tm, "enter")
	waitSeen(t, tm, "● sandbox")
	press(tm, "1")
	waitFor(t, tm, "✓ Le Job pi existe")
	press(tm, "n")
	waitFor(t, tm, "Étape 2/3")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))

	data, err := os.ReadFile(filepath.Join(dir, "progress.json"))
	if err != nil || !bytes.Contains(data, []byte(`"step": 2`)) {
		t.Fatalf("progress.json: %s %v", data, err)
	}

	tm2 := startFlow(t, testConfig(f, dir))
	waitFor(t, tm2, "Étape 2/3 · Lire les logs", "2/3")
	finish(t, tm2)

	// A hand-edited file with odd values opens without crashing.
	odd := `{"lessons":{"fixture":{"unlocked":[0,9,-1,1],"current":99,"hints":{"1":-3},"elapsed":"-5s"}}}`
	if err := os.WriteFile(filepath.Join(dir, "progress.json"), []byte(odd), 0o644); err != nil {
		t.Fatal(err)
	}
	m0 := New(testConfig(f, dir))
	m0.Update(tea.WindowSizeMsg{Width: termW, Height: termH})
	m0.Update(keyMsg("h"))
	if m0.State() != "step" || m0.Step() != 2 {
		t.Fatalf("odd progress: %s step %d, want step 2", m0.State(), m0.Step())
	}

	cfg := testConfig(f, dir)
	cfg.Restart = true
	m := New(cfg)
	if m.State() != "intro" {
		t.Fatalf("--restart: state %s, want intro", m.State())
	}
}

// An unreachable cluster shows a banner, keeps the text, and retries.
func TestFlowUnreachableRetries(t *testing.T) {
	f := newFake()
	f.failConnects = 2
	tm := startFlow(t, testConfig(f, t.TempDir()))
	waitFor(t, tm, "Cluster injoignable : dial tcp 127.0.0.1:6443: connection refused", "klab sandbox up", "Bienvenue dans cette leçon")
	waitSeen(t, tm, "● sandbox")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	if f.connects != 3 {
		t.Fatalf("connects %d, want 3", f.connects)
	}
}

// Ctrl+C interrupts a running command; a second Ctrl+C quits.
func TestFlowInterrupt(t *testing.T) {
	f := newFake()
	tm := startFlow(t, testConfig(f, t.TempDir()))
	press(tm, "enter")
	waitSeen(t, tm, "● sandbox")
	press(tm, "3")
	waitFor(t, tm, "$ sleep 100", "en cours")
	press(tm, "ctrl+c")
	waitFor(t, tm, "interrompu après", "Ctrl+C à nouveau pour quitter")
	press(tm, "ctrl+c")
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

var _ tea.Model = (*Model)(nil)

// A cluster that stops answering after Connect turns the dot red with a
// banner, and green again when it is back.
func TestFlowClusterGoesAway(t *testing.T) {
	f := newFake()
	pb := &pingBackend{fakeBackend: f, down: make(chan bool, 1)}
	cfg := testConfig(f, t.TempDir())
	cfg.NewBackend = func(*lessons.Lesson) Backend { return pb }
	cfg.PingEvery = 20 * time.Millisecond
	tm := startFlow(t, cfg)
	waitSeen(t, tm, "● sandbox")
	press(tm)
	pb.down <- true
	waitFor(t, tm, "● sandbox injoignable", "Cluster injoignable : dial tcp", "Bienvenue dans cette leçon")
	press(tm)
	pb.down <- false
	waitFor(t, tm, "● sandbox")
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}
