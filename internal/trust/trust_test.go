package trust

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klabdev/klab/lessons"
)

func writeLesson(t *testing.T, dir, script string) {
	t.Helper()
	files := map[string]string{
		"index.json": `{"title": "T", "details": {"intro": {"text": "intro.md", "background": "setup.sh"},
 "steps": [{"title": "S", "text": "s.md", "verify": "verify.sh"}]}}`,
		"intro.md":  "# Intro\n",
		"s.md":      "Step\n",
		"setup.sh":  script,
		"verify.sh": "exit 0\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func load(t *testing.T, dir string) *lessons.Lesson {
	t.Helper()
	l, _, err := lessons.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestDecide(t *testing.T) {
	dir := t.TempDir()
	writeLesson(t, dir, "touch canary\n")
	store := NewStore(t.TempDir())

	l := load(t, dir)
	r, h, err := Decide(l, store, false)
	if err != nil || r != NotTrusted || h == "" {
		t.Fatalf("fresh lesson: %q %q %v", r, h, err)
	}
	if r, _, _ := Decide(l, store, true); r != ThisRun {
		t.Fatalf("--trust: %q", r)
	}
	if err := store.Add(h, dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	if r, _, _ := Decide(load(t, dir), store, false); r != Remembered {
		t.Fatalf("after trust: %q", r)
	}
	// A changed script asks again.
	writeLesson(t, dir, "touch canary; rm -rf ~\n")
	r, h2, _ := Decide(load(t, dir), store, false)
	if r != NotTrusted || h2 == h {
		t.Fatalf("after an edit: %q (hash changed: %v)", r, h2 != h)
	}
	// Trusting the new content replaces the old entry of that source.
	if err := store.Add(h2, dir, time.Now()); err != nil {
		t.Fatal(err)
	}
	if ok, _ := store.Has(h); ok {
		t.Fatal("the old content is still trusted")
	}
	if n, err := store.Remove(h2, dir); err != nil || n != 1 {
		t.Fatalf("remove: %d %v", n, err)
	}
	if r, _, _ := Decide(load(t, dir), store, false); r != NotTrusted {
		t.Fatalf("after untrust: %q", r)
	}

	emb, err := lessons.Embedded()
	if err != nil || len(emb) == 0 {
		t.Fatalf("embedded: %v", err)
	}
	if r, _, _ := Decide(emb[0], store, false); r != Embedded {
		t.Fatalf("embedded lesson: %q", r)
	}
}

func TestHashDeterministicAndSkipsGit(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	writeLesson(t, a, "echo hi\n")
	writeLesson(t, b, "echo hi\n")
	if err := os.MkdirAll(filepath.Join(b, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b, ".git", "HEAD"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ha, err := Hash(os.DirFS(a))
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := Hash(os.DirFS(b))
	if ha != hb {
		t.Fatalf("same files, different hashes: %s %s", ha, hb)
	}
	// A file moved to another name is another content.
	if err := os.Rename(filepath.Join(b, "s.md"), filepath.Join(b, "t.md")); err != nil {
		t.Fatal(err)
	}
	if hc, _ := Hash(os.DirFS(b)); hc == ha {
		t.Fatal("a renamed file kept the hash")
	}
}

func TestScriptsAndBadStore(t *testing.T) {
	dir := t.TempDir()
	writeLesson(t, dir, "line1\nline2\nline3\n")
	ss := Scripts(load(t, dir))
	if len(ss) != 2 || ss[0].Path != "setup.sh" || ss[0].Role != "background" || ss[1].Role != "verify" {
		t.Fatalf("scripts: %+v", ss)
	}
	if got := ss[0].FirstLines(2); len(got) != 2 || got[1] != "line2" {
		t.Fatalf("first lines: %q", got)
	}
	st := NewStore(t.TempDir())
	if err := os.WriteFile(st.Path, []byte("{bad"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Has("x"); err == nil {
		t.Fatal("a corrupt store must be an error, not an empty one")
	}
}

// Trusting from many processes at once loses no entry (the store is locked).
func TestStoreConcurrentAdds(t *testing.T) {
	st := NewStore(t.TempDir())
	done := make(chan error)
	for i := range 20 {
		go func() { done <- st.Add(fmt.Sprintf("h%d", i), fmt.Sprintf("/src/%d", i), time.Now()) }()
	}
	for range 20 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		if ok, err := st.Has(fmt.Sprintf("h%d", i)); err != nil || !ok {
			t.Fatalf("entry %d lost: %v", i, err)
		}
	}
}
