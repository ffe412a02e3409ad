package lessons

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
)

// MaxFileSize bounds every file a lesson references (markdown, scripts, YAML).
const MaxFileSize = 1 << 20

// cleanRel checks that p is a safe lesson-relative path and returns it cleaned.
// Absolute paths and paths climbing out of the lesson folder are refused.
func cleanRel(p string) (string, error) {
	switch {
	case strings.TrimSpace(p) == "":
		return "", errors.New("empty path")
	case strings.HasPrefix(p, "/") || filepath.IsAbs(p) || strings.HasPrefix(p, `\`):
		return "", fmt.Errorf("absolute path %q: paths must be relative to the lesson folder", p)
	case strings.ContainsRune(p, '\\'):
		return "", fmt.Errorf("path %q contains a backslash: use / as separator", p)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q leaves the lesson folder", p)
	}
	if c == "." || !fs.ValidPath(c) {
		return "", fmt.Errorf("invalid path %q", p)
	}
	return c, nil
}

// within reports whether target is dir or inside it (both absolute, cleaned).
func within(dir, target string) bool {
	if dir == target {
		return true
	}
	rel, err := filepath.Rel(dir, target)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// readRel reads the lesson file rel (already cleaned). On disk it refuses
// symlinks that resolve outside the lesson folder. Files over MaxFileSize and
// folders are refused. The error says what is wrong, without location.
func (ld *loader) readRel(rel string) ([]byte, error) {
	if ld.realDir != "" {
		full := filepath.Join(ld.realDir, filepath.FromSlash(rel))
		resolved, err := filepath.EvalSymlinks(full)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("file %s not found", rel)
			}
			return nil, fmt.Errorf("resolve %s: %w", rel, err)
		}
		if !within(ld.realDir, resolved) {
			return nil, fmt.Errorf("%s is a symlink leaving the lesson folder (to %s)", rel, resolved)
		}
	}
	st, err := fs.Stat(ld.fsys, rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("file %s not found", rel)
		}
		return nil, fmt.Errorf("stat %s: %w", rel, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a folder, not a file", rel)
	}
	if st.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s is too large (%d bytes, limit %d)", rel, st.Size(), MaxFileSize)
	}
	b, err := fs.ReadFile(ld.fsys, rel)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", rel, err)
	}
	if len(b) > MaxFileSize { // grew since Stat
		return nil, fmt.Errorf("%s is too large (limit %d bytes)", rel, MaxFileSize)
	}
	return b, nil
}
