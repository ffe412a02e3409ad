package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/klabdev/klab/lessons"
)

// History keeps, for one step, how far each history objective has got: the stages it has seen
// satisfied, in order, while the step was open. Live evaluation (Watch with WithHistory) feeds it
// every version of each target that the watch delivers, deletions included; Evaluate with
// WithHistory reads it. It is small (a few numbers and one field value per objective) and its
// Snapshot is what the TUI persists, so that progress survives a restart. Safe for concurrent use.
type History struct {
	mu       sync.Mutex
	state    map[string]*HistoryState
	onChange func(map[string]HistoryState)
}

// OnChange calls f with a snapshot each time an objective's progress changes (to persist it).
func (h *History) OnChange(f func(map[string]HistoryState)) {
	h.mu.Lock()
	h.onChange = f
	h.mu.Unlock()
}

func (h *History) snapshotLocked() map[string]HistoryState {
	out := map[string]HistoryState{}
	for id, s := range h.state {
		out[id] = *s
	}
	return out
}

// HistoryState is one objective's progress.
type HistoryState struct {
	Stage    int    `json:"stage"`              // stages satisfied so far
	Base     string `json:"base,omitempty"`     // changed: the field's value (JSON) when the stage began
	HaveBase bool   `json:"haveBase,omitempty"` // Base was observed
	Last     string `json:"last,omitempty"`     // resourceVersion of the last observation (each counts once)
}

// NewHistory returns an empty history, or one restored from a Snapshot.
func NewHistory(saved map[string]HistoryState) *History {
	h := &History{state: map[string]*HistoryState{}}
	for id, s := range saved {
		h.state[id] = &s
	}
	return h
}

// Snapshot copies the progress, by objective id.
func (h *History) Snapshot() map[string]HistoryState {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.snapshotLocked()
}

func (h *History) get(id string) HistoryState {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.state[id]; s != nil {
		return *s
	}
	return HistoryState{}
}

// observe feeds one version of o's target (nil u: the object was deleted; rv is then the deletion's
// resourceVersion). It reports whether the objective's progress changed.
func (v *Verifier) observe(h *History, o *lessons.Objective, u *unstructured.Unstructured, rv string) bool {
	if len(o.History) == 0 {
		return false
	}
	h.mu.Lock()
	changed := v.advance(h, o, u, rv)
	f, snap := h.onChange, map[string]HistoryState(nil)
	if changed && f != nil {
		snap = h.snapshotLocked()
	}
	h.mu.Unlock()
	if snap != nil {
		f(snap)
	}
	return changed
}

// advance moves o's progress on with one observation; h.mu is held.
func (v *Verifier) advance(h *History, o *lessons.Objective, u *unstructured.Unstructured, rv string) bool {
	s := h.state[o.ID]
	if s == nil {
		s = &HistoryState{}
		h.state[o.ID] = s
	}
	if rv != "" && rv == s.Last {
		return false
	}
	before := *s
	s.Last = rv
	before.Last = rv // a new version alone is no progress
	for s.Stage < len(o.History) {
		st := o.History[s.Stage]
		switch {
		case st.Gone:
			if u != nil {
				return *s != before
			}
		case u == nil: // a deletion satisfies only a gone stage
			return *s != before
		case st.Seen != nil:
			if !v.seenHolds(st.Seen, u) {
				return *s != before
			}
		default: // changed
			val := fieldValue(u.Object, st.Changed)
			if !s.HaveBase {
				s.Base, s.HaveBase = val, true
				return *s != before
			}
			if val == s.Base {
				return *s != before
			}
		}
		s.Stage++
		s.Base, s.HaveBase = "", false
		if s.Stage < len(o.History) && o.History[s.Stage].Changed != "" && u != nil {
			s.Base, s.HaveBase = fieldValue(u.Object, o.History[s.Stage].Changed), true
			return true
		}
	}
	return *s != before
}

// seenHolds reports whether u is in the stage's state.
func (v *Verifier) seenHolds(s *lessons.Seen, u *unstructured.Unstructured) bool {
	if len(matchObject(s.Match, u.Object, v.msgs)) > 0 {
		return false
	}
	progs, err := v.cel.compileAll(s.Expect)
	if err != nil {
		return false
	}
	b := &bindings{v: v, ctx: context.Background(), object: u.Object}
	for _, p := range progs {
		if ok, _, err := p.eval(context.Background(), b); err != nil || !ok {
			return false
		}
	}
	return true
}

// fieldValue is the JSON of the field at a dotted path ("" when absent).
func fieldValue(obj map[string]any, path string) string {
	var cur any = obj
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		if cur, ok = m[k]; !ok {
			return ""
		}
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return fmt.Sprint(cur)
	}
	return string(b)
}

// historyResult checks o's history: ok when every stage was seen, else the message that says which
// stage is still awaited (and, for a seen stage, which field of the object does not match it).
func (v *Verifier) historyResult(h *History, o *lessons.Objective, current map[string]any) (bool, string, []Field) {
	if len(o.History) == 0 {
		return true, "", nil
	}
	if h == nil {
		return false, v.msgs.T("verify.history.unobserved"), nil
	}
	s := h.get(o.ID)
	if s.Stage >= len(o.History) {
		return true, "", nil
	}
	st := o.History[s.Stage]
	kind, name := o.Target.Kind, o.Target.Name
	switch {
	case st.Gone:
		return false, v.msgs.T("verify.history.notGone", kind, name), nil
	case st.Changed != "":
		if !s.HaveBase {
			return false, v.msgs.T("verify.history.neverSeen", kind, name), nil
		}
		return false, v.msgs.T("verify.history.notChanged", kind, name, st.Changed, s.Base), nil
	}
	var fields []Field
	why := ""
	if current != nil {
		if fields = matchObject(st.Seen.Match, current, v.msgs); len(fields) > 0 {
			why = v.fieldsMsg(fields)
		} else {
			why = v.failingExpect(st.Seen, current)
		}
	}
	switch {
	case why != "":
		return false, v.msgs.T("verify.history.notSeenField", kind, name, why), fields
	case !s.HaveBase && s.Stage == 0 && s.Last == "":
		return false, v.msgs.T("verify.history.neverSeen", kind, name), nil
	}
	return false, v.msgs.T("verify.history.notSeen", kind, name, s.Stage+1), nil
}

// failingExpect is the message of the first of the stage's expressions that is false for obj.
func (v *Verifier) failingExpect(s *lessons.Seen, obj map[string]any) string {
	progs, err := v.cel.compileAll(s.Expect)
	if err != nil {
		return err.Error()
	}
	b := &bindings{v: v, ctx: context.Background(), object: obj}
	for i, p := range progs {
		ok, msg, err := p.eval(context.Background(), b)
		switch {
		case err != nil:
			return err.Error()
		case ok:
			continue
		case msg != "":
			return msg
		case s.Expect[i].Msg != "":
			return s.Expect[i].Msg
		}
		return v.msgs.T("verify.cel.false", s.Expect[i].CEL)
	}
	return ""
}
