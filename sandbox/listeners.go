package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/klabdev/klab/sandbox/sandboxctl"
)

// listeners are every socket the sandbox process serves on, opened together
// by openListeners. Nothing else in the process listens: kube-controller-
// manager and kube-scheduler run with --secure-port=0, etcd has no peer,
// metrics or TCP client listener. Adding a listener means adding it here,
// to describe and to the README's sandbox section; TestNoOpenDoor probes
// every socket the running process really holds and fails on any that
// answers without credentials.
type listeners struct {
	// etcd's client endpoint: a unix socket in a directory that only the
	// sandbox's user can enter (the 0700 data dir, or a private 0700 dir
	// when the data dir's path is too long for a socket address). No
	// authentication on top: the file system is the door, and only the
	// apiserver of this process goes through it. etcd binds it itself
	// (embed takes URLs, not listeners); openListeners chooses and checks
	// the place.
	etcdSocket string
	// kube-apiserver: 127.0.0.1, TLS; a client certificate of the sandbox CA
	// (the admin kubeconfig) or a service-account token; anonymous requests
	// refused (--anonymous-auth=false), then RBAC.
	apiserver net.Listener
	// the apiserver's egress tunnel to its nodes (see egress): a unix socket
	// beside etcd's, same rule. The apiserver alone connects to it.
	egressSocket string
	// The node agent's kubelet APIs (logs; exec and attach, SPDY upgrades of
	// the same connection; the node proxy) have no socket: each listens on
	// the in-memory pod network at its node's address (see clusterDialer),
	// with TLS that demands a client certificate of the kubelet-client CA,
	// which signed only the apiserver's kubelet client certificate.
}

// openListeners opens the sandbox's listeners for the data dir data, reusing
// the apiserver port of the last start when it is free.
func openListeners(data string, apiserverPort int) (*listeners, error) {
	sock, err := socketPath(data, socketBase(), etcdSocketName)
	if err != nil {
		return nil, fmt.Errorf("etcd socket: %w", err)
	}
	egressSock, err := socketPath(data, socketBase(), egressSocketName)
	if err != nil {
		return nil, fmt.Errorf("egress socket: %w", err)
	}
	api, err := listenLoopback(apiserverPort)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver: %w", err)
	}
	return &listeners{etcdSocket: sock, egressSocket: egressSock, apiserver: api}, nil
}

// describe lists the listeners for the log, one line each.
func (l *listeners) describe() []string {
	return []string{
		"etcd: unix socket " + l.etcdSocket + " (owner only; no TCP, no peer listener)",
		"kube-apiserver: https://" + l.apiserver.Addr().String() + " (client certificate or service-account token; anonymous refused; RBAC)",
		"egress tunnel (the apiserver's way to its nodes and pods): unix socket " + l.egressSocket + " (owner only)",
		"node agent: no socket; each node's kubelet API on the in-memory pod network at the node's address, port 10250 (apiserver's kubelet-client certificate only)",
	}
}

// close closes the apiserver's listener if it was not handed over (closing
// one its server already closed is harmless); etcd and the egress tunnel
// remove their sockets themselves.
func (l *listeners) close() { _ = l.apiserver.Close() }

// apiserverPort is the port of the apiserver's listener.
func (l *listeners) apiserverPort() int { return l.apiserver.Addr().(*net.TCPAddr).Port }

// listenLoopback listens on 127.0.0.1:want when it is free, else on a free port.
func listenLoopback(want int) (net.Listener, error) {
	if want > 0 {
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(want)); err == nil {
			return l, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	return l, nil
}

// etcdSocketName is etcd's socket in the data dir; egressSocketName the apiserver's egress tunnel's.
const (
	etcdSocketName   = "etcd.sock"
	egressSocketName = "egress.sock"
)

// maxSocketPath is the longest path a unix socket address holds: sun_path
// is 108 bytes on Linux and 104 on macOS and the BSDs, NUL included.
func maxSocketPath() int {
	if runtime.GOOS == "linux" {
		return 107
	}
	return 103
}

// socketBase is where sockets of data dirs with long paths go:
// $XDG_RUNTIME_DIR (per user, 0700 by the XDG spec) when set, else the
// temporary directory.
func socketBase() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		return d
	}
	return os.TempDir()
}

