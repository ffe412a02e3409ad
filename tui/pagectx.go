package tui

import (
	"context"

	"github.com/klabdev/klab/lessons"
)

// A step's background (and foreground) script runs while its page is on
// screen: leaving the page ends it, and coming back starts it again. The
// intro's scripts prepare the whole lab (as on Killercoda, where the steps
// wait for them) and run until they end or klab quits.

// stepScriptsCtx is the context the step's scripts start with: it ends
// when the learner leaves the page.
func (m *lessonModel) stepScriptsCtx(s *lessons.Step, pages []*lessons.Page) context.Context {
	if s == nil {
		return m.ctx
	}
	for _, p := range pages {
		if p == &s.Page {
			if m.pages.ctx == nil {
				m.pages.ctx, m.pages.cancel = context.WithCancel(m.ctx)
			}
			m.pages.scripts = p
			return m.pages.ctx
		}
	}
	return m.ctx
}

// leavePage ends the scripts of the step being left; they run again when
// the learner comes back to it.
func (m *lessonModel) leavePage() {
	if m.pages.cancel != nil {
		m.pages.cancel()
	}
	if m.pages.scripts != nil {
		delete(m.pages.entered, m.pages.scripts)
	}
	m.pages.ctx, m.pages.cancel, m.pages.scripts = nil, nil, nil
}
