package tui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProgressRoundTrip(t *testing.T) {
	s := Store{Path: filepath.Join(t.TempDir(), "klab", "progress.json")}
	p, warn, err := s.Load()
	if err != nil || warn != "" || len(p.Lessons) != 0 {
		t.Fatalf("missing file: %v %q %v", p, warn, err)
	}
	lp := p.lesson("jobs")
	lp.SetUnlocked(2, true)
	lp.SetUnlocked(1, true)
	lp.SetUnlocked(2, true)
	lp.Page, lp.Step = pageStep, 3
	lp.Hints[1] = 2
	lp.Elapsed = Duration(90 * time.Second)
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	got, warn, err := s.Load()
	if err != nil || warn != "" {
		t.Fatalf("load: %v %q", err, warn)
	}
	g := got.Lessons["jobs"]
	if g == nil || len(g.Unlocked) != 2 || g.Unlocked[0] != 1 || g.Step != 3 || g.Page != pageStep || g.HintsUsed() != 2 || time.Duration(g.Elapsed) != 90*time.Second {
		t.Fatalf("round trip: %+v", g)
	}
	g.SetUnlocked(1, false)
	if g.IsUnlocked(1) || !g.IsUnlocked(2) {
		t.Fatalf("SetUnlocked false: %v", g.Unlocked)
	}
	// No temp file is left behind.
	entries, _ := os.ReadDir(filepath.Dir(s.Path))
	if len(entries) != 1 {
		t.Fatalf("files after save: %v", entries)
	}
}

func TestProgressCorruptMovedAside(t *testing.T) {
	dir := t.TempDir()
	s := Store{Path: filepath.Join(dir, "progress.json")}
	if err := os.WriteFile(s.Path, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, aside, err := s.Load()
	if err != nil {
		t.Fatalf("corrupt file is an error: %v", err)
	}
	if aside == "" || !strings.HasPrefix(aside, s.Path+".corrupt-") || len(p.Lessons) != 0 {
		t.Fatalf("aside=%q lessons=%v", aside, p.Lessons)
	}
	if _, err := os.Stat(s.Path); !os.IsNotExist(err) {
		t.Fatalf("corrupt file still in place: %v", err)
	}
	if b, _ := os.ReadFile(aside); string(b) != "{not json" {
		t.Fatalf("aside content %q", b)
	}
}

func TestSaverKeepsNewest(t *testing.T) {
	s := &saver{store: Store{Path: filepath.Join(t.TempDir(), "progress.json")}}
	p := &Progress{Version: 1, Lessons: map[string]*LessonProgress{}}
	p.lesson("a").Step = 1
	seq1, snap1 := s.snapshot(p)
	p.lesson("a").Step = 2
	seq2, snap2 := s.snapshot(p)
	if err := s.save(seq2, snap2); err != nil {
		t.Fatal(err)
	}
	if err := s.save(seq1, snap1); err != nil { // late, older: ignored
		t.Fatal(err)
	}
	got, _, _ := s.store.Load()
	if got.Lessons["a"].Step != 2 {
		t.Fatalf("older snapshot overwrote newer: step=%d", got.Lessons["a"].Step)
	}
}

// FuzzProgressLoad: whatever is in progress.json, Load never fails or panics:
// it parses the file or moves it aside.
func FuzzProgressLoad(f *testing.F) {
	f.Add([]byte(`{"version":1,"lessons":{"a":{"unlocked":[1,2],"current":3,"hints":{"1":2},"elapsed":"1m30s"}}}`))
	f.Add([]byte(`{"lessons":{"a":{"elapsed":"bogus"}}}`))
	f.Add([]byte(`{"lessons":{"a":null}}`))
	f.Add([]byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		s := Store{Path: filepath.Join(dir, "progress.json")}
		if err := os.WriteFile(s.Path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, aside, err := s.Load()
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if p == nil || p.Lessons == nil {
			t.Fatal("nil progress")
		}
		if aside == "" {
			// Parsed: the lesson entries must be usable.
			for id := range p.Lessons {
				lp := p.lesson(id)
				lp.SetUnlocked(1, true)
				_ = lp.HintsUsed()
			}
			if err := s.Save(p); err != nil {
				t.Fatalf("Save: %v", err)
			}
		}
	})
}

// A version 1 progress.json (current: 0 intro, 1..n a step, n+1 finish),
// as klab wrote it until 2026-12, opens where the learner stood and is
// written back as version 2.
func TestProgressReadsVersion1(t *testing.T) {
	old, err := os.ReadFile(filepath.Join("testdata", "progress-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	s := Store{Path: filepath.Join(t.TempDir(), "progress.json")}
	if err := os.WriteFile(s.Path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	p, warn, err := s.Load()
	if err != nil || warn != "" {
		t.Fatalf("load v1: %v %q", err, warn)
	}
	tests := []struct {
		id    string
		steps int
		state state
		step  int
		hints int
	}{
		{"jobs-cronjobs", 7, stateStep, 3, 1},
		{"fixture", 3, stateFinish, 0, 0},
		{"intro-only", 3, stateIntro, 0, 0},
	}
	for _, tt := range tests {
		lp := p.lesson(tt.id)
		n := resume(lp, tt.steps)
		if n.State != tt.state || n.Step != tt.step || lp.HintsUsed() != tt.hints || lp.Current != nil {
			t.Errorf("%s: %v step %d hints %d current %v, want %v step %d hints %d", tt.id, n.State, n.Step, lp.HintsUsed(), lp.Current, tt.state, tt.step, tt.hints)
		}
	}
	if err := s.Save(p); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"version": 2`) || strings.Contains(string(data), `"current"`) {
		t.Fatalf("saved file is not version 2:\n%s", data)
	}
}
