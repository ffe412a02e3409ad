package sandboxctl

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLock(t *testing.T) {
	dir := t.TempDir()
	if _, ok := Running(dir); ok {
		t.Fatal("running before any lock")
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l.StalePID != 0 {
		t.Errorf("StalePID = %d on a fresh dir", l.StalePID)
	}
	if pid, ok := Running(dir); !ok || pid != os.Getpid() {
		t.Errorf("Running = %d, %v; want %d, true", pid, ok, os.Getpid())
	}
	_, err = Acquire(dir)
	var er *ErrRunning
	if !errors.As(err, &er) || er.PID != os.Getpid() {
		t.Errorf("second Acquire: %v, want ErrRunning{%d}", err, os.Getpid())
	}
	l.Release()
	if _, ok := Running(dir); ok {
		t.Error("running after Release")
	}
	if _, err := os.Stat(filepath.Join(dir, LockFile)); !os.IsNotExist(err) {
		t.Errorf("lock file after Release: %v", err)
	}
}

// TestStaleLock: a process killed with -9 leaves its lock file behind; the
// kernel released the flock, so the next Acquire takes it over.
func TestStaleLock(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skipf("no sleep binary: %v", err)
	}
	pid := cmd.Process.Pid
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	// What a killed sandbox leaves: its pid in an unlocked lock file.
	if err := os.WriteFile(filepath.Join(dir, LockFile), []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := Running(dir); ok {
		t.Fatal("a stale lock counts as running")
	}
	if stopped, err := Stop(context.Background(), dir, time.Second); stopped || err != nil {
		t.Errorf("Stop on a stale lock = %v, %v", stopped, err)
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if l.StalePID != pid {
		t.Errorf("StalePID = %d, want %d", l.StalePID, pid)
	}
	b, _ := os.ReadFile(filepath.Join(dir, LockFile))
	if strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q, want our pid", b)
	}
}

func TestState(t *testing.T) {
	dir := t.TempDir()
	if _, err := ReadState(dir); err == nil {
		t.Error("ReadState on an empty dir succeeded")
	}
	want := State{PID: 42, Started: time.Unix(1700000000, 0).UTC(), Server: "https://127.0.0.1:6443", APIServerPort: 6443}
	if err := WriteState(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("ReadState = %+v, want %+v", got, want)
	}
	if st, _ := os.Stat(filepath.Join(dir, StateFile)); st.Mode().Perm() != 0o600 {
		t.Errorf("state mode %v", st.Mode().Perm())
	}
	if err := os.WriteFile(filepath.Join(dir, StateFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadState(dir); err == nil || !strings.Contains(err.Error(), StateFile) {
		t.Errorf("corrupt state: %v, want an error naming the file", err)
	}
}

func TestDefaultDataDir(t *testing.T) {
	t.Setenv("KLAB_SANDBOX_DIR", "/x/y")
	if d := DefaultDataDir(); d != "/x/y" {
		t.Errorf("DefaultDataDir = %q", d)
	}
	t.Setenv("KLAB_SANDBOX_DIR", "")
	if d := DefaultDataDir(); !strings.HasSuffix(d, filepath.Join("klab", "sandbox")) {
		t.Errorf("DefaultDataDir = %q", d)
	}
	if k := KubeconfigPath("/d"); k != "/d/kubeconfig" {
		t.Errorf("KubeconfigPath = %q", k)
	}
}

// TestStartFailure: a binary that exits before it is ready gives an error with its log.
func TestStartFailure(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(t.TempDir(), "fake-klab")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho boom: $@ >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), dir, bin, StartOptions{})
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") || !strings.Contains(err.Error(), "boom: sandbox up --data-dir "+dir) {
		t.Errorf("Start = %v", err)
	}
}

func TestRotateLog(t *testing.T) {
	dir := t.TempDir()
	big := make([]byte, maxLog+1)
	if err := os.WriteFile(LogPath(dir), big, 0o600); err != nil {
		t.Fatal(err)
	}
	rotateLog(dir)
	if _, err := os.Stat(LogPath(dir)); !os.IsNotExist(err) {
		t.Errorf("log still there after rotation: %v", err)
	}
	if st, err := os.Stat(LogPath(dir) + ".1"); err != nil || st.Size() != maxLog+1 {
		t.Errorf("rotated log: %v", err)
	}
	if err := os.WriteFile(LogPath(dir), []byte("small"), 0o600); err != nil {
		t.Fatal(err)
	}
	rotateLog(dir)
	if b, _ := os.ReadFile(LogPath(dir)); string(b) != "small" {
		t.Error("a small log was rotated")
	}
}
