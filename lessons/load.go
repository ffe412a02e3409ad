package lessons

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/yuin/goldmark/parser"
)

// The embedded catalog: one folder per lesson, in the order of
// structure.json (a Killercoda course file: the picker's and `klab list`'s
// order). Add a lesson folder here and to structure.json to ship it inside
// the klab binary.
//
//go:embed structure.json jobs-cronjobs depannage
var embedded embed.FS

// loader gathers every problem of one lesson while reading it.
type loader struct {
	fsys    fs.FS
	dispDir string // how the lesson folder is named in diagnostics
	realDir string // resolved absolute folder on disk; "" for other file systems
	lang    string // lesson language, for generated titles
	diags   []Diagnostic
	md      parser.Parser
}

func (ld *loader) add(sev Severity, file string, line, col int, msg string) {
	ld.diags = append(ld.diags, Diagnostic{File: ld.display(file), Line: line, Col: col, Severity: sev, Message: msg})
}

func (ld *loader) display(rel string) string {
	return joinDisplay(ld.dispDir, ld.realDir != "", rel)
}

func joinDisplay(dir string, disk bool, rel string) string {
	switch {
	case dir == "" || dir == ".":
		return rel
	case disk:
		return filepath.Join(dir, filepath.FromSlash(rel))
	}
	return path.Join(dir, rel)
}

// FilePath names a lesson file (lesson-relative rel) the way diagnostics and
// messages should show it: under the folder given on the command line, or
// lessons/<id>/ for embedded lessons.
func (l *Lesson) FilePath(rel string) string {
	return joinDisplay(l.displayDir, l.onDisk, rel)
}

// DiagnosticsError is returned when a lesson has error diagnostics: it lists them.
type DiagnosticsError struct {
	Diags []Diagnostic // the errors (warnings are left out)
}

func (e *DiagnosticsError) Error() string {
	if len(e.Diags) == 1 {
		return e.Diags[0].String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems in the lesson:", len(e.Diags))
	for _, d := range e.Diags {
		b.WriteString("\n  ")
		b.WriteString(d.String())
	}
	return b.String()
}

// HasErrors reports whether diags holds an error (not only warnings).
func HasErrors(diags []Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == SevError {
			return true
		}
	}
	return false
}

