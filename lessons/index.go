package lessons

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// IndexFile is the lesson descriptor, in Killercoda layout.
const IndexFile = "index.json"

// Known index.json keys. Keys Killercoda or Katacoda understand but klab does
// not use are known too (no warning); anything else is an unknown key.
var (
	topKeys = keySet("title", "description", "details", "backend", "lang", "id",
		// Killercoda/Katacoda keys klab ignores.
		"interface", "environment", "difficulty", "time", "icon", "private", "type",
		"pathwayId", "pathwayTitle")
	detailsKeys = keySet("intro", "steps", "finish", "assets")
	pageKeys    = keySet("title", "text", "background", "foreground", "courseData", "code")
	stepKeys    = keySet("title", "text", "background", "foreground", "courseData", "code",
		"verify", "objectives", "solution", "timeout", "verifyTimeout")
	backendKeys   = keySet("imageid")
	interfaceKeys = keySet("layout")
	assetKeys     = keySet("file", "target", "chmod")
)

func keySet(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// idPattern is what a lesson id must look like: it becomes part of the lab
// namespace (klab-<id>), a DNS label.
var idPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// jsonCtx locates problems inside index.json.
type jsonCtx struct {
	ld  *loader
	idx *lineIndex
}

func (c jsonCtx) errorAt(off int, format string, args ...any) {
	line, col := c.idx.pos(off)
	c.ld.add(SevError, IndexFile, line, col, fmt.Sprintf(format, args...))
}

func (c jsonCtx) warnAt(off int, format string, args ...any) {
	line, col := c.idx.pos(off)
	c.ld.add(SevWarning, IndexFile, line, col, fmt.Sprintf(format, args...))
}

// object checks that n is an object and warns about keys outside known.
func (c jsonCtx) object(n *jnode, where string, known map[string]bool) bool {
	if n == nil {
		return false
	}
	if n.kind != 'o' {
		c.errorAt(n.off, "%s must be an object, not %s", where, n.kindName())
		return false
	}
	seen := map[string]bool{}
	for _, k := range n.keys {
		if seen[k.name] {
			c.warnAt(k.off, "duplicate key %q in %s: the last one wins", k.name, where)
		}
		seen[k.name] = true
		if known != nil && !known[k.name] {
			c.warnAt(k.off, "unknown key %q in %s (ignored)", k.name, where)
		}
	}
	return true
}

// str returns the string value of key in obj ("" if absent or wrong type).
func (c jsonCtx) str(obj *jnode, key, where string) (string, bool) {
	v := lastValue(obj, key)
	if v == nil || v.kind == 'z' {
		return "", false
	}
	if v.kind != 's' {
		c.errorAt(v.off, "%s.%s must be a string, not %s", where, key, v.kindName())
		return "", false
	}
	return v.str, true
}

// lastValue is the value of the last occurrence of key (JSON's "last wins").
func lastValue(obj *jnode, key string) *jnode {
	if obj == nil || obj.kind != 'o' {
		return nil
	}
	var v *jnode
	for _, k := range obj.keys {
		if k.name == key {
			v = k.val
		}
	}
	return v
}

func lastKeyOff(obj *jnode, key string) int {
	off := obj.off
	for _, k := range obj.keys {
		if k.name == key {
			off = k.off
		}
	}
	return off
}

// parseIndex interprets index.json into l, reporting every problem.
func (ld *loader) parseIndex(l *Lesson, data []byte) {
	data = stripBOM(data)
	idx := newLineIndex(data)
	c := jsonCtx{ld: ld, idx: idx}
	root, err := parseJSONTree(data)
	if err != nil {
		off := len(data)
		var je *jsonError
		if errors.As(err, &je) {
			off = je.off
		}
		c.errorAt(off, "invalid JSON: %v", err)
		return
	}
	if !c.object(root, "index.json", topKeys) {
		return
	}
	if t, ok := c.str(root, "title", "index.json"); ok && strings.TrimSpace(t) != "" {
		l.Title = t
	} else if v := lastValue(root, "title"); v == nil || v.kind == 's' {
		c.errorAt(lastKeyOff(root, "title"), "index.json has no title")
	}
	l.Description, _ = c.str(root, "description", "index.json")
	if id, ok := c.str(root, "id", "index.json"); ok {
		if !idPattern.MatchString(id) || len(id) > 50 {
			c.errorAt(lastKeyOff(root, "id"), "id %q must be a lowercase DNS label (a-z, 0-9, '-', at most 50 characters): it names the lab namespace", id)
		} else {
			l.ID = id
		}
	}
	if lang, ok := c.str(root, "lang", "index.json"); ok {
		switch lang {
		case "fr", "en":
			l.Lang, ld.lang = lang, lang
		default:
			c.warnAt(lastValue(root, "lang").off, "lang %q is not supported (fr, en): klab's interface uses English", lang)
			l.Lang, ld.lang = lang, "en"
		}
	}
	if be := lastValue(root, "backend"); c.object(be, "backend", backendKeys) {
		l.ImageID, _ = c.str(be, "imageid", "backend")
	}
	if iface := lastValue(root, "interface"); c.object(iface, "interface", interfaceKeys) {
		l.Layout, _ = c.str(iface, "layout", "interface")
	}
	det := lastValue(root, "details")
	if det == nil || det.kind == 'z' {
		// Killercoda accepts a scenario with a title and a backend only: an
		// environment with nothing to read. Lint warns (see Lint).
		return
	}
	if !c.object(det, "details", detailsKeys) {
		return
	}
	if n := lastValue(det, "intro"); n != nil && n.kind != 'z' {
		l.Intro = ld.parsePage(c, n, "details.intro", pageKeys, "intro")
	}
	if n := lastValue(det, "finish"); n != nil && n.kind != 'z' {
		l.Finish = ld.parsePage(c, n, "details.finish", pageKeys, "finish")
	}
	steps := lastValue(det, "steps")
	switch {
	case steps == nil || steps.kind == 'z' || (steps.kind == 'a' && len(steps.elems) == 0):
		// An intro-only or finish-only scenario is valid on Killercoda.
	case steps.kind != 'a':
		c.errorAt(steps.off, "details.steps must be an array, not %s", steps.kindName())
	default:
		for i, sn := range steps.elems {
			if st := ld.parseStep(c, sn, i+1); st != nil {
				l.Steps = append(l.Steps, st)
			}
		}
	}
	if a := lastValue(det, "assets"); a != nil && a.kind != 'z' {
		l.Assets = ld.parseAssets(c, a)
	}
}

// parsePage reads title, text and the scripts of an intro, finish or step.
func (ld *loader) parsePage(c jsonCtx, n *jnode, where string, known map[string]bool, label string) *Page {
	if !c.object(n, where, known) {
		return nil
	}
	p := &Page{}
	p.Title, _ = c.str(n, "title", where)
	if text, ok := c.str(n, "text", where); ok {
		if rel, ok := ld.relPath(c, n, "text", where, text); ok {
			p.TextFile = rel
			if body, ok := ld.readAt(c, lastKeyOff(n, "text"), rel, where+".text"); ok {
				ld.parseMarkdown(p, rel, body)
			}
		}
	} else if label != "intro" && label != "finish" {
		c.errorAt(n.off, "%s has no text (a markdown file)", where)
	}
	p.Background = ld.script(c, n, where, "background", "courseData")
	p.Foreground = ld.script(c, n, where, "foreground", "code")
	return p
}

// script reads a script named by key (or its Katacoda alias).
func (ld *loader) script(c jsonCtx, n *jnode, where, key, alias string) *Script {
	v, ok := c.str(n, key, where)
	usedKey := key
	if alias != "" {
		if av, aok := c.str(n, alias, where); aok {
			if ok {
				c.warnAt(lastKeyOff(n, alias), "%s.%s is the Katacoda name of %s and both are set: %s wins", where, alias, key, key)
			} else {
				v, ok, usedKey = av, true, alias
			}
		}
	}
	if !ok {
		return nil
	}
	rel, ok := ld.relPath(c, n, usedKey, where, v)
	if !ok {
		return nil
	}
	body, ok := ld.readAt(c, lastKeyOff(n, usedKey), rel, where+"."+usedKey)
	if !ok {
		return &Script{Path: rel}
	}
	return &Script{Path: rel, Body: string(body)}
}

// relPath checks a path value of key in n.
func (ld *loader) relPath(c jsonCtx, n *jnode, key, where, p string) (string, bool) {
	rel, err := cleanRel(p)
	if err != nil {
		c.errorAt(lastValue(n, key).off, "%s.%s: %v", where, key, err)
		return "", false
	}
	return rel, true
}

// readAt reads rel, reporting a problem at offset off of index.json.
func (ld *loader) readAt(c jsonCtx, off int, rel, what string) ([]byte, bool) {
	b, err := ld.readRel(rel)
	if err != nil {
		c.errorAt(off, "%s: %v", what, err)
		return nil, false
	}
	return b, true
}

func (ld *loader) parseStep(c jsonCtx, n *jnode, index int) *Step {
	where := fmt.Sprintf("details.steps[%d]", index-1)
	page := ld.parsePage(c, n, where, stepKeys, "step")
	if page == nil {
		return nil
	}
	st := &Step{Page: *page, Index: index}
	st.Line = c.idx.line(n.off)
	st.SolutionHint = solutionHint(st.Hints)
	if v, ok := c.str(n, "verify", where); ok {
		if rel, ok := ld.relPath(c, n, "verify", where, v); ok {
			st.Verify = &Script{Path: rel}
			if body, ok := ld.readAt(c, lastKeyOff(n, "verify"), rel, where+".verify"); ok {
				st.Verify.Body = string(body)
			}
		}
	}
	if v, ok := c.str(n, "solution", where); ok {
		if rel, ok := ld.relPath(c, n, "solution", where, v); ok {
			st.Solution = &Script{Path: rel}
			if body, ok := ld.readAt(c, lastKeyOff(n, "solution"), rel, where+".solution"); ok {
				st.Solution.Body = string(body)
			}
		}
	}
	st.Timeout = c.duration(n, "timeout", where)
	st.VerifyTimeout = c.duration(n, "verifyTimeout", where)
	if v, ok := c.str(n, "objectives", where); ok {
		if rel, ok := ld.relPath(c, n, "objectives", where, v); ok {
			st.ObjectivesFile = rel
			if body, ok := ld.readAt(c, lastKeyOff(n, "objectives"), rel, where+".objectives"); ok {
				st.Objectives = append(st.Objectives, ld.parseObjectives(rel, body)...)
			}
		}
	}
	if st.Verify != nil {
		ld.addVerifyObjective(st, c.idx.line(lastKeyOff(n, "verify")))
	}
	for _, o := range st.Objectives {
		if o.Script != nil {
			o.ScriptTimeout = st.VerifyTimeout
		}
	}
	ld.checkObjectiveIDs(st)
	return st
}

// parseAssets flattens details.assets ({host: [{file, target, chmod}]}).
func (ld *loader) parseAssets(c jsonCtx, n *jnode) []Asset {
	if !c.object(n, "details.assets", nil) {
		return nil
	}
	var out []Asset
	for _, host := range n.keys {
		where := "details.assets." + host.name
		if host.val.kind != 'a' {
			c.errorAt(host.val.off, "%s must be an array, not %s", where, host.val.kindName())
			continue
		}
		for i, e := range host.val.elems {
			w := fmt.Sprintf("%s[%d]", where, i)
			if !c.object(e, w, assetKeys) {
				continue
			}
			a := Asset{}
			a.File, _ = c.str(e, "file", w)
			a.Target, _ = c.str(e, "target", w)
			a.Chmod, _ = c.str(e, "chmod", w)
			if a.File == "" {
				c.errorAt(e.off, "%s has no file", w)
				continue
			}
			// Killercoda resolves asset files under the lesson's assets/ folder.
			rel, err := cleanRel(a.File)
			if err == nil {
				rel, err = cleanRel(path.Join("assets", rel))
			}
			if err != nil {
				c.errorAt(lastValue(e, "file").off, "%s.file: %v", w, err)
				continue
			}
			if isGlob(a.File) { // a glob: Killercoda expands it
				matches, gerr := globAssets(ld.fsys, a.File)
				switch {
				case gerr != nil:
					c.errorAt(lastValue(e, "file").off, "%s.file %q: %v", w, a.File, gerr)
				case len(matches) == 0:
					c.errorAt(lastValue(e, "file").off, "%s.file %q matches no file under assets/", w, a.File)
				}
			} else if _, err := ld.readRel(rel); err != nil {
				c.errorAt(lastValue(e, "file").off, "%s.file: %v (asset files live in the lesson's assets/ folder)", w, err)
			}
			out = append(out, a)
		}
	}
	return out
}

// duration reads the positive duration at key ("120s", "2m"); 0 when absent
// or wrong (then an error names it).
func (c jsonCtx) duration(n *jnode, key, where string) time.Duration {
	v, ok := c.str(n, key, where)
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		c.errorAt(lastValue(n, key).off, "%s.%s %q is not a duration (e.g. \"120s\", \"2m\")", where, key, v)
	case d <= 0:
		c.errorAt(lastValue(n, key).off, "%s.%s %q must be positive", where, key, v)
	default:
		return d
	}
	return 0
}
