package lessons

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestKillercodaExamples loads scenarios of the official
// killercoda/scenario-examples repository (testdata/killercoda-examples):
// none may have an error, since klab promises they work unchanged.
func TestKillercodaExamples(t *testing.T) {
	root := "testdata/killercoda-examples"
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
	for _, dir := range dirs {
		name, _ := filepath.Rel(root, dir)
		t.Run(filepath.ToSlash(name), func(t *testing.T) {
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
	if len(dirs) < 30 {
		t.Fatalf("only %d example scenarios under %s", len(dirs), root)
	}
	// klab lint's discovery finds every one of them, nested ones included.
	ls, diags, err := Discover(root)
	if err != nil || len(ls) != len(dirs) {
		t.Fatalf("Discover(%s) = %d lessons, err %v, want %d (diags %v)", root, len(ls), err, len(dirs), diagStrings(diags))
	}
}

func TestKillercodaShapes(t *testing.T) {
	root := "testdata/killercoda-examples/"
	t.Run("title and backend only", func(t *testing.T) {
		l, _, err := Load(root + "ubuntu-simple")
		if err != nil || len(l.Steps) != 0 || l.Intro != nil || l.ImageID != "ubuntu" {
			t.Fatalf("lesson %+v, err %v", l, err)
		}
		wantDiag(t, Lint(l), "", "the lesson has no steps: nothing to do")
	})
	t.Run("intro only", func(t *testing.T) {
		l, _, err := Load(root + "foreground-background-scripts")
		if err != nil || len(l.Steps) != 0 || l.Intro == nil || l.Intro.Background == nil || l.Intro.Foreground == nil {
			t.Fatalf("lesson %+v, err %v", l, err)
		}
		wantDiag(t, Lint(l), "", "only its intro or finish page")
	})
	t.Run("interface layout", func(t *testing.T) {
		l, diags, err := Load(root + "theia-ide-visual-editor")
		if err != nil || l.Layout != "ide" || len(diags) != 0 {
			t.Fatalf("layout %q, diags %v, err %v", l.Layout, diagStrings(diags), err)
		}
	})
	t.Run("line highlighting", func(t *testing.T) {
		l, diags, err := Load(root + "code-snippets")
		if err != nil || len(diags) != 0 {
			t.Fatalf("diags %v, err %v", diagStrings(diags), err)
		}
		md := l.Steps[2].Markdown
		if strings.Contains(md, "{2,5,6}") || strings.Contains(md, "{6-9}") || !strings.Contains(md, "```yaml\n") || !strings.Contains(md, "```json\n") {
			t.Errorf("highlight spec left in the markdown:\n%s", md)
		}
	})
	t.Run("copy disabled", func(t *testing.T) {
		l, diags, err := Load(root + "code-actions")
		if err != nil || len(diags) != 0 {
			t.Fatalf("diags %v, err %v", diagStrings(diags), err)
		}
		s := l.Steps[0]
		var kinds []string
		for _, b := range s.Blocks {
			kinds = append(kinds, string(b.Kind)+":"+b.Code)
		}
		want := []string{"exec:ls -lh", "copy:uname -r\npwd", "exec:uname -r\npwd"}
		if !slices.Equal(kinds, want) {
			t.Errorf("blocks %q, want %q", kinds, want)
		}
		if strings.Contains(s.Markdown, "{{}}") || !strings.Contains(s.Markdown, "`copying disabled`") {
			t.Errorf("{{}} left in the page:\n%s", s.Markdown)
		}
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
	l, _, err := Load("testdata/killercoda-examples/upload-assets")
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
		"~/conf.yaml":                    "assets/conf.yaml +w",
		"/my/location/run.sh":            "assets/run.sh +x",
		"/my/location/readme.md":         "assets/app1/readme.md +w",
		"/all1/run.sh":                   "assets/run.sh ",
		"/all2/app2/cnf/cnf.yaml":        "assets/app2/cnf/cnf.yaml ",
		"/all3/app1/images/image2.png":   "assets/app1/images/image2.png ",
		"/all-json/app1/config/app.json": "assets/app1/config/app.json ",
		"/app1/config/app.json":          "assets/app1/config/app.json ",
		"/app1-json1/config/app.json":    "assets/app1/config/app.json ",
		"/app1-json2/config/app.json":    "assets/app1/config/app.json ",
		"/app2/img/img2.png":             "assets/app2/img/img2.png ",
		"/apps1/app1/readme.md":          "assets/app1/readme.md ",
		"/apps2/app1/config/app.json":    "assets/app1/config/app.json ",
		"/apps2/app2/cnf/cnf.yaml":       "assets/app2/cnf/cnf.yaml ",
	} {
		if got[dest] != src {
			t.Errorf("%s ← %q, want %q", dest, got[dest], src)
		}
	}
	if _, ok := got["/all1/app1"]; ok {
		t.Error("* copied a folder")
	}
	if _, ok := got["/all1/app1/readme.md"]; ok {
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
