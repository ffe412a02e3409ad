package lessons

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// writeLesson writes files (path → content) into a temp folder.
func writeLesson(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const stepMD = "Run `ls`{{exec}}\n"

func TestIndexDiagnostics(t *testing.T) {
	tests := []struct {
		name   string
		index  string
		files  map[string]string
		prefix string // expected diagnostic prefix (after the lesson folder)
		text   string
	}{
		{"syntax error line and column", "{\n  \"title\": \"x\",\n  \"details\": {\"steps\": [}\n}\n", nil,
			"index.json:3:25: error:", "invalid JSON"},
		{"missing comma", "{\n  \"title\": \"x\"\n  \"details\": {}\n}\n", nil, "index.json:3:3: error:", "invalid JSON"},
		{"truncated", "{\"title\": \"x\",", nil, "index.json:1:15: error:", "unexpected end"},
		{"wrong type", "{\"title\": 3, \"details\": {\"steps\": [{\"text\": \"s.md\"}]}}", map[string]string{"s.md": stepMD},
			"index.json:1:11: error:", "title must be a string"},
		{"no title", "{\"details\": {\"steps\": [{\"text\": \"s.md\"}]}}", map[string]string{"s.md": stepMD},
			"index.json:1:1: error:", "no title"},
		{"unknown key", "{\"title\": \"x\",\n \"detials\": {},\n \"details\": {\"steps\": [{\"text\": \"s.md\"}]}}", map[string]string{"s.md": stepMD},
			"index.json:2:2: warning:", `unknown key "detials"`},
		{"unknown step key", "{\"title\": \"x\", \"details\": {\"steps\": [\n {\"text\": \"s.md\", \"verfy\": \"v.sh\"}]}}", map[string]string{"s.md": stepMD},
			"index.json:2:19: warning:", `unknown key "verfy" in details.steps[0]`},
		{"missing file", "{\"title\": \"x\",\n \"details\": {\"steps\": [\n  {\"text\": \"nope.md\"}]}}", nil,
			"index.json:3:4: error:", "file nope.md not found"},
		{"absolute path", "{\"title\": \"x\", \"details\": {\"steps\": [\n{\"text\": \"/etc/passwd\"}]}}", nil,
			"index.json:2:10: error:", "absolute path"},
		{"dotdot path", "{\"title\": \"x\", \"details\": {\"steps\": [\n{\"text\": \"a/../../x.md\"}]}}", nil,
			"index.json:2:10: error:", "leaves the lesson folder"},
		{"steps not an array", "{\"title\": \"x\", \"details\": {\"steps\": {}}}", nil, "index.json:1:37: error:", "details.steps must be an array"},
		{"step without text", "{\"title\": \"x\", \"details\": {\"steps\": [{\"title\": \"a\"}]}}", nil, "index.json:1:38: error:", "has no text"},
		{"bad timeout", "{\"title\": \"x\", \"details\": {\"steps\": [{\"text\": \"s.md\", \"timeout\": \"soon\"}]}}", map[string]string{"s.md": stepMD},
			"index.json:1:66: error:", "not a duration"},
		{"bad verifyTimeout", "{\"title\": \"x\", \"details\": {\"steps\": [{\"text\": \"s.md\", \"verifyTimeout\": \"-3s\"}]}}", map[string]string{"s.md": stepMD},
			"index.json:1:72: error:", "verifyTimeout \"-3s\" must be positive"},
		{"bad id", "{\"title\": \"x\", \"id\": \"My Lesson\", \"details\": {\"steps\": [{\"text\": \"s.md\"}]}}", map[string]string{"s.md": stepMD},
			"index.json:1:16: error:", "DNS label"},
		{"unsupported lang", "{\"title\": \"x\", \"lang\": \"de\", \"details\": {\"steps\": [{\"text\": \"s.md\"}]}}", map[string]string{"s.md": stepMD},
			"index.json:1:24: warning:", "not supported"},
		{"too large", "{\"title\": \"x\", \"details\": {\"steps\": [{\"text\": \"big.md\"}]}}", map[string]string{"big.md": strings.Repeat("a", MaxFileSize+1)},
			"index.json:1:39: error:", "too large"},
		{"folder as file", "{\"title\": \"x\", \"details\": {\"steps\": [{\"text\": \"d\"}]}}", map[string]string{"d/x": ""},
			"index.json:1:39: error:", "is a folder"},
		{"both aliases", "{\"title\": \"x\", \"details\": {\"steps\": [{\"text\": \"s.md\", \"background\": \"b.sh\", \"courseData\": \"b.sh\"}]}}",
			map[string]string{"s.md": stepMD, "b.sh": "true\n"}, "index.json:1:77: warning:", "Katacoda name"},
		{"missing asset", "{\"title\": \"x\", \"details\": {\"steps\": [{\"text\": \"s.md\"}],\n \"assets\": {\"host01\": [{\"file\": \"job.yaml\", \"target\": \"/root\"}]}}}",
			map[string]string{"s.md": stepMD}, "index.json:2:33: error:", "assets/job.yaml not found"},
		{"asset glob", "{\"title\": \"x\", \"details\": {\"steps\": [{\"text\": \"s.md\"}],\n \"assets\": {\"host01\": [{\"file\": \"*.sh\", \"target\": \"/root\"}]}}}",
			map[string]string{"s.md": stepMD}, "index.json:2:33: error:", "matches no file"},
		{"asset escape", "{\"title\": \"x\", \"details\": {\"steps\": [{\"text\": \"s.md\"}],\n \"assets\": {\"host01\": [{\"file\": \"../../etc/passwd\", \"target\": \"/root\"}]}}}",
			map[string]string{"s.md": stepMD}, "index.json:2:33: error:", "leaves the lesson folder"},
		{"trailing data", "{\"title\": \"x\"} {}", nil, "index.json:1:16: error:", "after the top-level"},
		{"bom accepted", "\ufeff{\"title\": \"x\", \"details\": {\"steps\": [{\"text\": \"s.md\", \"timeout\": 5}]}}", map[string]string{"s.md": stepMD},
			"index.json:1:66: error:", "timeout must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"index.json": tt.index}
			for k, v := range tt.files {
				files[k] = v
			}
			dir := writeLesson(t, files)
			_, diags, _ := Load(dir)
			wantDiag(t, diags, filepath.Join(dir, tt.prefix), tt.text)
		})
	}
}

