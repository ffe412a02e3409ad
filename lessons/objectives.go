package lessons

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/klabdev/klab/assets"
)

var (
	objectiveKeys = keySet("id", "title", "target", "count", "absent", "match", "expect", "hint", "timeout", "preCheck", "script", "history")
	stageKeys     = keySet("seen", "gone", "changed")
	seenKeys      = keySet("match", "expect")
	targetKeys    = keySet("kind", "apiVersion", "name", "selector", "namespace")
	countKeys     = keySet("min", "max")
	expectKeys    = keySet("cel", "msg")
	yamlLine      = regexp.MustCompile(`line (\d+)`)
)

// yamlCtx locates problems inside one objectives file.
type yamlCtx struct {
	ld   *loader
	file string
}

func (c yamlCtx) errorf(n *yaml.Node, format string, args ...any) {
	c.ld.add(SevError, c.file, n.Line, n.Column, fmt.Sprintf(format, args...))
}

func (c yamlCtx) warnf(n *yaml.Node, format string, args ...any) {
	c.ld.add(SevWarning, c.file, n.Line, n.Column, fmt.Sprintf(format, args...))
}

func yamlKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "null"
	}
	return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
}

// pairs iterates a mapping's keys, warning about unknown and duplicate keys.
func (c yamlCtx) pairs(n *yaml.Node, where string, known map[string]bool) [][2]*yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		c.errorf(n, "%s must be a mapping, not %s", where, yamlKind(n))
		return nil
	}
	var out [][2]*yaml.Node
	seen := map[string]bool{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if k.Tag == "!!merge" || (k.Value == "<<" && k.Style == 0) {
			merges = append(merges, v) // applied after the explicit keys, which win
			continue
		}
		if seen[k.Value] {
			c.errorf(k, "duplicate key %q in %s", k.Value, where)
			continue
		}
		seen[k.Value] = true
		if known != nil && !known[k.Value] {
			c.warnf(k, "unknown key %q in %s (ignored)", k.Value, where)
			continue
		}
		out = append(out, [2]*yaml.Node{k, v})
	}
	for _, m := range merges {
		srcs := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode { // <<: [*a, *b]
			srcs = m.Content
		}
		for _, src := range srcs {
			if src.Kind == yaml.AliasNode && src.Alias != nil {
				src = src.Alias
			}
			if src.Kind != yaml.MappingNode || src == n {
				c.errorf(src, "%s: << must merge a mapping", where)
				continue
			}
			for _, kv := range c.pairs(src, where, known) {
				if !seen[kv[0].Value] {
					seen[kv[0].Value] = true
					out = append(out, kv)
				}
			}
		}
	}
	return out
}

func (c yamlCtx) str(n *yaml.Node, where string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		c.errorf(n, "%s must be a string, not %s", where, yamlKind(n))
		return "", false
	}
	return n.Value, true
}

