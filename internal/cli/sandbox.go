package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/klabdev/klab/internal/platform"
	"github.com/klabdev/klab/sandbox"
	"github.com/klabdev/klab/sandbox/sandboxctl"
)

// newSandboxCommand builds `klab sandbox` and its subcommands.
func newSandboxCommand(_ *Options) *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "Run klab's embedded Kubernetes cluster (real etcd, apiserver, controllers, scheduler)",
		Long: "The sandbox is a real Kubernetes control plane and a node agent in one klab process, listening on\n" +
			"127.0.0.1 only. Its data dir (--data-dir, KLAB_SANDBOX_DIR, default $XDG_STATE_HOME/klab/sandbox) keeps\n" +
			"certificates, etcd data and the admin kubeconfig across restarts.",
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", sandboxctl.DefaultDataDir(), "sandbox data dir")
	cmd.AddCommand(
		newSandboxUpCommand(&dataDir),
		newSandboxDownCommand(&dataDir),
		newSandboxStatusCommand(&dataDir),
		&cobra.Command{
			Use:   "env",
			Short: "Print `export KUBECONFIG=…` for the sandbox",
			Args:  cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				fmt.Fprintf(c.OutOrStdout(), "export KUBECONFIG=%s\n", shellQuote(sandboxctl.KubeconfigPath(dataDir)))
				return nil
			},
		},
		&cobra.Command{
			Use:   "kubeconfig",
			Short: "Print the sandbox's admin kubeconfig",
			Args:  cobra.NoArgs,
			RunE: func(c *cobra.Command, _ []string) error {
				b, err := os.ReadFile(sandboxctl.KubeconfigPath(dataDir))
				if err != nil {
					return Fail(ExitFailed, "no sandbox kubeconfig in %s (start one with `klab sandbox up`): %v", dataDir, err)
				}
				_, err = c.OutOrStdout().Write(b)
				return err //nolint:wrapcheck // stdout
			},
		},
	)
	for _, c := range cmd.Commands() {
		wrapArgs(c)
	}
	return cmd
}

func newSandboxUpCommand(dataDir *string) *cobra.Command {
	var detach bool
	var readyFD, lifelineFD, nodes int
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start the sandbox (in the foreground, or in the background with --detach)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			ctx := c.Context()
			if nodes < 1 || nodes > sandbox.MaxNodes {
				return Fail(ExitUsage, "--nodes %d: the sandbox runs 1 to %d nodes (1: controlplane, untainted; 2: controlplane and node01)", nodes, sandbox.MaxNodes)
			}
			if detach {
				return sandboxUpDetached(ctx, c, *dataDir, nodes)
			}
			if lifelineFD > 0 {
				// A child sandbox stops (cleanly) when its parent dies.
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
				gone := platform.WatchParent(os.NewFile(uintptr(lifelineFD), "lifeline"))
				go func() {
					select {
					case <-gone:
						fmt.Fprintln(c.ErrOrStderr(), "klab sandbox: parent process gone, stopping")
						cancel()
					case <-ctx.Done():
					}
				}()
			}
			tuneSandboxMemory()
			sb, err := sandbox.Start(ctx, sandbox.Config{DataDir: *dataDir, Nodes: nodes})
			if err != nil {
				var running *sandboxctl.ErrRunning
				if errors.As(err, &running) {
					return Fail(ExitFailed, "%v: stop it with `klab sandbox down --data-dir %s`", err, *dataDir)
				}
				if ctx.Err() != nil {
					return Fail(ExitInterrupted, "sandbox start interrupted")
				}
				return Fail(ExitFailed, "sandbox: %v (log: %s)", err, sandboxctl.LogPath(*dataDir))
			}
			line := sb.ReadyLine()
			fmt.Fprintln(c.OutOrStdout(), line)
			if readyFD > 0 {
				f := os.NewFile(uintptr(readyFD), "ready")
				if f != nil {
					fmt.Fprintln(f, line)
					_ = f.Close()
				}
			}
			<-sb.Done()
			if err := sb.Wait(); err != nil && ctx.Err() == nil {
				return Fail(ExitFailed, "sandbox stopped: %v (log: %s)", err, sandboxctl.LogPath(*dataDir))
			}
			return nil // stopped by SIGTERM/SIGINT: a clean stop
		},
	}
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "run in the background and return once ready")
	cmd.Flags().IntVar(&nodes, "nodes", sandbox.DefaultNodes, "nodes to run, as on Killercoda's kubeadm images: 2 (controlplane, tainted, and node01) or 1 (controlplane, untainted)")
	cmd.Flags().IntVar(&readyFD, "ready-fd", 0, "write the ready line to this inherited file descriptor (used by --detach)")
	_ = cmd.Flags().MarkHidden("ready-fd")
	cmd.Flags().IntVar(&lifelineFD, sandboxctl.LifelineFlag, 0, "stop when this inherited pipe reaches end-of-file (the parent died)")
	_ = cmd.Flags().MarkHidden(sandboxctl.LifelineFlag)
	return cmd
}

