package runner

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/klabdev/klab/internal/platform"
	"github.com/klabdev/klab/lessons"
)

// offlineKubeconfig is a kubeconfig whose server does not answer: the tests
// of this file run processes, not cluster calls.
const offlineKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: "t"}
contexts:
- name: ctx
  context: {cluster: c, user: u, namespace: elsewhere}
- name: other
  context: {cluster: c, user: u}
current-context: ctx
`

// newOfflineLab prepares a lab (no namespace creation) under a temp dir.
func newOfflineLab(t testing.TB) *Lab {
	t.Helper()
	dir := t.TempDir()
	kc := filepath.Join(dir, "source-kubeconfig")
	if err := os.WriteFile(kc, []byte(offlineKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		kubectl = "/bin/false"
	}
	c := &Cluster{Name: "ctx", Kind: KindKubeconfig, Kubeconfig: kc, Kubectl: []string{kubectl}}
	l, err := prepareLab(c, "jobs-cronjobs", LabOptions{StateDir: filepath.Join(dir, "labs")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// alive lists the live processes of session sid, giving SIGKILL a moment
// to land.
func alive(sid int) []int {
	var pids []int
	for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
		pids = platform.SessionMembers(sid)
		if len(pids) == 0 || time.Now().After(deadline) {
			return pids
		}
	}
}

func TestRunStreamsInOrder(t *testing.T) {
	l := newOfflineLab(t)
	var (
		mu     sync.Mutex
		chunks []string
		first  time.Time
	)
	start := time.Now()
	res, err := l.Run(context.Background(),
		"for i in 1 2 3 4 5; do echo line$i; sleep 0.1; done; echo oops >&2; echo end", func(b []byte) {
			mu.Lock()
			defer mu.Unlock()
			if first.IsZero() {
				first = time.Now()
			}
			chunks = append(chunks, string(b))
		})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(chunks, "")
	want := "line1\nline2\nline3\nline4\nline5\noops\nend\n"
	if joined != want || res.Output != want {
		t.Fatalf("streamed %q, output %q, want %q", joined, res.Output, want)
	}
	if len(chunks) < 2 {
		t.Fatalf("output came in %d chunk(s), want a stream", len(chunks))
	}
	if lag := first.Sub(start); lag > res.Duration/2 {
		t.Fatalf("first chunk after %v of a %v run: not streamed", lag, res.Duration)
	}
	if res.ExitCode != 0 || res.Interrupted {
		t.Fatalf("result %+v", res)
	}
}

func TestRunExitCodes(t *testing.T) {
	l := newOfflineLab(t)
	for _, tc := range []struct {
		script string
		code   int
		output string
	}{
		{"true", 0, ""},
		{"false", 1, ""},
		{"exit 3", 3, ""},
		{"echo partial; exit 42", 42, "partial\n"},
		{"kill -TERM $$", 128 + int(syscall.SIGTERM), ""},
		{"no-such-command-klab", 127, "command not found"},
		{"set -e; false; echo unreachable", 1, ""},
	} {
		t.Run(tc.script, func(t *testing.T) {
			res, err := l.Run(context.Background(), tc.script, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != tc.code {
				t.Fatalf("exit code %d, want %d (output %q)", res.ExitCode, tc.code, res.Output)
			}
			if !strings.Contains(res.Output, tc.output) || strings.Contains(res.Output, "unreachable") {
				t.Fatalf("output %q, want it to contain %q", res.Output, tc.output)
			}
		})
	}
}

func TestRunUnderTerminal(t *testing.T) {
	l := newOfflineLab(t)
	res, err := l.Run(context.Background(), "test -t 0 && test -t 1 && echo tty; stty size; pwd", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "tty\n24 80\n" + l.Workspace + "\n"
	if res.Output != want {
		t.Fatalf("output %q, want %q", res.Output, want)
	}
	l.SetWindowSize(120, 40)
	res, _ = l.Run(context.Background(), "stty size", nil)
	if res.Output != "40 120\n" {
		t.Fatalf("after SetWindowSize: %q", res.Output)
	}
}

// runInterrupted runs script, cancels it once it printed "ready", and checks
// that no process of its session survives.
func runInterrupted(t *testing.T, l *Lab, script string) Result {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	var sid int
	res, err := l.Run(ctx, "echo pid=$$; "+script, func(b []byte) {
		if s, ok := strings.CutPrefix(string(b), "pid="); ok && sid == 0 {
			sid, _ = strconv.Atoi(strings.Fields(s)[0])
		}
		if strings.Contains(string(b), "ready") {
			once.Do(func() { time.AfterFunc(100*time.Millisecond, cancel) })
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if sid == 0 {
		t.Fatalf("no pid in output %q", res.Output)
	}
	if left := alive(sid); len(left) > 0 {
		t.Fatalf("processes %v of session %d survived the run", left, sid)
	}
	return res
}

func TestRunInterrupt(t *testing.T) {
	l := newOfflineLab(t)
	res := runInterrupted(t, l, "echo ready; sleep 100")
	if !res.Interrupted || res.ExitCode != 130 {
		t.Fatalf("result %+v, want interrupted with 130", res)
	}
	if res.Duration > InterruptGrace {
		t.Fatalf("interrupt took %v", res.Duration)
	}
}

func TestRunInterruptKillsAfterGrace(t *testing.T) {
	l := newOfflineLab(t)
	res := runInterrupted(t, l, "trap '' INT; echo ready; sleep 100")
	if !res.Interrupted || res.ExitCode != 128+int(syscall.SIGKILL) {
		t.Fatalf("result %+v, want interrupted with 137", res)
	}
	if res.Duration < InterruptGrace || res.Duration > InterruptGrace+3*time.Second {
		t.Fatalf("SIGKILL after %v, want about %v", res.Duration, InterruptGrace)
	}
}

func TestRunKillsProcessGroup(t *testing.T) {
	l := newOfflineLab(t)
	// Background jobs of a non-interactive shell ignore SIGINT: the group kill ends them.
	res := runInterrupted(t, l, "sleep 100 & sleep 100 & echo ready; sleep 100; wait")
	if !res.Interrupted {
		t.Fatalf("result %+v", res)
	}
	// Jobs in their own process group (job control) are found by session.
	runInterrupted(t, l, "set -m; sleep 100 & echo ready; wait")
	// A run that ends on its own takes its leftovers with it.
	res, err := l.Run(context.Background(), "echo pid=$$; sleep 100 & sleep 100 & echo started", nil)
	if err != nil {
		t.Fatal(err)
	}
	sid, _ := strconv.Atoi(strings.Fields(strings.TrimPrefix(res.Output, "pid="))[0])
	if left := alive(sid); len(left) > 0 {
		t.Fatalf("processes %v survived", left)
	}
	if res.Duration > 5*time.Second {
		t.Fatalf("run waited for its background jobs: %v", res.Duration)
	}
}

func TestRunContextDoneBeforeStart(t *testing.T) {
	l := newOfflineLab(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := l.Run(ctx, "echo never", nil)
	if !errors.Is(err, context.Canceled) || !res.Interrupted {
		t.Fatalf("got %+v, %v", res, err)
	}
}

func TestWorkspacePersists(t *testing.T) {
	l := newOfflineLab(t)
	ctx := context.Background()
	res, err := l.Run(ctx, "cat > job.yaml <<EOF\napiVersion: batch/v1\nkind: Job\nEOF\n", nil)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	res, err = l.Run(ctx, "cat job.yaml", nil)
	if err != nil || res.Output != "apiVersion: batch/v1\nkind: Job\n" {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := os.Stat(filepath.Join(l.Workspace, "job.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := l.emptyWorkspace(); err != nil {
		t.Fatal(err)
	}
	if res, _ := l.Run(ctx, "ls -A", nil); res.Output != "" {
		t.Fatalf("workspace not empty after reset: %q", res.Output)
	}
}

func TestLabEnvironment(t *testing.T) {
	t.Setenv("KLAB_TEST_LEARNER_VAR", "kept")
	t.Setenv("KUBECONFIG", "/learner/kubeconfig")
	l := newOfflineLab(t)
	res, err := l.Run(context.Background(), `echo "$KLAB_LESSON $KLAB_NAMESPACE $KUBECONFIG $KLAB_TEST_LEARNER_VAR"
