package runner

import (
	"fmt"

	"github.com/klabdev/klab/lessons"
)

// KeepOutput writes how a finished run of lesson script s ended and what it
// printed to LogPath(s) (replacing the previous run's), so that the last
// output of every script — foreground, verify, objective, solution — is
// there to read next to the background scripts' logs.
func (l *Lab) KeepOutput(s *lessons.Script, r Result) error {
	if s == nil || s.Path == "" {
		return nil
	}
	state := ""
	if r.Interrupted {
		state = ", interrupted"
	}
	data := fmt.Appendf(nil, "# %s: exit %d in %s%s\n%s", s.Path, r.ExitCode, r.Duration.Round(1e6), state, r.Output)
	if err := writeFileAtomic(l.LogPath(s), data, 0o600); err != nil {
		return fmt.Errorf("keep output of %s: %w", s.Path, err)
	}
	return nil
}
