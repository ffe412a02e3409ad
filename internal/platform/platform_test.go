package platform

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// helperEnv runs the test binary as a helper process instead of the tests.
const helperEnv = "KLAB_PLATFORM_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "parent":
		os.Exit(helperParent())
	case "child":
		os.Exit(helperChild())
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", helperEnv, os.Getenv(helperEnv))
		os.Exit(2)
	}
}

// helperParent starts a child holding the other end of a lifeline, prints
// the child's pid and waits to be killed.
func helperParent() int {
	l, childEnd, err := NewLifeline()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = l.Close() }()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=child")
	cmd.ExtraFiles = []*os.File{childEnd}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_ = childEnd.Close()
	fmt.Println(cmd.Process.Pid)
	time.Sleep(time.Minute)
	return 0
}

// helperChild watches its lifeline (fd 3) and, once its parent is gone,
// writes "gone" to $MARKER and exits.
func helperChild() int {
	gone := WatchParent(os.NewFile(3, "lifeline"))
	select {
	case <-gone:
	case <-time.After(time.Minute):
		return 1
	}
	if err := os.WriteFile(os.Getenv("MARKER"), []byte("gone"), 0o600); err != nil {
		return 1
	}
	return 0
}

func TestLifelineClose(t *testing.T) {
	l, childEnd, err := NewLifeline()
	if err != nil {
		t.Fatal(err)
	}
	gone := WatchParent(childEnd)
	select {
	case <-gone:
		t.Fatal("parent seen gone while the lifeline is open")
	case <-time.After(100 * time.Millisecond):
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	select {
	case <-gone:
	case <-time.After(2 * time.Second):
		t.Fatal("parent not seen gone after Close")
	}
	var nilLine *Lifeline
	if err := nilLine.Close(); err != nil {
		t.Errorf("nil Close: %v", err)
	}
}

// TestLifelineParentKilled: kill -9 of the parent (no chance to close
// anything) is seen by the child, which is not its direct concern otherwise.
func TestLifelineParentKilled(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	parent := exec.Command(os.Args[0])
	parent.Env = append(os.Environ(), helperEnv+"=parent", "MARKER="+marker)
	parent.Stderr = os.Stderr
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = parent.Process.Kill(); _ = parent.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read child pid: %v", err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("child pid %q: %v", line, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })
	time.Sleep(200 * time.Millisecond)
	if !Alive(child) {
		t.Fatal("child ended while its parent lives")
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("child saw its parent gone while it lives: %v", err)
	}
	if err := parent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for Alive(child) {
		if time.Now().After(deadline) {
			t.Fatal("child still alive 5s after its parent was killed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b, err := os.ReadFile(marker); err != nil || string(b) != "gone" {
		t.Errorf("marker = %q, %v; want the child to have seen its parent gone", b, err)
	}
}

func TestAlive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Error("Alive(self) = false")
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if !Alive(pid) {
		t.Error("Alive(running child) = false")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// Killed but not yet reaped: a zombie, which is not alive.
	deadline := time.Now().Add(2 * time.Second)
	for Alive(pid) {
		if time.Now().After(deadline) {
			t.Fatal("Alive(zombie) = true")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if syscall.Kill(pid, 0) != nil {
		t.Fatal("the child was reaped already: the zombie case was not tested")
	}
	_ = cmd.Wait()
	if Alive(pid) {
		t.Error("Alive(reaped child) = true")
	}
}

func TestSessionMembers(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sleep 60 & sleep 60; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sid := cmd.Process.Pid
	defer func() { _ = cmd.Wait() }()
	defer func() { _ = syscall.Kill(-sid, syscall.SIGKILL) }()
	var got []int
	deadline := time.Now().Add(5 * time.Second)
	for {
		got = SessionMembers(sid)
		if len(got) >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(got) != 3 || !slices.Contains(got, sid) {
		t.Fatalf("SessionMembers(%d) = %v, want sh and its two sleeps", sid, got)
	}
	if slices.Contains(SessionMembers(sid), os.Getpid()) {
		t.Error("the test process listed in the child's session")
	}
	mine, err := unix.Getsid(0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(SessionMembers(mine), os.Getpid()) {
		t.Errorf("SessionMembers(own session %d) misses this process", mine)
	}
	if err := syscall.Kill(-sid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// The sleeps are reaped by init; sh stays a zombie until Wait: none counts.
	deadline = time.Now().Add(5 * time.Second)
	for len(SessionMembers(sid)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("SessionMembers after SIGKILL = %v", SessionMembers(sid))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestQuietTerminal(t *testing.T) {
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = m.Close() }()
	defer func() { _ = s.Close() }()
	if err := QuietTerminal(int(s.Fd())); err != nil {
		t.Fatal(err)
	}
	tio, err := unix.IoctlGetTermios(int(s.Fd()), ioctlGetTermios)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Oflag&unix.ONLCR != 0 || tio.Lflag&(unix.ECHO|unix.ECHONL) != 0 {
		t.Errorf("termios oflag %#x lflag %#x: ONLCR or ECHO still set", tio.Oflag, tio.Lflag)
	}
	// What a program prints comes out unchanged...
	if _, err := s.Write([]byte("a\nb\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := io.ReadAtLeast(m, buf, 4)
	if err != nil || string(buf[:n]) != "a\nb\n" {
		t.Errorf("master read %q, %v; want %q", buf[:n], err, "a\nb\n")
	}
	// ...and what is typed is not echoed back.
	if _, err := m.Write([]byte("typed\n")); err != nil {
		t.Fatal(err)
	}
	n, err = io.ReadAtLeast(s, buf, 6)
	if err != nil || string(buf[:n]) != "typed\n" {
		t.Fatalf("slave read %q, %v", buf[:n], err)
	}
	// Had it been echoed, the master would read "typed\n" before this.
	if _, err := s.Write([]byte("end\n")); err != nil {
		t.Fatal(err)
	}
	n, err = io.ReadAtLeast(m, buf, 4)
	if err != nil || string(buf[:n]) != "end\n" {
		t.Errorf("master read %q, %v; want %q (no echo)", buf[:n], err, "end\n")
	}
}

func TestQuietTerminalBadFD(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "not-a-tty")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if err := QuietTerminal(int(f.Fd())); err == nil || !strings.Contains(err.Error(), "termios") {
		t.Errorf("QuietTerminal(regular file) = %v, want a termios error", err)
	}
}