for c in kubectl k microk8s microk8s.kubectl; do command -v $c; done
echo "${PATH%%:*}"`, nil)
	if err != nil {
		t.Fatal(err)
	}
	sh := l.ShimDir
	want := "jobs-cronjobs klab-jobs-cronjobs " + l.Kubeconfig + " kept\n" +
		sh + "/kubectl\n" + sh + "/k\n" + sh + "/microk8s\n" + sh + "/microk8s.kubectl\n" + sh + "\n"
	if res.Output != want {
		t.Fatalf("output\n%s\nwant\n%s", res.Output, want)
	}
	// Nothing but the lab variables is added to the learner's environment.
	learner := map[string]bool{}
	for _, kv := range os.Environ() {
		learner[kv] = true
	}
	for _, kv := range l.Env {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "KUBECONFIG", "KLAB_LESSON", "KLAB_NAMESPACE", "KLAB_WORKSPACE", "KLAB_ROOT":
			continue
		}
		if !learner[kv] {
			t.Errorf("lab env adds %q", kv)
		}
	}
}

func TestLabKubeconfig(t *testing.T) {
	l := newOfflineLab(t)
	st, err := os.Stat(l.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("lab kubeconfig mode %v", st.Mode())
	}
	cfg, err := clientcmd.LoadFromFile(l.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "ctx" || len(cfg.Contexts) != 1 || cfg.Contexts["ctx"].Namespace != "klab-jobs-cronjobs" {
		t.Fatalf("lab kubeconfig: current %q, contexts %v", cfg.CurrentContext, cfg.Contexts)
	}
	src, _ := clientcmd.LoadFromFile(l.Cluster.Kubeconfig)
	if src.Contexts["ctx"].Namespace != "elsewhere" {
		t.Fatal("the learner's kubeconfig was changed")
	}
	rc, err := l.RestConfig()
	if err != nil || rc.Host != "https://127.0.0.1:1" {
		t.Fatalf("rest config %v, %v", rc, err)
	}
	// The context asked for wins over the file's current one.
	l.Cluster.Context = "other"
	if err := l.writeKubeconfig(); err != nil {
		t.Fatal(err)
	}
	cfg, _ = clientcmd.LoadFromFile(l.Kubeconfig)
	if cfg.CurrentContext != "other" || cfg.Contexts["other"].Namespace != "klab-jobs-cronjobs" {
		t.Fatalf("with --context other: %v", cfg.Contexts)
	}
}

func TestMicrok8sShimOffCluster(t *testing.T) {
	l := newOfflineLab(t)
	res, _ := l.Run(context.Background(), "microk8s config", nil)
	data, _ := os.ReadFile(l.Kubeconfig)
	if res.ExitCode != 0 || res.Output != string(data) {
		t.Fatalf("microk8s config: %+v", res)
	}
	res, _ = l.Run(context.Background(), "microk8s enable dns", nil)
	if res.ExitCode != 1 || !strings.Contains(res.Output, "'microk8s enable' is not available") {
		t.Fatalf("microk8s enable: %+v", res)
	}
	// The cluster of this lab does not answer: status says so.
	res, _ = l.Run(context.Background(), "microk8s status", nil)
	if res.ExitCode != 1 || res.Output != "microk8s is not running\n" {
		t.Fatalf("microk8s status: %+v", res)
	}
}

func TestRunScriptNamesItsFile(t *testing.T) {
	l := newOfflineLab(t)
	res, err := l.RunScript(context.Background(), &lessons.Script{Path: "step1/foreground.sh", Body: "#!/bin/bash\nno-such-command-klab\n"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Output, "step1/foreground.sh: line 2: no-such-command-klab") {
		t.Fatalf("output %q", res.Output)
	}
}

func TestStartBackground(t *testing.T) {
	l := newOfflineLab(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &lessons.Script{Path: "step1/background.sh", Body: "echo pid=$$\necho started\nsleep 100 & sleep 100\n"}
	if err := l.StartBackground(ctx, s); err != nil {
		t.Fatal(err)
	}
	log := l.LogPath(s)
	if filepath.Dir(log) != l.Workspace {
		t.Fatalf("log %s not in the workspace", log)
	}
	var data []byte
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(string(data), "started") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		data, _ = os.ReadFile(log)
	}
	if !strings.Contains(string(data), "started") {
		t.Fatalf("log %q", data)
	}
	sid, _ := strconv.Atoi(strings.Fields(strings.TrimPrefix(string(data), "pid="))[0])
	if len(alive(sid)) == 0 {
		t.Fatal("background script ended early")
	}
	cancel()
	deadline = time.Now().Add(2*InterruptGrace + time.Second)
	for len(alive(sid)) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if left := alive(sid); len(left) > 0 {
		t.Fatalf("processes %v survived the end of the context", left)
	}
}

func TestCloseEndsEverything(t *testing.T) {
	l := newOfflineLab(t)
	bg := &lessons.Script{Path: "background.sh", Body: "echo pid=$$; trap '' TERM; sleep 100 & sleep 100"}
	if err := l.StartBackground(context.Background(), bg); err != nil {
		t.Fatal(err)
	}
	pids := make(chan int, 1)
	done := make(chan Result, 1)
	go func() {
		res, _ := l.Run(context.Background(), "echo pid=$$; sleep 100 & sleep 100", func(b []byte) {
			if s, ok := strings.CutPrefix(string(b), "pid="); ok {
				n, _ := strconv.Atoi(strings.Fields(s)[0])
				pids <- n
			}
		})
		done <- res
	}()
	fg := <-pids
	var bgPid int
	for deadline := time.Now().Add(5 * time.Second); bgPid == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		data, _ := os.ReadFile(l.LogPath(bg))
		if s, ok := strings.CutPrefix(string(data), "pid="); ok && strings.Contains(s, "\n") {
			bgPid, _ = strconv.Atoi(strings.Fields(s)[0])
		}
	}
	if bgPid == 0 {
		t.Fatal("background script did not start")
	}
	start := time.Now()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if !res.Interrupted {
			t.Fatalf("run ended by Close: %+v", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	for _, sid := range []int{fg, bgPid} {
		if left := alive(sid); len(left) > 0 {
			t.Fatalf("processes %v of session %d survived Close", left, sid)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if _, err := l.Run(context.Background(), "true", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
}

func TestInterruptForegroundRuns(t *testing.T) {
	l := newOfflineLab(t)
	started := make(chan struct{})
	done := make(chan Result, 1)
	go func() {
		var once sync.Once
		res, _ := l.Run(context.Background(), "echo ready; sleep 100", func([]byte) { once.Do(func() { close(started) }) })
		done <- res
	}()
	<-started
	if err := l.Interrupt(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-done:
		if res.ExitCode != 130 || !res.Interrupted {
			t.Fatalf("interrupted run: %+v", res)
		}
	case <-time.After(time.Second):
		t.Fatal("Interrupt returned before the run ended")
	}
}

func TestDefaultNamespace(t *testing.T) {
	for id, want := range map[string]string{
		"jobs-cronjobs":         "klab-jobs-cronjobs",
		"My_Lesson.v2":          "klab-my-lesson-v2",
		"--":                    "klab-lab",
		strings.Repeat("a", 80): "klab-" + strings.Repeat("a", 56),
	} {
		if got := DefaultNamespace(id); got != want {
			t.Errorf("DefaultNamespace(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestLessonIDCannotLeaveStateDir(t *testing.T) {
	for _, id := range []string{"", ".", "..", "../x", "a/b"} {
		_, err := prepareLab(&Cluster{Kubectl: []string{"kubectl"}}, id, LabOptions{StateDir: t.TempDir()})
		if err == nil {
			t.Errorf("lesson id %q accepted", id)
		}
	}
}

func TestParseKubectl(t *testing.T) {
	bin := t.TempDir()
	for _, name := range []string{"microk8s", "microk8s.kubectl", "my kubectl"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
	for _, tc := range []struct {
		in    string
		argv  []string
		micro bool
	}{
		{"auto", nil, false},
		{"", nil, false},
		{"microk8s kubectl", []string{bin + "/microk8s", "kubectl"}, true},
		{"microk8s.kubectl", []string{bin + "/microk8s.kubectl"}, true},
		{`"` + bin + `/my kubectl"`, []string{bin + "/my kubectl"}, false},
	} {
		argv, err := parseKubectl(tc.in)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if strings.Join(argv, "|") != strings.Join(tc.argv, "|") || (argv != nil && isMicrok8s(argv) != tc.micro) {
			t.Errorf("%q: %q (microk8s %v)", tc.in, argv, tc.micro)
		}
	}
	if _, err := parseKubectl("no-such-kubectl-klab"); err == nil {
		t.Error("a missing kubectl is accepted")
	}
}

// Nobody types into a run's terminal: answers klab writes to it (terminal
// queries) must not come back as echoed output, and the queries are not
// shown either, as on a terminal.
func TestRunDoesNotEchoInput(t *testing.T) {
	l := newOfflineLab(t)
	res, err := l.Run(context.Background(), `printf 'q\033[6n\n'; sleep 0.5; printf '\033]11;?\033\\'; echo done`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Output != "q\ndone\n" {
		t.Fatalf("output %q", res.Output)
	}
}

func TestQueryAnswererHidesQueries(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks []string
		want   string
	}{
		{"klab startup", []string{"\x1b]11;?\x1b\\\x1b[6nkubectl output\n"}, "kubectl output\n"},
		{"split query", []string{"a\x1b]1", "1;?\x1b\\b"}, "ab"},
		{"colours stay", []string{"\x1b[31mred\x1b[0m"}, "\x1b[31mred\x1b[0m"},
		{"partial at the end is kept", []string{"x\x1b[6"}, "x\x1b[6"},
		{"escape not a query", []string{"\x1b[", "2Jclear"}, "\x1b[2Jclear"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q queryAnswerer
			var got strings.Builder
			for _, c := range tc.chunks {
				got.Write(q.feed([]byte(c), io.Discard))
			}
			got.Write(q.flush())
			if got.String() != tc.want {
				t.Fatalf("shown %q, want %q", got.String(), tc.want)
			}
		})
	}
}

func TestSetWindowSizeReachesRunningRuns(t *testing.T) {
	l := newOfflineLab(t)
	var once sync.Once
	res, err := l.Run(context.Background(), `trap 'stty size; exit 0' WINCH; echo ready; while :; do sleep 0.05; done`, func(b []byte) {
		if strings.Contains(string(b), "ready") {
			once.Do(func() { go l.SetWindowSize(100, 30) })
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Output != "ready\n30 100\n" || res.ExitCode != 0 {
		t.Fatalf("%+v", res)
	}
}
