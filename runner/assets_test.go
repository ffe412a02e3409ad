package runner

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klabdev/klab/lessons"
)

func TestApplyChmod(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want fs.FileMode
	}{{"+x", 0o755}, {"+w", 0o666}, {"0600", 0o600}, {"755", 0o755}, {"u+x,go-r", 0o700}, {"a=r", 0o444}} {
		got, err := applyChmod(0o644, tc.spec)
		if err != nil || got != tc.want {
			t.Errorf("applyChmod(0644, %q) = %o, %v; want %o", tc.spec, got, err, tc.want)
		}
	}
	if _, err := applyChmod(0o644, "rwx"); err == nil {
		t.Error("a bad chmod was accepted")
	}
}

func TestInstallAssets(t *testing.T) {
	les, _, err := lessons.Load("../lessons/testdata/killercoda-shapes/fichiers-joints")
	if err != nil {
		t.Fatal(err)
	}
	l := newOfflineLab(t)
	if err := l.InstallAssets(les); err != nil {
		t.Fatal(err)
	}
	for rel, mode := range map[string]fs.FileMode{
		"reglages.yaml":                        0o666,
		RootDir + "/opt/atelier/lancer.sh":     0o755,
		RootDir + "/opt/atelier/reglages.yaml": 0o666,
		RootDir + "/json/app1/config/app.json": 0o644,
		RootDir + "/json/params.json":          0o644,
		RootDir + "/apps2/app2/cnf/cnf.yaml":   0o644,
	} {
		st, err := os.Stat(filepath.Join(l.Workspace, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s: mode %o, want %o", rel, st.Mode().Perm(), mode)
		}
	}
	// Scripts and blocks see the files where the scenario puts them; other
	// absolute paths are left alone.
	res, err := l.Run(t.Context(), "/opt/atelier/lancer.sh && cat ~/reglages.yaml | head -1 && cd /opt/atelier && ls && echo /tmp/x /opt/atelierx", nil)
	if err != nil {
		t.Fatal(err)
	}
	out := Plain(res.Output)
	for _, want := range []string{"ville: Lyon", "version: 3\n", "lancer.sh", "/tmp/x /opt/atelierx"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if res.ExitCode != 0 {
		t.Errorf("exit %d:\n%s", res.ExitCode, out)
	}
	// Nothing landed outside the lab folder.
	if _, err := os.Stat("/opt/atelier"); err == nil {
		t.Error("an asset was written to /opt/atelier on the host")
	}
	if got := l.MapPaths(`cat '/opt/atelier/reglages.yaml' "/root/reglages.yaml"`); got != `cat '`+l.Root()+`/opt/atelier/reglages.yaml' "`+l.Workspace+`/reglages.yaml"` {
		t.Errorf("MapPaths: %s", got)
	}
}

func TestBackgroundStatusAndWait(t *testing.T) {
	l := newOfflineLab(t)
	ctx := t.Context()
	if err := l.StartBackground(ctx, &lessons.Script{Path: "setup.sh", Body: "echo preparing; sleep 0.5; echo broken >&2; exit 3"}); err != nil {
		t.Fatal(err)
	}
	if p := l.Preparing(); len(p) != 1 || p[0].Script != "setup.sh" || !p[0].Running {
		t.Fatalf("preparing %+v", p)
	}
	st, err := l.WaitBackground(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0].Running || st[0].ExitCode != 3 || !st[0].Failed() || st[0].Took < 400*time.Millisecond {
		t.Fatalf("status %+v", st)
	}
	if tail := LogTail(st[0].Log, 5); tail != "preparing\nbroken" {
		t.Errorf("log tail %q", tail)
	}
	if len(l.Preparing()) != 0 {
		t.Error("still preparing after the script ended")
	}
	// A bound that runs out says which script still runs.
	if err := l.StartBackground(ctx, &lessons.Script{Path: "slow.sh", Body: "sleep 5"}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := l.WaitBackground(short); err == nil || !strings.Contains(err.Error(), "slow.sh still running") {
		t.Fatalf("err %v", err)
	}
}
