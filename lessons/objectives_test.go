package lessons

import (
	"strings"
	"testing"
	"testing/fstest"
)

func parseObj(src string) ([]*Objective, []Diagnostic) {
	ld := &loader{fsys: fstest.MapFS{"step1/c.sh": {Data: []byte("true\n")}}, lang: "en"}
	objs := ld.parseObjectives("step1/objectives.yaml", []byte(src))
	return objs, ld.diags
}

func TestObjectivesValid(t *testing.T) {
	src := `objectives:
  - id: hello-complete
    title: Le Job « hello » est terminé
    target:
      kind: Job
      apiVersion: batch/v1
      name: hello
      namespace: other
    match:
      status:
        succeeded: 1
        conditions: [{type: Complete, status: "True"}]
    expect:
      - cel: "logs.contains('Bonjour')"
        msg: Le conteneur doit afficher « Bonjour »
      - "object.status.succeeded == 1"
    hint: Essayez kubectl describe job hello
    timeout: 90s
    preCheck: skip
  - id: pods
    title: Three pods
    target: {kind: Pod, selector: {app: demo}}
    count: {min: 1, max: 3}
  - id: gone
    title: No job left
    target: {kind: Job, name: old}
    absent: true
    history:
      - seen:
          match: {spec: {ttlSecondsAfterFinished: 10}}
          expect: ["!has(object.status.completionTime)"]
      - changed: spec.parallelism
      - gone: true
`
	objs, diags := parseObj(src)
	if len(diags) != 0 {
		t.Fatalf("diags: %v", diagStrings(diags))
	}
	if len(objs) != 3 {
		t.Fatalf("objectives = %d", len(objs))
	}
	o := objs[0]
	if o.ID != "hello-complete" || o.Line != 2 || o.Target.Kind != "Job" || o.Target.Namespace != "other" ||
		o.Timeout.Seconds() != 90 || o.PreCheck != "skip" || len(o.Expect) != 2 || o.Expect[0].Line != 14 || o.Kind() != "match" {
		t.Errorf("objective = %+v", o)
	}
	if st, ok := o.Match["status"].(map[string]any); !ok || st["succeeded"] != 1 {
		t.Errorf("match = %#v", o.Match)
	}
	if c := objs[1].Count; c == nil || *c.Min != 1 || *c.Max != 3 || objs[1].Target.Selector["app"] != "demo" {
		t.Errorf("count/selector = %+v %+v", c, objs[1].Target)
	}
	if !objs[2].Absent {
		t.Error("absent not read")
	}
	if h := objs[2].History; len(h) != 3 || h[0].Seen == nil || len(h[0].Seen.Expect) != 1 || h[0].Line != 29 ||
		h[1].Changed != "spec.parallelism" || !h[2].Gone {
		t.Errorf("history = %+v", h)
	}
}