// parseObjectives reads an objectives file (file is lesson-relative).
func (ld *loader) parseObjectives(file string, data []byte) []*Objective {
	c := yamlCtx{ld: ld, file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(stripBOM(data), &doc); err != nil {
		line := 0
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		if g := yamlLine.FindStringSubmatchIndex(msg); g != nil {
			line, _ = strconv.Atoi(msg[g[2]:g[3]])
			if g[0] == 0 {
				msg = strings.TrimPrefix(msg[g[1]:], ": ")
			}
		}
		ld.add(SevError, file, line, 0, "invalid YAML: "+msg)
		return nil
	}
	if len(doc.Content) == 0 {
		ld.add(SevWarning, file, 0, 0, "objectives file is empty")
		return nil
	}
	root := doc.Content[0]
	list := root
	if root.Kind == yaml.MappingNode {
		list = nil
		for _, kv := range c.pairs(root, "the objectives file", nil) {
			switch {
			case kv[0].Value == "objectives":
				list = kv[1]
			case kv[1].Anchor == "": // keys holding an &anchor are definitions for aliases
				c.warnf(kv[0], "unknown key %q in the objectives file (ignored)", kv[0].Value)
			}
		}
		if list == nil {
			c.errorf(root, "the objectives file has no objectives: list")
			return nil
		}
	}
	if list.Kind != yaml.SequenceNode {
		if list.Tag != "!!null" {
			c.errorf(list, "objectives must be a list, not %s", yamlKind(list))
		}
		return nil
	}
	var out []*Objective
	for i, item := range list.Content {
		if o := c.objective(item, i+1); o != nil {
			out = append(out, o)
		}
	}
	return out
}

func (c yamlCtx) objective(n *yaml.Node, num int) *Objective {
	where := fmt.Sprintf("objective %d", num)
	o := &Objective{File: c.file, Line: n.Line}
	var idNode, targetNode, countNode, matchNode, expectNode, absentNode, historyNode *yaml.Node
	ps := c.pairs(n, where, objectiveKeys)
	if ps == nil {
		return nil
	}
	for _, kv := range ps {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "id":
			idNode = k
			o.ID, _ = c.str(v, where+".id")
			if o.ID != "" {
				where = fmt.Sprintf("objective %q", o.ID)
			}
		case "title":
			o.Title, _ = c.str(v, where+".title")
		case "hint":
			o.Hint, _ = c.str(v, where+".hint")
		case "target":
			targetNode = v
			o.Target = c.target(v, where+".target")
		case "count":
			countNode = v
			o.Count = c.count(v, where+".count")
		case "absent":
			absentNode = v
			if err := v.Decode(&o.Absent); err != nil || v.Kind != yaml.ScalarNode {
				c.errorf(v, "%s.absent must be true or false", where)
			}
		case "match":
			matchNode = v
			if v.Kind != yaml.MappingNode {
				c.errorf(v, "%s.match must be a mapping (a partial object), not %s", where, yamlKind(v))
				break
			}
			if err := v.Decode(&o.Match); err != nil {
				c.errorf(v, "%s.match: %v", where, err)
			}
		case "expect":
			expectNode = v
			o.Expect = c.expect(v, where+".expect")
		case "timeout":
			s, ok := c.str(v, where+".timeout")
			if !ok {
				break
			}
			d, err := time.ParseDuration(s)
			switch {
			case err != nil:
				c.errorf(v, "%s.timeout %q is not a duration (e.g. \"90s\", \"2m\")", where, s)
			case d <= 0:
				c.errorf(v, "%s.timeout %q must be positive", where, s)
			default:
				o.Timeout = d
			}
		case "preCheck":
			s, ok := c.str(v, where+".preCheck")
			if ok && s != "" && s != "skip" {
				c.errorf(v, "%s.preCheck must be \"skip\" or empty, not %q", where, s)
			} else {
				o.PreCheck = s
			}
		case "script":
			s, ok := c.str(v, where+".script")
			if !ok {
				break
			}
			o.Script = c.script(v, where, s)
		case "history":
			historyNode = v
			o.History = c.history(v, where+".history")
		}
	}
	// Cross-field rules.
	switch {
	case idNode == nil:
		c.errorf(n, "%s has no id", where)
	case strings.TrimSpace(o.ID) == "":
		c.errorf(idNode, "%s has an empty id", where)
	}
	if o.Title == "" {
		c.warnf(n, "%s has no title: the checklist will show its id", where)
	}
	hasScript := o.Script != nil
	switch {
	case targetNode == nil && !hasScript:
		c.errorf(n, "%s needs a target (an object to check) or a script", where)
	case targetNode != nil && hasScript:
		c.errorf(targetNode, "%s has both a target and a script: choose one", where)
	}
	if historyNode != nil && (hasScript || o.Target != nil && o.Target.Name == "") {
		c.errorf(historyNode, "%s.history follows one object: it needs a target with a name", where)
	}
	if hasScript {
		for _, x := range []*yaml.Node{countNode, matchNode, expectNode, absentNode} {
			if x != nil {
				c.errorf(x, "%s is a script objective: count, absent, match and expect need a target", where)
				break
			}
		}
	}
	if o.Count != nil && o.Target != nil && len(o.Target.Selector) == 0 {
		c.errorf(countNode, "%s.count needs target.selector (a named object is one object)", where)
	}
	if o.Absent && (matchNode != nil || expectNode != nil) {
		c.errorf(absentNode, "%s is absent: match and expect cannot apply to an object that must not exist", where)
	}
	return o
}

