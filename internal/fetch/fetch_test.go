package fetch

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Source
		err  string
	}{
		{in: "https://example.com/o/r.git", want: Source{Repo: "https://example.com/o/r.git"}},
		{in: "https://example.com/o/r.git//lessons/demo", want: Source{Repo: "https://example.com/o/r.git", Subdir: "lessons/demo"}},
		{in: "https://example.com/o/r.git//lessons/demo?ref=v1.2", want: Source{Repo: "https://example.com/o/r.git", Ref: "v1.2", Subdir: "lessons/demo"}},
		{in: "https://example.com/o/r//lessons?version=main", want: Source{Repo: "https://example.com/o/r", Ref: "main", Subdir: "lessons"}},
		{in: "git::https://example.com/o/r.git//x@dev", want: Source{Repo: "https://example.com/o/r.git", Ref: "dev", Subdir: "x"}},
		{in: "https://example.com/o/r.git@0123abc", want: Source{Repo: "https://example.com/o/r.git", Ref: "0123abc"}},
		{in: "git@github.com:o/r.git", want: Source{Repo: "git@github.com:o/r.git"}},
		{in: "git@github.com:o/r.git//lessons/demo@v2", want: Source{Repo: "git@github.com:o/r.git", Ref: "v2", Subdir: "lessons/demo"}},
		{in: "ssh://git@host/o/r.git//a", want: Source{Repo: "ssh://git@host/o/r.git", Subdir: "a"}},
		{in: "file:///tmp/x/repo.git//lessons/demo", want: Source{Repo: "file:///tmp/x/repo.git", Subdir: "lessons/demo"}},
		{in: "file:///tmp/x/repo.git", want: Source{Repo: "file:///tmp/x/repo.git"}},
		{in: "https://github.com/o/r/tree/main/lessons/demo", want: Source{Repo: "https://github.com/o/r.git", Ref: "main", Subdir: "lessons/demo"}},
		{in: "https://github.com/o/r/tree/v1", want: Source{Repo: "https://github.com/o/r.git", Ref: "v1"}},
		{in: "https://example.com/o/r.git//../etc", err: "leaves the repository"},
		{in: "https://example.com/o/r.git?ref=--upload-pack=x", err: "not a branch"},
		{in: "https://example.com/o/r.git?depth=1", err: `unknown parameter "depth"`},
		{in: "https://example.com/o/r.git//a@v1?ref=v2", err: "both @ref and ?ref="},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if !IsURL(tt.in) {
				t.Fatalf("IsURL(%q) is false", tt.in)
			}
			got, err := Parse(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse(%q) error %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
	for _, p := range []string{"./lesson", "lessons/demo", "/abs/path", "jobs-cronjobs", "my@lesson", "C:/x"} {
		if IsURL(p) {
			t.Errorf("IsURL(%q) is true", p)
		}
	}
}

// gitRun runs git for the test.
func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// A bare repository made here: clone, reuse, update on a new commit, refs.
func TestCheckout(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	root := t.TempDir()
	work, bare, cache := filepath.Join(root, "work"), filepath.Join(root, "repo.git"), filepath.Join(root, "cache")
	gitRun(t, root, "init", "-q", "-b", "main", work)
	if err := os.MkdirAll(filepath.Join(work, "lessons", "demo"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(body string) {
		if err := os.WriteFile(filepath.Join(work, "lessons", "demo", "v.txt"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("one\n")
	gitRun(t, work, "add", ".")
	gitRun(t, work, "commit", "-q", "-m", "one")
	gitRun(t, work, "tag", "v1")
	gitRun(t, root, "clone", "-q", "--bare", work, bare)

	ctx := context.Background()
	src, err := Parse("file://" + bare + "//lessons/demo")
	if err != nil {
		t.Fatal(err)
	}
	clone, dir, err := Checkout(ctx, src, cache)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "v.txt")); string(b) != "one\n" {
		t.Fatalf("v.txt = %q", b)
	}
	// A file the learner left in the clone goes; a new commit comes.
	if err := os.WriteFile(filepath.Join(dir, "stray"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	write("two\n")
	gitRun(t, work, "commit", "-q", "-am", "two")
	gitRun(t, work, "push", "-q", bare, "main")
	clone2, dir2, err := Checkout(ctx, src, cache)
	if err != nil || clone2 != clone || dir2 != dir {
		t.Fatalf("reuse: %s %s %v (first %s)", clone2, dir2, err, clone)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "v.txt")); string(b) != "two\n" {
		t.Fatalf("after update v.txt = %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "stray")); !os.IsNotExist(err) {
		t.Fatalf("stray file kept: %v", err)
	}
	// A tag is another clone, at its commit.
	_, dirV1, err := Checkout(ctx, Source{Repo: src.Repo, Ref: "v1", Subdir: "lessons/demo"}, cache)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dirV1, "v.txt")); string(b) != "one\n" {
		t.Fatalf("v1 v.txt = %q", b)
	}
	// Errors: a missing subfolder, a missing repository.
	if _, _, err := Checkout(ctx, Source{Repo: src.Repo, Subdir: "nope"}, cache); err == nil || !strings.Contains(err.Error(), `no folder "nope"`) {
		t.Fatalf("missing subfolder: %v", err)
	}
	if _, _, err := Checkout(ctx, Source{Repo: "file://" + filepath.Join(root, "absent.git")}, cache); err == nil || !strings.Contains(err.Error(), "git fetch") {
		t.Fatalf("missing repository: %v", err)
	}
	// Several klab at once on one URL: each gets the clone (a lock orders them).
	errs := make(chan error)
	fresh := filepath.Join(root, "cache2")
	for range 4 {
		go func() {
			_, _, err := Checkout(ctx, src, fresh)
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent checkout: %v", err)
		}
	}
	// Without git on PATH: ErrNoGit.
	t.Setenv("PATH", t.TempDir())
	if _, _, err := Checkout(ctx, src, cache); !errors.Is(err, ErrNoGit) {
		t.Fatalf("without git: %v", err)
	}
}
