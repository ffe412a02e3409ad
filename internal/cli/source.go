package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/klabdev/klab/internal/dirs"

	"github.com/klabdev/klab/internal/fetch"
	"github.com/klabdev/klab/lessons"
)

// cacheDir is klab's cache folder (internal/dirs).
func cacheDir() string { return dirs.Cache() }

// origin is where a command's lessons come from: a path on disk, or a git
// URL checked out in the cache (local is then the lesson folder in the clone).
type origin struct {
	arg    string
	local  string
	remote *fetch.Source
}

// locate turns a command's argument into a path on disk: a git URL is
// cloned (or updated) in the cache; anything else is returned as it is.
// Errors (no git, no network, no such repository or folder) are usage
// errors: exit 2.
func locate(ctx context.Context, arg string) (origin, error) {
	if !fetch.IsURL(arg) {
		return origin{arg: arg, local: arg}, nil
	}
	src, err := fetch.Parse(arg)
	if err != nil {
		return origin{}, Fail(ExitUsage, "%v", err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	_, dir, err := fetch.Checkout(ctx, src, cacheDir())
	if err != nil {
		if errors.Is(err, fetch.ErrNoGit) {
			return origin{}, Fail(ExitUsage, "%s: %v", arg, err)
		}
		return origin{}, Fail(ExitUsage, "cannot get %s: %v", arg, err)
	}
	return origin{arg: arg, local: dir, remote: &src}, nil
}

// locateAll is locate for each argument.
func locateAll(ctx context.Context, args []string) ([]origin, error) {
	out := make([]origin, 0, len(args))
	for _, a := range args {
		o, err := locate(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func locals(origins []origin) []string {
	out := make([]string, len(origins))
	for i, o := range origins {
		out[i] = o.local
	}
	return out
}

// sourceOf names where lesson l came from for the trust store and messages:
// its git URL with the lesson's subfolder, else its absolute folder.
func sourceOf(origins []origin, l *lessons.Lesson) string {
	dir, err := filepath.Abs(l.Dir)
	if err != nil {
		dir = l.Dir
	}
	for _, o := range origins {
		if o.remote == nil {
			continue
		}
		if rel, err := filepath.Rel(o.local, dir); err == nil && (rel == "." || filepath.IsLocal(rel)) {
			return o.remote.Join(filepath.ToSlash(rel)).String()
		}
	}
	if l.IsEmbedded() {
		return l.Dir
	}
	return dir
}

// String is the argument as the learner gave it, for messages.
func (o origin) String() string {
	if o.remote != nil {
		return fmt.Sprintf("%s (cloned in %s)", o.arg, o.local)
	}
	return o.arg
}