func (c yamlCtx) target(n *yaml.Node, where string) *Target {
	ps := c.pairs(n, where, targetKeys)
	if ps == nil {
		return nil
	}
	t := &Target{}
	var selNode *yaml.Node
	for _, kv := range ps {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "kind":
			t.Kind, _ = c.str(v, where+".kind")
		case "apiVersion":
			t.APIVersion, _ = c.str(v, where+".apiVersion")
		case "name":
			t.Name, _ = c.str(v, where+".name")
		case "namespace":
			t.Namespace, _ = c.str(v, where+".namespace")
		case "selector":
			selNode = v
			t.Selector = map[string]string{}
			for _, skv := range c.pairs(v, where+".selector", nil) {
				sv, ok := c.str(skv[1], where+".selector."+skv[0].Value)
				if !ok {
					continue
				}
				if skv[0].Value == "" {
					c.errorf(skv[0], "%s.selector has an empty label key", where)
					continue
				}
				t.Selector[skv[0].Value] = sv
			}
			if v.Kind == yaml.MappingNode && len(v.Content) == 0 {
				c.errorf(v, "%s.selector is empty: it would match every %s", where, orWord(t.Kind, "object"))
			}
		}
	}
	if strings.TrimSpace(t.Kind) == "" {
		c.errorf(n, "%s has no kind", where)
	}
	switch {
	case t.Name != "" && selNode != nil:
		c.errorf(selNode, "%s has both name and selector: choose one", where)
	case t.Name == "" && selNode == nil:
		c.errorf(n, "%s needs a name or a selector", where)
	}
	return t
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (c yamlCtx) count(n *yaml.Node, where string) *Count {
	ps := c.pairs(n, where, countKeys)
	if ps == nil {
		return nil
	}
	cnt := &Count{}
	for _, kv := range ps {
		k, v := kv[0], kv[1]
		var x int
		if v.Kind != yaml.ScalarNode || v.Decode(&x) != nil || x < 0 {
			c.errorf(v, "%s.%s must be a whole number >= 0", where, k.Value)
			continue
		}
		if k.Value == "min" {
			cnt.Min = &x
		} else {
			cnt.Max = &x
		}
	}
	if cnt.Min != nil && cnt.Max != nil && *cnt.Min > *cnt.Max {
		c.errorf(n, "%s: min %d is greater than max %d", where, *cnt.Min, *cnt.Max)
	}
	return cnt
}

func (c yamlCtx) expect(n *yaml.Node, where string) []Expect {
	if n.Kind != yaml.SequenceNode {
		c.errorf(n, "%s must be a list of {cel, msg}, not %s", where, yamlKind(n))
		return nil
	}
	var out []Expect
	for i, item := range n.Content {
		w := fmt.Sprintf("%s[%d]", where, i)
		e := Expect{Line: item.Line}
		if item.Kind == yaml.ScalarNode { // shorthand: - "cel expression"
			e.CEL = item.Value
		} else {
			for _, kv := range c.pairs(item, w, expectKeys) {
				switch kv[0].Value {
				case "cel":
					e.CEL, _ = c.str(kv[1], w+".cel")
					e.Line = kv[1].Line
				case "msg":
					e.Msg, _ = c.str(kv[1], w+".msg")
				}
			}
		}
		if strings.TrimSpace(e.CEL) == "" {
			c.errorf(item, "%s has no cel expression", w)
			continue
		}
		out = append(out, e)
	}
	return out
}

