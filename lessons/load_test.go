package lessons

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestDiscoverCourse(t *testing.T) {
	ls, diags, err := Discover("testdata/course")
	if err != nil || len(diags) != 0 {
		t.Fatalf("err %v diags %v", err, diagStrings(diags))
	}
	var got []string
	for _, l := range ls {
		got = append(got, l.ID+"="+l.Title)
	}
	want := "b-second=Second lesson, listed first a-first=a-first"
	if strings.Join(got, " ") != want {
		t.Errorf("course order = %q, want %q (structure.json order, its titles)", strings.Join(got, " "), want)
	}
}

func TestDiscoverFolderOfLessons(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"zeta", "alpha"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "index.json"), []byte(`{"title": "`+name+`", "details": {"steps": [{"text": "s.md"}]}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "s.md"), []byte("hi\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "not-a-lesson"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A plain grouping folder (no structure.json), as in Killercoda's
	// learning-linux/linux-files-introduction.
	nested := filepath.Join(dir, "group", "nested")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(nested, "index.json"), []byte(`{"title": "nested", "details": {"steps": [{"text": "s.md"}]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(nested, "s.md"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ls, _, err := Discover(dir)
	if err != nil || len(ls) != 3 || ls[0].ID != "alpha" || ls[1].ID != "nested" || ls[2].ID != "zeta" {
		t.Fatalf("Discover = %v, %v", ls, err)
	}
	if _, _, err := Discover(filepath.Join(dir, "not-a-lesson")); err == nil {
		t.Error("an empty folder is not a lesson")
	}
	if _, _, err := Discover(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing folder is not a lesson")
	}
}

func TestStructureDiagnostics(t *testing.T) {
	dir := writeLesson(t, map[string]string{
		"structure.json": "{\"items\": [\n  {\"path\": \"nope\"},\n  {\"path\": \"../up\"},\n  {\"title\": \"no path\"}\n], \"extra\": 1}\n",
	})
	_, diags, err := Discover(dir)
	if err == nil {
		t.Fatal("broken structure.json accepted")
	}
	sj := filepath.Join(dir, "structure.json")
	wantDiag(t, diags, sj+":2:", `item "nope": no lesson there`)
	wantDiag(t, diags, sj+":3:12: error:", "leaves the lesson folder")
	wantDiag(t, diags, sj+":4:3: error:", "has no path")
	wantDiag(t, diags, sj+":5:4: warning:", `unknown key "extra"`)
}

func TestEmbeddedAndResolve(t *testing.T) {
	ls, err := Embedded()
	if err != nil {
		t.Fatalf("embedded lessons must load: %v", err)
	}
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.ID)
	}
	// The catalog's order is structure.json's, not the folders' (depannage < jobs-cronjobs).
	if strings.Join(ids, ",") != "jobs-cronjobs,depannage" || !strings.HasPrefix(ls[0].Dir, "embedded:") {
		t.Fatalf("Embedded = %v (%+v)", ids, ls)
	}
	if got := strings.Join(EmbeddedIDs(), ","); got != "jobs-cronjobs,depannage" {
		t.Fatalf("EmbeddedIDs = %s", got)
	}
	for _, l := range ls {
		if lint := Lint(l); HasErrors(lint) {
			t.Errorf("%s: %v", l.ID, diagStrings(lint))
		}
		if l.FilePath(IndexFile) != "lessons/"+l.ID+"/index.json" {
			t.Errorf("FilePath = %s", l.FilePath(IndexFile))
		}
	}
	tests := []struct {
		arg, id, errText string
	}{
		{"", "jobs-cronjobs", ""},
		{"jobs-cronjobs", "jobs-cronjobs", ""},
		{"depannage", "depannage", ""},
		{"testdata/killercoda", "killercoda", ""},
		{"testdata/course", "", "holds 2 lessons"},
		{"no-such-lesson", "", "no embedded lesson has that id"},
		{"testdata/broken", "broken", "3 problems"},
	}
	for _, tt := range tests {
		t.Run(tt.arg, func(t *testing.T) {
			l, _, err := Resolve(tt.arg)
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %q", err, tt.errText)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tt.id != "" && (l == nil || l.ID != tt.id) {
				t.Errorf("lesson = %+v", l)
			}
		})
	}
}

func BenchmarkLoadEmbedded(b *testing.B) {
	for b.Loop() {
		if _, err := Embedded(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarkdown(b *testing.B) {
	src, err := os.ReadFile("testdata/killercoda/step1/text.md")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		parseMD("text.md", src)
	}
}

// TestCatalogOrder: the embedded catalog's structure.json must list every lesson folder once, and
// only those; each mistake names the file (and the item's line).
func TestCatalogOrder(t *testing.T) {
	lesson := &fstest.MapFile{Data: []byte(`{"title": "x"}`)}
	tests := []struct {
		name, structure string
		want            string // ids, or the error's text
	}{
		{"order", `{"items": [{"path": "b"}, {"path": "a"}]}`, "b,a"},
		{"unlisted", `{"items": [{"path": "b"}]}`, `lessons/structure.json: embedded lesson folder "a" is not listed`},
		{"unknown", "{\"items\": [\n{\"path\": \"a\"}, {\"path\": \"b\"},\n{\"path\": \"c\"}]}", `lessons/structure.json:3: item "c": no embedded lesson folder of that name`},
		{"twice", "{\"items\": [{\"path\": \"a\"}, {\"path\": \"b\"},\n{\"path\": \"a\"}]}", `lessons/structure.json:2: item "a" listed twice`},
		{"invalid", `{"items": [`, "lessons/structure.json:1:12: error: invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"a/index.json": lesson, "b/index.json": lesson, "structure.json": {Data: []byte(tt.structure)}}
			ids, err := catalogOrder(fsys)
			got := strings.Join(ids, ",")
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
