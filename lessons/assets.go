package lessons

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// AssetsDir is the lesson folder holding details.assets files (Killercoda).
const AssetsDir = "assets"

// AssetCopy is one file of details.assets to copy into the lab: Source is
// lesson-relative (under assets/), Dest is the file's path as the scenario
// names it ("~/conf.yaml", "/my/location/run.sh").
type AssetCopy struct {
	Source string `json:"source"`
	Dest   string `json:"dest"`
	Chmod  string `json:"chmod,omitempty"`
}

// isGlob reports whether an asset file names a pattern rather than a file.
func isGlob(p string) bool { return strings.ContainsAny(p, "*?[{") }

// globAssets expands an asset pattern under assets/ with Killercoda's
// rules: `*` matches within one folder, `**` matches zero or more folders
// (so `**/*.json` matches at every depth, the top included). Only files
// match. The result is sorted, lesson-relative.
func globAssets(fsys fs.FS, pattern string) ([]string, error) {
	sub, err := fs.Sub(fsys, AssetsDir)
	if err != nil {
		return nil, fmt.Errorf("open %s/: %w", AssetsDir, err)
	}
	if !doublestar.ValidatePattern(pattern) {
		return nil, errors.New("not a valid pattern")
	}
	matches, err := doublestar.Glob(sub, pattern, doublestar.WithFilesOnly(), doublestar.WithFailOnIOErrors())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("expand pattern: %w", err)
	}
	for i, m := range matches {
		matches[i] = path.Join(AssetsDir, m)
	}
	sort.Strings(matches)
	return matches, nil
}

// globBase is the fixed folder before a pattern's first wildcard segment
// ("app1/**/*.json" → "app1", "*" → "").
func globBase(pattern string) string {
	segs := strings.Split(pattern, "/")
	var fixed []string
	for _, s := range segs[:len(segs)-1] {
		if isGlob(s) {
			break
		}
		fixed = append(fixed, s)
	}
	return strings.Join(fixed, "/")
}

// AssetCopies lists the files details.assets copies, in order: a plain file
// lands in its target folder under its own name; the files a pattern
// matches keep their path below the pattern's fixed folder
// ("app*/**/*.*" → "/apps2/app1/config/app.json"). A later entry for the
// same destination wins, as a later copy would.
func (l *Lesson) AssetCopies() ([]AssetCopy, error) {
	var out []AssetCopy
	for i, a := range l.Assets {
		target := a.Target
		if strings.TrimSpace(target) == "" {
			target = "~"
		}
		if isGlob(a.File) {
			matches, err := globAssets(l.FS, a.File)
			if err != nil {
				return nil, fmt.Errorf("details.assets[%d] %q: %w", i, a.File, err)
			}
			base := globBase(a.File)
			for _, m := range matches {
				rel := strings.TrimPrefix(m, path.Join(AssetsDir, base)+"/")
				out = append(out, AssetCopy{Source: m, Dest: joinTarget(target, rel), Chmod: a.Chmod})
			}
			continue
		}
		src, err := cleanRel(path.Join(AssetsDir, a.File))
		if err != nil {
			return nil, fmt.Errorf("details.assets[%d] %q: %w", i, a.File, err)
		}
		out = append(out, AssetCopy{Source: src, Dest: joinTarget(target, path.Base(src)), Chmod: a.Chmod})
	}
	return out, nil
}

// joinTarget joins a target folder ("~/", "/root", "~") and a relative path.
func joinTarget(target, rel string) string {
	if target == "~" || strings.HasPrefix(target, "~/") {
		return "~/" + strings.TrimPrefix(path.Join(strings.TrimPrefix(target, "~"), rel), "/")
	}
	return path.Join(target, rel)
}
