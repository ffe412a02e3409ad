package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/klabdev/klab/verify"
)

// stepHistories keeps each step's verify.History in the lab folder (history/step-N.json), so that
// what was observed during a step survives a restart of klab and is shared by `klab run` and
// `klab check`. A file holds a few numbers per history objective.
type stepHistories struct {
	dir  string
	logf func(string, ...any)

	mu sync.Mutex
	m  map[int]*verify.History
}

func newStepHistories(labDir string, logf func(string, ...any)) *stepHistories {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &stepHistories{dir: filepath.Join(labDir, "history"), logf: logf, m: map[int]*verify.History{}}
}

func (s *stepHistories) file(step int) string {
	return filepath.Join(s.dir, "step-"+strconv.Itoa(step)+".json")
}

// get returns step's history, loaded from its file the first time; every change is saved.
func (s *stepHistories) get(step int) *verify.History {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.m[step]; h != nil {
		return h
	}
	var saved map[string]verify.HistoryState
	b, err := os.ReadFile(s.file(step))
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &saved); err != nil {
			s.logf("history %s: %v (starting afresh)", s.file(step), err)
			saved = nil
		}
	case !errors.Is(err, fs.ErrNotExist):
		s.logf("history %s: %v", s.file(step), err)
	}
	h := verify.NewHistory(saved)
	h.OnChange(func(snap map[string]verify.HistoryState) {
		if err := s.save(step, snap); err != nil {
			s.logf("save history of step %d: %v", step, err)
		}
	})
	s.m[step] = h
	return h
}

// save writes a snapshot atomically (a temporary file renamed over the old one).
func (s *stepHistories) save(step int, snap map[string]verify.HistoryState) error {
	b, err := json.Marshal(snap)
	if err != nil {
		return fmt.Errorf("marshal history: %w", err)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("history dir: %w", err)
	}
	tmp, err := os.CreateTemp(s.dir, ".step-*.json")
	if err != nil {
		return fmt.Errorf("history file: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write history: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.file(step)); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write history: %w", err)
	}
	return nil
}

// reset forgets the histories of step and the steps after it (the lab was started over).
func (s *stepHistories) reset(step int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, h := range s.m {
		if k >= step {
			h.OnChange(nil)
			delete(s.m, k)
		}
	}
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		var n int
		if _, err := fmt.Sscanf(e.Name(), "step-%d.json", &n); err == nil && n >= step {
			if err := os.Remove(filepath.Join(s.dir, e.Name())); err != nil {
				s.logf("reset history: %v", err)
			}
		}
	}
}