func TestKillercodaScenario(t *testing.T) {
	l, diags, err := Load("testdata/killercoda")
	if err != nil || len(diags) != 0 {
		t.Fatalf("err %v, diags %v", err, diagStrings(diags))
	}
	if l.ID != "killercoda" || l.Title != "Create and delete a Pod" || l.Lang != "en" || l.ImageID != "kubernetes-kubeadm-1node" {
		t.Errorf("lesson = %q %q %q %q", l.ID, l.Title, l.Lang, l.ImageID)
	}
	if l.Intro == nil || l.Intro.Background == nil || !strings.Contains(l.Intro.Background.Body, "kubectl wait") || l.Intro.Foreground == nil {
		t.Errorf("intro scripts not read: %+v", l.Intro)
	}
	if len(l.Steps) != 2 {
		t.Fatalf("steps = %d", len(l.Steps))
	}
	s1, s2 := l.Steps[0], l.Steps[1]
	if len(s1.Blocks) != 7 || len(s1.Hints) != 2 || s1.SolutionHint == nil || s1.SolutionHint.Summary != "Solution" {
		t.Errorf("step1: %d blocks, %d hints, solution %v", len(s1.Blocks), len(s1.Hints), s1.SolutionHint)
	}
	if s2.Background == nil || s2.Background.Path != "step2/background.sh" || s2.Background.Body == "" {
		t.Errorf("courseData is not read as background: %+v", s2.Background)
	}
	for _, s := range l.Steps {
		if len(s.Objectives) != 1 || s.Objectives[0].ID != VerifyObjectiveID || s.Objectives[0].Kind() != "script" ||
			s.Objectives[0].Script.Body == "" || s.Objectives[0].Line == 0 {
			t.Errorf("step %d: verify.sh is not a script objective: %+v", s.Index, s.Objectives)
		}
	}
	sol := s1.SolutionScript()
	if sol == nil || sol.Path != "" || !strings.HasPrefix(sol.Body, "kubectl run my-pod --image=nginx\nkubectl get pods -w\n") {
		t.Errorf("default solution = %+v", sol)
	}
	if lint := Lint(l); len(lint) != 0 {
		t.Errorf("lint: %v", diagStrings(lint))
	}
}