// socketPath chooses the socket name (etcd.sock, egress.sock) for the data
// dir data (absolute, private: see checkPrivateDir): <data>/<name> when that
// path fits in a socket address, else <base>/klab-<uid>/<hash of data>.<name>
// in a private directory it creates or checks. The hash ties the socket to
// its data dir, so two sandboxes never share one.
func socketPath(data, base, name string) (string, error) {
	if p := filepath.Join(data, name); len(p) <= maxSocketPath() {
		return p, nil
	}
	sum := sha256.Sum256([]byte(filepath.Clean(data)))
	dir := filepath.Join(base, "klab-"+strconv.Itoa(os.Geteuid()))
	p := filepath.Join(dir, hex.EncodeToString(sum[:8])+"."+name)
	if len(p) > maxSocketPath() {
		return "", fmt.Errorf("neither %s nor %s fits in a unix socket address (%d bytes at most): choose a shorter --data-dir or set XDG_RUNTIME_DIR to a short private directory",
			filepath.Join(data, name), p, maxSocketPath())
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", fmt.Errorf("socket dir: %w", err)
	}
	if err := checkPrivateDir(dir, false); err != nil {
		return "", fmt.Errorf("socket dir (the data dir's path is too long for a socket): %w", err)
	}
	return p, nil
}

// privateDataDir makes sure the data dir is private (see checkPrivateDir).
// One that others may enter or read but not write, and that holds nothing
// but the sandbox's own files (a directory just made by mkdir, say), is made
// 0700. Any other is refused: one others may write to may hold what they
// planted, and one holding other things is more than a data dir, whose mode
// is not the sandbox's to change.
func privateDataDir(data string, logf func(string, ...any)) error {
	err := checkPrivateDir(data, true)
	if err == nil {
		return nil
	}
	fi, serr := os.Stat(data)
	if serr != nil || !fi.IsDir() || !ownedByMe(fi) || fi.Mode().Perm()&0o022 != 0 {
		return err
	}
	entries, rerr := os.ReadDir(data)
	if rerr != nil {
		return err
	}
	for _, e := range entries {
		if !isSandboxFile(e.Name()) {
			return fmt.Errorf("%w (klab leaves it as it is: it holds %s, not only sandbox files)", err, e.Name())
		}
	}
	if err := os.Chmod(data, 0o700); err != nil {
		return fmt.Errorf("make the data dir private: %w", err)
	}
	logf("made the data dir %s private (mode %04o, now 0700)", data, fi.Mode().Perm())
	return checkPrivateDir(data, true)
}

// isSandboxFile reports whether name is one of the files the sandbox keeps
// in its data dir (see the package doc).
func isSandboxFile(name string) bool {
	switch name {
	case sandboxctl.LockFile, sandboxctl.StateFile, sandboxctl.StateFile + ".tmp", sandboxctl.LogFile,
		sandboxctl.LogFile + ".1", sandboxctl.Kubeconfig, "pki", "etcd", "agent", etcdSocketName, egressSocketName, egressConfigName:
		return true
	}
	return strings.HasPrefix(name, ".tmp-") // writeFileAtomic's
}

func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || int(st.Uid) == os.Geteuid()
}

// checkPrivateDir returns an error unless dir is a directory owned by the
// current user that group and others cannot enter, read or write. A symlink
// is followed only when follow is set (the data dir may be one; a socket dir
// in a shared temporary directory must not).
func checkPrivateDir(dir string, follow bool) error {
	stat := os.Lstat
	if follow {
		stat = os.Stat
	}
	fi, err := stat(dir)
	if err != nil {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link, not a directory", dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if !ownedByMe(fi) {
		return fmt.Errorf("%s belongs to uid %d, not to you (uid %d)", dir, fi.Sys().(*syscall.Stat_t).Uid, os.Geteuid())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s is open to other users (mode %04o): make it private with `chmod 700 %s`", dir, perm, dir)
	}
	return nil
}
