package verify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/klabdev/klab/lessons"
)

// TestBadObjectivesAreErrors: malformed objectives give error results with a
// reason, never a panic, in Evaluate and in Watch.
func TestBadObjectivesAreErrors(t *testing.T) {
	v := newFakeVerifier(t, "en", loadObjects(t, "testdata/cluster.yaml")...)
	objs := []*lessons.Objective{
		nil,
		{ID: "no-kind", Target: &lessons.Target{Name: "hello"}},
		{ID: "bad-version", Target: &lessons.Target{Kind: "Job", APIVersion: "batch/v9", Name: "hello"}},
		{ID: "empty-script", Script: &lessons.Script{}},
		{ID: "bad-apiversion", Target: &lessons.Target{Kind: "Job", APIVersion: "a/b/c", Name: "hello"}},
	}
	want := []string{
		"objective has neither a target nor a script",
		"the objective's target has no kind",
		"kind “batch/v9 Job” unknown to the cluster",
		"objective has neither a target nor a script",
		"",
	}
	check := func(rs []Result) {
		t.Helper()
		for i, r := range rs {
			if r.Status != StatusError || (want[i] != "" && r.Message != want[i]) {
				t.Errorf("objective %d: %s %q, want error %q", i, r.Status, r.Message, want[i])
			}
		}
	}
	check(v.Evaluate(context.Background(), objs))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	check(<-v.Watch(ctx, objs))
}

func TestErrorReasons(t *testing.T) {
	v := newFakeVerifier(t, "en")
	tgt := &lessons.Target{Kind: "Job", Name: "x"}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("get: %w", context.DeadlineExceeded), "timed out: get: context deadline exceeded"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, "cluster unreachable: dial tcp: connection refused"},
		{apierrors.NewUnauthorized("token expired"), "credentials rejected by the cluster: token expired"},
		{errors.New("boom"), "error: boom"},
	} {
		var r Result
		v.setError(&r, tgt, tc.err)
		if r.Status != StatusError || r.Message != tc.want {
			t.Errorf("%v: %s %q, want %q", tc.err, r.Status, r.Message, tc.want)
		}
	}
}
