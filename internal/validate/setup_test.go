package validate

import (
	"strings"
	"testing"
	"time"

	"github.com/klabdev/klab/lessons"
)

// The intro's background script creates, after a few seconds, what step 1's
// solution needs: validate must wait for it every time, not race it.
func TestSetupBeforeAction(t *testing.T) {
	l := load(t, "setup-race")
	for i := range 10 {
		rep := run(t, l, Options{})
		if rep.Status != StatusPass {
			t.Fatalf("run %d: %s\n%s", i+1, rep.Status, messages(rep))
		}
		for _, s := range rep.Steps {
			if len(s.Warnings) > 0 {
				t.Fatalf("run %d: warnings %q", i+1, s.Warnings)
			}
		}
	}
}

func TestFailedBackgroundIsReported(t *testing.T) {
	l := load(t, "setup-race")
	l.Intro.Background = &lessons.Script{Path: "setup.sh", Body: "echo creating the base; echo 'no quota left' >&2; exit 4\n"}
	l.Steps[0].Timeout = 5 * time.Second
	rep := run(t, l, Options{})
	if rep.Status != StatusFail || len(rep.Steps) != 1 {
		t.Fatalf("status %s, steps %d", rep.Status, len(rep.Steps))
	}
	w := strings.Join(rep.Steps[0].Warnings, "\n")
	if !strings.Contains(w, "background script setup.sh exited 4, the end of its log:") || !strings.Contains(w, "no quota left") {
		t.Fatalf("warnings:\n%s", w)
	}
}

// A Killercoda scenario with no klab key: assets (~/ and an absolute
// target), a setup script, a verify.sh, and the solution only in a
// <details> block.
func TestKillercodaStyleScenario(t *testing.T) {
	l := load(t, "killercoda-style")
	rep := run(t, l, Options{})
	if rep.Status != StatusPass {
		var outs []string
		for _, s := range rep.Steps {
			for _, b := range s.Blocks {
				outs = append(outs, b.Code+"\n"+b.Output)
			}
			outs = append(outs, s.Warnings...)
		}
		t.Fatalf("status %s\n%s\n%s", rep.Status, messages(rep), strings.Join(outs, "\n---\n"))
	}
	s := rep.Steps[0]
	if s.SolutionFrom != lessons.SolutionFromHint || s.Solution != "step1/text.md:9 (Solution)" {
		t.Errorf("solution from %q %q", s.SolutionFrom, s.Solution)
	}
	var b strings.Builder
	WriteText(&b, []*LessonReport{rep})
	if !strings.Contains(b.String(), "solution: from the hint step1/text.md:9 (Solution)") {
		t.Errorf("the text report does not say the solution came from the hint:\n%s", b.String())
	}
}

func TestInteractiveSolutionFailsAtOnce(t *testing.T) {
	l := load(t, "killercoda-style")
	l.Steps[0].SolutionHint.Code = []lessons.HintCode{{Code: "kubectl edit configmap settings", Line: 9}}
	rep := run(t, l, Options{StepTimeout: 3 * time.Second})
	if rep.Status != StatusFail || len(rep.Steps[0].Blocks) != 1 {
		t.Fatalf("status %s blocks %+v", rep.Status, rep.Steps[0].Blocks)
	}
	bl := rep.Steps[0].Blocks[0]
	if bl.ExitCode != 126 || !strings.Contains(bl.Output, "kubectl edit waits for someone at the keyboard") || bl.Duration > time.Second {
		t.Fatalf("block %+v", bl)
	}
}

// Killercoda's marker pattern: the foreground script waits for a file the
// background script writes when it is done.
func TestMarkerFileScripts(t *testing.T) {
	marker := t.TempDir() + "/finished"
	l := load(t, "setup-race")
	l.Intro.Background = &lessons.Script{Path: "background.sh", Body: "sleep 2\nkubectl create configmap base --from-literal=mode=prod\ntouch " + marker + "\n"}
	l.Intro.Foreground = &lessons.Script{Path: "foreground.sh", Body: "echo Installing scenario...\nwhile [ ! -f " + marker + " ]; do sleep 1; done\necho DONE\n"}
	start := time.Now()
	rep := run(t, l, Options{})
	if rep.Status != StatusPass || len(rep.Warnings) > 0 || len(rep.Steps[0].Warnings) > 0 {
		t.Fatalf("status %s, warnings %q %q\n%s", rep.Status, rep.Warnings, rep.Steps[0].Warnings, messages(rep))
	}
	if time.Since(start) < 2*time.Second {
		t.Fatal("the foreground script did not wait for the marker")
	}
}
