package tui

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/klabdev/klab/lessons"
)

// drive sends msg to m and runs the commands it returns (and theirs), for
// at most d each: a command still blocked after d (a watch waiting for its
// next change, a toast timer) is dropped.
func driveCmd(m *Model, cmd tea.Cmd, d time.Duration) {
	for _, msg := range runCmd(cmd, d) {
		drive(m, msg, d)
	}
}

func drive(m *Model, msg tea.Msg, d time.Duration) {
	queue := []tea.Msg{msg}
	for len(queue) > 0 {
		msg, queue = queue[0], queue[1:]
		if batch, ok := msg.(tea.BatchMsg); ok {
			for _, c := range batch {
				queue = append(queue, runCmd(c, d)...)
			}
			continue
		}
		if msg == nil {
			continue
		}
		_, cmd := m.Update(msg)
		queue = append(queue, runCmd(cmd, d)...)
	}
}

func runCmd(c tea.Cmd, d time.Duration) []tea.Msg {
	if c == nil {
		return nil
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- c() }()
	select {
	case msg := <-ch:
		if _, ok := msg.(tea.QuitMsg); ok {
			return nil
		}
		// tea.Sequence returns an unexported slice of commands: run them in order.
		if s := sequence(msg); s != nil {
			var out []tea.Msg
			for _, c := range s {
				out = append(out, runCmd(c, d)...)
			}
			return out
		}
		return []tea.Msg{msg}
	case <-time.After(d):
		return nil
	}
}

func sequence(msg tea.Msg) []tea.Cmd {
	v := reflect.ValueOf(msg)
	t := reflect.TypeOf([]tea.Cmd(nil))
	if v.Kind() == reflect.Slice && v.Type().ConvertibleTo(t) {
		return v.Convert(t).Interface().([]tea.Cmd)
	}
	return nil
}

