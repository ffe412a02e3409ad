package verify

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	dynfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/klabdev/klab/lessons"
)

// An untrusted lesson's script objective is not run: it is an error result
// marked Untrusted that says how to trust the lesson; a script's own bound
// comes from the objective (its step's verifyTimeout).
func TestUntrustedAndBoundedScripts(t *testing.T) {
	var bound time.Duration
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds)
	v, err := New(Config{Namespace: "ns", Lang: "fr", Dynamic: dyn, Kube: kubefake.NewClientset(), Mapper: newMapper(),
		TrustHint: "klab trust ./x",
		RunScript: func(ctx context.Context, s *lessons.Script) (string, int, error) {
			if s.Path == "untrusted.sh" {
				return "", 0, fmt.Errorf("gate: %w", ErrUntrusted)
			}
			dl, _ := ctx.Deadline()
			bound = time.Until(dl)
			return "ok\n", 0, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	rs := v.Evaluate(context.Background(), []*lessons.Objective{
		{ID: "a", Script: &lessons.Script{Path: "untrusted.sh"}},
		{ID: "b", Script: &lessons.Script{Path: "ok.sh"}, ScriptTimeout: 3 * time.Second},
	})
	if r := rs[0]; r.Status != StatusError || !r.Untrusted || !strings.Contains(r.Message, "non approuvé") || !strings.Contains(r.Message, "klab trust ./x") {
		t.Fatalf("untrusted result: %+v", r)
	}
	if r := rs[1]; r.Status != StatusPass || r.Untrusted {
		t.Fatalf("trusted result: %+v", r)
	}
	if bound <= 0 || bound > 3*time.Second {
		t.Fatalf("script bound %s, want at most the objective's 3s", bound)
	}
}
