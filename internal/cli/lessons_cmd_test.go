package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

var updateCLI = flag.Bool("update", false, "rewrite the .golden files under testdata/")

// runCmd runs a command built by its constructor, as Execute would, and
// returns its exit code, stdout and stderr.
func runCmd(t *testing.T, cmd *cobra.Command, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if args == nil {
		args = []string{} // nil would make cobra read os.Args
	}
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	wrapArgs(cmd)
	code := Execute(context.Background(), cmd, &errb)
	return code, out.String(), errb.String()
}

const testLessons = "../../lessons/testdata"

func TestLintCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string // substrings
		stderr   string
		noStdout bool
	}{
		{"clean killercoda scenario", []string{testLessons + "/killercoda"}, ExitOK, nil, "1 lesson, 0 errors, 0 warnings", true},
		{"embedded lesson id", []string{"jobs-cronjobs"}, ExitOK, nil, "1 lesson, 0 errors", false},
		{"course", []string{testLessons + "/course"}, ExitOK, nil, "2 lessons, 0 errors", false},
		{"lessons/*/ skips testdata", []string{"../../lessons/jobs-cronjobs/", testLessons + "/"}, ExitOK, nil, "1 lesson, 0 errors, 0 warnings", true},
		{"broken lesson: all three problems", []string{testLessons + "/broken"}, ExitUsage, []string{
			testLessons + "/broken/index.json:6:33: error: details.steps[0].text: file step1/missing.md not found",
			testLessons + "/broken/index.json:7:42: error: ",
			testLessons + "/broken/step3/objectives.yaml:3: error: invalid YAML",
		}, "3 errors", false},
		{"several paths", []string{testLessons + "/killercoda", testLessons + "/broken"}, ExitUsage, []string{"missing.md"}, "2 lessons, 3 errors", false},
		{"missing path", []string{"./no/such/dir"}, ExitUsage, []string{"no/such/dir: error:"}, "1 error", false},
		{"no argument", nil, ExitUsage, nil, "requires at least 1 arg", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, newLintCommand(&Options{}), tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			if tt.noStdout && out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr lacks %q: %s", tt.stderr, errOut)
			}
		})
	}
}

func TestLintJSON(t *testing.T) {
	code, out, _ := runCmd(t, newLintCommand(&Options{}), "--json", testLessons+"/broken")
	if code != ExitUsage {
		t.Errorf("exit %d", code)
	}
	var diags []struct {
		File, Severity, Message string
		Line, Col               int
	}
	if err := json.Unmarshal([]byte(out), &diags); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	errs := 0
	for _, d := range diags {
		if d.Severity == "error" {
			errs++
			if d.File == "" || d.Line == 0 {
				t.Errorf("error without file:line: %+v", d)
			}
		}
	}
	if errs != 3 {
		t.Errorf("%d errors, want 3: %s", errs, out)
	}
	code, out, _ = runCmd(t, newLintCommand(&Options{}), "--json", testLessons+"/killercoda")
	if code != ExitOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("clean lesson: exit %d, %q", code, out)
	}
}

func TestInspectJSON(t *testing.T) {
	code, out, errOut := runCmd(t, newInspectCommand(&Options{}), testLessons+"/killercoda", "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	golden := filepath.Join("testdata", "inspect-killercoda.golden")
	if *updateCLI {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test ./internal/cli -run Inspect -update)", err)
	}
	if out != string(want) {
		t.Errorf("inspect --json differs from %s (-update to accept):\n%s", golden, out)
	}
	var v struct {
		ID    string
		Steps []struct {
			Blocks []struct {
				Kind      string
				Interrupt bool
				Inline    bool
				Hint      int
			}
			Hints       int
			HasSolution bool
			Verify      string
			Objectives  []struct{ ID, Kind string }
		}
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	s := v.Steps[0]
	if len(v.Steps) != 2 || len(s.Blocks) != 7 || s.Hints != 2 || !s.HasSolution || s.Verify != "step1/verify.sh" ||
		len(s.Objectives) != 1 || s.Objectives[0].Kind != "script" {
		t.Errorf("step 1 = %+v", s)
	}
	kinds := []string{}
	for _, b := range s.Blocks {
		k := b.Kind
		if b.Interrupt {
			k += "+interrupt"
		}
		if b.Inline {
			k += "+inline"
		}
		kinds = append(kinds, k)
	}
	if got := strings.Join(kinds, " "); got != "exec exec exec+interrupt copy copy+inline exec+inline exec" {
		t.Errorf("block kinds = %s", got)
	}
}

func TestInspectErrors(t *testing.T) {
	code, out, errOut := runCmd(t, newInspectCommand(&Options{}), testLessons+"/broken", "--json")
	if code != ExitUsage || out != "" || !strings.Contains(errOut, "missing.md not found") {
		t.Errorf("broken: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runCmd(t, newInspectCommand(&Options{}), "nope")
	if code != ExitUsage || !strings.Contains(errOut, `no lesson "nope"`) {
		t.Errorf("unknown: exit %d, stderr %q", code, errOut)
	}
	code, out, _ = runCmd(t, newInspectCommand(&Options{}))
	if code != ExitOK || !strings.Contains(out, "jobs-cronjobs") || !strings.Contains(out, "step 1:") {
		t.Errorf("default lesson: exit %d:\n%s", code, out)
	}
}

func TestListCommand(t *testing.T) {
	code, out, _ := runCmd(t, newListCommand(&Options{}))
	if code != ExitOK || !strings.Contains(out, "ID") || !strings.Contains(out, "jobs-cronjobs") {
		t.Errorf("embedded: exit %d:\n%s", code, out)
	}
	code, out, _ = runCmd(t, newListCommand(&Options{}), testLessons+"/course")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitOK || len(lines) != 3 || !strings.HasPrefix(lines[1], "b-second") || !strings.HasPrefix(lines[2], "a-first") {
		t.Errorf("course (structure.json order): exit %d:\n%s", code, out)
	}
	code, out, _ = runCmd(t, newListCommand(&Options{}), "--json", testLessons+"/killercoda")
	var rows []struct {
		ID, Title, Lang string
		Steps           int
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || code != ExitOK {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	if len(rows) != 1 || rows[0].ID != "killercoda" || rows[0].Steps != 2 || rows[0].Lang != "en" {
		t.Errorf("rows = %+v", rows)
	}
	code, _, errOut := runCmd(t, newListCommand(&Options{}), testLessons+"/broken")
	if code != ExitUsage || !strings.Contains(errOut, "missing.md") {
		t.Errorf("broken: exit %d, %s", code, errOut)
	}
}

func TestLessonCompletion(t *testing.T) {
	root := &cobra.Command{Use: "klab"}
	root.AddCommand(newLintCommand(&Options{}), newInspectCommand(&Options{}))
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{cobra.ShellCompRequestCmd, "inspect", "jobs"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "jobs-cronjobs") {
		t.Errorf("completion = %q", out.String())
	}
}
