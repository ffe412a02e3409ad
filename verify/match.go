package verify

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/klabdev/klab/assets"
)

// matchObject compares the partial object want with got and returns every
// asserted field that does not hold (nil when all hold).
//
// Semantics: maps are subsets; scalars are equal (numbers by value); lists
// of maps that all carry a "type" key (conditions) or a "name" key
// (containers, env) match by that key and "contains"; other lists match
// exactly (same length, elements matched in order).
func matchObject(want map[string]any, got map[string]any, msgs *assets.Messages) []Field {
	if len(want) == 0 {
		return nil
	}
	m := &matcher{msgs: msgs}
	m.value("", want, got, true)
	return m.fields
}

type matcher struct {
	msgs   *assets.Messages
	fields []Field
}

func (m *matcher) miss(path string, want any, got any, present bool) {
	g := m.msgs.T("verify.missing")
	if present {
		g = show(got)
	}
	m.fields = append(m.fields, Field{Path: path, Want: show(want), Got: g})
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (m *matcher) value(path string, want, got any, present bool) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		switch {
		case !present || got == nil:
			g = nil // report each asserted key as missing
		case !ok:
			m.miss(path, want, got, present)
			return
		}
		for _, k := range sortedKeys(w) {
			gv, ok := g[k]
			m.value(join(path, k), w[k], gv, ok)
		}
	case []any:
		g, ok := got.([]any)
		key := listKey(w)
		if key != "" && (ok || !present || got == nil) {
			m.keyedList(path, key, w, g)
			return
		}
		if !present || !ok {
			m.miss(path, want, got, present)
			return
		}
		if len(w) != len(g) {
			m.miss(path, want, got, true)
			return
		}
		for i := range w {
			m.value(fmt.Sprintf("%s[%d]", path, i), w[i], g[i], true)
		}
	case nil:
		if present && got != nil {
			m.miss(path, want, got, true)
		}
	default:
		if !present || !scalarEqual(want, got) {
			m.miss(path, want, got, present)
		}
	}
}

func (m *matcher) keyedList(path, key string, want, got []any) {
	for _, we := range want {
		wm := we.(map[string]any)
		kv := wm[key]
		p := fmt.Sprintf("%s[%s=%s]", path, key, show(kv))
		found := findKeyed(got, key, kv)
		if found == nil {
			m.fields = append(m.fields, Field{Path: p, Want: m.msgs.T("verify.present"), Got: m.msgs.T("verify.missing")})
			continue
		}
		for _, k := range sortedKeys(wm) {
			if k == key {
				continue
			}
			gv, ok := found[k]
			m.value(join(p, k), wm[k], gv, ok)
		}
	}
}

func findKeyed(list []any, key string, val any) map[string]any {
	for _, e := range list {
		if em, ok := e.(map[string]any); ok {
			if ev, ok := em[key]; ok && scalarEqual(val, ev) {
				return em
			}
		}
	}
	return nil
}

// listKey is "type" or "name" when every element is a map carrying it.
func listKey(list []any) string {
	if len(list) == 0 {
		return ""
	}
	for _, key := range []string{"type", "name"} {
		all := true
		for _, e := range list {
			em, ok := e.(map[string]any)
			if !ok {
				all = false
				break
			}
			if _, ok := em[key]; !ok {
				all = false
				break
			}
		}
		if all {
			return key
		}
	}
	return ""
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// number converts any Go numeric value to float64.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func scalarEqual(want, got any) bool {
	if wn, ok := number(want); ok {
		gn, ok := number(got)
		return ok && wn == gn
	}
	switch w := want.(type) {
	case string:
		g, ok := got.(string)
		return ok && w == g
	case bool:
		g, ok := got.(bool)
		return ok && w == g
	}
	return fmt.Sprint(want) == fmt.Sprint(got)
}

// show renders a value for a message: scalars plainly, the rest as flow JSON.
func show(v any) string {
	if n, ok := number(v); ok {
		if n == math.Trunc(n) && math.Abs(n) < 1e15 {
			return strconv.FormatInt(int64(n), 10)
		}
		return strconv.FormatFloat(n, 'g', -1, 64)
	}
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// prune keeps of got only what want asserts, shaped like want (keyed list
// elements in want's order), so a diff shows only asserted keys.
func prune(want, got any) (any, bool) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return got, got != nil
		}
		out := map[string]any{}
		for k, wv := range w {
			if gv, ok := g[k]; ok {
				if pv, ok := prune(wv, gv); ok {
					out[k] = pv
				}
			}
		}
		return out, true
	case []any:
		g, ok := got.([]any)
		if !ok {
			return got, got != nil
		}
		if key := listKey(w); key != "" {
			out := []any{}
			for _, we := range w {
				wm := we.(map[string]any)
				if f := findKeyed(g, key, wm[key]); f != nil {
					pv, _ := prune(wm, f)
					out = append(out, pv)
				}
			}
			return out, true
		}
		if len(w) != len(g) {
			return got, true
		}
		out := make([]any, len(g))
		for i := range g {
			out[i], _ = prune(w[i], g[i])
		}
		return out, true
	}
	return got, true
}

// diff is a unified-style diff of the asserted keys: expected vs actual.
func (v *Verifier) diff(want map[string]any, got map[string]any) string {
	return yamlDiff(want, got, v.msgs.T("verify.diff.want"), v.msgs.T("verify.diff.got"))
}

func yamlDiff(want map[string]any, got map[string]any, wantName, gotName string) string {
	pruned, _ := prune(want, got)
	wy, err1 := yaml.Marshal(normalize(want))
	gy, err2 := yaml.Marshal(pruned)
	if err1 != nil || err2 != nil {
		return ""
	}
	a := strings.Split(strings.TrimRight(string(wy), "\n"), "\n")
	b := strings.Split(strings.TrimRight(string(gy), "\n"), "\n")
	if string(gy) == "{}\n" {
		b = nil
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", wantName, gotName)
	for _, l := range lineDiff(a, b) {
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	return sb.String()
}

// normalize turns whole float64 numbers into int64 so YAML shows 1, not 1.0.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return int64(x)
		}
	}
	return v
}

// lineDiff is an LCS line diff: " " common, "-" only in a, "+" only in b.
func lineDiff(a, b []string) []string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, "  "+a[i])
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, "- "+a[i])
			i++
		default:
			out = append(out, "+ "+b[j])
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, "- "+a[i])
	}
	for ; j < m; j++ {
		out = append(out, "+ "+b[j])
	}
	return out
}
