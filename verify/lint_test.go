package verify

import (
	"strings"
	"testing"

	"github.com/klabdev/klab/lessons"
)

func TestLint(t *testing.T) {
	l := &lessons.Lesson{Steps: []*lessons.Step{{Index: 1, Objectives: []*lessons.Objective{
		{ID: "ok", File: "step1/objectives.yaml", Line: 2, Expect: []lessons.Expect{
			{CEL: "logs.contains('Bonjour') && pods.size() > 0 && jobs.size() == 0 && object.status.succeeded == 1", Line: 9},
		}},
		{ID: "syntax", File: "step1/objectives.yaml", Line: 12, Expect: []lessons.Expect{{CEL: "object.status.succeeded ==", Line: 17}}},
		{ID: "unknown", File: "step1/objectives.yaml", Line: 20, Expect: []lessons.Expect{{CEL: "job.status.succeeded == 1", Line: 25}}},
		{ID: "notbool", File: "step1/objectives.yaml", Line: 30, Expect: []lessons.Expect{{CEL: "logs.size()", Line: 33}}},
		{ID: "noline", File: "step1/objectives.yaml", Line: 40, Expect: []lessons.Expect{{CEL: ""}}},
	}}}}
	ds := Lint(l)
	want := []struct {
		line int
		text string
	}{
		{17, "Syntax error"},
		{25, "undeclared reference to 'job'"},
		{33, "not a bool"},
		{40, "empty cel expression"},
	}
	if len(ds) != len(want) {
		t.Fatalf("got %d diagnostics, want %d: %v", len(ds), len(want), ds)
	}
	for i, w := range want {
		d := ds[i]
		if d.File != "step1/objectives.yaml" || d.Line != w.line || d.Severity != lessons.SevError || !strings.Contains(d.Message, w.text) {
			t.Errorf("diagnostic %d = %s, want line %d containing %q", i, d, w.line, w.text)
		}
	}
	if Lint(nil) != nil {
		t.Error("Lint(nil) should report nothing")
	}
}

// FuzzLint: any expression text gives diagnostics, never a panic.
func FuzzLint(f *testing.F) {
	for _, s := range []string{"logs.contains('x')", "object.status.succeeded ==", "pods.all(p, p.status.phase == 'Succeeded')",
		"jobs.exists(j, has(j.status.succeeded))", "size(", "'\\u00e9' + logs", "[1,2].map(x, x*2) == [2,4]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		l := &lessons.Lesson{Steps: []*lessons.Step{{Objectives: []*lessons.Objective{{ID: "f", File: "o.yaml", Line: 1,
			Expect: []lessons.Expect{{CEL: expr, Line: 2}}}}}}}
		for _, d := range Lint(l) {
			if d.File != "o.yaml" || d.Line != 2 {
				t.Fatalf("diagnostic without its location: %s", d)
			}
		}
	})
}
