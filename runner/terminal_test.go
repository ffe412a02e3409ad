package runner

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klabdev/klab/internal/platform"
)

// termOutput collects what a Terminal prints.
type termOutput struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (o *termOutput) write(p []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
}

func (o *termOutput) wait(t *testing.T, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		o.mu.Lock()
		s := o.buf.String()
		o.mu.Unlock()
		if strings.Contains(s, want) {
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	t.Fatalf("terminal never showed %q:\n%s", want, o.buf.String())
	return ""
}

// The lab terminal is an interactive shell in the lab environment: it
// echoes what is typed, has the lab's kubectl and workspace, answers Ctrl+C,
// resizes, and Close ends it with what it started.
func TestTerminal(t *testing.T) {
	l := newOfflineLab(t)
	t.Setenv("SHELL", "/bin/bash")
	t.Setenv("HOME", t.TempDir())
	var out termOutput
	term, err := l.StartTerminal(90, 20, out.write)
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	mustType := func(s string) {
		t.Helper()
		if _, err := term.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	mustType("echo \"ws=$PWD\"; command -v kubectl; stty size\r")
	out.wait(t, "ws="+l.Workspace)
	out.wait(t, l.ShimDir+"/kubectl")
	out.wait(t, "20 90")
	if err := term.Resize(100, 30); err != nil {
		t.Fatal(err)
	}
	mustType("stty size\r")
	out.wait(t, "30 100")
	mustType("sleep 100\r")
	time.Sleep(200 * time.Millisecond)
	mustType("\x03echo after-interrupt\r")
	out.wait(t, "after-interrupt")
	mustType("sleep 300 & echo $! > " + pidFile + "\r")
	var pid int
	deadline := time.Now().Add(5 * time.Second)
	for pid == 0 && time.Now().Before(deadline) {
		b, _ := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(20 * time.Millisecond)
	}
	if pid == 0 {
		t.Fatal("the background job never started")
	}
	if err := term.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-term.Done():
	default:
		t.Fatal("Close returned before the shell ended")
	}
	if platform.Alive(pid) {
		t.Fatalf("the shell's job %d outlived Close", pid)
	}
	if err := term.Close(); err != nil { // twice is fine
		t.Fatal(err)
	}
}

// `exit` ends the terminal by itself; closing the lab ends a running one.
func TestTerminalExitAndLabClose(t *testing.T) {
	l := newOfflineLab(t)
	t.Setenv("SHELL", "/bin/bash")
	t.Setenv("HOME", t.TempDir())
	var out termOutput
	term, err := l.StartTerminal(80, 24, out.write)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := term.Write([]byte("exit 3\r")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-term.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("exit did not end the terminal")
	}
	if term.Err() == nil {
		t.Fatal("exit 3 reported as success")
	}
	term2, err := l.StartTerminal(80, 24, out.write)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-term2.Done():
	default:
		t.Fatal("Lab.Close left the terminal running")
	}
	if _, err := l.StartTerminal(80, 24, out.write); err == nil {
		t.Fatal("a closed lab started a terminal")
	}
}
