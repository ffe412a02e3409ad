// Package fetch gets lessons from git repositories: it parses the URL forms
// go-getter, kustomize and GitHub write (a //subfolder suffix, ?ref= or @ref,
// …/tree/<ref>/<path>) and keeps a shallow clone per URL in klab's cache
// folder, made and updated with the machine's git.
package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/sys/unix"
)

// Source is a lesson location in a git repository.
type Source struct {
	Repo   string // what git clones: https://…, ssh://…, git@host:path, file:///…
	Ref    string // branch, tag or commit; "" is the remote's HEAD
	Subdir string // slash path inside the repository; "" is its root
}

// String writes the source back in go-getter form: repo//subdir?ref=ref.
func (s Source) String() string {
	out := s.Repo
	if s.Subdir != "" {
		out += "//" + s.Subdir
	}
	if s.Ref != "" {
		out += "?ref=" + s.Ref
	}
	return out
}

// Join is s with rel (slash path) appended to its subfolder.
func (s Source) Join(rel string) Source {
	rel = path.Clean(filepath.ToSlash(rel))
	if rel != "." {
		s.Subdir = path.Join(s.Subdir, rel)
	}
	return s
}

var (
	scpLike   = regexp.MustCompile(`^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/]`)
	schemes   = []string{"https://", "http://", "ssh://", "git://", "file://"}
	githubWeb = regexp.MustCompile(`^https://github\.com/([^/]+)/([^/]+)/tree/([^/]+)(?:/(.*))?$`)
	safeRef   = regexp.MustCompile(`^[A-Za-z0-9._/+-]+$`)
)

// IsURL reports whether arg names a git repository rather than a path.
func IsURL(arg string) bool {
	a := strings.TrimPrefix(arg, "git::")
	for _, s := range schemes {
		if strings.HasPrefix(a, s) {
			return true
		}
	}
	return strings.HasPrefix(arg, "git::") || scpLike.MatchString(a)
}

// Parse reads a git URL (IsURL must hold).
func Parse(arg string) (Source, error) {
	raw := strings.TrimPrefix(arg, "git::")
	var s Source
	if m := githubWeb.FindStringSubmatch(raw); m != nil {
		s = Source{Repo: "https://github.com/" + m[1] + "/" + strings.TrimSuffix(m[2], ".git") + ".git", Ref: m[3], Subdir: m[4]}
		return s.check(arg)
	}
	// Query (?ref=, ?version=) first: it follows the subfolder.
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		q, err := url.ParseQuery(raw[i+1:])
		if err != nil {
			return s, fmt.Errorf("git URL %s: query: %w", arg, err)
		}
		for k, v := range q {
			switch k {
			case "ref", "version":
				s.Ref = v[len(v)-1]
			default:
				return s, fmt.Errorf("git URL %s: unknown parameter %q (klab knows ref and version)", arg, k)
			}
		}
		raw = raw[:i]
	}
	// @ref at the end (kustomize's short form): after the last @, no / nor :.
	if i := strings.LastIndexByte(raw, '@'); i >= 0 && !strings.ContainsAny(raw[i+1:], "/:") && i+1 < len(raw) {
		if s.Ref != "" {
			return s, fmt.Errorf("git URL %s: both @ref and ?ref= give a ref", arg)
		}
		s.Ref, raw = raw[i+1:], raw[:i]
	}
	// //subfolder: the first // after the scheme's (file:/// keeps its path).
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + 3
		if strings.HasPrefix(raw[start:], "/") {
			start++ // file:///abs: the third slash begins the path
		}
	}
	if j := strings.Index(raw[start:], "//"); j >= 0 {
		s.Subdir = raw[start+j+2:]
		raw = raw[:start+j]
	}
	s.Repo = strings.TrimSuffix(raw, "/")
	return s.check(arg)
}

