package busybox

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// kernelCases read the kernel view the runtime writes in a container root (agent kernel.go); the wanted
// output and status are those of busybox 1.35 on a kernel with the same files, /proc/sys read-only.
func kernelCases() []cmdCase {
	return []cmdCase{
		{"sysctl NAME", "sysctl kernel.shm_rmid_forced net.ipv4.ip_local_port_range", "kernel.shm_rmid_forced = 1\nnet.ipv4.ip_local_port_range = 32768\t60999\n", 0},
		{"sysctl slashes -n", "sysctl -n kernel/shm_rmid_forced", "1\n", 0},
		{"sysctl unknown", "sysctl foo.bar", "sysctl: error: 'foo/bar' is an unknown key\n", 1},
		{"sysctl -e unknown", "sysctl -e foo.bar", "", 1},
		{"sysctl write", "sysctl -w kernel.shm_rmid_forced=0", "sysctl: error setting key 'kernel.shm_rmid_forced': Read-only file system\n", 1},
		{"sysctl -w without value", "sysctl -w kernel.shm_rmid_forced", "sysctl: error: 'kernel.shm_rmid_forced' must be of the form name=value\n", 1},
		{"sysctl -a", "sysctl -a", "kernel.shm_rmid_forced = 1\nnet.ipv4.ip_local_port_range = 32768\t60999\n", 0},
		{"mount -t", "mount -t cgroup2", "cgroup on /sys/fs/cgroup type cgroup2 (ro,nosuid,nodev,noexec,relatime)\n", 0},
		{"mount all", "mount | wc -l", "3\n", 0},
		{"mount something", "mount /dev/sda1 /mnt", "mount: permission denied (are you root?)\n", 255},
	}
}

func TestKernel(t *testing.T) {
	p := newPod(t)
	for name, content := range map[string]string{
		"proc/sys/kernel/shm_rmid_forced":       "1\n",
		"proc/sys/net/ipv4/ip_local_port_range": "32768\t60999\n",
		"proc/mounts": "overlay / overlay rw,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n" +
			"cgroup /sys/fs/cgroup cgroup2 ro,nosuid,nodev,noexec,relatime 0 0\n",
	} {
		f := filepath.Join(p.root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range kernelCases() {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := p.sh(t, c.script)
			if out+errOut != c.want || code != c.code {
				t.Errorf("%s: got %q (exit %d), want %q (exit %d)", c.script, out+errOut, code, c.want, c.code)
			}
		})
	}
}

// nnpCases run the nonewprivs image's program as uid 1000, with no_new_privs set or not.
func nnpCases() []cmdCase {
	return []cmdCase{
		{"nnp setuid", "nnp", "Effective uid: 0\n", 0},
		{"nnp no_new_privs", "nnp", "Effective uid: 1000\n", 0},
	}
}

func TestNNP(t *testing.T) {
	p := newPod(t)
	for i, c := range nnpCases() {
		var out bytes.Buffer
		sh := &Shell{FS: p.fs, Env: []string{"PATH=/bin:/usr/bin"}, Stdout: &out, Stderr: &out, UID: 1000, Extra: []string{"nnp"}, NoNewPrivs: i == 1}
		code, err := sh.Run(context.Background(), []string{"sh", "-c", c.script})
		if err != nil || code != c.code || out.String() != c.want {
			t.Errorf("%s: %q exit %d (%v), want %q", c.name, out.String(), code, err, c.want)
		}
	}
}
