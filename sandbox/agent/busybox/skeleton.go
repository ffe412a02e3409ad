package busybox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// WriteSkeleton lays out an image-like tree in dir (a new pod root): /bin with one entry per applet,
// /usr/bin with the image's own commands (extra), /etc (passwd, group, hostname, hosts, resolv.conf,
// os-release), /tmp, /var/log, /root, /home.
func WriteSkeleton(dir, hostname string, extra ...string) error {
	for _, d := range []string{"bin", "sbin", "etc", "tmp", "var/log", "var/tmp", "root", "home", "usr/bin",
		"usr/local/bin", "usr/share", "dev", "proc", "sys", "mnt", "opt", "run"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return fmt.Errorf("pod skeleton: %w", err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o777); err != nil {
		return fmt.Errorf("pod skeleton: %w", err)
	}
	files := map[string]string{
		"etc/passwd":      "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
		"etc/group":       "root:x:0:\ndaemon:x:1:\nnogroup:x:65534:\n",
		"etc/hostname":    hostname + "\n",
		"etc/hosts":       "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\t" + hostname + "\n",
		"etc/resolv.conf": "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
		"etc/os-release":  "NAME=\"klab sandbox\"\nID=busybox\nPRETTY_NAME=\"BusyBox (klab sandbox)\"\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("pod skeleton: %w", err)
		}
	}
	for _, a := range Applets() {
		if err := os.WriteFile(filepath.Join(dir, "bin", a), []byte(appletMarker), 0o755); err != nil {
			return fmt.Errorf("pod skeleton: %w", err)
		}
	}
	for _, a := range extra {
		if !slices.Contains(ImageCommands(), a) {
			return fmt.Errorf("pod skeleton: %q is not a command an image can ship", a)
		}
		if err := os.WriteFile(filepath.Join(dir, "usr", "bin", a), []byte(appletMarker), 0o755); err != nil {
			return fmt.Errorf("pod skeleton: %w", err)
		}
	}
	return nil
}