// history reads an objective's history: a list of stages, each one of seen: {match, expect},
// gone: true or changed: FIELD.PATH.
func (c yamlCtx) history(n *yaml.Node, where string) []Stage {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		c.errorf(n, "%s must be a non-empty list of stages (seen, gone or changed), not %s", where, yamlKind(n))
		return nil
	}
	var out []Stage
	for i, item := range n.Content {
		w := fmt.Sprintf("%s[%d]", where, i)
		ps := c.pairs(item, w, stageKeys)
		if len(ps) != 1 {
			if ps != nil || item.Kind == yaml.MappingNode {
				c.errorf(item, "%s must have exactly one of seen, gone or changed", w)
			}
			continue
		}
		k, v := ps[0][0], ps[0][1]
		st := Stage{Line: item.Line}
		switch k.Value {
		case "seen":
			st.Seen = c.seen(v, w+".seen")
			if st.Seen == nil {
				continue
			}
		case "gone":
			if err := v.Decode(&st.Gone); err != nil || v.Kind != yaml.ScalarNode || !st.Gone {
				c.errorf(v, "%s.gone must be true", w)
				continue
			}
		case "changed":
			s, ok := c.str(v, w+".changed")
			if !ok {
				continue
			}
			if !fieldPath.MatchString(s) {
				c.errorf(v, "%s.changed %q is not a field path such as spec.parallelism", w, s)
				continue
			}
			st.Changed = s
		}
		out = append(out, st)
	}
	return out
}

// fieldPath is a dotted path of field names (no list indexes, no keys holding dots).
var fieldPath = regexp.MustCompile(`^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$`)

func (c yamlCtx) seen(n *yaml.Node, where string) *Seen {
	ps := c.pairs(n, where, seenKeys)
	if ps == nil && n.Kind != yaml.MappingNode {
		return nil
	}
	s := &Seen{}
	for _, kv := range ps {
		switch v := kv[1]; kv[0].Value {
		case "match":
			if v.Kind != yaml.MappingNode {
				c.errorf(v, "%s.match must be a mapping (a partial object), not %s", where, yamlKind(v))
				continue
			}
			if err := v.Decode(&s.Match); err != nil {
				c.errorf(v, "%s.match: %v", where, err)
			}
		case "expect":
			s.Expect = c.expect(v, where+".expect")
		}
	}
	if len(s.Match) == 0 && len(s.Expect) == 0 {
		c.errorf(n, "%s needs a match or an expect", where)
		return nil
	}
	return s
}

// script reads a script objective's file, relative to the objectives file.
func (c yamlCtx) script(n *yaml.Node, where, p string) *Script {
	if strings.HasPrefix(p, "/") {
		c.errorf(n, "%s.script: absolute path %q: paths must be relative", where, p)
		return nil
	}
	rel, err := cleanRel(path.Join(path.Dir(c.file), p))
	if err != nil {
		c.errorf(n, "%s.script %q leaves the lesson folder", where, p)
		return nil
	}
	body, err := c.ld.readRel(rel)
	if err != nil {
		c.errorf(n, "%s.script: %v", where, err)
		return &Script{Path: rel}
	}
	return &Script{Path: rel, Body: string(body)}
}

// VerifyObjectiveID is the id of the objective made from a step's Killercoda verify script.
const VerifyObjectiveID = "verify"

// addVerifyObjective turns the step's Killercoda verify script into a script
// objective, then checks that objective ids are unique in the step.
func (ld *loader) addVerifyObjective(st *Step, line int) {
	st.Objectives = append(st.Objectives, &Objective{
		ID:     VerifyObjectiveID,
		Title:  assets.Catalog(ld.lang).T("lessons.verify.title"),
		Script: st.Verify,
		File:   IndexFile,
		Line:   line,
	})
}

// checkObjectiveIDs reports ids used twice in one step.
func (ld *loader) checkObjectiveIDs(st *Step) {
	seen := map[string]*Objective{}
	for _, o := range st.Objectives {
		if o.ID == "" {
			continue
		}
		if first, dup := seen[o.ID]; dup {
			ld.add(SevError, o.File, o.Line, 0, fmt.Sprintf("objective id %q is used twice in step %d (first at %s:%d)", o.ID, st.Index, ld.display(first.File), first.Line))
			continue
		}
		seen[o.ID] = o
	}
}
