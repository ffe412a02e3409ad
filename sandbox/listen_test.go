package sandbox_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klabdev/klab/sandbox/sandboxctl"
)

// TestListensOnLoopbackOnly: every listening TCP socket of the sandbox
// process is bound to 127.0.0.1.
func TestListensOnLoopbackOnly(t *testing.T) {
	needCluster(t)
	pid, ok := sandboxctl.Running(cluster.DataDir)
	if !ok {
		t.Fatal("the test sandbox is not running")
	}
	// Socket inodes the process holds.
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Skipf("no procfs access: %v", err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		l, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "fd", fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	listening := 0
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" || !inodes[fields[9]] { // 0A = LISTEN
				continue
			}
			listening++
			addr := fields[1][:strings.IndexByte(fields[1], ':')]
			// 0100007F is 127.0.0.1 in /proc/net/tcp's little-endian hex;
			// in tcp6, ::ffff:127.0.0.1 ends with it too.
			if !strings.HasSuffix(addr, "0100007F") {
				t.Errorf("the sandbox listens on %s (%s), not 127.0.0.1", fields[1], table)
			}
		}
		f.Close()
	}
	if listening < 3 { // etcd client and peer, apiserver, agent log server
		t.Errorf("found %d listening sockets of pid %d, want at least 3", listening, pid)
	}
}
