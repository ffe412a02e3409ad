package tui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/viewport"

	"github.com/klabdev/klab/lessons"
)

// The lesson screen is made of parts, each with one job; lessonModel routes
// messages to them and owns the layout (view.go). What can be derived is
// not stored: which steps are unlocked is read from prog.lp, the screen
// from nav.

// connPart is the connection to the cluster.
type connPart struct {
	gen     int // connection attempt; late answers of an older one are ignored
	up      bool
	dialing bool
	err     error // the last connect or ping error (with up: the cluster stopped answering)
	cluster ClusterInfo
}

// textPart is the page on screen: its rendered text and blocks, and the
// selected block.
type textPart struct {
	vp         viewport.Model
	sel        int   // selected block (index into the visible blocks), -1 none
	blockLines []int // first line of each drawn block, in segment order
	content    string
	showHelp   bool
}

// objectivesPart is the live checklist of the step on screen.
type objectivesPart struct {
	results  []ObjectiveResult
	gen      int // watch generation; results of an older watch are ignored
	cancel   context.CancelFunc
	showDiff bool
}

// stop ends the running watch, if any, and starts a new generation.
func (o *objectivesPart) stop() {
	if o.cancel != nil {
		o.cancel()
		o.cancel = nil
	}
	o.gen++
}

// outputPart is the pane that shows the last block or foreground script run
// outside the terminal pane, with its streamed output.
type outputPart struct {
	seq   int
	run   *runState
	open  bool
	dirty bool // output arrived since the pane was last drawn
	tail  bool // the pane follows the end of the output
	vp    viewport.Model
}

// busy reports whether a command is running in the pane.
func (o *outputPart) busy() bool { return o.run != nil && !o.run.done }

// progressPart is the learner's progress in this lesson and the time spent.
type progressPart struct {
	all   *Progress
	lp    *LessonProgress
	base  time.Duration // time spent in earlier sessions
	since time.Time     // when this session opened the lesson
}

// elapsed is the time spent in the lesson, this session included.
func (p progressPart) elapsed(now time.Time) time.Duration { return p.base + now.Sub(p.since) }

// pagePart holds what the step on screen started: its scripts' context
// (pagectx.go) and the pages whose scripts ran this session.
type pagePart struct {
	ctx     context.Context
	cancel  context.CancelFunc
	scripts *lessons.Page
	entered map[*lessons.Page]bool
}
