package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/kubelet/network/dns"

	"github.com/klabdev/klab/sandbox/agent/podnet"
)

// The nodes' own files. A node's file system is the hostpath folder of the data dir (what hostPath
// volumes see, never the learner's machine); the agent gives it the /etc/hosts of a kubeadm node (every
// node by name, as on Killercoda's images), which hostNetwork pods get. The kubelet's resolver file
// (--resolv-conf, systemd-resolved's on Ubuntu nodes) is the agent's own, out of the pods' reach.

// nodeRoot is the folder that stands for the nodes' "/".
func (a *agent) nodeRoot() string {
	return filepath.Join(a.cfg.DataDir, "hostpath")
}

// resolverConfig is the kubelet's --resolv-conf file.
func (a *agent) resolverConfig() string {
	return filepath.Join(a.cfg.DataDir, "kubelet", "resolv.conf")
}

// writeNodeFiles writes the nodes' /etc/hosts and the kubelet's resolver file when missing (a learner
// may edit the hosts file, as on a real node; a restart keeps the edits; one deleted comes back). The
// hosts file is written through the node root's os.Root: pods can change that tree (hostPath), and no
// symlink they plant there may lead the agent outside it.
func (a *agent) writeNodeFiles() error {
	var hosts strings.Builder
	hosts.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n" +
		"ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")
	for _, n := range a.nodeList {
		fmt.Fprintf(&hosts, "%s\t%s\n", n.IP, n.Name)
	}
	for dir, f := range map[string][2]string{
		a.nodeRoot(): {"etc/hosts", hosts.String()},
		// systemd-resolved's stub, as on Ubuntu nodes: cluster names do not resolve through it.
		filepath.Dir(a.resolverConfig()): {filepath.Base(a.resolverConfig()), "nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n"},
	} {
		if err := writeMissing(dir, f[0], f[1]); err != nil {
			return fmt.Errorf("node files: %w", err)
		}
	}
	return nil
}

// writeMissing writes name (a clean relative path) under dir, through an os.Root, unless it exists.
func writeMissing(dir, name, content string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer func() { _ = r.Close() }()
	if _, err := r.Lstat(name); err == nil {
		return nil
	}
	if err := r.MkdirAll(path.Dir(name), 0o755); err != nil {
		return err
	}
	return r.WriteFile(name, []byte(content), 0o644)
}

// nodeHosts is the nodes' /etc/hosts, read through the node root's os.Root.
func (a *agent) nodeHosts() ([]byte, error) {
	if err := a.writeNodeFiles(); err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(a.nodeRoot())
	if err != nil {
		return nil, fmt.Errorf("node hosts file: %w", err)
	}
	defer func() { _ = r.Close() }()
	data, err := r.ReadFile("etc/hosts")
	if err != nil {
		return nil, fmt.Errorf("node hosts file: %w", err)
	}
	return data, nil
}

// dnsConfigurer is the kubelet's DNS configurer for node n: cluster DNS for ClusterFirst, the node's
// resolv.conf for Default (and for hostNetwork pods without ClusterFirstWithHostNet), pod dnsConfig merged.
func (a *agent) dnsConfigurer(n *node) *dns.Configurer {
	ref := &corev1.ObjectReference{Kind: "Node", Name: n.Name, UID: "", Namespace: ""}
	clusterDNS := net.ParseIP(strings.TrimSuffix(podnet.ClusterDNS, ":53"))
	return dns.NewConfigurer(n.recorder, ref, []net.IP{net.ParseIP(n.IP)}, []net.IP{clusterDNS}, "cluster.local",
		a.resolverConfig())
}

// resolvConf is a pod's /etc/resolv.conf, as containerd writes it from the kubelet's DNS config.
func (w *podWorker) resolvConf(pod *corev1.Pod) (string, error) {
	n := w.node()
	if n == nil || n.dns == nil {
		return "", errors.New("no node")
	}
	cfg, err := n.dns.GetPodDNS(context.Background(), pod)
	if err != nil {
		return "", fmt.Errorf("pod DNS: %w", err)
	}
	var b strings.Builder
	if len(cfg.Searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(cfg.Searches, " "))
	}
	for _, s := range cfg.Servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(cfg.Options) > 0 { // the kubelet's order is a map's; sorted, one of its orders, always the same
		fmt.Fprintf(&b, "options %s\n", strings.Join(slices.Sorted(slices.Values(cfg.Options)), " "))
	}
	return b.String(), nil
}