func diagErr(diags []Diagnostic) error {
	var errs []Diagnostic
	for _, d := range diags {
		if d.Severity == SevError {
			errs = append(errs, d)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &DiagnosticsError{Diags: errs}
}

// Load reads the lesson folder at dir (a path on disk; an index.json path is
// accepted too). It returns the lesson (partial when it has problems), every
// problem found, and an error when the lesson cannot be used: the folder is
// missing, or a diagnostic is an error (then the error is a *DiagnosticsError).
func Load(dir string) (*Lesson, []Diagnostic, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("load lesson %s: %w", dir, err)
	}
	if !st.IsDir() {
		if filepath.Base(dir) != IndexFile {
			return nil, nil, fmt.Errorf("load lesson %s: not a folder", dir)
		}
		dir = filepath.Dir(dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("load lesson %s: %w", dir, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, nil, fmt.Errorf("load lesson %s: %w", dir, err)
	}
	// os.Root refuses paths and symlinks leaving the folder, for every later
	// reader of Lesson.FS too (assets, scripts).
	root, err := os.OpenRoot(real)
	if err != nil {
		return nil, nil, fmt.Errorf("load lesson %s: %w", dir, err)
	}
	ld := &loader{fsys: root.FS(), dispDir: filepath.Clean(dir), realDir: real, lang: "en"}
	l := ld.load(filepath.Base(abs), filepath.Clean(dir))
	return l, ld.diags, diagErr(ld.diags)
}

// LoadFS reads the lesson in folder dir of fsys ("." for its root). id is the
// lesson id when index.json names none (default: the folder's name).
func LoadFS(fsys fs.FS, dir, id string) (*Lesson, []Diagnostic, error) {
	l, diags := loadFS(fsys, dir, id, dir)
	return l, diags, diagErr(diags)
}

func loadFS(fsys fs.FS, dir, id, disp string) (*Lesson, []Diagnostic) {
	sub := fsys
	if dir != "." && dir != "" {
		s, err := fs.Sub(fsys, dir)
		if err != nil {
			return nil, []Diagnostic{{File: disp, Severity: SevError, Message: fmt.Sprintf("open lesson folder: %v", err)}}
		}
		sub = s
	}
	if id == "" {
		id = path.Base(dir)
	}
	ld := &loader{fsys: sub, dispDir: disp, lang: "en"}
	l := ld.load(id, dir)
	return l, ld.diags
}

var notIDChars = regexp.MustCompile(`[^a-z0-9-]+`)

// folderID turns a folder name into a lesson id (a DNS label).
func folderID(name string) string {
	id := strings.Trim(notIDChars.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(id) > 50 {
		id = strings.Trim(id[:50], "-")
	}
	if id == "" {
		id = "lesson"
	}
	return id
}

func (ld *loader) load(id, dir string) *Lesson {
	l := &Lesson{ID: folderID(id), Lang: "en", Dir: dir, FS: ld.fsys, displayDir: ld.dispDir, onDisk: ld.realDir != ""}
	data, err := ld.readRel(IndexFile)
	if err != nil {
		ld.add(SevError, IndexFile, 0, 0, fmt.Sprintf("not a lesson: %v", err))
		return l
	}
	ld.parseIndex(l, data)
	return l
}

// Embedded loads every lesson shipped in the binary, in folder order. Lessons
// that fail to load are left out and named in the error.
func Embedded() ([]*Lesson, error) {
	ids, err := catalogOrder(embedded)
	if err != nil {
		return nil, err
	}
	var out []*Lesson
	var errs []error
	for _, id := range ids {
		l, _, err := loadEmbedded(id)
		if err != nil {
			errs = append(errs, fmt.Errorf("embedded lesson %s: %w", id, err))
			continue
		}
		out = append(out, l)
	}
	return out, errors.Join(errs...)
}

// catalogOrder lists the lesson folders of the catalog fsys (the embedded
// one) in its structure.json's order. Every folder must be listed once and
// every item must be a folder: the catalog is ours, so a mismatch is a build
// mistake, reported with the file and line.
func catalogOrder(fsys fs.FS) ([]string, error) {
	ld := &loader{fsys: fsys, dispDir: "lessons"}
	items := ld.structure()
	if HasErrors(ld.diags) {
		return nil, &DiagnosticsError{Diags: ld.diags}
	}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read embedded lessons: %w", err)
	}
	folders := map[string]bool{}
	for _, e := range entries {
		if e.IsDir() {
			folders[e.Name()] = true
		}
	}
	var ids []string
	var errs []error
	listed := map[string]bool{}
	for _, it := range items {
		switch {
		case !folders[it.Path]:
			errs = append(errs, fmt.Errorf("lessons/%s:%d: item %q: no embedded lesson folder of that name", StructureFile, it.Line, it.Path))
		case listed[it.Path]:
			errs = append(errs, fmt.Errorf("lessons/%s:%d: item %q listed twice", StructureFile, it.Line, it.Path))
		default:
			listed[it.Path] = true
			ids = append(ids, it.Path)
		}
	}
	for _, e := range entries {
		if e.IsDir() && !listed[e.Name()] {
			errs = append(errs, fmt.Errorf("lessons/%s: embedded lesson folder %q is not listed", StructureFile, e.Name()))
		}
	}
	return ids, errors.Join(errs...)
}

func loadEmbedded(name string) (*Lesson, []Diagnostic, error) {
	l, diags := loadFS(embedded, name, name, "lessons/"+name)
	if l != nil {
		l.Dir = "embedded:" + name
		l.embedded = true
	}
	return l, diags, diagErr(diags)
}

// EmbeddedIDs lists the ids of the embedded lessons, in the catalog's order
// (structure.json; its errors are reported by Embedded).
func EmbeddedIDs() []string {
	ids, _ := catalogOrder(embedded)
	return ids
}

// Resolve finds the lesson a command names: a lesson folder on disk, else an
// embedded lesson id; "" is the first embedded lesson.
func Resolve(arg string) (*Lesson, []Diagnostic, error) {
	ids := EmbeddedIDs()
	if arg == "" {
		if len(ids) == 0 {
			return nil, nil, errors.New("no embedded lesson: give a lesson folder")
		}
		return loadEmbedded(ids[0])
	}
	if st, err := os.Stat(arg); err == nil {
		if st.IsDir() && !exists(filepath.Join(arg, IndexFile)) {
			if ls, _, _ := Discover(arg); len(ls) > 0 {
				names := make([]string, len(ls))
				for i, l := range ls {
					names[i] = l.Dir
				}
				return nil, nil, fmt.Errorf("%s holds %d lessons, not one: give one of %s", arg, len(ls), strings.Join(names, ", "))
			}
		}
		return Load(arg)
	}
	for _, id := range ids {
		if id == arg {
			return loadEmbedded(id)
		}
	}
	return nil, nil, fmt.Errorf("no lesson %q: no such folder, and no embedded lesson has that id (embedded: %s)", arg, strings.Join(ids, ", "))
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// StructureFile lists a course's lessons in order (Killercoda course groups).
const StructureFile = "structure.json"

// CourseItem is one entry of structure.json.
type CourseItem struct {
	Path        string `json:"path"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Line        int    `json:"line"`
}

// Discover loads the lessons at path: a lesson folder, a course folder
// (structure.json, in its order) or a folder of lesson folders (by name,
// nested courses and plain grouping folders included, three levels deep). Titles from structure.json override the
// lessons' own. The error is non-nil when nothing can be loaded or when a
// diagnostic is an error.
func Discover(dir string) ([]*Lesson, []Diagnostic, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", dir, err)
	}
	if !st.IsDir() || exists(filepath.Join(dir, IndexFile)) {
		l, diags, err := Load(dir)
		if l == nil {
			return nil, diags, err
		}
		return []*Lesson{l}, diags, err
	}
	ls, diags := discover(dir, 0)
	if len(ls) == 0 && !HasErrors(diags) {
		return nil, diags, fmt.Errorf("no lesson in %s: expected %s, %s or lesson folders", dir, IndexFile, StructureFile)
	}
	return ls, diags, diagErr(diags)
}

func discover(dir string, depth int) ([]*Lesson, []Diagnostic) {
	if depth > 3 {
		return nil, nil
	}
	var out []*Lesson
	var diags []Diagnostic
	if exists(filepath.Join(dir, StructureFile)) {
		items, d := readStructure(dir)
		diags = append(diags, d...)
		for _, it := range items {
			p := filepath.Join(dir, filepath.FromSlash(it.Path))
			if exists(filepath.Join(p, IndexFile)) {
				l, ld, _ := Load(p)
				diags = append(diags, ld...)
				if l != nil {
					if it.Title != "" {
						l.Title = it.Title
					}
					if it.Description != "" {
						l.Description = it.Description
					}
					out = append(out, l)
				}
				continue
			}
			if st, err := os.Stat(p); err == nil && st.IsDir() {
				sub, sd := discover(p, depth+1)
				out, diags = append(out, sub...), append(diags, sd...)
				continue
			}
			diags = append(diags, Diagnostic{File: filepath.Join(dir, StructureFile), Line: it.Line, Severity: SevError,
				Message: fmt.Sprintf("item %q: no lesson there (no %s)", it.Path, IndexFile)})
		}
		return out, diags
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []Diagnostic{{File: dir, Severity: SevError, Message: err.Error()}}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || e.Name() == "testdata" {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if exists(filepath.Join(p, IndexFile)) {
			l, ld, _ := Load(p)
			diags = append(diags, ld...)
			if l != nil {
				out = append(out, l)
			}
		} else {
			// A course (structure.json) or a plain grouping folder, as
			// Killercoda repositories nest scenarios in folders (the official
			// examples keep learning-linux/linux-files-introduction).
			sub, sd := discover(p, depth+1)
			out, diags = append(out, sub...), append(diags, sd...)
		}
	}
	return out, diags
}

// readStructure parses dir/structure.json.
func readStructure(dir string) ([]CourseItem, []Diagnostic) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, []Diagnostic{{File: dir, Severity: SevError, Message: err.Error()}}
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, []Diagnostic{{File: dir, Severity: SevError, Message: err.Error()}}
	}
	ld := &loader{fsys: os.DirFS(real), dispDir: filepath.Clean(dir), realDir: real}
	items := ld.structure()
	return items, ld.diags
}

// structure parses the loader's structure.json, adding its problems to ld.diags.
func (ld *loader) structure() []CourseItem {
	data, err := ld.readRel(StructureFile)
	if err != nil {
		ld.add(SevError, StructureFile, 0, 0, err.Error())
		return nil
	}
	data = stripBOM(data)
	idx := newLineIndex(data)
	errAt := func(sev Severity, off int, format string, args ...any) {
		line, col := idx.pos(off)
		ld.add(sev, StructureFile, line, col, fmt.Sprintf(format, args...))
	}
	root, err := parseJSONTree(data)
	if err != nil {
		off := len(data)
		var je *jsonError
		if errors.As(err, &je) {
			off = je.off
		}
		errAt(SevError, off, "invalid JSON: %v", err)
		return nil
	}
	if root.kind != 'o' {
		errAt(SevError, root.off, "structure.json must be an object with items")
		return nil
	}
	var items []CourseItem
	for _, k := range root.keys {
		if k.name != "items" {
			errAt(SevWarning, k.off, "unknown key %q in structure.json (ignored)", k.name)
			continue
		}
		if k.val.kind != 'a' {
			errAt(SevError, k.val.off, "items must be an array, not %s", k.val.kindName())
			continue
		}
		for i, e := range k.val.elems {
			if e.kind != 'o' {
				errAt(SevError, e.off, "items[%d] must be an object with a path", i)
				continue
			}
			it := CourseItem{Line: idx.line(e.off)}
			for _, f := range e.keys {
				if f.val.kind != 's' {
					errAt(SevError, f.val.off, "items[%d].%s must be a string", i, f.name)
					continue
				}
				switch f.name {
				case "path":
					it.Path = f.val.str
				case "title":
					it.Title = f.val.str
				case "description":
					it.Description = f.val.str
				default:
					errAt(SevWarning, f.off, "unknown key %q in items[%d] (ignored)", f.name, i)
				}
			}
			if it.Path == "" {
				errAt(SevError, e.off, "items[%d] has no path", i)
				continue
			}
			if _, err := cleanRel(it.Path); err != nil {
				errAt(SevError, e.get("path").off, "items[%d].path: %v", i, err)
				continue
			}
			items = append(items, it)
		}
	}
	return items
}

// SolutionScript is the script that solves the step: its solution file, or
// else its exec blocks in order (hint blocks included). Nil when it has none.
// A generated script has an empty Path.
func (s *Step) SolutionScript() *Script {
	if s.Solution != nil {
		return s.Solution
	}
	var b strings.Builder
	for _, bl := range s.Blocks {
		if bl.Kind == BlockExec {
			b.WriteString(bl.Code)
			b.WriteString("\n")
		}
	}
	if b.Len() == 0 {
		return nil
	}
	return &Script{Body: b.String()}
}
