package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/verify"
)

// newLintCommand builds `klab lint PATH...`: load each lesson or course and
// report every problem as file:line:col: severity: message.
func newLintCommand(_ *Options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "lint PATH|URL...",
		Short: "Check lessons and report every problem with its file and line",
		Long: "lint loads each lesson folder, course folder (structure.json) or embedded lesson id and reports\n" +
			"every problem as file:line:col: error|warning: message. It exits 0 when there is no error\n" +
			"(warnings allowed) and 2 otherwise.",
		Example:           "  klab lint lessons/*/\n  klab lint --json my-course/",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeLessons,
		RunE: func(cmd *cobra.Command, args []string) error {
			origins, err := locateAll(cmd.Context(), args)
			if err != nil {
				return err
			}
			diags, n := lintPaths(locals(origins))
			errs, warns := 0, 0
			for _, d := range diags {
				if d.Severity == lessons.SevError {
					errs++
				} else {
					warns++
				}
			}
			if asJSON {
				if diags == nil {
					diags = []lessons.Diagnostic{}
				}
				if err := writeJSON(cmd.OutOrStdout(), diags); err != nil {
					return err
				}
			} else {
				for _, d := range diags {
					fmt.Fprintln(cmd.OutOrStdout(), d.String())
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%s, %s, %s\n", plural(n, "lesson"), plural(errs, "error"), plural(warns, "warning"))
			}
			if errs > 0 {
				return Silent(ExitUsage)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the diagnostics as a JSON list")
	return cmd
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// lintPaths loads and lints every lesson under args, returning all
// diagnostics (sorted by file and line within each lesson) and the number of
// lessons seen.
func lintPaths(args []string) ([]lessons.Diagnostic, int) {
	var out []lessons.Diagnostic
	n := 0
	for _, arg := range args {
		if filepath.Base(filepath.Clean(arg)) == "testdata" {
			// Go's convention: testdata holds fixtures, some broken on
			// purpose; `klab lint lessons/*/` checks the real lessons.
			continue
		}
		ls, diags := loadAndLint(arg)
		out = append(out, diags...)
		n += len(ls)
	}
	return out, n
}

// loadAndLint loads the lessons under arg (a lesson, a course, a folder of
// lessons or an embedded id) and returns them with all their diagnostics,
// sorted by file and line. Lessons with errors are returned too.
func loadAndLint(arg string) ([]*lessons.Lesson, []lessons.Diagnostic) {
	ls, diags, err := lintLoad(arg)
	var de *lessons.DiagnosticsError
	if err != nil && !errors.As(err, &de) && len(diags) == 0 {
		return nil, []lessons.Diagnostic{{File: arg, Severity: lessons.SevError, Message: err.Error()}}
	}
	for _, l := range ls {
		diags = append(diags, lessons.Lint(l)...)
		for _, d := range verify.Lint(l) {
			d.File = lessonFile(l, d.File)
			diags = append(diags, d)
		}
	}
	sort.SliceStable(diags, func(i, j int) bool {
		a, b := diags[i], diags[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return ls, diags
}

// lintLoad loads a lesson or course folder, or an embedded lesson id.
func lintLoad(arg string) ([]*lessons.Lesson, []lessons.Diagnostic, error) {
	if _, err := os.Stat(arg); err != nil && !strings.ContainsRune(arg, filepath.Separator) {
		l, diags, err := lessons.Resolve(arg)
		if l == nil {
			return nil, diags, err
		}
		return []*lessons.Lesson{l}, diags, err
	}
	return lessons.Discover(arg)
}

// lessonFile names a lesson-relative file as the lesson's own diagnostics do.
func lessonFile(l *lessons.Lesson, file string) string {
	dir := l.FilePath("")
	if file == "" {
		return dir
	}
	if dir == "" || strings.HasPrefix(file, dir+"/") || strings.HasPrefix(file, dir+string(filepath.Separator)) || filepath.IsAbs(file) {
		return file
	}
	return l.FilePath(file)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

// completeLessons offers the embedded lesson ids, then the shell's own
// file and folder completion.
func completeLessons(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	for _, id := range lessons.EmbeddedIDs() {
		if strings.HasPrefix(id, toComplete) {
			out = append(out, id)
		}
	}
	return out, cobra.ShellCompDirectiveDefault
}
