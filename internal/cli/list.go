package cli

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/klabdev/klab/lessons"
)

// newListCommand builds `klab list [PATH] [--json]`: the embedded lessons, or
// those of a lesson folder, a course (structure.json order) or a folder of lessons.
func newListCommand(_ *Options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [PATH|URL]",
		Short: "List lessons: id, title, steps, language",
		Long: "list shows the lessons built into klab, or those found at PATH: a lesson folder, a course folder\n" +
			"(its structure.json order), a folder of lesson folders, or a git URL of any of them.",
		Example: "  klab list\n  klab list ./my-course --json",
		Args:    cobra.MaximumNArgs(1),
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var ls []*lessons.Lesson
			var diags []lessons.Diagnostic
			var err error
			if len(args) == 0 {
				ls, err = lessons.Embedded()
			} else {
				o, lerr := locate(cmd.Context(), args[0])
				if lerr != nil {
					return lerr
				}
				ls, diags, err = lessons.Discover(o.local)
			}
			bad := false
			for _, d := range diags {
				if d.Severity == lessons.SevError {
					bad = true
					fmt.Fprintln(cmd.ErrOrStderr(), d.String())
				}
			}
			var de *lessons.DiagnosticsError
			if err != nil && !errors.As(err, &de) {
				if len(ls) == 0 {
					return Fail(ExitUsage, "%v", err)
				}
				bad = true
				fmt.Fprintf(cmd.ErrOrStderr(), "klab: %v\n", err)
			}
			type row struct {
				ID          string `json:"id"`
				Title       string `json:"title"`
				Description string `json:"description,omitempty"`
				Steps       int    `json:"steps"`
				Lang        string `json:"lang"`
				Dir         string `json:"dir"`
			}
			rows := []row{}
			for _, l := range ls {
				rows = append(rows, row{ID: l.ID, Title: l.Title, Description: l.Description, Steps: len(l.Steps), Lang: l.Lang, Dir: l.Dir})
			}
			if asJSON {
				if err := writeJSON(cmd.OutOrStdout(), rows); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tTITLE\tSTEPS\tLANG")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", r.ID, r.Title, r.Steps, r.Lang)
				}
				if err := tw.Flush(); err != nil {
					return fmt.Errorf("write list: %w", err)
				}
			}
			if bad {
				return Silent(ExitUsage)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the lessons as JSON")
	return cmd
}
