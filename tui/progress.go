package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Progress is the learner's saved progress, one entry per lesson id.
//
// Step numbers are 1-based everywhere, as lessons.Step.Index: in the TUI,
// in the lessons package and in progress.json. Version 1 files said where
// the learner stood with one number (`current`: 0 the intro, 1..n a step,
// n+1 the finish page); Load reads them into the version 2 fields.
type Progress struct {
	Version int                        `json:"version"`
	Lessons map[string]*LessonProgress `json:"lessons"`
}

// progressVersion is the version Save writes.
const progressVersion = 2

// Pages a learner can stand on (LessonProgress.Page).
const (
	pageIntro  = "intro"
	pageStep   = "step"
	pageFinish = "finish"
)

// LessonProgress is where a learner stands in one lesson. It is the one
// place that says which steps are unlocked.
type LessonProgress struct {
	Unlocked []int       `json:"unlocked"`       // steps whose objectives passed
	Page     string      `json:"page,omitempty"` // intro, step or finish ("" is the intro)
	Step     int         `json:"step,omitempty"` // the step on screen when Page is step
	Hints    map[int]int `json:"hints"`          // step -> hints revealed
	Elapsed  Duration    `json:"elapsed"`        // time spent in the lesson
	Finished bool        `json:"finished"`       // the finish page was reached
	Updated  time.Time   `json:"updated,omitzero"`

	// Current is version 1's position, read from older files only.
	Current *int `json:"current,omitempty"`
}

// upgrade turns a version 1 entry into version 2. The number of steps is
// not known here: v1's n+1 becomes step n+1, which resume reads as the
// finish page.
func (p *LessonProgress) upgrade() {
	if p.Current == nil {
		return
	}
	cur := *p.Current
	p.Current = nil
	switch {
	case cur <= 0:
		p.Page, p.Step = pageIntro, 0
	default:
		p.Page, p.Step = pageStep, cur
	}
}

// Duration marshals as a Go duration string ("1m30s").
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Round(time.Second).String())
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// HintsUsed is the total number of hints revealed in the lesson.
func (p *LessonProgress) HintsUsed() int {
	n := 0
	for _, v := range p.Hints {
		n += v
	}
	return n
}

// IsUnlocked reports whether step (1-based) is unlocked.
func (p *LessonProgress) IsUnlocked(step int) bool {
	for _, s := range p.Unlocked {
		if s == step {
			return true
		}
	}
	return false
}

// unlockedIn counts the unlocked steps among 1..steps (a hand-edited file
// may name others).
func (p *LessonProgress) unlockedIn(steps int) int {
	n := 0
	for _, s := range p.Unlocked {
		if s >= 1 && s <= steps {
			n++
		}
	}
	return n
}

// SetUnlocked records whether step (1-based) is unlocked.
func (p *LessonProgress) SetUnlocked(step int, on bool) {
	out := p.Unlocked[:0]
	for _, s := range p.Unlocked {
		if s != step {
			out = append(out, s)
		}
	}
	if on {
		out = append(out, step)
	}
	sort.Ints(out)
	p.Unlocked = out
}

// Store reads and writes progress.json.
type Store struct {
	Path string
}

// Load reads the progress file. A missing file is empty progress; a corrupt
// one is moved aside (progress.json.corrupt-<time>) and reported through
// warning, never as an error the caller must stop on.
func (s Store) Load() (p *Progress, warning string, err error) {
	p = &Progress{Version: progressVersion, Lessons: map[string]*LessonProgress{}}
	if s.Path == "" {
		return p, "", nil
	}
	data, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return p, "", nil
	}
	if err != nil {
		return p, "", fmt.Errorf("read progress %s: %w", s.Path, err)
	}
	var got Progress
	if err := json.Unmarshal(data, &got); err != nil {
		aside := fmt.Sprintf("%s.corrupt-%s", s.Path, time.Now().UTC().Format("20060102T150405"))
		if rerr := os.Rename(s.Path, aside); rerr != nil {
			return p, "", fmt.Errorf("move corrupt progress %s aside: %w", s.Path, rerr)
		}
		return p, aside, nil
	}
	if got.Lessons == nil {
		got.Lessons = map[string]*LessonProgress{}
	}
	for _, lp := range got.Lessons {
		if lp != nil {
			lp.upgrade()
		}
	}
	got.Version = progressVersion
	return &got, "", nil
}

// Save writes p atomically: a temp file in the same folder, then rename.
func (s Store) Save(p *Progress) error {
	if s.Path == "" {
		return nil
	}
	data, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encode progress: %w", err)
	}
	dir := filepath.Dir(s.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".progress-*.json")
	if err != nil {
		return fmt.Errorf("save progress: %w", err)
	}
	tmp := f.Name()
	_, werr := f.Write(append(data, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write progress %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, s.Path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("save progress %s: %w", s.Path, err)
	}
	return nil
}

// lesson returns the entry for id, creating it.
func (p *Progress) lesson(id string) *LessonProgress {
	lp := p.Lessons[id]
	if lp == nil {
		lp = &LessonProgress{Page: pageIntro}
		p.Lessons[id] = lp
	}
	if lp.Hints == nil {
		lp.Hints = map[int]int{}
	}
	return lp
}

// saver serialises saves so that an older snapshot never overwrites a newer
// one when two save commands race.
type saver struct {
	store Store
	mu    sync.Mutex
	seq   uint64 // last snapshot handed out
	done  uint64 // last snapshot written
}

// snapshot deep-copies p for a save command and numbers it.
func (s *saver) snapshot(p *Progress) (uint64, *Progress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	data, _ := json.Marshal(p) // plain data: cannot fail
	var cp Progress
	_ = json.Unmarshal(data, &cp)
	return s.seq, &cp
}

// save writes snapshot seq unless a newer one was written already.
func (s *saver) save(seq uint64, p *Progress) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq <= s.done {
		return nil
	}
	s.done = seq
	return s.store.Save(p)
}
