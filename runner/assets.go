package runner

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/klabdev/klab/lessons"
)

// RootDir is the folder of the lab's own root, inside the workspace: an
// asset whose target is absolute (/my/location) lands under it
// (<workspace>/.klab-root/my/location), never outside the lab folder.
const RootDir = ".klab-root"

// Root is the lab's own root folder (see RootDir); KLAB_ROOT names it too.
func (l *Lab) Root() string { return filepath.Join(l.Workspace, RootDir) }

// pathMap is one scenario path mapped into the lab: from is what the
// scenario writes (/my/location, ~), to is where it lives.
type pathMap struct {
	from, to string
	re       *regexp.Regexp
}

// InstallAssets copies the lesson's details.assets into the lab, before any
// script runs: targets under ~ (and /root, Killercoda's home) land in the
// workspace, absolute targets under Root(). Each file gets its chmod. From
// then on, the commands the lab runs (scripts, exec blocks, verify scripts)
// see those files at the path the scenario names: the lab rewrites the
// asset folders in their text to where they landed (see MapPaths).
func (l *Lab) InstallAssets(les *lessons.Lesson) error { return l.installAssets(les, true) }

// KeepAssets is InstallAssets for a lab that lives on (the TUI's): files
// already there are the learner's (edited, maybe) and stay as they are.
func (l *Lab) KeepAssets(les *lessons.Lesson) error { return l.installAssets(les, false) }

func (l *Lab) installAssets(les *lessons.Lesson, overwrite bool) error {
	copies, err := les.AssetCopies()
	if err != nil {
		return fmt.Errorf("assets: %w", err)
	}
	if len(copies) == 0 {
		return nil
	}
	// The mappings come first: asset scripts name each other's paths too.
	folders := map[string]bool{}
	dests := make([]string, len(copies))
	for i, c := range copies {
		dest, err := l.assetDest(c.Dest)
		if err != nil {
			return fmt.Errorf("asset %s → %s: %w", c.Source, c.Dest, err)
		}
		dests[i] = dest
		if d := path.Dir(c.Dest); strings.HasPrefix(d, "/") && d != "/" && !isHomeAlias(d) {
			folders[d] = true
		}
	}
	maps := []pathMap{{from: "~", to: l.Workspace}, {from: "/root", to: l.Workspace}}
	for d := range folders {
		maps = append(maps, pathMap{from: d, to: filepath.Join(l.Root(), filepath.FromSlash(d))})
	}
	// Longest first: /my/location/sub wins over /my/location.
	sort.Slice(maps, func(i, j int) bool { return len(maps[i].from) > len(maps[j].from) })
	for i := range maps {
		maps[i].re = pathRe(maps[i].from)
	}
	l.mu.Lock()
	l.paths = maps
	l.mu.Unlock()
	for i, c := range copies {
		if _, err := os.Lstat(dests[i]); err == nil && !overwrite {
			continue
		}
		if err := l.copyAsset(les.FS, c.Source, dests[i], c.Chmod); err != nil {
			return fmt.Errorf("asset %s → %s: %w", c.Source, c.Dest, err)
		}
	}
	return nil
}

func isHomeAlias(p string) bool { return p == "/root" || strings.HasPrefix(p, "/root/") }

// assetDest is the file an asset destination names, inside the lab.
func (l *Lab) assetDest(dest string) (string, error) {
	var base, rel string
	switch {
	case dest == "~" || strings.HasPrefix(dest, "~/"):
		base, rel = l.Workspace, strings.TrimPrefix(dest, "~")
	case isHomeAlias(dest):
		base, rel = l.Workspace, strings.TrimPrefix(dest, "/root")
	case strings.HasPrefix(dest, "/"):
		base, rel = l.Root(), dest
	default: // relative: Killercoda's working folder is the home
		base, rel = l.Workspace, dest
	}
	clean := path.Clean("/" + rel)
	if clean == "/" {
		return "", errors.New("names a folder, not a file")
	}
	return filepath.Join(base, filepath.FromSlash(clean)), nil
}

