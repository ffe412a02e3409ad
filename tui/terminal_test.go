package tui

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/charmbracelet/x/vt"

	"github.com/klabdev/klab/lessons"
)

func termConfig(b *termBackend, dir string) Config {
	cfg := testConfig(b.fakeBackend, dir)
	cfg.NewBackend = func(*lessons.Lesson) Backend { return b }
	return cfg
}

// finishScreen quits and compares what the emulated terminal last showed
// with testdata/<test>.golden.
func finishScreen(t *testing.T, f *flow) {
	t.Helper()
	scr := f.screen()
	press(f, "ctrl+g", "q")
	f.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	golden.RequireEqual(t, []byte(scr))
}

// The learner reads step 1 and types in the terminal pane beside the text
// (160x45) or below it (100x32): the checklist, on screen all along, turns
// green; Ctrl+G gives the keys back to the lesson.
func TestTerminalPaneLayouts(t *testing.T) {
	for _, tt := range []struct {
		name string
		w, h int
	}{{"beside-160x45", 160, 45}, {"below-100x32", 100, 32}} {
		t.Run(tt.name, func(t *testing.T) {
			b := newTermBackend()
			tm := startFlowSized(t, termConfig(b, t.TempDir()), tt.w, tt.h)
			press(tm, "enter")
			waitFor(t, tm, "Étape 1/3", "● sandbox", "Terminal · t : taper ici", "$", "✗ Le Job pi existe")
			press(tm, "t")
			waitFor(t, tm, "Terminal · Ctrl+G : revenir à la leçon")
			for _, r := range "kubectl apply -f job.yaml" {
				press(tm, string(r))
			}
			press(tm, "enter")
			waitFor(t, tm, "$ kubectl apply -f job.yaml", "job.batch/pi created", "✓ Le Job pi existe", "n : étape suivante")
			if b.term().Typed() != "kubectl apply -f job.yaml\r" {
				t.Fatalf("typed %q", b.term().Typed())
			}
			golden.RequireEqual(t, []byte(tm.screen()))
			// After Ctrl+G, n is the lesson's again; the shell stays.
			press(tm, "ctrl+g", "n")
			waitFor(t, tm, "Étape 2/3 · Lire les logs", "Terminal · t : taper ici", "job.batch/pi created")
			press(tm, "q")
			tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
		})
	}
}

// Exec blocks type into the terminal, as Killercoda does; an interrupt
// block sends Ctrl+C first; the shell is the same one from step to step.
func TestExecBlocksTypeInTerminal(t *testing.T) {
	b := newTermBackend()
	l := fixtureLesson()
	l.Steps[0].Blocks[2].Interrupt = true // [3] sleep 100: an interrupt block
	cfg := termConfig(b, t.TempDir())
	cfg.Lessons = []*lessons.Lesson{l}
	tm := startFlowSized(t, cfg, 160, 45)
	press(tm, "enter")
	waitFor(t, tm, "Étape 1/3", "● sandbox", "$")
	press(tm, "1")
	waitFor(t, tm, "job.batch/pi created", "✓ Le Job pi existe")
	press(tm, "3")
	waitFor(t, tm, "^C", "$ sleep 100")
	press(tm, "n")
	waitFor(t, tm, "Étape 2/3")
	press(tm, "1")
	waitFor(t, tm, "$ kubectl get pods")
	if got, want := b.term().Typed(), "kubectl apply -f job.yaml\r\x03sleep 100\rkubectl get pods\r"; got != want {
		t.Fatalf("typed %q, want %q", got, want)
	}
	if len(b.terms) != 1 {
		t.Fatalf("%d shells started, want 1 for the whole lesson", len(b.terms))
	}
	if strings.Contains(tm.screen(), "$ kubectl apply -f job.yaml …") {
		t.Fatal("an exec block ran in the output pane, not in the terminal")
	}
	press(tm, "q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	select {
	case <-b.term().Done():
	default:
		t.Fatal("quitting left the shell running")
	}
}

