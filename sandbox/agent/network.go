package agent

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/klabdev/klab/sandbox/agent/busybox"
	"github.com/klabdev/klab/sandbox/agent/images"
	"github.com/klabdev/klab/sandbox/agent/servers"
)

// joinNetwork makes the pod a host of the pod network at its IP; the returned func leaves it.
func (w *podWorker) joinNetwork(pod *corev1.Pod) func() {
	if pod.Spec.HostNetwork { // the node's network namespace: its address, its ports
		if n := w.node(); n != nil {
			w.mu.Lock()
			w.host = n.net
			w.mu.Unlock()
		}
		return func() {}
	}
	h, err := w.m.a.net.AddPod(w.ip, podHostname(pod), pod.Namespace)
	if err != nil {
		w.m.a.logf("agent: pod %s/%s: %v", pod.Namespace, pod.Name, err)
		return func() {}
	}
	w.mu.Lock()
	w.host = h
	w.mu.Unlock()
	return h.Close
}

// shellNet is the pod's network for its commands (nil when it could not join).
func (w *podWorker) shellNet() busybox.Network {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.host == nil {
		return nil
	}
	return w.host
}

// serverOf is the server an image's default process runs, or nil (pause, or a command given).
func serverOf(img *images.Image) *servers.Server {
	if img == nil || img.Daemon == "" {
		return nil
	}
	return servers.Get(img.Daemon)
}

// writeNetworkFiles writes the kubelet-managed /etc/hosts (hostsFile) and the /etc/resolv.conf of the
// pod's dnsPolicy (resolvConf) into a new container root.
func (w *podWorker) writeNetworkFiles(root string, pod *corev1.Pod) error {
	hosts, err := w.hostsFile(pod)
	if err != nil {
		return err
	}
	resolv, err := w.resolvConf(pod)
	if err != nil {
		return err
	}
	files := map[string]string{"etc/hosts": hosts, "etc/resolv.conf": resolv}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(name)), []byte(content), 0o644); err != nil {
			return fmt.Errorf("pod network files: %w", err)
		}
	}
	return nil
}

// hostAliases are the kubelet's lines for spec.hostAliases in /etc/hosts (hostsEntriesFromHostAliases).
func hostAliases(pod *corev1.Pod) string {
	if len(pod.Spec.HostAliases) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n# Entries added by HostAliases.\n")
	for _, a := range pod.Spec.HostAliases {
		fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
	}
	return b.String()
}

// startServer starts a server image's default process (nil srv: none), which runs until ctx ends; it
// returns once the server listens (or exited, or after a second), with the channel of its exit code.
func (w *podWorker) startServer(ctx context.Context, srv *servers.Server, c *corev1.Container, args []string, fsys *busybox.FS, stdout, stderr io.Writer) <-chan int {
	exit := make(chan int, 1)
	if srv == nil {
		return exit
	}
	listening := make(chan struct{})
	var once sync.Once
	go func() {
		code := w.runServer(ctx, srv, c, args, fsys, stdout, stderr, func() { once.Do(func() { close(listening) }) })
		once.Do(func() { close(listening) })
		exit <- code
	}()
	select {
	case <-listening:
	case <-time.After(time.Second):
	}
	return exit
}

// runServer runs a server image's default process until ctx ends; its exit code.
func (w *podWorker) runServer(ctx context.Context, srv *servers.Server, c *corev1.Container, args []string, fsys *busybox.FS, stdout, stderr io.Writer, listening func()) int {
	w.mu.Lock()
	h := w.host
	w.mu.Unlock()
	if h == nil {
		fmt.Fprintf(stderr, "%s: no network\n", srv.Name)
		return 1
	}
	tag := ""
	if i := strings.LastIndex(c.Image, ":"); i > strings.LastIndex(c.Image, "/") {
		tag = c.Image[i+1:]
	}
	e := &servers.Env{Listen: h.Listen, Dial: h.DialContext, Listening: listening, Files: fsys, Stdout: stdout, Stderr: stderr,
		Hostname: utsHostname(w.latest()), IP: h.IP(), Version: srv.VersionFor(tag)}
	if len(args) > 0 { // program, then args (containerArgv)
		e.Program, e.Args = args[0], args[1:]
	}
	return srv.Run(ctx, e)
}

// layImage lays an image's file system out in root (a new container root, or an image volume): the shell's
// skeleton (/bin with its commands and the image's own, /etc), the content of its server (nginx's html,
// its default.conf), whether or not the server runs, and the image's own files.
func layImage(root, hostname string, img *images.Image) error {
	var extra []string
	if img != nil {
		extra = img.Commands
	}
	if err := busybox.WriteSkeleton(root, hostname, extra...); err != nil {
		return err
	}
	if img == nil {
		return nil
	}
	if srv := servers.Get(img.Daemon); srv != nil {
		if err := writeFiles(root, srv.Files); err != nil {
			return fmt.Errorf("image files: %w", err)
		}
	}
	if err := writeFiles(root, img.Files); err != nil {
		return fmt.Errorf("image files: %w", err)
	}
	return nil
}
