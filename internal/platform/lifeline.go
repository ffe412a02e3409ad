package platform

import (
	"fmt"
	"io"
	"os"
)

// Lifeline ties a child process's life to its parent's. The parent keeps
// the write end of a pipe and never writes to it; the child inherits the
// read end and watches it with WatchParent. When the parent dies, whatever
// killed it (kill -9 included), the kernel closes its descriptors and the
// child reads end-of-file. It works the same on Linux and macOS, unlike
// Linux's Pdeathsig, which also fires when the parent's forking thread
// exits rather than the parent process.
//
// The write end is close-on-exec, so no other child of the parent holds it.
type Lifeline struct{ w *os.File }

// NewLifeline returns the parent's end and the end to hand to the child (in
// exec.Cmd.ExtraFiles); the caller closes childEnd once the child started.
func NewLifeline() (l *Lifeline, childEnd *os.File, err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("lifeline pipe: %w", err)
	}
	return &Lifeline{w: w}, r, nil
}

// Close cuts the lifeline: the child sees its parent gone.
func (l *Lifeline) Close() error {
	if l == nil || l.w == nil {
		return nil
	}
	err := l.w.Close()
	l.w = nil
	if err != nil {
		return fmt.Errorf("close lifeline: %w", err)
	}
	return nil
}

// WatchParent reads the child's end of a lifeline (it takes ownership of f)
// and returns a channel closed when the parent is gone (end-of-file, or any
// read error: either way nobody holds the other end any more).
func WatchParent(f *os.File) <-chan struct{} {
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		defer func() { _ = f.Close() }()
		_, _ = io.Copy(io.Discard, f)
	}()
	return gone
}
