package validate

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/runner"
	"github.com/klabdev/klab/sandbox/sandboxtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

var cluster *sandboxtest.Cluster

func TestMain(m *testing.M) { os.Exit(sandboxtest.Main(m, &cluster)) }

func sandboxCluster() *runner.Cluster {
	return &runner.Cluster{Name: "sandbox", Kind: "sandbox", Kubeconfig: cluster.Kubeconfig, Kubectl: []string{cluster.Bin, "kubectl"}}
}

func load(t *testing.T, name string) *lessons.Lesson {
	t.Helper()
	l, diags, err := lessons.Load(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("load %s: %v (%v)", name, err, diags)
	}
	for _, d := range diags {
		if d.Severity == lessons.SevError {
			t.Fatalf("load %s: %s", name, d)
		}
	}
	return l
}

func run(t *testing.T, l *lessons.Lesson, o Options) *LessonReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	o.Cluster = sandboxCluster()
	o.StateDir = t.TempDir()
	rep, err := Lesson(ctx, l, o)
	if err != nil {
		t.Fatalf("validate %s: %v", l.ID, err)
	}
	return rep
}

func messages(rep *LessonReport) string {
	var b strings.Builder
	for _, s := range rep.Steps {
		b.WriteString(strings.Join(s.Messages(), "\n"))
		b.WriteString("\n")
	}
	return b.String()
}

func TestGreenLesson(t *testing.T) {
	rep := run(t, load(t, "green"), Options{})
	if rep.Status != StatusPass || len(rep.Steps) != 2 {
		t.Fatalf("status %s with %d steps; messages:\n%s", rep.Status, len(rep.Steps), messages(rep))
	}
	for _, s := range rep.Steps {
		if s.Status != StatusPass {
			t.Errorf("step %d: %s", s.Index, s.Status)
		}
		if s.Duration <= 0 {
			t.Errorf("step %d: no duration recorded", s.Index)
		}
	}
	// Clean-up removed the namespace (and said nothing went wrong).
	if len(rep.Warnings) > 0 {
		t.Errorf("lesson warnings: %v", rep.Warnings)
	}
	if _, err := cluster.Client.CoreV1().Namespaces().Get(context.Background(), rep.Namespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace %s still there after validate (err %v)", rep.Namespace, err)
	}
	// The watch block of step 2 was interrupted, as a learner would.
	var sawWatch bool
	for _, b := range rep.Steps[1].Blocks {
		if strings.Contains(b.Code, "get jobs -w") {
			sawWatch = b.Interrupted
		}
	}
	if !sawWatch {
		t.Errorf("the watch block was not interrupted: %+v", rep.Steps[1].Blocks)
	}
}

func TestObjectiveThatPassesBeforeTheSolutionFails(t *testing.T) {
	rep := run(t, load(t, "passes-before"), Options{})
	if rep.Status != StatusFail {
		t.Fatalf("status %s, want fail", rep.Status)
	}
	msg := messages(rep)
	if !strings.Contains(msg, `objective "ghost-absent" passes before the solution: it cannot fail`) {
		t.Fatalf("messages do not name the objective that cannot fail:\n%s", msg)
	}
}

func TestSolutionThatDoesNotSatisfyFailsWithTheObjectiveMessage(t *testing.T) {
	start := time.Now()
	rep := run(t, load(t, "unsatisfied"), Options{})
	if rep.Status != StatusFail {
		t.Fatalf("status %s, want fail", rep.Status)
	}
	msg := messages(rep)
	if !strings.Contains(msg, "settings-fast") || !strings.Contains(msg, "data.mode") {
		t.Fatalf("messages do not say which field is wrong:\n%s", msg)
	}
	// The objective's timeout (4s) bounds the wait, not the 120 s default.
	if took := time.Since(start); took > 60*time.Second {
		t.Fatalf("took %s: the objective's timeout was not honoured", took)
	}
	if len(rep.Steps[0].Blocks) != 1 || !strings.Contains(rep.Steps[0].Blocks[0].Code, "mode=slow") {
		t.Fatalf("the solution script's run is not in the report: %+v", rep.Steps[0].Blocks)
	}
}

func TestWatchThenInterruptDoesNotHang(t *testing.T) {
	rep := run(t, load(t, "watch-interrupt"), Options{BlockTimeout: 90 * time.Second})
	if rep.Status != StatusPass {
		t.Fatalf("status %s:\n%s", rep.Status, messages(rep))
	}
	b := rep.Steps[0].Blocks
	if len(b) != 2 || !b[0].Interrupted || b[1].Interrupted {
		t.Fatalf("blocks: %+v", b)
	}
	if b[0].Duration > 30*time.Second {
		t.Fatalf("the watch ran %s before being interrupted", b[0].Duration)
	}
}

func TestStepOptionReplaysEarlierSteps(t *testing.T) {
	rep := run(t, load(t, "green"), Options{Step: 2})
	if rep.Status != StatusPass || len(rep.Steps) != 1 || rep.Steps[0].Index != 2 {
		t.Fatalf("status %s, steps %+v\n%s", rep.Status, rep.Steps, messages(rep))
	}
}

var normalise = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`time="[0-9.]+"`), `time="0.000"`},
	{regexp.MustCompile(`klab-validate-([a-z0-9-]+)-[0-9a-f]{5}`), `klab-validate-$1-xxxxx`},
	{regexp.MustCompile(`\(exit -?\d+[^)]*\)`), `(exit N)`},
}

func TestJUnitGolden(t *testing.T) {
	reports := []*LessonReport{
		run(t, load(t, "green"), Options{}),
		run(t, load(t, "unsatisfied"), Options{}),
	}
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, reports); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	for _, n := range normalise {
		got = n.re.ReplaceAllString(got, n.with)
	}
	golden := filepath.Join("testdata", "junit.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("junit differs from %s:\n%s", golden, got)
	}
}

// TestEmbeddedLessons validates every lesson klab ships, on the sandbox, with
// the same code path as `klab validate --sandbox`: CI fails when a lesson breaks.
func TestEmbeddedLessons(t *testing.T) {
	ls, err := lessons.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) == 0 {
		t.Fatal("no embedded lesson")
	}
	for _, l := range ls {
		t.Run(l.ID, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
			defer cancel()
			rep, err := Lesson(ctx, l, Options{Cluster: sandboxCluster(), StateDir: t.TempDir(),
				Progress: func(e Event) {
					if e.Done {
						t.Logf("step %d %s: %s in %s", e.Step, e.Title, e.Status, e.Took.Round(100*time.Millisecond))
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			WriteText(&buf, []*LessonReport{rep})
			if rep.Status != StatusPass {
				t.Fatalf("lesson %s does not validate:\n%s", l.ID, buf.String())
			}
			t.Logf("validated in %s\n%s", rep.Duration.Round(time.Second), buf.String())
		})
	}
}
