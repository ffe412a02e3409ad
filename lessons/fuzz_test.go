package lessons

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"
)

// Fuzz targets for every parser of outside input. Seeds come from the
// fixtures under testdata/ and from testdata/fuzz/<Target>/ (go's corpus format).

func addSeeds(f *testing.F, pattern string) {
	files, err := filepath.Glob(pattern)
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzMarkdown(f *testing.F) {
	addSeeds(f, "testdata/markdown/*.md")
	addSeeds(f, "testdata/killercoda/*/text.md")
	f.Fuzz(func(t *testing.T, src []byte) {
		p, diags := parseMD("f.md", src)
		var cat strings.Builder
		for _, s := range p.Segments {
			cat.WriteString(s.Markdown)
		}
		if cat.String() != p.Markdown {
			t.Fatalf("segments do not concatenate to Markdown")
		}
		lines := strings.Count(string(src), "\n") + 1
		for i, b := range p.Blocks {
			if b.Index != i+1 || b.Line < 1 || b.Line > lines {
				t.Fatalf("block %d: index %d line %d of %d", i, b.Index, b.Line, lines)
			}
			if b.Hint < 0 || b.Hint > len(p.Hints) {
				t.Fatalf("block %d in hint %d of %d", i, b.Hint, len(p.Hints))
			}
		}
		for _, d := range diags {
			if d.Line < 0 || d.Line > lines {
				t.Fatalf("diagnostic out of the file: %v", d)
			}
		}
		if utf8.Valid(src) && !utf8.ValidString(p.Markdown) {
			t.Fatalf("valid UTF-8 in, invalid out")
		}
	})
}

func FuzzIndex(f *testing.F) {
	addSeeds(f, "testdata/*/index.json")
	f.Add([]byte(`{"title": "x", "details": {"steps": [{"text": "s.md", "verify": "v.sh", "objectives": "o.yaml", "timeout": "1m"}], "assets": {"host01": [{"file": "a"}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fsys := fstest.MapFS{
			"l/index.json": {Data: data},
			"l/s.md":       {Data: []byte("`ls`{{exec}}\n")},
			"l/v.sh":       {Data: []byte("true\n")},
			"l/o.yaml":     {Data: []byte("objectives:\n  - id: a\n    title: t\n    script: v.sh\n")},
		}
		l, diags, err := LoadFS(fsys, "l", "")
		if l == nil {
			t.Fatal("no lesson")
		}
		if (err != nil) != HasErrors(diags) {
			t.Fatalf("err %v but diags %v", err, diags)
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, d := range diags {
			if d.File == "l/index.json" && (d.Line < 0 || d.Line > lines) {
				t.Fatalf("diagnostic out of the file: %v", d)
			}
		}
	})
}

func FuzzObjectives(f *testing.F) {
	addSeeds(f, "testdata/*/*/objectives.yaml")
	addSeeds(f, "../lessons/jobs-cronjobs/*/objectives.yaml")
	f.Add([]byte("objectives:\n  - id: a\n    title: t\n    target: {kind: Pod, selector: {a: b}}\n    count: {min: 1, max: 2}\n    match: {status: {phase: Running}}\n    expect: [{cel: 'true', msg: m}]\n"))
	f.Add([]byte("a: &a [*a, *a]\nobjectives: *a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, diags := parseObj(string(data))
		for _, o := range objs {
			if o == nil || o.File == "" {
				t.Fatalf("bad objective %+v", o)
			}
		}
		_ = diags
	})
}
