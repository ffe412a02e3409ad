package validate

import (
	"context"
	"fmt"
	"time"

	"github.com/klabdev/klab/runner"
)

// bgTailLines is how much of a failed background script's log a warning shows.
const bgTailLines = 10

// bgReporter waits for the lab's background scripts and reports each
// failure once.
type bgReporter struct {
	seen map[string]bool // script@start already reported
}

// wait waits (at most bound) for every background script started so far,
// and warns about those that failed (exit code, log tail) or still run.
func (r *bgReporter) wait(ctx context.Context, lab *runner.Lab, bound time.Duration, warnings *[]string) {
	wctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	sts, err := lab.WaitBackground(wctx)
	for _, b := range sts {
		key := b.Script + "@" + b.Started.Format(time.RFC3339Nano)
		if r.seen[key] {
			continue
		}
		switch {
		case b.Running:
			if ctx.Err() == nil && err != nil {
				r.seen[key] = true
				*warnings = append(*warnings, fmt.Sprintf("background script %s still running after %s: the step is checked anyway", b.Script, bound))
			}
		case b.Failed():
			r.seen[key] = true
			msg := fmt.Sprintf("background script %s exited %d", b.Script, b.ExitCode)
			if tail := runner.LogTail(b.Log, bgTailLines); tail != "" {
				msg += ", the end of its log:\n" + indent(tail, "  ")
			}
			*warnings = append(*warnings, msg)
		default:
			r.seen[key] = true
		}
	}
}
