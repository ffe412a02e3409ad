package lessons

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// shapesRoot holds small scenarios klab wrote in Killercoda's documented
// format, one per shape of real scenarios (see its README.md).
const shapesRoot = "testdata/killercoda-shapes"

// TestKillercodaShapeFixtures loads every scenario of testdata/killercoda-shapes:
// none may have an error or an unknown-key warning, since klab promises that
// Killercoda scenarios work unchanged, and klab lint's discovery finds them all.
func TestKillercodaShapeFixtures(t *testing.T) {
	root := shapesRoot
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() || p == root {
			return nil
		}
		if _, err := os.Stat(filepath.Join(p, IndexFile)); err == nil {
			dirs = append(dirs, p)
			return filepath.SkipDir // a scenario's own folders hold no scenario
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, dir := range dirs {
		name, _ := filepath.Rel(root, dir)
		name = filepath.ToSlash(name)
		names = append(names, name)
		t.Run(name, func(t *testing.T) {
			l, diags, err := Load(dir)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			for _, d := range append(diags, Lint(l)...) {
				if d.Severity == SevError {
					t.Errorf("error diagnostic: %s", d)
				}
				if strings.Contains(d.Message, "unknown key") {
					t.Errorf("a Killercoda key is reported unknown: %s", d)
				}
			}
		})
	}
	want := []string{"commandes", "disposition-ide", "etapes-verifiees", "fichiers-joints", "fin-seule",
		"groupe/lecon-imbriquee", "inacheve", "intro-seule", "solution-deroulante", "surlignage", "titre-seul"}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Fatalf("scenarios under %s: %q, want %q", root, names, want)
	}
	// klab lint's discovery finds every one of them, nested ones included.
	ls, diags, err := Discover(root)
	if err != nil || len(ls) != len(dirs) {
		t.Fatalf("Discover(%s) = %d lessons, err %v, want %d (diags %v)", root, len(ls), err, len(dirs), diagStrings(diags))
	}
}

