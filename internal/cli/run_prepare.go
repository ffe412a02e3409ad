package cli

import (
	"context"
	"fmt"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/runner"
)

// StartBackground starts the page's background script alone: the TUI runs
// the foreground script in view (tui.BackgroundStarter).
func (b *labBackend) StartBackground(ctx context.Context, p *lessons.Page) error {
	lab, _ := b.get()
	if lab == nil {
		return errNotConnected
	}
	if p.Background == nil {
		return nil
	}
	if err := b.trust.gate(p.Background); err != nil {
		return err
	}
	if err := lab.StartBackground(ctx, p.Background); err != nil {
		return fmt.Errorf("%s: %w", p.Background.Path, err)
	}
	b.logf("background %s started, log %s", p.Background.Path, lab.LogPath(p.Background))
	return nil
}

// Preparing lists the background scripts still running (tui.Preparer).
func (b *labBackend) Preparing() []runner.BackgroundStatus {
	lab, _ := b.get()
	if lab == nil {
		return nil
	}
	return lab.Preparing()
}

// LogTail is the end of a background script's log (tui.Preparer).
func (b *labBackend) LogTail(log string, n int) string { return runner.LogTail(log, n) }

// installAssets copies the lesson's assets into the lab, keeping the files
// the learner already has there.
func (b *labBackend) installAssets(lab *runner.Lab) error {
	if err := lab.KeepAssets(b.lesson); err != nil {
		return fmt.Errorf("lesson %s: %w", b.lesson.ID, err)
	}
	return nil
}