// Under NO_COLOR (colorprofile.Ascii) the program writes no colour at all,
// the pane included; the screen is the same.
func TestNoColor(t *testing.T) {
	b := newTermBackend()
	cfg := termConfig(b, t.TempDir())
	cfg.Profile = colorprofile.Ascii
	tm := startFlowSized(t, cfg, 160, 45)
	var raw bytes.Buffer
	tm.tee = &raw
	press(tm, "enter")
	waitFor(t, tm, "Étape 1/3", "● sandbox", "✗ Le Job pi existe", "Terminal · t : taper ici")
	b.term().out([]byte("\x1b[31mrouge\x1b[0m \x1b[38;5;42mvert\x1b[m\r\n$ "))
	waitFor(t, tm, "rouge vert")
	for _, sgr := range regexp.MustCompile(`\x1b\[([0-9;:]*)m`).FindAllSubmatch(raw.Bytes(), -1) {
		for p := range strings.SplitSeq(string(sgr[1]), ";") {
			if n, err := strconv.Atoi(p); err == nil && (n >= 30 && n <= 49 || n >= 90 && n <= 107) {
				t.Fatalf("colour written under NO_COLOR: %q", sgr[0])
			}
		}
	}
	finishScreen(t, tm)
}

// BenchmarkKeyRepaintPaneStreaming is BenchmarkKeyRepaint with the terminal
// pane streaming output (as `seq 1 200000` does) while keys are pressed.
func BenchmarkKeyRepaintPaneStreaming(b *testing.B) {
	be := newTermBackend()
	m := newSized(b, termConfig(be, b.TempDir()), 160, 45)
	driveCmd(m, m.Init(), 100*time.Millisecond)
	drive(m, keyMsg("enter"), 100*time.Millisecond)
	if be.term() == nil {
		b.Fatal("no terminal started")
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			be.term().out(fmt.Appendf(nil, "%d\r\n", i))
		}
	}()
	_ = m.View()
	tab := keyMsg("tab")
	for b.Loop() {
		m.Update(tab)
		_ = m.View()
	}
	close(stop)
	<-done
}

var _ = ansi.Strip

// Skipping a flood of plain lines changes nothing on screen: from any
// cursor position and any earlier content, with wrapped lines and CRs.
func TestFloodCutKeepsScreen(t *testing.T) {
	for _, pre := range []string{"", "\x1b[5;10Hdébut", "prompt$ ", "\x1b[31mrouge "} {
		var flood []byte
		for i := 1; i <= 3000; i++ {
			switch {
			case i%97 == 0:
				flood = fmt.Appendf(flood, "%s\r\n", strings.Repeat("long ", 30)) // wraps
			case i%13 == 0:
				flood = fmt.Appendf(flood, "écrasé\rligne %d\t·\r\n", i)
			default:
				flood = fmt.Appendf(flood, "%d\r\n", i)
			}
		}
		flood = append(flood, "fin$ "...)
		full := vt.NewEmulator(40, 10)
		cut := vt.NewEmulator(40, 10)
		for _, e := range []*vt.Emulator{full, cut} {
			go func() { _, _ = io.Copy(io.Discard, e) }()
			_, _ = e.Write([]byte(pre))
		}
		_, _ = full.Write(flood)
		n := floodCut(flood, 10)
		if n == 0 {
			t.Fatal("a flood of 3000 lines was not cut")
		}
		_, _ = cut.Write(flood[n:])
		if full.String() != cut.String() || full.CursorPosition() != cut.CursorPosition() {
			t.Fatalf("after %q the screens differ:\n%s\n---\n%s", pre, full.String(), cut.String())
		}
	}
	// Escape sequences stop the cut where they start.
	esc := []byte(strings.Repeat("a\r\n", 50) + "\x1b[2J" + strings.Repeat("b\r\n", 50))
	if n := floodCut(esc, 10); n == 0 || n > strings.Index(string(esc), "\x1b") {
		t.Fatalf("cut %d crosses the escape sequence", n)
	}
}
