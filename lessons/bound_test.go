package lessons

import (
	"testing"
	"time"
)

func TestStepBound(t *testing.T) {
	obj := func(d time.Duration) *Objective { return &Objective{ID: "o", Timeout: d} }
	for _, tc := range []struct {
		name string
		step Step
		want time.Duration
	}{
		{"step timeout wins", Step{Timeout: 90 * time.Second, Objectives: []*Objective{obj(200 * time.Second)}}, 90 * time.Second},
		{"largest objective timeout", Step{Objectives: []*Objective{obj(10 * time.Second), obj(40 * time.Second), obj(0)}}, 40 * time.Second},
		{"default", Step{Objectives: []*Objective{obj(0)}}, 120 * time.Second},
	} {
		if got := tc.step.Bound(120 * time.Second); got != tc.want {
			t.Errorf("%s: Bound = %s, want %s", tc.name, got, tc.want)
		}
	}
}