func newSized(t testing.TB, cfg Config, w, h int) *Model {
	t.Helper()
	m := New(cfg)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

func screen(m *Model) string { return ansi.Strip(m.Screen()) }

func TestTooSmall(t *testing.T) {
	m := newSized(t, testConfig(newFake(), t.TempDir()), 59, 30)
	if got := screen(m); !strings.Contains(got, "Agrandissez le terminal") {
		t.Fatalf("59x30: %q", got)
	}
	m.Update(tea.WindowSizeMsg{Width: 60, Height: 20})
	if got := screen(m); strings.Contains(got, "Agrandissez") || !strings.Contains(got, "Jobs et CronJobs") {
		t.Fatalf("60x20: %q", got)
	}
}

func TestFirstFrameBeforeCluster(t *testing.T) {
	// A backend whose Connect never answers must not keep the text away.
	f := newFake()
	cfg := testConfig(f, t.TempDir())
	cfg.NewBackend = func(*lessons.Lesson) Backend { return blockingBackend{f} }
	m := newSized(t, cfg, 100, 30)
	cmd := m.Init()
	if cmd == nil {
		t.Fatal("Init returned no command: Connect must run in a tea.Cmd")
	}
	got := screen(m)
	for _, want := range []string{"Bienvenue dans cette leçon", "connexion…", "Introduction"} {
		if !strings.Contains(got, want) {
			t.Errorf("first frame lacks %q:\n%s", want, got)
		}
	}
}

type blockingBackend struct{ *fakeBackend }

func (blockingBackend) Connect(ctx context.Context) (ClusterInfo, error) {
	<-ctx.Done()
	return ClusterInfo{}, ctx.Err()
}

func TestEnglishCatalogAndASCII(t *testing.T) {
	cfg := testConfig(newFake(), t.TempDir())
	cfg.Lang = "en"
	cfg.ASCII = true
	m := newSized(t, cfg, 100, 30)
	driveCmd(m, m.Init(), 200*time.Millisecond)
	drive(m, keyMsg("enter"), 200*time.Millisecond)
	got := screen(m)
	for _, want := range []string{"Step 1/3 | Premier Job", "-- Objectives 0/1", " x Le Job pi existe", "> [1] run", "* sandbox"} {
		if !strings.Contains(got, want) {
			t.Errorf("screen lacks %q:\n%s", want, got)
		}
	}
	if strings.ContainsAny(got, "✓✗…●▶─━·⏎╭┃") {
		t.Errorf("ASCII screen has UTF-8 symbols:\n%s", got)
	}
}

func TestDiffCopyListAndFinish(t *testing.T) {
	f := newFake()
	cfg := testConfig(f, t.TempDir())
	var clip bytes.Buffer
	cfg.Clipboard = &clip
	m := newSized(t, cfg, 100, 30)
	d := 200 * time.Millisecond
	driveCmd(m, m.Init(), d)
	drive(m, keyMsg("enter"), d)

	// d shows the diff of the failing objective.
	if strings.Contains(screen(m), "+ succeeded: 0") {
		t.Fatal("diff shown before d")
	}
	drive(m, keyMsg("d"), d)
	if !strings.Contains(screen(m), "+ succeeded: 0") {
		t.Fatalf("diff not shown after d:\n%s", screen(m))
	}

	// y copies the selected block through OSC 52.
	drive(m, keyMsg("tab"), d)
	drive(m, keyMsg("y"), d)
	want := base64.StdEncoding.EncodeToString([]byte("apiVersion: batch/v1\nkind: Job"))
	if !strings.Contains(clip.String(), want) || !strings.HasPrefix(clip.String(), "\x1b]52;c;") {
		t.Fatalf("clipboard got %q", clip.String())
	}
	if !strings.Contains(screen(m), "Bloc copié") {
		t.Fatalf("no copy confirmation:\n%s", screen(m))
	}
	// Enter on a copy block copies it too, never runs it.
	clip.Reset()
	drive(m, keyMsg("enter"), d)
	if len(f.runs) != 0 || !strings.Contains(clip.String(), want) {
		t.Fatalf("enter on copy block: runs=%v clip=%q", f.runs, clip.String())
	}

	// Solve step 1 and 3 (step 2 has no objectives); the list jumps.
	drive(m, keyMsg("1"), d)
	drive(m, keyMsg("n"), d)
	if m.Step() != 2 || !m.lesson.prog.lp.IsUnlocked(2) {
		t.Fatalf("step %d unlocked %v", m.Step(), m.lesson.prog.lp.Unlocked)
	}
	drive(m, keyMsg("l"), d)
	if !strings.Contains(screen(m), "Étapes") || !strings.Contains(screen(m), "▶ ✓ 2. Lire les logs") {
		t.Fatalf("list:\n%s", screen(m))
	}
	drive(m, keyMsg("down"), d)
	drive(m, keyMsg("enter"), d)
	if m.Step() != 3 {
		t.Fatalf("list jump: step %d", m.Step())
	}
	drive(m, keyMsg("1"), d)
	drive(m, keyMsg("h"), d) // no hint on step 3
	if !strings.Contains(screen(m), "Pas d'indice") {
		t.Fatalf("no-hint toast missing:\n%s", screen(m))
	}
	drive(m, keyMsg("n"), d)
	if m.State() != "finish" {
		t.Fatalf("state %s, want finish", m.State())
	}
	got := screen(m)
	for _, w := range []string{"Fini", "Temps passé : 0ms", "Indices utilisés : 0", "Terminé", "3/3"} {
		if !strings.Contains(got, w) {
			t.Errorf("finish screen lacks %q:\n%s", w, got)
		}
	}
}

func TestPicker(t *testing.T) {
	f := newFake()
	cfg := testConfig(f, t.TempDir())
	second := fixtureLesson()
	second.ID, second.Title = "other", "Autre leçon"
	cfg.Lessons = append(cfg.Lessons, second)
	m := newSized(t, cfg, 100, 30)
	if m.State() != "picker" {
		t.Fatalf("two lessons: state %s, want picker", m.State())
	}
	got := screen(m)
	if !strings.Contains(got, "1. Jobs et CronJobs") || !strings.Contains(got, "2. Autre leçon") || !strings.Contains(got, "0/3 étapes") {
		t.Fatalf("picker:\n%s", got)
	}
	drive(m, keyMsg("down"), 100*time.Millisecond)
	drive(m, keyMsg("enter"), 100*time.Millisecond)
	if m.State() != "intro" || m.lesson.l.ID != "other" {
		t.Fatalf("picked %v %s", m.lesson, m.State())
	}
}

func BenchmarkFirstFrame(b *testing.B) {
	dir := b.TempDir()
	f := newFake()
	for b.Loop() {
		m := New(testConfig(f, dir))
		m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
		_ = m.View()
	}
}

// BenchmarkKeyRepaint measures a key press (Tab: select the next block,
// re-highlight, scroll) and the repaint on a rendered step.
func BenchmarkKeyRepaint(b *testing.B) {
	f := newFake()
	m := newSized(b, testConfig(f, b.TempDir()), 120, 40)
	driveCmd(m, m.Init(), 100*time.Millisecond)
	drive(m, keyMsg("enter"), 100*time.Millisecond)
	_ = m.View()
	tab := keyMsg("tab")
	for b.Loop() {
		m.Update(tab)
		_ = m.View()
	}
}

// A block inside a hint can be selected and run only once the hint is shown.
func TestHintBlocks(t *testing.T) {
	f := newFake()
	m := newSized(t, testConfig(f, t.TempDir()), 100, 30)
	d := 200 * time.Millisecond
	driveCmd(m, m.Init(), d)
	drive(m, keyMsg("enter"), d)
	if n := len(m.lesson.visibleBlocks()); n != 3 {
		t.Fatalf("%d visible blocks before the solution, want 3", n)
	}
	drive(m, keyMsg("4"), d)
	if len(f.runs) != 0 || !strings.Contains(screen(m), "Pas de bloc [4]") {
		t.Fatalf("hidden block ran: %v\n%s", f.runs, screen(m))
	}
	for _, k := range []string{"h", "h", "o"} {
		drive(m, keyMsg(k), d)
	}
	if !strings.Contains(screen(m), "[4] bloc de l'indice : kubectl apply -f job.yaml") {
		t.Fatalf("revealed hint block not numbered:\n%s", screen(m))
	}
	drive(m, keyMsg("4"), d)
	if len(f.runs) != 1 || !m.lesson.prog.lp.IsUnlocked(1) {
		t.Fatalf("hint block 4: runs=%v unlocked=%v", f.runs, m.lesson.prog.lp.Unlocked)
	}
}

// The intro's scripts run once, before the first step's; a done step's
// scripts do not run again.
func TestPageScripts(t *testing.T) {
	f := newFake()
	cfg := testConfig(f, t.TempDir())
	l := fixtureLesson()
	l.Intro.Background = &lessons.Script{Path: "background.sh", Body: "true"}
	l.Steps[0].Foreground = &lessons.Script{Path: "step1/foreground.sh", Body: "true"}
	l.Steps[2].Background = &lessons.Script{Path: "step3/background.sh", Body: "true"}
	cfg.Lessons = []*lessons.Lesson{l}
	m := newSized(t, cfg, 100, 30)
	d := 200 * time.Millisecond
	driveCmd(m, m.Init(), d)
	for _, k := range []string{"enter", "1", "n", "n", "p", "p"} {
		drive(m, keyMsg(k), d)
	}
	if got := strings.Join(f.entered, ","); got != "Intro,Premier Job,Un CronJob" {
		t.Fatalf("scripts ran for %q", got)
	}
}

func TestDetectTerminal(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	t.Setenv("LC_ALL", "")
	t.Setenv("LC_CTYPE", "")
	t.Setenv("LANG", "C")
	var cfg Config
	cfg.DetectTerminal(f)
	if cfg.Profile != colorprofile.NoTTY || !cfg.ASCII || !cfg.Dark {
		t.Fatalf("non-TTY, LANG=C: profile %v ascii %v dark %v", cfg.Profile, cfg.ASCII, cfg.Dark)
	}
	t.Setenv("LANG", "fr_FR.UTF-8")
	cfg.DetectTerminal(f)
	if cfg.ASCII {
		t.Fatal("UTF-8 locale gives ASCII symbols")
	}
}

// Both klab glamour styles load and render.
func TestGlamourStyles(t *testing.T) {
	for _, dark := range []bool{true, false} {
		r := newRenderCache(dark)
		out := r.Render("# Titre\n\nDu `code` et **du gras**.\n\n- un\n- deux\n", 80)
		if !strings.Contains(ansi.Strip(out), "Titre") || !strings.Contains(out, "\x1b[") || strings.Contains(out, "# Titre") {
			t.Fatalf("dark=%v: %q", dark, out)
		}
	}
}

// On the smallest terminal the text keeps its share of the screen.
func TestSmallTerminalLayout(t *testing.T) {
	f := newFake()
	m := newSized(t, testConfig(f, t.TempDir()), 60, 20)
	d := 200 * time.Millisecond
	driveCmd(m, m.Init(), d)
	drive(m, keyMsg("enter"), d)
	drive(m, keyMsg("1"), d)
	got := screen(m)
	if !strings.Contains(got, "$ kubectl apply -f job.yaml") || m.lesson.text.vp.Height() < 20/3 {
		t.Fatalf("with output: text pane has %d lines:\n%s", m.lesson.text.vp.Height(), got)
	}
	drive(m, keyMsg("r"), d)
	drive(m, keyMsg("o"), d) // confirm: the objective fails again, details come back
	got = screen(m)
	if h := strings.Count(got, "\n") + 1; h != 20 {
		t.Fatalf("%d lines, want 20:\n%s", h, got)
	}
	if m.lesson.text.vp.Height() < 20/3 {
		t.Fatalf("text pane has %d lines:\n%s", m.lesson.text.vp.Height(), got)
	}
	for _, want := range []string{"Étape 1/3", "✗ Le Job pi existe", "kubectl apply -f job.yaml"} {
		if !strings.Contains(got, want) {
			t.Errorf("60x20 lacks %q:\n%s", want, got)
		}
	}
}

// A long stream keeps its tail on screen and stays cheap to draw.
func TestOutputTail(t *testing.T) {
	f := newFake()
	m := newSized(t, testConfig(f, t.TempDir()), 100, 30)
	d := 200 * time.Millisecond
	driveCmd(m, m.Init(), d)
	drive(m, keyMsg("enter"), d)
	l := m.lesson
	l.out.seq++
	l.out.run = &runState{id: l.out.seq, block: l.page().Blocks[0], cancel: func() {}}
	l.out.open, l.out.tail = true, true
	start := time.Now()
	for i := range 5000 {
		// The returned command waits on the stream's channel: not needed here.
		m.Update(outputMsg{id: l.out.seq, data: fmt.Appendf(nil, "ligne %05d de sortie\r\n", i)})
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("5000 chunks took %s", el)
	}
	m.Update(outputFlushMsg{})
	got := screen(m)
	if !strings.Contains(got, "ligne 04999 de sortie") || strings.Contains(got, "ligne 00000") {
		t.Fatalf("tail not shown:\n%s", got)
	}
	if len(l.out.run.out) > maxOutput {
		t.Fatalf("kept %d bytes", len(l.out.run.out))
	}
}
