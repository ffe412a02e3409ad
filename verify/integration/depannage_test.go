package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/verify"
)

// labShell runs a bash script in namespace ns of the test sandbox, with a kubectl that is klab's
// (the lesson scripts' environment, reduced to what they use).
func labShell(t *testing.T, ns, script string) {
	t.Helper()
	dir := t.TempDir()
	shim := "#!/bin/sh\nexec " + cluster.Bin + " kubectl --kubeconfig " + cluster.Kubeconfig + " -n " + ns + " \"$@\"\n"
	if err := os.WriteFile(filepath.Join(dir, "kubectl"), []byte(shim), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"))
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("script failed: %v\n%s\n--- script:\n%s", err, out, script)
	}
}

// TestDepannageRepairNotRecreate: the Dépannage lesson asks to repair what its steps break, not to
// delete it and create a working one: for each step where that matters, a learner who does the
// latter gets the objective's failure, with the message that says so, although the result works.
func TestDepannageRepairNotRecreate(t *testing.T) {
	needSandbox(t)
	l, _, err := lessons.Resolve("depannage")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		step      int
		objective string
		wrongFix  string // works, but deletes and recreates (or deletes the Pod that would have started)
		want      string
	}{
		{1, "web-repare", "kubectl delete deployment web && kubectl create deployment web --image=nginx:1.27 && " +
			"kubectl rollout status deployment/web --timeout=60s", "nouveau Deployment"},
		// A learner reads the page before acting: the waiting Pod is 10 s old or more when deleted.
		{4, "pod-attendu", "sleep 10 && kubectl create configmap boutique-config --from-literal=devise=EUR && " +
			"kubectl delete pod -l app=boutique --wait=false && sleep 1 && " +
			"kubectl wait --for=condition=available deployment/boutique --timeout=60s", "pas celui du départ"},
		{6, "purge-reprise", "kubectl delete cronjob purge && " +
			"kubectl create cronjob purge --image=busybox:1.36 --schedule='* * * * *' -- echo purge", "nouveau CronJob"},
		{7, "vitrine-annulee", "kubectl delete deployment vitrine && " +
			"kubectl create deployment vitrine --image=busybox:1.36 --replicas=2 -- sleep 3600 && " +
			"kubectl rollout status deployment/vitrine --timeout=60s", "obtenu 1"},
	}
	for _, tt := range tests {
		t.Run(tt.objective, func(t *testing.T) {
			step := l.Steps[tt.step-1]
			var obj *lessons.Objective
			for _, o := range step.Objectives {
				if o.ID == tt.objective {
					obj = o
				}
			}
			if obj == nil || step.Background == nil {
				t.Fatalf("step %d has no objective %s or no background script", tt.step, tt.objective)
			}
			ns := namespace(t)
			v := newVerifier(t, ns, "fr")
			labShell(t, ns, step.Background.Body)
			h := verify.NewHistory(nil)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			results := watchHistory(ctx, v, []*lessons.Objective{obj}, h)
			time.Sleep(time.Second) // the watch has listed the broken object
			labShell(t, ns, tt.wrongFix)
			time.Sleep(3 * time.Second) // what follows the fix (rollout, Job) has happened
			r := v.Evaluate(context.Background(), []*lessons.Objective{obj}, verify.WithHistory(h))[0]
			cancel()
			<-results
			if r.Status != verify.StatusFail || !strings.Contains(r.Message, tt.want) {
				t.Fatalf("after deleting and recreating: %+v, want a failure saying %q", r, tt.want)
			}
			t.Logf("%s: %s", tt.objective, r.Message)
		})
	}
}