func (s Source) check(arg string) (Source, error) {
	if s.Repo == "" || strings.HasPrefix(s.Repo, "-") {
		return s, fmt.Errorf("git URL %s: no repository", arg)
	}
	if s.Ref != "" && (strings.HasPrefix(s.Ref, "-") || !safeRef.MatchString(s.Ref) || strings.Contains(s.Ref, "..")) {
		return s, fmt.Errorf("git URL %s: ref %q is not a branch, tag or commit name", arg, s.Ref)
	}
	s.Subdir = strings.Trim(s.Subdir, "/")
	if s.Subdir != "" {
		c := path.Clean(s.Subdir)
		if c == ".." || strings.HasPrefix(c, "../") || path.IsAbs(c) {
			return s, fmt.Errorf("git URL %s: subfolder %q leaves the repository", arg, s.Subdir)
		}
		if c == "." {
			c = ""
		}
		s.Subdir = c
	}
	return s, nil
}

// ErrNoGit says git is not installed.
var ErrNoGit = errors.New("git is not installed: klab clones lesson repositories with it")

// Checkout makes or updates the shallow clone of s under cacheDir (one
// folder per repository and ref) and returns the clone and the lesson
// folder (the subfolder) on disk.
func Checkout(ctx context.Context, s Source, cacheDir string) (clone, dir string, err error) {
	git, err := exec.LookPath("git")
	if err != nil {
		return "", "", ErrNoGit
	}
	sum := sha256.Sum256([]byte(s.Repo + "\x00" + s.Ref))
	clone = filepath.Join(cacheDir, "git", hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(filepath.Dir(clone), 0o700); err != nil {
		return "", "", fmt.Errorf("git cache: %w", err)
	}
	// One klab at a time updates a clone (git would refuse a second one).
	lf, err := os.OpenFile(clone+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return "", "", fmt.Errorf("git cache: %w", err)
	}
	defer func() { _ = lf.Close() }()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		return "", "", fmt.Errorf("git cache lock: %w", err)
	}
	defer func() { _ = unix.Flock(int(lf.Fd()), unix.LOCK_UN) }()
	if _, err := os.Stat(filepath.Join(clone, ".git")); err != nil {
		tmp, err := os.MkdirTemp(filepath.Dir(clone), ".clone-")
		if err != nil {
			return "", "", fmt.Errorf("git cache: %w", err)
		}
		defer func() { _ = os.RemoveAll(tmp) }()
		if err := run(ctx, git, tmp, "init", "-q"); err != nil {
			return "", "", err
		}
		if err := run(ctx, git, tmp, "remote", "add", "origin", s.Repo); err != nil {
			return "", "", err
		}
		if err := update(ctx, git, tmp, s); err != nil {
			return "", "", err
		}
		_ = os.RemoveAll(clone) // a half-made clone left by a crash
		if err := os.Rename(tmp, clone); err != nil {
			return "", "", fmt.Errorf("git cache: %w", err)
		}
		return s.dirIn(clone)
	}
	if err := update(ctx, git, clone, s); err != nil {
		return "", "", err
	}
	return s.dirIn(clone)
}

// dirIn is the lesson folder inside clone; it must exist.
func (s Source) dirIn(clone string) (string, string, error) {
	dir := filepath.Join(clone, filepath.FromSlash(s.Subdir))
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() {
		return "", "", fmt.Errorf("%s: no folder %q in the repository", s, s.Subdir)
	}
	return clone, dir, nil
}

// update fetches the ref (depth 1) and makes the work tree exactly it.
func update(ctx context.Context, git, dir string, s Source) error {
	ref := s.Ref
	if ref == "" {
		ref = "HEAD"
	}
	if err := run(ctx, git, dir, "fetch", "--quiet", "--depth", "1", "--no-tags", "origin", ref); err != nil {
		return err
	}
	if err := run(ctx, git, dir, "reset", "--quiet", "--hard", "FETCH_HEAD"); err != nil {
		return err
	}
	return run(ctx, git, dir, "clean", "-qfdx")
}

// run runs git in dir without ever asking for a password.
func run(ctx context.Context, git, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, git, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GCM_INTERACTIVE=never")
	if os.Getenv("GIT_SSH_COMMAND") == "" {
		cmd.Env = append(cmd.Env, "GIT_SSH_COMMAND=ssh -o BatchMode=yes")
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return nil
}