func sandboxUpDetached(ctx context.Context, c *cobra.Command, dataDir string, nodes int) error {
	if _, ok := sandboxctl.Running(dataDir); ok {
		wctx, cancel := context.WithTimeout(ctx, sandboxctl.ReadyTimeout)
		defer cancel()
		st, err := sandboxctl.WaitReady(wctx, dataDir)
		if err != nil {
			return Fail(ExitFailed, "%v", err)
		}
		if c.Flags().Changed("nodes") && st.RunningNodes() != nodes {
			return Fail(ExitFailed, "%v", &sandboxctl.ErrOtherNodes{DataDir: dataDir, Running: st.RunningNodes(), Want: nodes})
		}
		fmt.Fprintf(c.OutOrStdout(), "already running (pid %d): %s\n", st.PID, st.ReadyLine)
		return nil
	}
	self, err := os.Executable()
	if err != nil {
		return Fail(ExitFailed, "find the klab binary: %v", err)
	}
	p, err := sandboxctl.Start(ctx, dataDir, self, sandboxctl.StartOptions{Detach: true, Nodes: nodes})
	if err != nil {
		if ctx.Err() != nil {
			return Fail(ExitInterrupted, "sandbox start interrupted")
		}
		return Fail(ExitFailed, "%v", err)
	}
	fmt.Fprintln(c.OutOrStdout(), p.ReadyLine)
	return nil
}

func newSandboxDownCommand(dataDir *string) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the sandbox (SIGTERM, then wait until its process is gone)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			pid, _ := sandboxctl.Running(*dataDir)
			stopped, err := sandboxctl.Stop(c.Context(), *dataDir, timeout)
			if err != nil {
				return Fail(ExitFailed, "%v", err)
			}
			if !stopped {
				fmt.Fprintf(c.OutOrStdout(), "no sandbox running in %s\n", *dataDir)
				return nil
			}
			fmt.Fprintf(c.OutOrStdout(), "sandbox stopped (pid %d)\n", pid)
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 30*time.Second, "SIGKILL the sandbox if it has not stopped by then")
	return cmd
}

func newSandboxStatusCommand(dataDir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Say whether the sandbox runs, where, since when, and how many pods it has (exit 1 if not running)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			out := c.OutOrStdout()
			pid, ok := sandboxctl.Running(*dataDir)
			if !ok {
				fmt.Fprintf(out, "not running (data dir %s)\n", *dataDir)
				return Silent(ExitFailed)
			}
			st, err := sandboxctl.ReadState(*dataDir)
			if err != nil || st.PID != pid {
				fmt.Fprintf(out, "starting (pid %d, data dir %s)\n", pid, *dataDir)
				return nil
			}
			state := "running"
			if st.Ready.IsZero() {
				state = "starting"
			}
			fmt.Fprintf(out, "%s (pid %d) since %s (%s ago)\n", state, pid, st.Started.Format(time.DateTime),
				time.Since(st.Started).Round(time.Second))
			fmt.Fprintf(out, "data dir:   %s\nserver:     %s\nkubeconfig: %s\n", *dataDir, st.Server, sandboxctl.KubeconfigPath(*dataDir))
			if st.Ready.IsZero() {
				return nil
			}
			total, running, err := countPods(c.Context(), sandboxctl.KubeconfigPath(*dataDir))
			if err != nil {
				fmt.Fprintf(out, "pods:       unknown (%v)\n", err)
				return nil
			}
			fmt.Fprintf(out, "pods:       %d (%d running)\n", total, running)
			return nil
		},
	}
}

func countPods(ctx context.Context, kubeconfig string) (total, running int, err error) {
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return 0, 0, fmt.Errorf("load %s: %w", kubeconfig, err)
	}
	rc.Timeout = 5 * time.Second
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return 0, 0, fmt.Errorf("client: %w", err)
	}
	pods, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, 0, fmt.Errorf("list pods: %w", err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning {
			running++
		}
	}
	return len(pods.Items), running, nil
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	safe := true
	for _, r := range s {
		if !isShellSafe(r) {
			safe = false
			break
		}
	}
	if safe && s != "" {
		return s
	}
	out := "'"
	for _, r := range s {
		if r == '\'' {
			out += `'\''`
		} else {
			out += string(r)
		}
	}
	return out + "'"
}

// sandboxMemoryLimit is the sandbox process's soft Go memory limit: above the live heap (~100 MiB for a
// lesson), it keeps peak RSS under 350 MB over a whole lesson (measured: 342 MB instead of 361 MB, no
// extra CPU); at 160 MiB the GC ran three times as much.
const sandboxMemoryLimit = 180 << 20

// tuneSandboxMemory trades a little CPU for a smaller heap in the process that serves the sandbox (a
// learning cluster is small; GOGC=50 keeps peak RSS ~40 MB lower). It belongs to the command, not to
// the sandbox library, since it changes the whole process. GOGC and GOMEMLIMIT in the environment win.
func tuneSandboxMemory() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(50)
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		debug.SetMemoryLimit(sandboxMemoryLimit)
	}
}

// isShellSafe reports whether r needs no quoting in a POSIX shell word.
func isShellSafe(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/.-_:+@", r)
}