func TestKillercodaShapes(t *testing.T) {
	root := shapesRoot + "/"
	t.Run("title and backend only", func(t *testing.T) {
		l, _, err := Load(root + "titre-seul")
		if err != nil || len(l.Steps) != 0 || l.Intro != nil || l.Finish != nil || l.ImageID != "ubuntu" {
			t.Fatalf("lesson %+v, err %v", l, err)
		}
		wantDiag(t, Lint(l), "", "the lesson has no steps: nothing to do")
	})
	t.Run("intro only", func(t *testing.T) {
		l, _, err := Load(root + "intro-seule")
		if err != nil || len(l.Steps) != 0 || l.Intro == nil || l.Intro.Background == nil || l.Intro.Foreground == nil {
			t.Fatalf("lesson %+v, err %v", l, err)
		}
		if l.Intro.Background.Path != "arriere-plan.sh" || !strings.Contains(l.Intro.Background.Body, "mkdir -p ~/atelier") {
			t.Errorf("background %+v", l.Intro.Background)
		}
		wantDiag(t, Lint(l), "", "only its intro or finish page")
	})
	t.Run("finish only", func(t *testing.T) {
		l, _, err := Load(root + "fin-seule")
		if err != nil || len(l.Steps) != 0 || l.Intro != nil || l.Finish == nil || !strings.Contains(l.Finish.Markdown, "Bravo") {
			t.Fatalf("lesson %+v, err %v", l, err)
		}
		wantDiag(t, Lint(l), "", "only its intro or finish page")
	})
	t.Run("steps with verify scripts", func(t *testing.T) {
		l, diags, err := Load(root + "etapes-verifiees")
		if err != nil || len(diags) != 0 || len(l.Steps) != 2 || l.Intro == nil || l.Finish == nil {
			t.Fatalf("lesson %+v, diags %v, err %v", l, diagStrings(diags), err)
		}
		for i, s := range l.Steps {
			if s.Verify == nil || len(s.Objectives) != 1 || s.Objectives[0].Script == nil {
				t.Errorf("step %d: verify %+v, objectives %d", i+1, s.Verify, len(s.Objectives))
			}
		}
		// Katacoda's {{execute}} is an exec block.
		if b := l.Steps[0].Blocks; len(b) != 1 || b[0].Kind != BlockExec || b[0].Code != "mkdir -p ~/notes" {
			t.Errorf("step 1 blocks %+v", b)
		}
	})
	t.Run("interface layout", func(t *testing.T) {
		l, diags, err := Load(root + "disposition-ide")
		if err != nil || l.Layout != "ide" || len(diags) != 0 {
			t.Fatalf("layout %q, diags %v, err %v", l.Layout, diagStrings(diags), err)
		}
	})
	t.Run("line highlighting", func(t *testing.T) {
		l, diags, err := Load(root + "surlignage")
		if err != nil || len(diags) != 0 {
			t.Fatalf("diags %v, err %v", diagStrings(diags), err)
		}
		md := l.Steps[0].Markdown
		if strings.Contains(md, "{2,5,6}") || strings.Contains(md, "{2-3}") || !strings.Contains(md, "```yaml\n") || !strings.Contains(md, "```json\n") {
			t.Errorf("highlight spec left in the markdown:\n%s", md)
		}
	})
	t.Run("exec, copy and copy disabled", func(t *testing.T) {
		l, diags, err := Load(root + "commandes")
		if err != nil || len(diags) != 0 {
			t.Fatalf("diags %v, err %v", diagStrings(diags), err)
		}
		s := l.Steps[0]
		var kinds []string
		for _, b := range s.Blocks {
			kinds = append(kinds, string(b.Kind)+":"+b.Code)
		}
		want := []string{"exec:df -h", "copy:hostname\nid -u", "exec:hostname\nid -u"}
		if !slices.Equal(kinds, want) {
			t.Errorf("blocks %q, want %q", kinds, want)
		}
		if strings.Contains(s.Markdown, "{{}}") || !strings.Contains(s.Markdown, "`pas de copie`") {
			t.Errorf("{{}} left in the page:\n%s", s.Markdown)
		}
	})
	t.Run("exec interrupt and open", func(t *testing.T) {
		l, _, err := Load(root + "commandes")
		if err != nil {
			t.Fatal(err)
		}
		s := l.Steps[1]
		var kinds []string
		for _, b := range s.Blocks {
			kinds = append(kinds, fmt.Sprintf("%s:%s:%v", b.Kind, b.Code, b.Interrupt))
		}
		// {{open}} makes no block: klab has no editor, the path shows as code.
		want := []string{"exec:sleep 600:false", "exec:echo arrêté:true"}
		if !slices.Equal(kinds, want) {
			t.Errorf("blocks %q, want %q", kinds, want)
		}
		if strings.Contains(s.Markdown, "{{open}}") || !strings.Contains(s.Markdown, "`/etc/hostname`") {
			t.Errorf("{{open}} left in the page:\n%s", s.Markdown)
		}
	})
	t.Run("unclosed fence and details", func(t *testing.T) {
		l, diags, err := Load(root + "inacheve")
		if err != nil || len(l.Steps) != 2 {
			t.Fatalf("lesson %+v, err %v", l, err)
		}
		wantDiag(t, diags, root+"inacheve/bloc-ouvert.md:3:1: warning:", "code fence is never closed")
		wantDiag(t, diags, root+"inacheve/details-ouvert.md:3:1: warning:", "<details> is never closed with </details>")
	})
}

