package busybox

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is written by the shell's goroutines while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSignalTrap sends SIGTERM to a container's main shell as the kubelet does on deletion.
func TestSignalTrap(t *testing.T) {
	tests := []struct {
		name    string
		argv    []string
		handled bool   // Send reports a trap
		out     string // what the shell printed
		code    int    // its exit code
		minDur  time.Duration
	}{
		{"trap in sh -c", []string{"sh", "-c", "_term(){ echo term $1; exit 143; }\ntrap '_term x' SIGTERM\necho ready\nwhile true; do sleep 0.05; done"},
			true, "ready\nterm x\n", 143, 0},
		{"numeric and EXIT together", []string{"sh", "-c", "trap 'echo bye' EXIT\ntrap 'echo got; exit 3' 15\necho ready\nwhile :; do sleep 0.05; done"},
			true, "ready\ngot\nbye\n", 3, 0},
		// POSIX: a trap runs once the foreground command has finished; the runtime signals PID 1 only.
		{"the trap waits for the foreground command", []string{"sh", "-c", "trap 'echo trapped' TERM\necho ready\nsleep 0.4; echo after sleep"},
			true, "ready\ntrapped\nafter sleep\n", 0, 400 * time.Millisecond},
		{"no trap: ignored by PID 1", []string{"sh", "-c", "echo ready; sleep 0.5; echo still here"},
			false, "ready\nstill here\n", 0, 0},
		{"trap reset", []string{"sh", "-c", "trap 'echo no' TERM; trap - TERM; echo ready; sleep 0.5"},
			false, "ready\n", 0, 0},
		{"ignored with an empty action", []string{"sh", "-c", "trap '' TERM; echo ready; sleep 0.5; echo done"},
			false, "ready\ndone\n", 0, 0},
		{"a child shell is not PID 1", []string{"sh", "-c", "sh -c \"trap 'echo child; exit 1' TERM; echo ready; sleep 0.5\"; echo parent"},
			false, "ready\nparent\n", 0, 0},
		{"exec hands PID 1 over", []string{"sh", "-c", "exec sh -c \"trap 'echo execd; exit 7' TERM; echo ready; while true; do sleep 0.05; done\""},
			true, "ready\nexecd\n", 7, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPod(t)
			var out lockedBuffer
			sig := &Signals{}
			sh := &Shell{FS: p.fs, Env: []string{"PATH=/bin:/usr/bin"}, Stdout: &out, Stderr: &out, Signals: sig}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			done := make(chan int, 1)
			start := time.Now()
			go func() {
				code, err := sh.Run(ctx, tt.argv)
				if err != nil {
					t.Errorf("run: %v", err)
				}
				done <- code
			}()
			deadline := time.Now().Add(3 * time.Second)
			for out.String() == "" && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := sig.Send("TERM"); got != tt.handled {
				t.Errorf("Send = %v, want %v", got, tt.handled)
			}
			code := <-done
			if d := time.Since(start); d < tt.minDur {
				t.Errorf("finished after %v, before %v", d, tt.minDur)
			}
			if got := out.String(); got != tt.out || code != tt.code {
				t.Errorf("got %q code %d, want %q code %d", got, code, tt.out, tt.code)
			}
		})
	}
}
