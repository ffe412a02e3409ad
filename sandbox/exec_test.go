package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// execPod is a running pod with a mounted ConfigMap, an environment variable and a working dir.
func execPod(t *testing.T, ns string) {
	t.Helper()
	ctx := context.Background()
	if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg"},
		Data: map[string]string{"key": "valeur-du-configmap"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: "main", Image: "busybox", Command: []string{"sh", "-c", "echo started; sleep 3600"},
			Env: []corev1.EnvVar{{Name: "GREETING", Value: "bonjour"}}, WorkingDir: "/work",
			VolumeMounts: []corev1.VolumeMount{{Name: "c", MountPath: "/etc/config"}}}},
		Volumes: []corev1.Volume{{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}},
	}}
	if _, err := cluster.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, cluster.Bin, "kubectl", "--kubeconfig", cluster.Kubeconfig, "-n", ns, "wait", "--for=condition=Ready", "pod/web", "--timeout=60s")
}

// exitCode is argv's exit status (0 when it succeeded).
func exitCode(err error) int {
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestExec: kubectl exec runs in the container (its mounted ConfigMap, env, working dir), reports the
// command's exit code as kubectl does, and gives kubectl's real errors, with both kubectls.
func TestExec(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	execPod(t, ns)
	for name, kubectl := range kubectls(t) {
		k := append(append([]string{}, kubectl...), "-n", ns)
		t.Run(name, func(t *testing.T) {
			for _, tt := range []struct {
				args     []string
				stdin    string
				want     string // in the output
				code     int
				wantExit string // exact output when set
			}{
				{args: []string{"exec", "web", "--", "cat", "/etc/config/key"}, wantExit: "valeur-du-configmap"},
				{args: []string{"exec", "web", "--", "env"}, want: "GREETING=bonjour\n"},
				// Beside the main process, as in the container's PID namespace.
				{args: []string{"exec", "web", "--", "ps"}, want: "    1 root     sh -c echo started; sleep 3600\n"},
				{args: []string{"exec", "web", "-c", "main", "--", "sh", "-c", "pwd; echo $HOSTNAME"}, wantExit: "/work\nweb\n"},
				{args: []string{"exec", "web", "--", "sh", "-c", "echo out; exit 3"}, want: "command terminated with exit code 3", code: 3},
				{args: []string{"exec", "web", "-c", "nope", "--", "ls"}, want: "container nope is not valid for pod web", code: 1},
				{args: []string{"exec", "web", "--", "nope"}, want: `exec: "nope": executable file not found in $PATH`, code: 1},
				{args: []string{"exec", "-i", "web", "--", "sh"}, stdin: "x=6\necho $((x * 7))\n", wantExit: "42\n"},
				{args: []string{"exec", "-i", "web", "--", "sh", "-c", "cat > /tmp/in.txt && wc -c < /tmp/in.txt"}, stdin: "abc\n", wantExit: "4\n"},
			} {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				cmd := exec.CommandContext(ctx, k[0], append(k[1:], tt.args...)...)
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr, cmd.Stdin = &out, &out, strings.NewReader(tt.stdin)
				err := cmd.Run()
				cancel()
				got := dropWarnings(out.String())
				if code := exitCode(err); code != tt.code || (tt.wantExit != "" && got != tt.wantExit) || !strings.Contains(got, tt.want) {
					t.Errorf("kubectl %s: exit %d (%v), output %q; want exit %d, output %q / containing %q",
						strings.Join(tt.args, " "), code, err, got, tt.code, tt.wantExit, tt.want)
				}
			}
		})
	}
}

// dropWarnings removes kubectl's version-skew warning of the machine's older kubectl.
func dropWarnings(s string) string {
	var keep []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(l, "Warning: version difference") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

// TestCp: kubectl cp copies a folder into a pod and back, and a file out of it, with both kubectls.
func TestCp(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	execPod(t, ns)
	for name, kubectl := range kubectls(t) {
		k := append(append([]string{}, kubectl...), "-n", ns)
		t.Run(name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "src")
			if err := os.MkdirAll(filepath.Join(src, "sub"), 0o755); err != nil {
				t.Fatal(err)
			}
			for p, data := range map[string]string{"a.txt": "premier\n", "sub/b.txt": strings.Repeat("x", 100000)} {
				if err := os.WriteFile(filepath.Join(src, p), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			dst := "/tmp/copie-" + name
			mustRun(t, append(k, "cp", src, "web:"+dst)...)
			if out := dropWarnings(mustRun(t, append(k, "exec", "web", "--", "sh", "-c", "cat "+dst+"/a.txt; wc -c < "+dst+"/sub/b.txt")...)); out != "premier\n100000\n" {
				t.Errorf("after cp into the pod: %q", out)
			}
			back := filepath.Join(t.TempDir(), "back")
			mustRun(t, append(k, "cp", "web:"+dst, back)...)
			for p, want := range map[string]int{"a.txt": 8, "sub/b.txt": 100000} {
				if fi, err := os.Stat(filepath.Join(back, p)); err != nil || fi.Size() != int64(want) {
					t.Errorf("cp out of the pod, %s: %v (want %d bytes)", p, err, want)
				}
			}
			mustRun(t, append(k, "exec", "web", "--", "sh", "-c", "echo fichier > /work/f.txt")...)
			one := filepath.Join(t.TempDir(), "f.txt")
			mustRun(t, append(k, "cp", "web:/work/f.txt", one)...)
			if b, err := os.ReadFile(one); err != nil || string(b) != "fichier\n" {
				t.Errorf("cp of one file: %q %v", b, err)
			}
		})
	}
}

// term is kubectl run under a pseudo-terminal, as a learner types into it.
type term struct {
	t    *testing.T
	pty  *os.File
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func startTerm(t *testing.T, argv ...string) *term {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 100})
	if err != nil {
		t.Fatalf("start %v under a pty: %v", argv, err)
	}
	tm := &term{t: t, pty: f, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			answerQueries(f, buf[:n])
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = f.Close()
	})
	return tm
}

