package runner

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/sandbox/sandboxctl"
	"github.com/klabdev/klab/sandbox/sandboxtest"
)

// cluster is the sandbox every test of this package may use (one per binary).
var cluster *sandboxtest.Cluster

func TestMain(m *testing.M) {
	if script := os.Getenv("KLAB_RUNNER_TEST_HELPER"); script != "" {
		os.Exit(crashHelper(script))
	}
	os.Exit(sandboxtest.Main(m, &cluster))
}

// needCluster skips t under `go test -short` (no sandbox then).
func needCluster(t *testing.T) {
	t.Helper()
	if cluster == nil {
		t.Skip("needs the sandbox (not started with -short)")
	}
}

// kubectlArgv is the kubectl the tests use: kubectl on PATH, else `klab kubectl`.
func kubectlArgv() []string {
	if p, err := exec.LookPath("kubectl"); err == nil {
		return []string{p}
	}
	return []string{cluster.Bin, "kubectl"}
}

// fakeMicrok8s writes a stand-in `microk8s` (and `microk8s.kubectl`) into a
// folder put first on PATH; it answers status, config and kubectl like the
// snap does, against the test sandbox. running=false makes status say so.
func fakeMicrok8s(t *testing.T, running bool) string {
	t.Helper()
	bin := t.TempDir()
	kubectl := ""
	for _, a := range kubectlArgv() {
		kubectl += shq(a) + " "
	}
	state := "microk8s is running\nhigh-availability: no"
	code := 0
	if !running {
		state, code = "microk8s is not running. Use microk8s inspect for a deeper inspection.", 1
	}
	// Like the snap's wrapper: kubectl gets microk8s' own kubeconfig first.
	script := "#!/bin/sh\ncase \"$1\" in\n" +
		"status) echo '" + state + "'; exit " + strconv.Itoa(code) + " ;;\n" +
		"config) exec cat " + shq(cluster.Kubeconfig) + " ;;\n" +
		"kubectl) shift; exec " + kubectl + "--kubeconfig=" + shq(cluster.Kubeconfig) + " \"$@\" ;;\n" +
		"*) echo \"microk8s stand-in: $1 unsupported\" >&2; exit 1 ;;\nesac\n"
	if err := os.WriteFile(filepath.Join(bin, "microk8s"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	dot := "#!/bin/sh\nexec " + shq(filepath.Join(bin, "microk8s")) + " kubectl \"$@\"\n"
	if err := os.WriteFile(filepath.Join(bin, "microk8s.kubectl"), []byte(dot), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return bin
}

// noKubeconfig hides the learner's kubeconfig from auto selection.
func noKubeconfig(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	t.Setenv("HOME", t.TempDir())
}

func selectOpts(t *testing.T, log *bytes.Buffer) SelectOptions {
	return SelectOptions{SandboxDir: cluster.DataDir, KlabBin: cluster.Bin, Log: log, StateDir: t.TempDir()}
}

func TestSelect(t *testing.T) {
	needCluster(t)
	ctx := context.Background()
	t.Run("sandbox reused", func(t *testing.T) {
		var log bytes.Buffer
		o := selectOpts(t, &log)
		o.Sandbox = true
		c, err := Select(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind != KindSandbox || c.Name != "sandbox" || c.Started || c.Kubeconfig != cluster.Kubeconfig {
			t.Fatalf("cluster %+v", c)
		}
	})
	t.Run("microk8s running", func(t *testing.T) {
		bin := fakeMicrok8s(t, true)
		var log bytes.Buffer
		c, err := Select(ctx, selectOpts(t, &log))
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind != KindMicrok8s || strings.Join(c.Kubectl, " ") != bin+"/microk8s kubectl" {
			t.Fatalf("cluster %+v", c)
		}
		got, _ := os.ReadFile(c.Kubeconfig)
		want, _ := os.ReadFile(cluster.Kubeconfig)
		if !bytes.Equal(got, want) {
			t.Fatal("kubeconfig is not `microk8s config`")
		}
	})
	t.Run("explicit microk8s.kubectl", func(t *testing.T) {
		bin := fakeMicrok8s(t, true)
		o := selectOpts(t, &bytes.Buffer{})
		o.Kubectl = "microk8s.kubectl"
		c, err := Select(ctx, o)
		if err != nil || c.Kind != KindMicrok8s || c.Kubectl[0] != bin+"/microk8s.kubectl" {
			t.Fatalf("cluster %+v, %v", c, err)
		}
	})
	t.Run("microk8s stopped, kubeconfig answers", func(t *testing.T) {
		fakeMicrok8s(t, false)
		t.Setenv("KUBECONFIG", cluster.Kubeconfig)
		c, err := Select(ctx, selectOpts(t, &bytes.Buffer{}))
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := clientcmd.LoadFromFile(cluster.Kubeconfig)
		if c.Kind != KindKubeconfig || c.Name != cfg.CurrentContext || c.Kubeconfig != cluster.Kubeconfig {
			t.Fatalf("cluster %+v", c)
		}
		if strings.Join(c.Kubectl, " ") != strings.Join(kubectlArgv(), " ") {
			t.Fatalf("kubectl %q, want %q", c.Kubectl, kubectlArgv())
		}
	})
	t.Run("explicit microk8s stopped is an error", func(t *testing.T) {
		fakeMicrok8s(t, false)
		o := selectOpts(t, &bytes.Buffer{})
		o.Kubectl = "microk8s kubectl"
		if _, err := Select(ctx, o); err == nil || !strings.Contains(err.Error(), "not running") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("explicit kubeconfig that does not answer is an error", func(t *testing.T) {
		noKubeconfig(t)
		kc := filepath.Join(t.TempDir(), "kc")
		if err := os.WriteFile(kc, []byte(offlineKubeconfig), 0o600); err != nil {
			t.Fatal(err)
		}
		o := selectOpts(t, &bytes.Buffer{})
		o.Kubeconfig, o.ProbeTimeout = kc, time.Second
		if _, err := Select(ctx, o); err == nil || !strings.Contains(err.Error(), "does not answer") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("nothing answers: the sandbox, said", func(t *testing.T) {
		noKubeconfig(t)
		kc := filepath.Join(t.TempDir(), "kc")
		if err := os.WriteFile(kc, []byte(offlineKubeconfig), 0o600); err != nil {
			t.Fatal(err)
		}
		t.Setenv("KUBECONFIG", kc)
		var log bytes.Buffer
		o := selectOpts(t, &log)
		o.ProbeTimeout, o.Lang = time.Second, "fr"
		c, err := Select(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind != KindSandbox || !strings.Contains(log.String(), "bac à sable") || !strings.Contains(log.String(), "does not answer") {
			t.Fatalf("cluster %+v, log %q", c, log.String())
		}
	})
}

// sandboxLab is a lab on the test sandbox through cluster c; its namespace
// goes at the end of the test.
func sandboxLab(t *testing.T, c *Cluster, lesson string) *Lab {
	t.Helper()
	return newSandboxLab(t, c, lesson, LabOptions{StateDir: t.TempDir()})
}

func newSandboxLab(t *testing.T, c *Cluster, lesson string, o LabOptions) *Lab {
	t.Helper()
	l, err := NewLab(context.Background(), c, lesson, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = l.Close()
		if l.Namespace != "default" {
			_ = cluster.Client.CoreV1().Namespaces().Delete(context.Background(), l.Namespace, metav1.DeleteOptions{})
		}
	})
	return l
}

func sandboxCluster(kubectl []string) *Cluster {
	return &Cluster{Name: "sandbox", Kind: KindSandbox, Kubeconfig: cluster.Kubeconfig, Kubectl: kubectl, DataDir: cluster.DataDir}
}

func TestFlavoursReachTheLab(t *testing.T) {
	needCluster(t)
	ctx := context.Background()
	flavours := map[string]func(t *testing.T) *Cluster{
		"sandbox with kubectl": func(*testing.T) *Cluster { return sandboxCluster(kubectlArgv()) },
		"sandbox with klab kubectl": func(*testing.T) *Cluster {
			return sandboxCluster([]string{cluster.Bin, "kubectl"})
		},
		"stand-in microk8s": func(t *testing.T) *Cluster {
			fakeMicrok8s(t, true)
			c, err := Select(ctx, selectOpts(t, &bytes.Buffer{}))
			if err != nil || c.Kind != KindMicrok8s {
				t.Fatalf("select: %+v %v", c, err)
			}
			return c
		},
	}
	i := 0
	for name, mk := range flavours {
		i++
		lesson := "flavours-" + strconv.Itoa(i)
		t.Run(name, func(t *testing.T) {
			c := mk(t)
			l := sandboxLab(t, c, lesson)
			// Every spelling, also inside pipes, subshells, && and a script file.
			script := `set -e
kubectl create configmap probe --from-literal=k=v >/dev/null
kubectl get configmap probe -o jsonpath='{.metadata.namespace}'; echo " kubectl"
k get cm probe -o jsonpath='{.metadata.namespace}'; echo " k"
microk8s kubectl get cm probe -o jsonpath='{.metadata.namespace}'; echo " microk8s kubectl"
microk8s.kubectl get cm probe -o jsonpath='{.metadata.namespace}'; echo " microk8s.kubectl"
k get cm -o name | grep -c probe
(cd /tmp && kubectl get cm probe -o name) && echo subshell
printf 'kubectl get cm probe -o name\n' > check.sh && bash check.sh
microk8s status | head -1
microk8s config | grep -c 'namespace: klab-` + lesson + `'
`
			res, err := l.Run(ctx, script, nil)
			if err != nil {
				t.Fatal(err)
			}
			ns := "klab-" + lesson
			want := ns + " kubectl\n" + ns + " k\n" + ns + " microk8s kubectl\n" + ns + " microk8s.kubectl\n1\n" +
				"configmap/probe\nsubshell\nconfigmap/probe\nmicrok8s is running\n1\n"
			if res.ExitCode != 0 || res.Output != want {
				t.Fatalf("exit %d, output\n%s\nwant\n%s", res.ExitCode, res.Output, want)
			}
		})
	}
}

func TestLabNamespaceIsolation(t *testing.T) {
	needCluster(t)
	ctx := context.Background()
	l := sandboxLab(t, sandboxCluster(kubectlArgv()), "isolation")
	ns, err := cluster.Client.CoreV1().Namespaces().Get(ctx, "klab-isolation", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Labels[LabelManagedBy] != "klab" || ns.Labels[LabelLesson] != "isolation" {
		t.Fatalf("labels %v", ns.Labels)
	}
	res, err := l.Run(ctx, "kubectl create job iso --image=busybox -- true && kubectl get jobs -o name", nil)
	if err != nil || res.ExitCode != 0 || !strings.Contains(res.Output, "job.batch/iso") {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := cluster.Client.BatchV1().Jobs("klab-isolation").Get(ctx, "iso", metav1.GetOptions{}); err != nil {
		t.Fatalf("job not in the lab namespace: %v", err)
	}
	if _, err := cluster.Client.BatchV1().Jobs("default").Get(ctx, "iso", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("job landed in default: %v", err)
	}
	// -n default is the learner's explicit choice.
	ld := newSandboxLab(t, sandboxCluster(kubectlArgv()), "isolation", LabOptions{StateDir: t.TempDir(), Namespace: "default"})
	res, _ = ld.Run(ctx, "kubectl config view --minify -o jsonpath='{..namespace}'", nil)
	if res.Output != "default" {
		t.Fatalf("namespace with -n default: %q", res.Output)
	}
	if err := ld.Reset(ctx); err == nil || !strings.Contains(err.Error(), "not created by klab") {
		t.Fatalf("Reset of default: %v", err)
	}
}

func TestInterruptWatch(t *testing.T) {
	needCluster(t)
	l := sandboxLab(t, sandboxCluster(kubectlArgv()), "watch")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var seen strings.Builder
	var once sync.Once
	res, err := l.Run(ctx, "echo pid=$$; kubectl create job w1 --image=busybox -- true >/dev/null; kubectl get jobs -w", func(b []byte) {
		mu.Lock()
		defer mu.Unlock()
		seen.Write(b)
		if strings.Contains(seen.String(), "w1") {
			once.Do(func() { time.AfterFunc(500*time.Millisecond, cancel) })
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// kubectl handles SIGINT itself and exits 1; bash then ends the script.
	if !res.Interrupted || res.ExitCode == 0 || res.Duration > InterruptGrace+5*time.Second {
		t.Fatalf("result %+v", res)
	}
	// A table under a terminal, not bare names.
	if !strings.Contains(res.Output, "NAME") || !strings.Contains(res.Output, "STATUS") {
		t.Fatalf("output %q", res.Output)
	}
	sid, _ := strconv.Atoi(strings.Fields(strings.TrimPrefix(res.Output, "pid="))[0])
	if left := alive(sid); len(left) > 0 {
		t.Fatalf("processes %v survived", left)
	}
}

func TestReset(t *testing.T) {
	needCluster(t)
	ctx := context.Background()
	l := sandboxLab(t, sandboxCluster(kubectlArgv()), "reset")
	before, err := cluster.Client.CoreV1().Namespaces().Get(ctx, l.Namespace, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := l.Run(ctx, "kubectl create configmap old >/dev/null && echo data > file.txt && mkdir -p d && touch d/x", nil)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if err := l.StartBackground(ctx, &lessons.Script{Path: "bg.sh", Body: "sleep 100"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	after, err := cluster.Client.CoreV1().Namespaces().Get(ctx, l.Namespace, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.UID == before.UID {
		t.Fatal("namespace was not recreated")
	}
	if _, err := cluster.Client.CoreV1().ConfigMaps(l.Namespace).Get(ctx, "old", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("configmap survived Reset: %v", err)
	}
	entries, _ := os.ReadDir(l.Workspace)
	if len(entries) != 0 {
		t.Fatalf("workspace not emptied: %v", entries)
	}
	l.mu.Lock()
	n := len(l.procs)
	l.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d processes survived Reset", n)
	}
	res, _ = l.Run(ctx, "kubectl get cm -o name | grep -c old", nil)
	if strings.TrimSpace(res.Output) != "0" {
		t.Fatalf("after reset: %q", res.Output)
	}
}

func TestKlabKubectlShimIgnoresKlabClusterVariables(t *testing.T) {
	needCluster(t)
	// The learner's klab settings must not send `klab kubectl` elsewhere.
	t.Setenv("KLAB_CONTEXT", "no-such-context")
	t.Setenv("KLAB_SANDBOX", "1")
	l := sandboxLab(t, sandboxCluster([]string{cluster.Bin, "kubectl"}), "klab-vars")
	res, err := l.Run(context.Background(), "k config view --minify -o jsonpath='{..namespace}'", nil)
	if err != nil || res.ExitCode != 0 || res.Output != "klab-klab-vars" {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestSelectStartsTheSandbox(t *testing.T) {
	needCluster(t)
	ctx := context.Background()
	dir := t.TempDir()
	t.Cleanup(func() {
		if _, err := sandboxctl.Stop(context.Background(), dir, 30*time.Second); err != nil {
			t.Errorf("stop the sandbox Select started: %v", err)
		}
	})
	var log bytes.Buffer
	o := SelectOptions{Sandbox: true, SandboxDir: dir, KlabBin: cluster.Bin, Log: &log, Lang: "en"}
	c, err := Select(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Started || c.Kind != KindSandbox || c.Kubeconfig != sandboxctl.KubeconfigPath(dir) {
		t.Fatalf("cluster %+v", c)
	}
	// It keeps running after klab exits: the learner is told how to stop it.
	if !strings.Contains(log.String(), "klab sandbox down --data-dir "+shq(dir)) {
		t.Fatalf("log %q", log.String())
	}
	if _, ok := sandboxctl.Running(dir); !ok {
		t.Fatal("the sandbox is not running")
	}
	log.Reset()
	c, err = Select(ctx, o)
	if err != nil || c.Started || log.Len() != 0 {
		t.Fatalf("second Select: %+v %v, log %q", c, err, log.String())
	}
}

// On a real microk8s, the shim hands every other microk8s command to it.
func TestMicrok8sShimPassesThrough(t *testing.T) {
	needCluster(t)
	fakeMicrok8s(t, true)
	c, err := Select(context.Background(), selectOpts(t, &bytes.Buffer{}))
	if err != nil || c.Kind != KindMicrok8s {
		t.Fatalf("select %+v %v", c, err)
	}
	l := sandboxLab(t, c, "passthrough")
	res, _ := l.Run(context.Background(), "microk8s status; microk8s enable dns", nil)
	want := "microk8s is running\nhigh-availability: no\nmicrok8s stand-in: enable unsupported\n"
	if res.Output != want || res.ExitCode != 1 {
		t.Fatalf("exit %d, output %q, want %q", res.ExitCode, res.Output, want)
	}
}