func TestParseHighlight(t *testing.T) {
	for spec, want := range map[string][]int{"2,5,6": {2, 5, 6}, "6-9": {6, 7, 8, 9}, "3, 1-2": {1, 2, 3}, "x,4": {4}, "9-2": nil} {
		if got := parseHighlight(spec); !slices.Equal(got, want) {
			t.Errorf("parseHighlight(%q) = %v, want %v", spec, got, want)
		}
	}
	l, _, err := LoadFS(mapFS(map[string]string{
		"index.json": `{"title": "x", "details": {"steps": [{"text": "s.md"}]}}`,
		"s.md":       "```yaml{2}\na: 1\nb: 2\n```{{copy}}\n",
	}), ".", "x")
	if err != nil {
		t.Fatal(err)
	}
	if b := l.Steps[0].Blocks[0]; b.Lang != "yaml" || !slices.Equal(b.Highlight, []int{2}) {
		t.Errorf("block lang %q highlight %v", b.Lang, b.Highlight)
	}
}

func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for p, c := range files {
		m[p] = &fstest.MapFile{Data: []byte(c)}
	}
	return m
}

func TestAssetCopies(t *testing.T) {
	l, _, err := Load(shapesRoot + "/fichiers-joints")
	if err != nil {
		t.Fatal(err)
	}
	cps, err := l.AssetCopies()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range cps {
		got[c.Dest] = c.Source + " " + c.Chmod
	}
	for dest, src := range map[string]string{
		"~/reglages.yaml":             "assets/reglages.yaml +w",
		"/opt/atelier/lancer.sh":      "assets/lancer.sh +x",
		"/opt/atelier/lisezmoi.md":    "assets/app1/lisezmoi.md +w",
		"/tout1/lancer.sh":            "assets/lancer.sh ",
		"/tout1/params.json":          "assets/params.json ",
		"/json/params.json":           "assets/params.json ",
		"/tout2/app2/cnf/cnf.yaml":    "assets/app2/cnf/cnf.yaml ",
		"/tout3/app1/images/logo.svg": "assets/app1/images/logo.svg ",
		"/json/app1/config/app.json":  "assets/app1/config/app.json ",
		"/app1/config/app.json":       "assets/app1/config/app.json ",
		"/app1-json1/config/app.json": "assets/app1/config/app.json ",
		"/app1-json2/config/app.json": "assets/app1/config/app.json ",
		"/app2/img/icone.svg":         "assets/app2/img/icone.svg ",
		"/apps1/app1/lisezmoi.md":     "assets/app1/lisezmoi.md ",
		"/apps2/app1/config/app.json": "assets/app1/config/app.json ",
		"/apps2/app2/cnf/cnf.yaml":    "assets/app2/cnf/cnf.yaml ",
	} {
		if got[dest] != src {
			t.Errorf("%s ← %q, want %q", dest, got[dest], src)
		}
	}
	if _, ok := got["/tout1/app1"]; ok {
		t.Error("* copied a folder")
	}
	if _, ok := got["/tout1/app1/lisezmoi.md"]; ok {
		t.Error("* matched below the top folder")
	}

	// ** is zero or more folders: **/*.json matches at the top as well.
	l2, diags, err := LoadFS(mapFS(map[string]string{
		"index.json":        `{"title": "x", "details": {"assets": {"host01": [{"file": "**/*.json", "target": "/j"}]}}}`,
		"assets/top.json":   "{}",
		"assets/a/b/c.json": "{}",
		"assets/a/b/c.yaml": "",
	}), ".", "x")
	if err != nil {
		t.Fatalf("%v %v", err, diagStrings(diags))
	}
	cps, err = l2.AssetCopies()
	if err != nil {
		t.Fatal(err)
	}
	var dests []string
	for _, c := range cps {
		dests = append(dests, c.Dest)
	}
	if want := []string{"/j/a/b/c.json", "/j/top.json"}; !slices.Equal(dests, want) {
		t.Errorf("**/*.json → %v, want %v", dests, want)
	}
	_, diags, _ = LoadFS(mapFS(map[string]string{
		"index.json":  "{\"title\": \"x\", \"details\": {\"assets\": {\"host01\": [\n{\"file\": \"**/*.txt\", \"target\": \"/j\"}]}}}",
		"assets/a.md": "",
	}), ".", "x")
	wantDiag(t, diags, "index.json:2:10: error:", `"**/*.txt" matches no file under assets/`)
}