func (tm *term) output() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

// expect waits until the output (after from bytes) holds want; it returns where want ends.
func (tm *term) expect(from int, want string) int {
	tm.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := tm.output()
		if i := strings.Index(out[min(from, len(out)):], want); i >= 0 {
			return from + i + len(want)
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("waited 30s for %q; output:\n%q", want, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answerQueries answers the terminal queries a program may send at start (the background colour,
// the cursor position), as a terminal emulator does.
func answerQueries(f *os.File, b []byte) {
	if bytes.Contains(b, []byte("\x1b]11;?")) {
		_, _ = io.WriteString(f, "\x1b]11;rgb:0000/0000/0000\x1b\\")
	}
	if bytes.Contains(b, []byte("\x1b[6n")) {
		_, _ = io.WriteString(f, "\x1b[1;1R")
	}
}

func (tm *term) send(s string) {
	tm.t.Helper()
	if _, err := io.WriteString(tm.pty, s); err != nil {
		tm.t.Fatalf("type %q: %v", s, err)
	}
}

// wait waits for kubectl to end and returns its exit code.
func (tm *term) wait() int {
	tm.t.Helper()
	ch := make(chan error, 1)
	go func() { ch <- tm.cmd.Wait() }()
	select {
	case err := <-ch:
		<-tm.done
		return exitCode(err)
	case <-time.After(30 * time.Second):
		tm.t.Fatalf("kubectl did not end; output:\n%q", tm.output())
		return -1
	}
}

// TestExecTerminal: kubectl exec -it POD -- sh on a terminal: a prompt, commands, the terminal's size
// following the learner's window, Ctrl+C ending the running command (not the shell), and the shell's
// exit code, with both kubectls.
func TestExecTerminal(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	execPod(t, ns)
	for name, kubectl := range kubectls(t) {
		t.Run(name, func(t *testing.T) {
			tm := startTerm(t, append(append(append([]string{}, kubectl...), "-n", ns), "exec", "-it", "web", "--", "sh")...)
			at := tm.expect(0, "/work # ")
			tm.send("cd /etc/config && cat key; echo\r")
			at = tm.expect(at, "valeur-du-configmap\r\n/etc/config # ")
			tm.send("stty size\r")
			at = tm.expect(at, "40 100\r\n")
			// The learner's window changes: kubectl sends the new size, the pod's terminal follows.
			if err := pty.Setsize(tm.pty, &pty.Winsize{Rows: 30, Cols: 120}); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, func() error {
				tm.send("stty size\r")
				next := tm.expect(at, "/etc/config # ")
				if got := tm.output()[at:next]; !strings.Contains(got, "30 120\r\n") {
					at = next
					return errorf("stty size after the resize: %q", got)
				}
				at = next
				return nil
			})
			tm.send("sleep 600\r")
			at = tm.expect(at, "sleep 600\r\n")
			time.Sleep(200 * time.Millisecond)
			tm.send("\x03")
			at = tm.expect(at, "^C\r\n/etc/config # ")
			tm.send("echo status=$?\r")
			at = tm.expect(at, "status=130\r\n")
			tm.send("exit 5\r")
			tm.expect(at, "command terminated with exit code 5")
			if code := tm.wait(); code != 5 {
				t.Errorf("kubectl exit code %d, want 5", code)
			}
		})
	}
}

// TestAttach: kubectl attach to a running container's output, and kubectl run -it (attach to a
// container with stdin and tty), with both kubectls; kubectl run -i with piped stdin.
func TestAttach(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	for name, kubectl := range kubectls(t) {
		k := append(append([]string{}, kubectl...), "-n", ns)
		t.Run(name, func(t *testing.T) {
			tick := "tick-" + name
			mustRun(t, append(k, "run", tick, "--image=busybox", "--restart=Never", "--", "sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done")...)
			mustRun(t, append(k, "wait", "--for=condition=Ready", "pod/"+tick, "--timeout=60s")...)
			out, _ := run(t, 3*time.Second, append(k, "attach", tick)...)
			if !regexpMatch(`tick \d+\ntick \d+\n`, out) {
				t.Errorf("kubectl attach: %q, want the ticks printed meanwhile", out)
			}

			tm := startTerm(t, append(k, "run", "-it", "--rm", "shell-"+name, "--image=busybox", "--restart=Never", "--", "sh")...)
			at := tm.expect(0, "If you don't see a command prompt, try pressing enter.")
			tm.send("\r")
			at = tm.expect(at, "/ # ")
			tm.send("sleep 600\r")
			at = tm.expect(at, "sleep 600\r\n")
			time.Sleep(200 * time.Millisecond)
			tm.send("\x03") // the container's terminal: its interactive shell (PID 1) goes on
			at = tm.expect(at, "^C\r\n/ # ")
			tm.send("echo somme=$((2+3)) $?; exit 3\r")
			tm.expect(at, "somme=5 130\r\n")
			if code := tm.wait(); code != 3 {
				t.Errorf("kubectl run -it: exit code %d, want 3; output:\n%q", code, tm.output())
			}

			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, k[0], append(k[1:], "run", "-i", "--rm", "piped-"+name, "--image=busybox", "--restart=Never", "--", "sh")...)
			var buf bytes.Buffer
			cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader("echo depuis-stdin $((6*7))\n"), &buf, &buf
			if err := cmd.Run(); err != nil || !strings.Contains(buf.String(), "depuis-stdin 42\n") {
				t.Errorf("kubectl run -i with stdin: %v\n%s", err, buf.String())
			}
		})
	}
}

// TestDebug: kubectl debug adds an ephemeral container to a running pod, as on kubeadm: it runs with the
// pod's network and its own file system; its logs and exec reach it; the pod stays Running.
func TestDebug(t *testing.T) {
	needCluster(t)
	ns := namespace(t)
	execPod(t, ns)
	k := append(slices.Clone(kubectls(t)["klab"]), "-n", ns)
	mustRun(t, append(slices.Clone(k), "debug", "web", "--image=busybox:1.36", "-c", "dbg", "--", "sh", "-c", "echo debugging $(hostname); sleep 600")...)
	eventually(t, 30*time.Second, func() error {
		p, err := cluster.Client.CoreV1().Pods(ns).Get(context.Background(), "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if es := p.Status.EphemeralContainerStatuses; len(es) != 1 || es[0].Name != "dbg" || es[0].State.Running == nil {
			return fmt.Errorf("ephemeral containers: %+v", es)
		}
		if p.Status.Phase != corev1.PodRunning {
			return fmt.Errorf("pod phase %s", p.Status.Phase)
		}
		return nil
	})
	eventually(t, 10*time.Second, func() error {
		if out, _ := run(t, 20*time.Second, append(slices.Clone(k), "logs", "web", "-c", "dbg")...); out != "debugging web\n" {
			return fmt.Errorf("logs -c dbg: %q", out)
		}
		return nil
	})
	if out := mustRun(t, append(slices.Clone(k), "exec", "web", "-c", "dbg", "--", "cat", "/etc/hostname")...); strings.TrimSpace(out) != "web" {
		t.Errorf("exec -c dbg: %q", out)
	}
}
