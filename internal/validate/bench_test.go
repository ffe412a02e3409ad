package validate

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/sandbox/sandboxctl"
)

// BenchmarkLessonPeakRSS validates the shipped lesson on the test sandbox and
// reports the sandbox process's peak RSS (goal: ≤ 350 MB over a whole lesson)
// and the lesson's wall time. Run it alone (`-run '^$'`) so that no earlier
// test has raised the high-water mark.
func BenchmarkLessonPeakRSS(b *testing.B) {
	pid, ok := sandboxctl.Running(cluster.DataDir)
	if !ok {
		b.Fatal("the test sandbox is not running")
	}
	ls, err := lessons.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	var l *lessons.Lesson
	for _, x := range ls {
		if x.ID == "jobs-cronjobs" {
			l = x
		}
	}
	if l == nil {
		b.Fatal("jobs-cronjobs is not embedded")
	}
	var wall time.Duration
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		rep, err := Lesson(ctx, l, Options{Cluster: sandboxCluster(), StateDir: b.TempDir()})
		cancel()
		if err != nil || rep.Status != StatusPass {
			b.Fatalf("validate: %v (status %v)", err, rep)
		}
		wall += rep.Duration
	}
	hwm, err := peakRSS(pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(hwm)/1e6, "peak-RSS-MB")
	b.ReportMetric(wall.Seconds()/float64(b.N), "lesson-s")
}

// peakRSS reads VmHWM (bytes) from /proc/PID/status.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