func TestKlabExtensions(t *testing.T) {
	dir := writeLesson(t, map[string]string{
		"index.json": `{"title": "Jobs", "id": "jobs-101", "lang": "fr", "description": "d",
  "details": {"steps": [{"title": "one", "text": "s.md", "objectives": "o/objectives.yaml", "solution": "sol.sh", "timeout": "2m"}],
  "assets": {"host01": [{"file": "job.yaml", "target": "/root", "chmod": "+x"}]}}}`,
		"s.md":              stepMD,
		"assets/job.yaml":   "kind: Job\n",
		"sol.sh":            "kubectl create job x --image=busybox\n",
		"o/objectives.yaml": "objectives:\n  - id: a\n    title: A\n    script: check.sh\n",
		"o/check.sh":        "true\n",
	})
	l, diags, err := Load(dir)
	if err != nil || len(diags) != 0 {
		t.Fatalf("err %v diags %v", err, diagStrings(diags))
	}
	s := l.Steps[0]
	if l.ID != "jobs-101" || l.Lang != "fr" || s.Timeout != 2*time.Minute || s.Solution == nil || s.ObjectivesFile != "o/objectives.yaml" {
		t.Errorf("lesson %+v step %+v", l, s)
	}
	if len(s.Objectives) != 1 || s.Objectives[0].Script == nil || s.Objectives[0].Script.Path != "o/check.sh" {
		t.Errorf("objective script is relative to the objectives file: %+v", s.Objectives[0])
	}
	if len(l.Assets) != 1 || l.Assets[0].Chmod != "+x" {
		t.Errorf("assets = %+v", l.Assets)
	}
}

func TestSymlinkEscape(t *testing.T) {
	outside := writeLesson(t, map[string]string{"secret.md": "secret\n"})
	dir := writeLesson(t, map[string]string{"index.json": `{"title": "x", "details": {"steps": [{"text": "s.md"}]}}`})
	if err := os.Symlink(filepath.Join(outside, "secret.md"), filepath.Join(dir, "s.md")); err != nil {
		t.Skip("no symlinks:", err)
	}
	_, diags, err := Load(dir)
	if err == nil {
		t.Fatal("a symlink leaving the lesson loads")
	}
	wantDiag(t, diags, filepath.Join(dir, "index.json:1:39: error:"), "symlink leaving the lesson folder")
	// A symlink inside the lesson is fine.
	if err := os.Remove(filepath.Join(dir, "s.md")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "real.md"), []byte(stepMD), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.md", filepath.Join(dir, "s.md")); err != nil {
		t.Fatal(err)
	}
	if _, diags, err := Load(dir); err != nil {
		t.Errorf("inner symlink refused: %v", diagStrings(diags))
	}
}

// TestBrokenLesson is issue 2's "done when": a missing step file, a ../ path
// and a YAML syntax error are all reported, with file and line, in one run.
func TestBrokenLesson(t *testing.T) {
	_, diags, err := Load("testdata/broken")
	if err == nil {
		t.Fatal("broken lesson loads without error")
	}
	wantDiag(t, diags, "testdata/broken/index.json:6:", "step1/missing.md not found")
	wantDiag(t, diags, "testdata/broken/index.json:7:", "leaves the lesson folder")
	wantDiag(t, diags, "testdata/broken/step3/objectives.yaml:3:", "invalid YAML")
	golden(t, "broken.golden", toJSON(t, diagStrings(diags)))
}

func TestLoadFS(t *testing.T) {
	fsys := fstest.MapFS{
		"l/index.json": {Data: []byte(`{"title": "x", "details": {"steps": [{"text": "s.md"}, {"text": "../s.md"}]}}`)},
		"l/s.md":       {Data: []byte(stepMD)},
	}
	l, diags, err := LoadFS(fsys, "l", "")
	if err == nil || l == nil || l.ID != "l" || len(l.Steps) != 2 || l.Steps[0].Blocks[0].Code != "ls" {
		t.Fatalf("LoadFS = %+v, %v", l, err)
	}
	wantDiag(t, diags, "l/index.json:1:65: error:", "leaves the lesson folder")
}

func TestLessonNodes(t *testing.T) {
	for _, tc := range []struct {
		image string
		want  int
	}{
		{"kubernetes-kubeadm-1node", 1},
		{"kubernetes-kubeadm-1node-4GB", 1},
		{"kubernetes-kubeadm-2nodes", 2},
		{"ubuntu", 0},
		{"", 0},
	} {
		if got := (&Lesson{ImageID: tc.image}).Nodes(); got != tc.want {
			t.Errorf("imageid %q: %d nodes, want %d", tc.image, got, tc.want)
		}
	}
}