// hostsFile is a pod's /etc/hosts as the kubelet's ensureHostsFile makes it: managed from the pod's IP and
// names, or, for a hostNetwork pod, the node's own file under its own header.
func (w *podWorker) hostsFile(pod *corev1.Pod) (string, error) {
	if pod.Spec.HostNetwork {
		data, err := w.m.a.nodeHosts()
		if err != nil {
			return "", err
		}
		return "# Kubernetes-managed hosts file (host network).\n" + string(data) + hostAliases(pod), nil
	}
	names := podHostname(pod)
	if pod.Spec.Subdomain != "" && pod.Spec.HostnameOverride == nil {
		names = fmt.Sprintf("%s.%s.%s.svc.cluster.local\t%s", podHostname(pod), pod.Spec.Subdomain, pod.Namespace, podHostname(pod))
	}
	return "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n" +
		"fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" + w.ip + "\t" + names + "\n" + hostAliases(pod), nil
}

// hostPathVolume checks and prepares a hostPath volume as the kubelet's hostPath plugin does for its
// type (checkType: DirectoryOrCreate and FileOrCreate create, the others must match, with its errors);
// an unset type creates a missing folder, as containerd does for a bind mount.
func hostPathVolume(base string, src *corev1.HostPathVolumeSource) (volume, error) {
	vol := volume{base: base, rel: relOf(src.Path)}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return vol, fmt.Errorf("create volume folder: %w", err)
	}
	r, err := os.OpenRoot(base)
	if err != nil {
		return vol, fmt.Errorf("open volume folder: %w", err)
	}
	defer func() { _ = r.Close() }()
	typ := corev1.HostPathUnset
	if src.Type != nil {
		typ = *src.Type
	}
	fi, err := r.Stat(vol.rel)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return vol, fmt.Errorf("hostPath %s: %w", src.Path, err)
	}
	failed := func(what string) (volume, error) {
		return vol, fmt.Errorf("hostPath type check failed: %s is not %s", src.Path, what)
	}
	switch typ {
	case corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate:
		if !exists {
			if err := r.MkdirAll(vol.rel, 0o755); err != nil {
				return vol, fmt.Errorf("hostPath %s: %w", src.Path, err)
			}
		} else if typ == corev1.HostPathDirectoryOrCreate && !fi.IsDir() {
			return failed("a directory")
		}
	case corev1.HostPathDirectory:
		if !exists || !fi.IsDir() {
			return failed("a directory")
		}
	case corev1.HostPathFileOrCreate:
		if !exists {
			if err := r.MkdirAll(path.Dir(vol.rel), 0o755); err != nil {
				return vol, fmt.Errorf("hostPath %s: %w", src.Path, err)
			}
			f, err := r.OpenFile(vol.rel, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return vol, fmt.Errorf("hostPath %s: %w", src.Path, err)
			}
			_ = f.Close()
		} else if !fi.Mode().IsRegular() {
			return failed("a file")
		}
	case corev1.HostPathFile:
		if !exists || !fi.Mode().IsRegular() {
			return failed("a file")
		}
	case corev1.HostPathSocket:
		if !exists || fi.Mode()&fs.ModeSocket == 0 {
			return failed("a socket file")
		}
	case corev1.HostPathCharDev:
		if !exists || fi.Mode()&fs.ModeCharDevice == 0 {
			return failed("a character device")
		}
	case corev1.HostPathBlockDev:
		if !exists || fi.Mode()&fs.ModeDevice == 0 || fi.Mode()&fs.ModeCharDevice != 0 {
			return failed("a block device")
		}
	default:
		return vol, fmt.Errorf("hostPath %s: unknown type %q", src.Path, typ)
	}
	return vol, nil
}
