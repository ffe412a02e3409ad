package sandbox

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestEtcdSocketPath(t *testing.T) {
	base := t.TempDir()
	short := filepath.Join(t.TempDir(), "data")
	deep := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	deep2 := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("f", 60))
	sockDir := filepath.Join(base, "klab-"+strconv.Itoa(os.Geteuid()))

	if got, err := socketPath(short, base, etcdSocketName); err != nil || got != filepath.Join(short, "etcd.sock") {
		t.Errorf("short data dir: %q, %v; want <data>/etcd.sock", got, err)
	}
	got, err := socketPath(deep, base, etcdSocketName)
	if err != nil {
		t.Fatalf("deep data dir: %v", err)
	}
	if filepath.Dir(got) != sockDir || len(got) > maxSocketPath() {
		t.Errorf("deep data dir: socket %q, want one under %s of at most %d bytes", got, sockDir, maxSocketPath())
	}
	if fi, err := os.Lstat(sockDir); err != nil || fi.Mode().Perm() != 0o700 || !fi.IsDir() {
		t.Errorf("socket dir %s: %v %v, want a 0700 directory", sockDir, fi.Mode(), err)
	}
	// The socket really binds there (the length limit is the kernel's).
	l, err := net.Listen("unix", got)
	if err != nil {
		t.Fatalf("listen on %s: %v", got, err)
	}
	_ = l.Close()
	if again, _ := socketPath(deep, base, etcdSocketName); again != got {
		t.Errorf("same data dir, other socket: %q then %q", got, again)
	}
	if other, _ := socketPath(deep2, base, etcdSocketName); other == got {
		t.Errorf("two data dirs share the socket %s", got)
	}
	if eg, _ := socketPath(deep, base, egressSocketName); eg == got || filepath.Dir(eg) != sockDir {
		t.Errorf("the egress socket %s beside etcd's %s: want another socket in the same private dir", eg, got)
	}

	// A socket dir someone else could enter, or a symlink planted in a
	// shared temporary dir, is refused with the reason.
	if err := os.Chmod(sockDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := socketPath(deep, base, etcdSocketName); err == nil || !strings.Contains(err.Error(), "open to other users (mode 0755)") {
		t.Errorf("socket dir 0755: %v", err)
	}
	base2 := t.TempDir()
	if err := os.Symlink(t.TempDir(), filepath.Join(base2, "klab-"+strconv.Itoa(os.Geteuid()))); err != nil {
		t.Fatal(err)
	}
	if _, err := socketPath(deep, base2, etcdSocketName); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("socket dir a symlink: %v", err)
	}
	// No place short enough: a clear error, not a bind failure later.
	if _, err := socketPath(deep, filepath.Join(base, strings.Repeat("b", 100)), etcdSocketName); err == nil || !strings.Contains(err.Error(), "fits in a unix socket address") {
		t.Errorf("base too long: %v", err)
	}
}

func TestCheckPrivateDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := checkPrivateDir(dir, true); err != nil {
		t.Errorf("0700 dir: %v", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if err := checkPrivateDir(link, true); err != nil {
		t.Errorf("symlink to a 0700 dir, followed: %v", err)
	}
	if err := checkPrivateDir(link, false); err == nil {
		t.Error("symlink, not followed: no error")
	}
	for _, mode := range []os.FileMode{0o750, 0o705, 0o711, 0o755} {
		if err := os.Chmod(dir, mode); err != nil {
			t.Fatal(err)
		}
		err := checkPrivateDir(dir, true)
		if err == nil || !strings.Contains(err.Error(), "chmod 700 "+dir) {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
	f := filepath.Join(dir, "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkPrivateDir(f, true); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a file: %v", err)
	}
	if os.Geteuid() == 0 {
		other := t.TempDir()
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if err := checkPrivateDir(other, true); err == nil || !strings.Contains(err.Error(), "belongs to uid 65534") {
			t.Errorf("a dir of uid 65534: %v", err)
		}
	}
}

func TestPrivateDataDir(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mode  os.FileMode
		files []string
		want  os.FileMode // mode after
		err   string      // "" for none
	}{
		{"private", 0o700, nil, 0o700, ""},
		{"fresh mkdir", 0o755, nil, 0o700, ""},
		{"sandbox files only", 0o750, []string{"pki/", "etcd/", "agent/", "sandbox.log", "sandbox.log.1", "kubeconfig", "sandbox.lock", ".tmp-kubeconfig123"}, 0o700, ""},
		{"something else too", 0o755, []string{"pki/", "notes.txt"}, 0o755, "it holds notes.txt"},
		{"writable by others", 0o777, nil, 0o777, "mode 0777"},
		{"writable by the group", 0o770, nil, 0o770, "mode 0770"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.files {
				var err error
				if strings.HasSuffix(f, "/") {
					err = os.Mkdir(filepath.Join(dir, f), 0o700)
				} else {
					err = os.WriteFile(filepath.Join(dir, f), nil, 0o600)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(dir, tc.mode); err != nil {
				t.Fatal(err)
			}
			var logged []string
			err := privateDataDir(dir, func(f string, a ...any) { logged = append(logged, fmt.Sprintf(f, a...)) })
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("err = %v, want %q", err, tc.err)
			}
			if fi, _ := os.Stat(dir); fi.Mode().Perm() != tc.want {
				t.Errorf("mode after: %04o, want %04o", fi.Mode().Perm(), tc.want)
			}
			if (tc.mode != tc.want) != (len(logged) == 1) {
				t.Errorf("logged %q", logged)
			}
		})
	}
}
