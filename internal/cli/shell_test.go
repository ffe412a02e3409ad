package cli

import "testing"

func TestShellErrors(t *testing.T) {
	kc := offlineKubeconfig(t)
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown lesson", []string{"shell", "no-such-lesson"}, ExitUsage, `no lesson "no-such-lesson"`},
		{"two lessons", []string{"shell", "a", "b"}, ExitUsage, "accepts at most 1 arg"},
		{"explicit cluster away", []string{"shell", "--kubeconfig", kc, "jobs-cronjobs"}, ExitFailed, "does not answer"},
		{"bad kubectl", []string{"shell", "--kubectl", "no-such-kubectl-klab", "jobs-cronjobs"}, ExitFailed, "no-such-kubectl-klab"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantExit(t, tc.args, tc.code, tc.msg) })
	}
}
