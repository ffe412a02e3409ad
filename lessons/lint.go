package lessons

import (
	"fmt"
	"time"
)

// Lint reports lesson-level warnings that loading does not: steps klab
// cannot check or solve, and bounds that contradict each other. Diagnostics
// name files as FilePath does.
func Lint(l *Lesson) []Diagnostic {
	if l == nil {
		return nil
	}
	var out []Diagnostic
	warn := func(file string, line int, format string, args ...any) {
		out = append(out, Diagnostic{File: l.FilePath(file), Line: line, Severity: SevWarning, Message: fmt.Sprintf(format, args...)})
	}
	if len(l.Steps) == 0 {
		what := "nothing to do"
		if l.Intro != nil || l.Finish != nil {
			what = "only its intro or finish page to read"
		}
		warn(IndexFile, 1, "the lesson has no steps: %s (add details.steps to give learners something to do)", what)
	}
	for _, s := range l.Steps {
		if s == nil {
			continue
		}
		execs := 0
		for _, b := range s.Blocks {
			if b.Kind == BlockExec {
				execs++
			}
		}
		if execs > 0 && len(s.Objectives) == 0 {
			warn(IndexFile, s.Line, "step %d (%s) has exec blocks but no objectives: klab cannot check it (add objectives or a verify script)", s.Index, s.Title)
		}
		script, from := s.Solve()
		if len(s.Objectives) > 0 && from == "" {
			warn(IndexFile, s.Line, "step %d (%s) has objectives but no solution script, no exec block and no Solution hint with code: klab validate cannot solve it", s.Index, s.Title)
		}
		lintInteractive(s, script, from, warn)
		for _, o := range s.Objectives {
			if s.Timeout > 0 && o.Timeout > s.Timeout {
				warn(o.File, o.Line, "objective %q waits up to %s, longer than its step's timeout %s", o.ID, o.Timeout, s.Timeout)
			}
			if o.Timeout > 10*time.Minute {
				warn(o.File, o.Line, "objective %q waits up to %s: learners will think klab hangs", o.ID, o.Timeout)
			}
		}
	}
	return out
}

// lintInteractive warns about solution code that waits for a person:
// validate fails such a block at once rather than hang.
func lintInteractive(s *Step, script *Script, from string, warn func(string, int, string, ...any)) {
	switch from {
	case SolutionFromBlocks:
		for _, b := range s.Blocks {
			if b.Kind != BlockExec {
				continue
			}
			if cmd := InteractiveCommand(b.Code); cmd != "" {
				warn(b.File, b.Line, "block [%d] runs %s, which waits for someone at the keyboard: klab validate fails it at once (write the change with kubectl apply, patch or sed)", b.Index, cmd)
			}
		}
	case SolutionFromHint:
		for _, c := range s.SolutionHint.Code {
			if c.Manifest || !shellLangs[c.Lang] {
				continue
			}
			if cmd := InteractiveCommand(c.Code); cmd != "" {
				warn(s.TextFile, c.Line, "the Solution hint runs %s, which waits for someone at the keyboard: klab validate fails it at once (write the change with kubectl apply, patch or sed)", cmd)
			}
		}
	case SolutionFromScript:
		if cmd := InteractiveCommand(script.Body); cmd != "" {
			warn(script.Path, 0, "the solution runs %s, which waits for someone at the keyboard: klab validate fails it at once", cmd)
		}
	}
}
