package tui

import (
	"strings"
	"sync"
)

// termBackend is the fake backend with a terminal pane: its shell is a
// small line interpreter that echoes what is typed and runs the fake's
// effects when a line is entered.
type termBackend struct {
	*fakeBackend
	mu    sync.Mutex
	terms []*fakeTerm
}

func newTermBackend() *termBackend { return &termBackend{fakeBackend: newFake()} }

func (b *termBackend) StartTerminal(cols, rows int, out func([]byte)) (Terminal, error) {
	t := &fakeTerm{be: b.fakeBackend, out: out, done: make(chan struct{}), cols: cols, rows: rows}
	out([]byte("$ "))
	b.mu.Lock()
	b.terms = append(b.terms, t)
	b.mu.Unlock()
	return t, nil
}

// term is the last terminal started.
func (b *termBackend) term() *fakeTerm {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.terms) == 0 {
		return nil
	}
	return b.terms[len(b.terms)-1]
}

type fakeTerm struct {
	be     *fakeBackend
	out    func([]byte)
	done   chan struct{}
	mu     sync.Mutex
	line   []byte
	typed  []byte // every byte written, in order
	cols   int
	rows   int
	closed bool
}

func (t *fakeTerm) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.typed = append(t.typed, p...)
	for _, c := range p {
		switch c {
		case '\r':
			t.out([]byte("\r\n"))
			line := strings.TrimSpace(string(t.line))
			t.line = t.line[:0]
			t.be.mu.Lock()
			ids := t.be.effects[line]
			for _, id := range ids {
				t.be.passed[id] = true
			}
			t.be.runs = append(t.be.runs, line)
			t.be.mu.Unlock()
			if len(ids) > 0 {
				t.out([]byte("job.batch/pi created\r\n"))
				go t.be.notify()
			}
			t.out([]byte("$ "))
		case 0x03:
			t.line = t.line[:0]
			t.out([]byte("^C\r\n$ "))
		default:
			if c >= ' ' {
				t.line = append(t.line, c)
				t.out([]byte{c})
			}
		}
	}
	return len(p), nil
}

func (t *fakeTerm) Typed() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.typed)
}

func (t *fakeTerm) Resize(cols, rows int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cols, t.rows = cols, rows
	return nil
}

func (t *fakeTerm) Done() <-chan struct{} { return t.done }

func (t *fakeTerm) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.closed {
		t.closed = true
		close(t.done)
	}
	return nil
}
