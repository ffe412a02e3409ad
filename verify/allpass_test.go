package verify

import (
	"testing"

	"github.com/klabdev/klab/lessons"
)

// TestAllPass pins the one definition of "all objectives pass" that the TUI,
// `klab check` and `klab validate` share.
func TestAllPass(t *testing.T) {
	a, b := &lessons.Objective{ID: "a"}, &lessons.Objective{ID: "b"}
	pass := func(id string) Result { return Result{ID: id, Status: StatusPass} }
	tests := []struct {
		name string
		objs []*lessons.Objective
		rs   []Result
		want bool
	}{
		{"no objectives pass at once", nil, nil, true},
		{"no objectives, an empty list", []*lessons.Objective{}, []Result{}, true},
		{"no result yet", []*lessons.Objective{a}, nil, false},
		{"all pass", []*lessons.Objective{a, b}, []Result{pass("a"), pass("b")}, true},
		{"one fails", []*lessons.Objective{a, b}, []Result{pass("a"), {ID: "b", Status: StatusFail}}, false},
		{"error is not a pass", []*lessons.Objective{a}, []Result{{ID: "a", Status: StatusError}}, false},
		{"pending is not a pass", []*lessons.Objective{a}, []Result{{ID: "a", Status: StatusPending}}, false},
		{"partial list", []*lessons.Objective{a, b}, []Result{pass("a")}, false},
		{"results of other objectives", []*lessons.Objective{a, b}, []Result{pass("a"), pass("c")}, false},
		{"more results than objectives", []*lessons.Objective{a}, []Result{pass("a"), pass("b")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AllPass(tt.objs, tt.rs); got != tt.want {
				t.Fatalf("AllPass = %v, want %v", got, tt.want)
			}
		})
	}
}