func TestObjectivesDiagnostics(t *testing.T) {
	tests := []struct {
		name, src, prefix, text string
	}{
		{"syntax", "objectives:\n  - id: a\n    target: {kind: Pod\n", "step1/objectives.yaml:", "invalid YAML"},
		{"not a list", "objectives: {id: a}\n", "step1/objectives.yaml:1:13: error:", "must be a list"},
		{"no objectives key", "goals: []\n", "step1/objectives.yaml:1:1: warning:", `unknown key "goals"`},
		{"missing id", "objectives:\n  - title: t\n    target: {kind: Pod, name: p}\n", "step1/objectives.yaml:2:5: error:", "has no id"},
		{"no target nor script", "objectives:\n  - id: a\n    title: t\n", "step1/objectives.yaml:2:5: error:", "needs a target"},
		{"no kind", "objectives:\n  - id: a\n    title: t\n    target: {name: p}\n", "step1/objectives.yaml:4:13: error:", "has no kind"},
		{"name and selector", "objectives:\n  - id: a\n    title: t\n    target: {kind: Pod, name: p, selector: {a: b}}\n", "step1/objectives.yaml:4:44: error:", "both name and selector"},
		{"neither name nor selector", "objectives:\n  - id: a\n    title: t\n    target: {kind: Pod}\n", "step1/objectives.yaml:4:13: error:", "needs a name or a selector"},
		{"count without selector", "objectives:\n  - id: a\n    title: t\n    target: {kind: Pod, name: p}\n    count: {min: 1}\n", "step1/objectives.yaml:5:12: error:", "count needs target.selector"},
		{"bad count", "objectives:\n  - id: a\n    title: t\n    target: {kind: Pod, selector: {a: b}}\n    count: {min: many}\n", "step1/objectives.yaml:5:18: error:", "whole number"},
		{"min over max", "objectives:\n  - id: a\n    title: t\n    target: {kind: Pod, selector: {a: b}}\n    count: {min: 3, max: 1}\n", "step1/objectives.yaml:5:12: error:", "greater than max"},
		{"bad timeout", "objectives:\n  - id: a\n    title: t\n    target: {kind: Pod, name: p}\n    timeout: 90\n", "step1/objectives.yaml:5:14: error:", "not a duration"},
		{"bad preCheck", "objectives:\n  - id: a\n    title: t\n    target: {kind: Pod, name: p}\n    preCheck: always\n", "step1/objectives.yaml:5:15: error:", `"skip" or empty`},
		{"duplicate key", "objectives:\n  - id: a\n    id: b\n    title: t\n    target: {kind: Pod, name: p}\n", "step1/objectives.yaml:3:5: error:", "duplicate key"},
		{"unknown key", "objectives:\n  - id: a\n    title: t\n    target: {kind: Pod, name: p}\n    matches: {}\n", "step1/objectives.yaml:5:5: warning:", `unknown key "matches"`},
		{"script path escape", "objectives:\n  - id: a\n    title: t\n    script: ../../x.sh\n", "step1/objectives.yaml:4:13: error:", "leaves the lesson folder"},
		{"script absolute", "objectives:\n  - id: a\n    title: t\n    script: /bin/true\n", "step1/objectives.yaml:4:13: error:", "absolute path"},
		{"target and script", "objectives:\n  - id: a\n    title: t\n    target: {kind: Pod, name: p}\n    script: c.sh\n", "step1/objectives.yaml:4:13: error:", "both a target and a script"},
		{"absent with match", "objectives:\n  - id: a\n    title: t\n    target: {kind: Pod, name: p}\n    absent: true\n    match: {spec: {}}\n", "step1/objectives.yaml:5:13: error:", "must not exist"},
		{"empty cel", "objectives:\n  - id: a\n    title: t\n    target: {kind: Pod, name: p}\n    expect: [{msg: m}]\n", "step1/objectives.yaml:5:14: error:", "no cel expression"},
		{"no title", "objectives:\n  - id: a\n    target: {kind: Pod, name: p}\n", "step1/objectives.yaml:2:5: warning:", "no title"},
		{"empty selector", "objectives:\n  - id: a\n    title: t\n    target: {kind: Pod, selector: {}}\n", "step1/objectives.yaml:4:35: error:", "selector is empty"},
		{"history not a list", "objectives:\n  - id: a\n    title: t\n    target: {kind: Job, name: j}\n    history: {gone: true}\n", "step1/objectives.yaml:5:14: error:", "non-empty list of stages"},
		{"history two keys", "objectives:\n  - id: a\n    title: t\n    target: {kind: Job, name: j}\n    history:\n      - {gone: true, changed: spec.x}\n", "step1/objectives.yaml:6:9: error:", "exactly one of seen, gone or changed"},
		{"history unknown stage", "objectives:\n  - id: a\n    title: t\n    target: {kind: Job, name: j}\n    history:\n      - {vanished: true}\n", "step1/objectives.yaml:6:10: warning:", `unknown key "vanished"`},
		{"history gone false", "objectives:\n  - id: a\n    title: t\n    target: {kind: Job, name: j}\n    history:\n      - gone: false\n", "step1/objectives.yaml:6:15: error:", "gone must be true"},
		{"history bad path", "objectives:\n  - id: a\n    title: t\n    target: {kind: Job, name: j}\n    history:\n      - changed: spec[0]\n", "step1/objectives.yaml:6:18: error:", "not a field path"},
		{"history empty seen", "objectives:\n  - id: a\n    title: t\n    target: {kind: Job, name: j}\n    history:\n      - seen: {}\n", "step1/objectives.yaml:6:15: error:", "needs a match or an expect"},
		{"history with selector", "objectives:\n  - id: a\n    title: t\n    target: {kind: Job, selector: {a: b}}\n    history:\n      - gone: true\n", "step1/objectives.yaml:6:7: error:", "needs a target with a name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := parseObj(tt.src)
			wantDiag(t, diags, tt.prefix, tt.text)
		})
	}
}

func TestDuplicateObjectiveIDs(t *testing.T) {
	dir := writeLesson(t, map[string]string{
		"index.json": `{"title": "x", "details": {"steps": [{"text": "s.md", "objectives": "o.yaml", "verify": "v.sh"}]}}`,
		"s.md":       stepMD,
		"v.sh":       "true\n",
		"o.yaml":     "objectives:\n  - id: a\n    title: t\n    target: {kind: Pod, name: p}\n  - id: a\n    title: t\n    target: {kind: Pod, name: q}\n  - id: verify\n    title: t\n    script: v.sh\n",
	})
	_, diags, err := Load(dir)
	if err == nil {
		t.Fatal("duplicate ids accepted")
	}
	wantDiag(t, diags, dir+"/o.yaml:5:", `objective id "a" is used twice`)
	wantDiag(t, diags, dir+"/index.json:1:", `objective id "verify" is used twice`)
	if n := strings.Count(strings.Join(diagStrings(diags), "\n"), "used twice"); n != 2 {
		t.Errorf("%d duplicate reports", n)
	}
}

func TestObjectivesMergeKeys(t *testing.T) {
	src := `base: &job
  kind: Job
  apiVersion: batch/v1
objectives:
  - id: a
    title: A
    target: {<<: *job, name: hello}
  - id: b
    title: B
    target:
      <<: *job
      kind: CronJob
      name: tick
`
	objs, diags := parseObj(src)
	if len(objs) != 2 {
		t.Fatalf("objectives %d, diags %v", len(objs), diagStrings(diags))
	}
	if tg := objs[0].Target; tg.Kind != "Job" || tg.APIVersion != "batch/v1" || tg.Name != "hello" {
		t.Errorf("merged target = %+v", tg)
	}
	if tg := objs[1].Target; tg.Kind != "CronJob" || tg.Name != "tick" {
		t.Errorf("explicit keys must win over merged ones: %+v", tg)
	}
	if len(diags) != 0 {
		t.Errorf("an anchor definition is not an unknown key: %v", diagStrings(diags))
	}
}