// copyAsset copies src of fsys to dest (folders created) and applies
// chmod. A shell script (#! or .sh) gets the lab's path mapping, like
// every command the lab runs: it names the scenario's paths.
func (l *Lab) copyAsset(fsys fs.FS, src, dest, chmod string) error {
	data, err := fs.ReadFile(fsys, src)
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	if len(data) > lessons.MaxFileSize {
		return fmt.Errorf("larger than %d bytes", lessons.MaxFileSize)
	}
	if strings.HasSuffix(src, ".sh") || bytes.HasPrefix(data, []byte("#!")) {
		data = []byte(l.MapPaths(string(data)))
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("create folder: %w", err)
	}
	mode := fs.FileMode(0o644)
	if chmod != "" {
		if mode, err = applyChmod(mode, chmod); err != nil {
			return err
		}
	}
	// Replace rather than write through: a symlink planted at dest by an
	// earlier command must not redirect the copy outside the lab.
	_ = os.Remove(dest)
	out, err := os.OpenFile(dest, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if _, err := out.Write(data); err != nil {
		_ = out.Close()
		return fmt.Errorf("copy: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	if err := os.Chmod(dest, mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return nil
}

var symbolicMode = regexp.MustCompile(`^([ugoa]*)([-+=])([rwxX]*)$`)

// applyChmod applies a chmod spec as chmod(1) reads it: octal ("0755",
// "644") or symbolic clauses ("+x", "u+rw,go-w").
func applyChmod(mode fs.FileMode, spec string) (fs.FileMode, error) {
	spec = strings.TrimSpace(spec)
	if n, err := strconv.ParseUint(spec, 8, 32); err == nil {
		if n > 0o7777 {
			return 0, fmt.Errorf("chmod %q: not a file mode", spec)
		}
		return fs.FileMode(n) & fs.ModePerm, nil
	}
	for _, clause := range strings.Split(spec, ",") {
		g := symbolicMode.FindStringSubmatch(clause)
		if g == nil {
			return 0, fmt.Errorf("chmod %q: want an octal mode (0755) or clauses like +x, u+w, go-r", spec)
		}
		var who fs.FileMode
		for _, c := range g[1] {
			switch c {
			case 'u':
				who |= 0o700
			case 'g':
				who |= 0o070
			case 'o':
				who |= 0o007
			case 'a':
				who |= 0o777
			}
		}
		if who == 0 {
			who = 0o777 // like chmod with the usual umask 022 for +w: kept simple
		}
		var bits fs.FileMode
		for _, c := range g[3] {
			switch c {
			case 'r':
				bits |= 0o444
			case 'w':
				bits |= 0o222
			case 'x', 'X':
				bits |= 0o111
			}
		}
		bits &= who
		switch g[2] {
		case "+":
			mode |= bits
		case "-":
			mode &^= bits
		case "=":
			mode = mode&^who | bits
		}
	}
	return mode, nil
}

// pathRe matches a scenario path as a whole word of shell text: at the
// start, after a space, quote, = : ( or an operator, and followed by / or
// the end of the word. "~" matches only where bash expands it.
func pathRe(from string) *regexp.Regexp {
	const before = "(^|[\\s\"'=:(<>|;&`])"
	const after = "(/|$|[\\s\"'):;<>|&`])"
	return regexp.MustCompile(before + regexp.QuoteMeta(from) + after)
}

// MapPaths rewrites, in a command's text, the scenario paths of installed
// assets to where they landed in the lab (none before InstallAssets).
func (l *Lab) MapPaths(code string) string {
	l.mu.Lock()
	maps := l.paths
	l.mu.Unlock()
	if len(maps) == 0 {
		return code
	}
	// One pass per mapping, over the text the earlier ones left: targets
	// are inside the workspace, which no scenario path names.
	for _, m := range maps {
		to := m.to
		code = m.re.ReplaceAllStringFunc(code, func(s string) string {
			g := m.re.FindStringSubmatch(s)
			return g[1] + to + g[2]
		})
	}
	return code
}
