package verify

import (
	"fmt"

	"github.com/klabdev/klab/lessons"
)

// Lint reports objective problems that need verify's knowledge: CEL that
// does not compile, references to unknown bindings (the CEL checker reports
// them as undeclared references) and non-boolean expressions, each located
// at the expect's file and line.
func Lint(l *lessons.Lesson) []lessons.Diagnostic {
	if l == nil {
		return nil
	}
	env, err := newEnv()
	if err != nil {
		return []lessons.Diagnostic{{File: l.Dir, Severity: lessons.SevError, Message: err.Error()}}
	}
	var out []lessons.Diagnostic
	for _, s := range l.Steps {
		if s == nil {
			continue
		}
		for _, o := range s.Objectives {
			if o == nil {
				continue
			}
			for _, st := range o.History {
				if st.Seen == nil {
					continue
				}
				for _, e := range st.Seen.Expect {
					p, err := compileExpr(env, e.CEL)
					switch {
					case err != nil:
						out = append(out, lessons.Diagnostic{File: o.File, Line: e.Line, Severity: lessons.SevError,
							Message: fmt.Sprintf("objective %q: history CEL %q does not compile (binding: object): %v", o.ID, e.CEL, err)})
					case p.uses["pods"] || p.uses["jobs"] || p.uses["logs"]:
						out = append(out, lessons.Diagnostic{File: o.File, Line: e.Line, Severity: lessons.SevError,
							Message: fmt.Sprintf("objective %q: history CEL %q can only use object (each observed version of the target)", o.ID, e.CEL)})
					}
				}
			}
			for _, e := range o.Expect {
				line := e.Line
				if line == 0 {
					line = o.Line
				}
				if e.CEL == "" {
					out = append(out, lessons.Diagnostic{File: o.File, Line: line, Severity: lessons.SevError,
						Message: fmt.Sprintf("objective %q: empty cel expression", o.ID)})
					continue
				}
				if _, err := compileExpr(env, e.CEL); err != nil {
					out = append(out, lessons.Diagnostic{File: o.File, Line: line, Severity: lessons.SevError,
						Message: fmt.Sprintf("objective %q: CEL %q does not compile (bindings: object, pods, jobs, logs): %v", o.ID, e.CEL, err)})
				}
			}
		}
	}
	return out
}
