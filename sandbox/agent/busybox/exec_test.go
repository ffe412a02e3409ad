package busybox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
)

func (p *pod) shell(out, errw io.Writer) *Shell {
	return &Shell{FS: p.fs, Env: []string{"PATH=/bin:/usr/bin", "HOME=/root", "FOO=bar"}, Hostname: "mypod", Stdout: out, Stderr: errw}
}

// syncBuffer is a buffer written by one goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the buffer holds want, failing the test after 5 s.
func waitFor(t *testing.T, b *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %q, got %q", want, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStartNotFound(t *testing.T) {
	p := newPod(t)
	for _, name := range []string{"nope", "/bin/nope", "/etc/hostname"} {
		_, err := p.shell(io.Discard, io.Discard).Start(context.Background(), ExecOptions{Argv: []string{name}})
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Start(%s): %v, want ErrNotFound", name, err)
		}
	}
}

func TestStartEnvAndCode(t *testing.T) {
	p := newPod(t)
	var out syncBuffer
	sh := p.shell(&out, &out)
	sh.Dir = "/tmp"
	proc, err := sh.Start(context.Background(), ExecOptions{Argv: []string{"sh", "-c", "echo $FOO; pwd; exit 3"}, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	code, err := proc.Wait()
	if err != nil || code != 3 || out.String() != "bar\n/tmp\n" {
		t.Fatalf("code %d, err %v, output %q", code, err, out.String())
	}
}

// TestShReadsStdinLineByLine: `sh` without a script runs each line as it comes, as busybox's does
// (`kubectl exec -i POD -- sh`), without waiting for the end of its input.
func TestShReadsStdinLineByLine(t *testing.T) {
	p := newPod(t)
	var out syncBuffer
	stdin, w := io.Pipe()
	proc, err := p.shell(&out, &out).Start(context.Background(), ExecOptions{Argv: []string{"sh"}, Stdin: stdin, Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.WriteString(w, "x=4; echo $((x * 2))\n")
	waitFor(t, &out, "8\n")
	if strings.Contains(out.String(), "#") {
		t.Errorf("a shell reading a pipe printed a prompt: %q", out.String())
	}
	_, _ = io.WriteString(w, "exit 5\n")
	if code, _ := proc.Wait(); code != 5 {
		t.Fatalf("code %d, want 5", code)
	}
}

// TestInteractiveShellOnTerminal drives `sh` on a pseudo-terminal as `kubectl exec -it POD -- sh`
// does: prompt, a command, Ctrl+C ending a running command but not the shell, $? = 130, exit.
func TestInteractiveShellOnTerminal(t *testing.T) {
	p := newPod(t)
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer func() { _ = master.Close() }()
	var out syncBuffer
	go func() { _, _ = io.Copy(&out, master) }()
	proc, err := p.shell(slave, slave).Start(context.Background(), ExecOptions{Argv: []string{"sh"}, Stdin: slave, Stdout: slave, Stderr: slave, TTY: true})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, &out, "/ # ")
	_, _ = io.WriteString(master, "cd /tmp && echo $((6 * 7))\n")
	waitFor(t, &out, "42\r\n/tmp # ")
	_, _ = io.WriteString(master, "sleep 100\n")
	waitFor(t, &out, "sleep 100\r\n")
	time.Sleep(100 * time.Millisecond)
	proc.Signal(syscall.SIGINT)
	_, _ = io.WriteString(master, "echo status $?\n")
	waitFor(t, &out, "status 130\r\n")
	// Ctrl+C at the prompt drops the line being typed: the terminal flushes it (the agent writes the
	// ^C to the terminal, then signals).
	_, _ = io.WriteString(master, "echo not run")
	time.Sleep(100 * time.Millisecond)
	_, _ = io.WriteString(master, "\x03")
	time.Sleep(50 * time.Millisecond)
	proc.Signal(syscall.SIGINT)
	_, _ = io.WriteString(master, "echo after\n")
	waitFor(t, &out, "after\r\n")
	if strings.Contains(out.String(), "not run\r\n") {
		t.Errorf("an interrupted line ran: %q", out.String())
	}
	_, _ = io.WriteString(master, "exit 4\n")
	done := make(chan int)
	go func() { code, _ := proc.Wait(); done <- code }()
	select {
	case code := <-done:
		if code != 4 {
			t.Errorf("code %d, want 4", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("shell did not exit: %q", out.String())
	}
	_ = slave.Close()
}

// TestSignalEndsCommand: without an interactive shell, Ctrl+C ends the command (130).
func TestSignalEndsCommand(t *testing.T) {
	p := newPod(t)
	proc, err := p.shell(io.Discard, io.Discard).Start(context.Background(), ExecOptions{Argv: []string{"sleep", "100"}, TTY: true})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	proc.Signal(syscall.SIGINT)
	if code, _ := proc.Wait(); code != 130 {
		t.Fatalf("code %d, want 130", code)
	}
}

func TestTar(t *testing.T) {
	p := newPod(t)
	if err := os.MkdirAll(filepath.Join(p.root, "data", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.root, "data", "sub", "a.txt"), []byte("hello\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/a.txt", filepath.Join(p.root, "data", "link")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []cmdCase{
		{name: "kubectl cp from a pod", script: "tar cf - /data > /tmp/d.tar; tar tf /tmp/d.tar | sort",
			want: "data/\ndata/link\ndata/sub/\ndata/sub/a.txt\n"},
		{name: "kubectl cp into a pod", script: "mkdir /out && tar cf - data | tar --no-same-permissions --no-same-owner -xmf - -C /out && cat /out/data/sub/a.txt && ls -l /out/data/sub/a.txt | cut -c1-10 && readlink /out/data/link",
			want: "hello\n-rw-r-----\nsub/a.txt\n"},
		{name: "old style, gzip, verbose", script: "cd /data && tar czvf /tmp/x.tgz sub && mkdir /y && tar -xzf /tmp/x.tgz -C /y && cat /y/sub/a.txt",
			want: "sub/\nsub/a.txt\nhello\n"},
		{name: "leading slash", script: "tar cf /dev/null /data 2>&1", want: "tar: removing leading '/' from member names\n"},
		{name: "missing dir", script: "tar xf /tmp/none -C /nope", want: "", code: 1},
		{name: "kubectl cp resume", script: "tar cf - /data/sub/a.txt | tail -c+513 | head -c 5", want: "hello"},
		{name: "no escape", script: "cd /tmp && tar cf h.tar /etc/hostname && echo x > /etc/hostname && tar xf h.tar -C / && cat /etc/hostname", want: "mypod\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := p.sh(t, tt.script)
			if out != tt.want || code != tt.code {
				t.Errorf("%s\n got %q (exit %d), stderr %q\nwant %q (exit %d)", tt.script, out, code, errOut, tt.want, tt.code)
			}
		})
	}
}
