package runner

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/klabdev/klab/lessons"
)

// BackgroundStatus is the state of one background script the lab started.
type BackgroundStatus struct {
	Script  string        `json:"script"` // lesson-relative path
	Log     string        `json:"log"`    // its output (LogPath)
	Started time.Time     `json:"started"`
	Running bool          `json:"running"`
	Took    time.Duration `json:"took,omitempty"` // once done
	// ExitCode is the script's exit status once done (128+N for signal N).
	ExitCode int `json:"exitCode"`
	// Interrupted says klab ended it (its context, Reset, Close).
	Interrupted bool `json:"interrupted,omitempty"`
}

// Failed reports whether the script ended with an error of its own.
func (b BackgroundStatus) Failed() bool { return !b.Running && !b.Interrupted && b.ExitCode != 0 }

// bgJob tracks a background script from StartBackground to its end.
type bgJob struct {
	st   BackgroundStatus
	done chan struct{}
}

// trackBackground records a started background script (under l.mu's care).
func (l *Lab) trackBackground(s *lessons.Script) *bgJob {
	j := &bgJob{st: BackgroundStatus{Script: s.Path, Log: l.LogPath(s), Started: time.Now(), Running: true}, done: make(chan struct{})}
	l.mu.Lock()
	l.bgs = append(l.bgs, j)
	l.mu.Unlock()
	return j
}

// finishBackground records how a background script ended, once its log is
// complete.
func (l *Lab) finishBackground(j *bgJob, exit int, interrupted bool) {
	l.mu.Lock()
	j.st.Running = false
	j.st.ExitCode = exit
	j.st.Interrupted = interrupted
	j.st.Took = time.Since(j.st.Started)
	l.mu.Unlock()
	close(j.done)
}

// Backgrounds lists the background scripts started since the lab was made
// (or last Reset), oldest first.
func (l *Lab) Backgrounds() []BackgroundStatus {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]BackgroundStatus, len(l.bgs))
	for i, j := range l.bgs {
		out[i] = j.st
	}
	return out
}

// Preparing lists the background scripts still running: the environment is
// being prepared while it is not empty.
func (l *Lab) Preparing() []BackgroundStatus {
	var out []BackgroundStatus
	for _, b := range l.Backgrounds() {
		if b.Running {
			out = append(out, b)
		}
	}
	return out
}

// WaitBackground waits until every background script started so far has
// ended, or ctx ends (then the error says which still run). It returns the
// status of those scripts.
func (l *Lab) WaitBackground(ctx context.Context) ([]BackgroundStatus, error) {
	l.mu.Lock()
	jobs := append([]*bgJob(nil), l.bgs...)
	l.mu.Unlock()
	for _, j := range jobs {
		select {
		case <-j.done:
		case <-ctx.Done():
			var running []string
			for _, b := range l.Preparing() {
				running = append(running, b.Script)
			}
			return l.Backgrounds(), fmt.Errorf("background script %s still running: %w", strings.Join(running, ", "), ctx.Err())
		}
	}
	return l.Backgrounds(), nil
}

// forgetBackgrounds drops the finished and running records (Reset: the
// scripts were ended).
func (l *Lab) forgetBackgrounds() {
	l.mu.Lock()
	l.bgs = nil
	l.mu.Unlock()
}

// LogTail is the last n lines of a background script's log ("" when it
// wrote nothing), terminal sequences removed.
func LogTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(Plain(string(b)), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
