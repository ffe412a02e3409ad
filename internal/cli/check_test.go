package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/klabdev/klab/assets"
	"github.com/klabdev/klab/verify"
)

func TestCheckErrors(t *testing.T) {
	kc := offlineKubeconfig(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown lesson", []string{"check", "no-such-lesson"}, ExitUsage, `no lesson "no-such-lesson"`},
		{"step out of range", []string{"check", "jobs-cronjobs", "--step", "99"}, ExitUsage, "--step 99: lesson jobs-cronjobs has steps 1 to"},
		{"step and all", []string{"check", "jobs-cronjobs", "--step", "1", "--all"}, ExitUsage, "--step and --all exclude each other"},
		{"bad wait", []string{"check", "jobs-cronjobs", "--wait", "soon"}, ExitUsage, "invalid argument"},
		{"explicit cluster away", []string{"check", "--kubeconfig", kc, "jobs-cronjobs"}, ExitFailed, "does not answer"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantExit(t, tc.args, tc.code, tc.msg) })
	}
}

func TestPrintChecklist(t *testing.T) {
	rep := checkReport{Lesson: "jobs-cronjobs", Cluster: "sandbox", Namespace: "klab-jobs", Steps: []checkStep{
		{Index: 1, Title: "Premier Job", Results: []verify.Result{
			{ID: "a", Title: "Le Job « salut » est terminé", Status: verify.StatusPass},
			{ID: "b", Title: "Trois Pods", Status: verify.StatusFail, Message: "2 Pods trouvés, au moins 3 attendus", Hint: "kubectl get pods"},
			{ID: "c", Title: "Le Job « x » réussit", Status: verify.StatusFail, Message: "status.succeeded : attendu 1, obtenu 0",
				Diff: "--- attendu\n+++ obtenu\n  status:\n-   succeeded: 1\n+   succeeded: 0\n"},
			{ID: "d", Status: verify.StatusError, Message: "cluster injoignable : refused"},
		}},
		{Index: 2, Title: "Vide", Results: []verify.Result{}},
	}}
	for _, tc := range []struct {
		verbose bool
		want    string
	}{
		{false, `cluster : sandbox (espace de noms klab-jobs)
Étape 1 : Premier Job
  ✓ Le Job « salut » est terminé
  ✗ Trois Pods — 2 Pods trouvés, au moins 3 attendus
  ✗ Le Job « x » réussit — status.succeeded : attendu 1, obtenu 0
  ! d — cluster injoignable : refused
Étape 2 : Vide
  - aucun objectif
1/4 objectifs atteints
`},
		{true, `cluster : sandbox (espace de noms klab-jobs)
Étape 1 : Premier Job
  ✓ Le Job « salut » est terminé
  ✗ Trois Pods — 2 Pods trouvés, au moins 3 attendus
      indice : kubectl get pods
  ✗ Le Job « x » réussit — status.succeeded : attendu 1, obtenu 0
      --- attendu
      +++ obtenu
        status:
      -   succeeded: 1
      +   succeeded: 0
  ! d — cluster injoignable : refused
Étape 2 : Vide
  - aucun objectif
1/4 objectifs atteints
`},
	} {
		var b bytes.Buffer
		printChecklist(&b, assets.Catalog("fr"), rep, tc.verbose)
		got := strings.ReplaceAll(b.String(), "\u00a0", " ")
		if got != tc.want {
			t.Errorf("verbose=%v:\n%s\nwant:\n%s", tc.verbose, got, tc.want)
		}
	}
}

func TestWaitFlag(t *testing.T) {
	var w waitFlag
	for in, want := range map[string]string{"90s": "1m30s", "auto": "auto", "0": "0s"} {
		if err := w.Set(in); err != nil || w.String() != want {
			t.Errorf("Set(%q): %v, String() = %q, want %q", in, err, w.String(), want)
		}
	}
	for _, bad := range []string{"soon", "-5s", ""} {
		if err := w.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}
