package runner

import (
	"context"
	"sync"
	"testing"
)

// BenchmarkRunTrue is the fixed cost of a block: pty, bash, wait, drain.
func BenchmarkRunTrue(b *testing.B) {
	l := newOfflineLab(b)
	ctx := context.Background()
	for b.Loop() {
		if res, err := l.Run(ctx, "true", nil); err != nil || res.ExitCode != 0 {
			b.Fatalf("%+v %v", res, err)
		}
	}
}

// BenchmarkRunInterrupted is a whole interrupted run: start `sleep 100`,
// cancel once it printed, and wait until its group is gone.
func BenchmarkRunInterrupted(b *testing.B) {
	l := newOfflineLab(b)
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		var once sync.Once
		res, err := l.Run(ctx, "echo go; sleep 100", func([]byte) { once.Do(cancel) })
		cancel()
		if err != nil || !res.Interrupted {
			b.Fatalf("%+v %v", res, err)
		}
	}
}
