// Package trust decides whether a lesson's own scripts (background,
// foreground, verify, objective and solution scripts) may run on the
// learner's machine. Lessons embedded in klab are trusted; any other lesson
// is trusted once the learner says so, and that decision is remembered by a
// hash of every file of the lesson folder, so that a changed file asks again.
package trust

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/klabdev/klab/lessons"
)

// FileName is the trust store's file in klab's state dir.
const FileName = "trust.json"

// Entry is one trusted lesson content.
type Entry struct {
	Hash    string    `json:"hash"`
	Source  string    `json:"source"` // the folder or URL the learner trusted
	Trusted time.Time `json:"trusted"`
}

type storeFile struct {
	Lessons []Entry `json:"lessons"`
}

// Store is the remembered trust decisions, a JSON file.
type Store struct{ Path string }

// NewStore is the store in stateDir ($XDG_STATE_HOME/klab).
func NewStore(stateDir string) Store { return Store{Path: filepath.Join(stateDir, FileName)} }

func (s Store) load() (storeFile, error) {
	var f storeFile
	data, err := os.ReadFile(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("read trust store: %w", err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("trust store %s: %w", s.Path, err)
	}
	return f, nil
}

func (s Store) save(f storeFile) error {
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o700); err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode trust store: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.Path), "."+FileName+".tmp-")
	if err != nil {
		return fmt.Errorf("trust store: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write trust store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write trust store: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.Path); err != nil {
		return fmt.Errorf("write trust store: %w", err)
	}
	return nil
}

// Has reports whether the content hash was trusted.
func (s Store) Has(hash string) (bool, error) {
	f, err := s.load()
	if err != nil {
		return false, err
	}
	for _, e := range f.Lessons {
		if e.Hash == hash {
			return true, nil
		}
	}
	return false, nil
}

// lock serialises the store's read-modify-write cycles between klab
// processes (an advisory lock on a file next to the store).
func (s Store) lock() (func(), error) {
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o700); err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	f, err := os.OpenFile(s.Path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("trust store lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("trust store lock: %w", err)
	}
	return func() { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN); _ = f.Close() }, nil
}

// Add remembers hash as trusted (from source). Entries of the same source
// with another hash are dropped: the old content is no longer what is there.
func (s Store) Add(hash, source string, now time.Time) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	f, err := s.load()
	if err != nil {
		return err
	}
	kept := f.Lessons[:0]
	for _, e := range f.Lessons {
		if e.Hash != hash && e.Source != source {
			kept = append(kept, e)
		}
	}
	kept = append(kept, Entry{Hash: hash, Source: source, Trusted: now.UTC()})
	f.Lessons = kept
	return s.save(f)
}

// Remove forgets the entries with this hash or this source; it returns how
// many it forgot.
func (s Store) Remove(hash, source string) (int, error) {
	unlock, err := s.lock()
	if err != nil {
		return 0, err
	}
	defer unlock()
	f, err := s.load()
	if err != nil {
		return 0, err
	}
	kept := f.Lessons[:0]
	n := 0
	for _, e := range f.Lessons {
		if e.Hash == hash || (source != "" && e.Source == source) {
			n++
			continue
		}
		kept = append(kept, e)
	}
	f.Lessons = kept
	if n == 0 {
		return 0, nil
	}
	return n, s.save(f)
}

// Hash is a deterministic digest of every file of the lesson folder: each
// regular file's slash path and content, in path order. Version-control
// folders (.git) are left out: fetching must not change what was trusted.
func Hash(fsys fs.FS) (string, error) {
	type file struct{ path, kind string }
	var files []file
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (d.Name() == ".git" || d.Name() == ".hg") {
				return fs.SkipDir
			}
			return nil
		}
		files = append(files, file{p, d.Type().String()})
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash lesson files: %w", err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	h := sha256.New()
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f.path)
		if err != nil {
			// A link the lesson's root refuses (pointing out of the folder)
			// still counts, by name: its target cannot be read by scripts
			// through klab either.
			fmt.Fprintf(h, "%s\x00unreadable\x00", f.path)
			continue
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f.path, len(data))
		h.Write(data)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Script is one script of a lesson, as the trust screen shows it.
type Script struct {
	Path string // lesson-relative
	Role string // background, foreground, verify, objective, solution
	Size int    // bytes
	Body string
}

// FirstLines is the script's first n lines.
func (s Script) FirstLines(n int) []string {
	lines := strings.Split(strings.TrimRight(s.Body, "\n"), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return lines
}

// Scripts lists the lesson's own scripts (each file once, in lesson order).
// Exec blocks are not scripts: the learner runs each one.
func Scripts(l *lessons.Lesson) []Script {
	var out []Script
	seen := map[string]bool{}
	add := func(s *lessons.Script, role string) {
		if s == nil || s.Path == "" || seen[s.Path] {
			return
		}
		seen[s.Path] = true
		out = append(out, Script{Path: path.Clean(s.Path), Role: role, Size: len(s.Body), Body: s.Body})
	}
	page := func(p *lessons.Page) {
		if p != nil {
			add(p.Background, "background")
			add(p.Foreground, "foreground")
		}
	}
	page(l.Intro)
	for _, st := range l.Steps {
		page(&st.Page)
		add(st.Verify, "verify")
		for _, o := range st.Objectives {
			add(o.Script, "objective")
		}
		add(st.Solution, "solution")
	}
	page(l.Finish)
	return out
}

// Reason says why a lesson is trusted.
type Reason string

const (
	NotTrusted Reason = ""
	Embedded   Reason = "embedded"   // shipped inside klab
	NoScripts  Reason = "no-scripts" // nothing of its own to run
	Remembered Reason = "remembered" // this content was trusted before
	ThisRun    Reason = "this-run"   // --trust, KLAB_TRUST=1, or klab validate
)

// Decide tells whether l's scripts may run: embedded lessons and lessons
// without scripts are trusted, so is everything when thisRun is set; other
// lessons when their content hash is in the store. It returns the hash too.
func Decide(l *lessons.Lesson, s Store, thisRun bool) (Reason, string, error) {
	if l.IsEmbedded() {
		return Embedded, "", nil
	}
	if len(Scripts(l)) == 0 {
		return NoScripts, "", nil
	}
	if l.FS == nil {
		return NotTrusted, "", errors.New("lesson has no files to hash")
	}
	h, err := Hash(l.FS)
	if err != nil {
		return NotTrusted, "", err
	}
	if thisRun {
		return ThisRun, h, nil
	}
	ok, err := s.Has(h)
	if err != nil {
		return NotTrusted, h, err
	}
	if ok {
		return Remembered, h, nil
	}
	return NotTrusted, h, nil
}

// ErrUntrusted is what a gate answers instead of running a script.
var ErrUntrusted = errors.New("lesson scripts not trusted")
