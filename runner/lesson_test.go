package runner

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/klabdev/klab/lessons"
)

// watchBlock matches blocks that stream until interrupted (kubectl ... -w).
var watchBlock = regexp.MustCompile(`(?m)\s(-w|--watch)(\s|$)`)

// brokenEnv matches output that says the lab environment, not the lesson,
// is wrong: a missing command or a cluster that cannot be reached.
var brokenEnv = regexp.MustCompile(`command not found|No such file|Unable to connect|connection refused|unknown flag|the server could not find`)

// TestLessonBlocksRunUnchanged runs every exec block of the shipped lesson,
// in order and as written, the way the TUI does: a block marked interrupt
// first interrupts what still runs (the -w blocks before it). It runs on the
// sandbox and on a stand-in microk8s, each in its own lab namespace.
func TestLessonBlocksRunUnchanged(t *testing.T) {
	needCluster(t)
	lesson, _, err := lessons.Resolve("jobs-cronjobs")
	if lesson == nil {
		t.Fatalf("load the shipped lesson: %v", err)
	}
	for _, flavour := range []string{"sandbox", "microk8s"} {
		t.Run(flavour, func(t *testing.T) {
			var c *Cluster
			if flavour == "microk8s" {
				fakeMicrok8s(t, true)
				if c, err = Select(context.Background(), selectOpts(t, &bytes.Buffer{})); err != nil || c.Kind != KindMicrok8s {
					t.Fatalf("select %+v %v", c, err)
				}
			} else {
				c = sandboxCluster(kubectlArgv())
			}
			l := newSandboxLab(t, c, lesson.ID, LabOptions{StateDir: t.TempDir(), Namespace: "klab-lesson-" + flavour})
			runLessonBlocks(t, l, lesson)
		})
	}
}

func runLessonBlocks(t *testing.T, l *Lab, lesson *lessons.Lesson) {
	type running struct {
		block *lessons.Block
		done  chan Result
	}
	var watch *running
	ran := 0
	for _, step := range lesson.Steps {
		for _, b := range step.Blocks {
			if b.Kind != lessons.BlockExec {
				continue
			}
			where := b.File + ":" + strconv.Itoa(b.Line)
			if b.Interrupt && watch != nil {
				if err := l.Interrupt(context.Background()); err != nil {
					t.Fatal(err)
				}
				res := <-watch.done
				if !res.Interrupted {
					t.Errorf("%s:%d: watch ended on its own with %d:\n%s", watch.block.File, watch.block.Line, res.ExitCode, res.Output)
				}
				t.Logf("%s:%d: watch interrupted, exit %d", watch.block.File, watch.block.Line, res.ExitCode)
				if brokenEnv.MatchString(res.Output) {
					t.Errorf("%s:%d: %s", watch.block.File, watch.block.Line, res.Output)
				}
				watch = nil
			}
			ran++
			r := &running{block: b, done: make(chan Result, 1)}
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				defer cancel()
				res, err := l.Run(ctx, b.Code, nil)
				if err != nil {
					t.Errorf("%s: %v", where, err)
				}
				r.done <- res
			}()
			if watchBlock.MatchString(b.Code) {
				watch = r
				// Let it stream a while, as a learner would watch.
				time.Sleep(5 * time.Second)
				continue
			}
			res := <-r.done
			t.Logf("%s: exit %d in %v", where, res.ExitCode, res.Duration.Round(time.Millisecond))
			if res.Interrupted || brokenEnv.MatchString(res.Output) || res.ExitCode == 127 {
				t.Errorf("%s: exit %d:\n%s", where, res.ExitCode, res.Output)
			}
			if step.Index == 1 && res.ExitCode != 0 {
				t.Errorf("%s: exit %d:\n%s", where, res.ExitCode, res.Output)
			}
		}
		if watch != nil {
			_ = l.Interrupt(context.Background())
			<-watch.done
			watch = nil
		}
	}
	if ran < 10 {
		t.Fatalf("ran %d exec blocks only", ran)
	}
}
