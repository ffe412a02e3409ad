package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/klabdev/klab/lessons"
)

// newInspectCommand builds `klab inspect PATH [--json]`: the parsed lesson model.
func newInspectCommand(_ *Options) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect [LESSON|PATH]",
		Short: "Show a lesson as klab parsed it: steps, blocks, hints, objectives",
		Long: "inspect loads a lesson folder (or an embedded lesson id; default: the first embedded lesson) and\n" +
			"shows what klab understood: each step's exec/copy blocks, hints and objectives. --json prints the\n" +
			"model as JSON for tools and tests.",
		Example: "  klab inspect lessons/jobs-cronjobs --json",
		Args:    cobra.MaximumNArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeLessons(cmd, args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			l, diags, err := lessons.Resolve(arg)
			for _, d := range diags {
				fmt.Fprintln(cmd.ErrOrStderr(), d.String())
			}
			var de *lessons.DiagnosticsError
			switch {
			case errors.As(err, &de):
				return Silent(ExitUsage)
			case err != nil:
				return Fail(ExitUsage, "%v", err)
			}
			v := inspectLesson(l)
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), v)
			}
			printInspect(cmd.OutOrStdout(), v)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the parsed lesson as JSON")
	return cmd
}

// The JSON shape of `klab inspect --json` (issue 2).
type (
	inspectView struct {
		ID          string          `json:"id"`
		Title       string          `json:"title"`
		Description string          `json:"description,omitempty"`
		Lang        string          `json:"lang"`
		Dir         string          `json:"dir"`
		Intro       *pageView       `json:"intro"`
		Finish      *pageView       `json:"finish"`
		Steps       []stepView      `json:"steps"`
		Assets      []lessons.Asset `json:"assets,omitempty"`
	}
	pageView struct {
		Title      string      `json:"title"`
		Text       string      `json:"text"`
		Blocks     []blockView `json:"blocks"`
		Hints      int         `json:"hints"`
		Background string      `json:"background,omitempty"`
		Foreground string      `json:"foreground,omitempty"`
	}
	stepView struct {
		Index       int             `json:"index"`
		Title       string          `json:"title"`
		Text        string          `json:"text"`
		Blocks      []blockView     `json:"blocks"`
		Hints       int             `json:"hints"`
		HasSolution bool            `json:"hasSolution"`
		Solution    string          `json:"solution,omitempty"`
		Timeout     string          `json:"timeout,omitempty"`
		Objectives  []objectiveView `json:"objectives"`
		Verify      string          `json:"verify,omitempty"`
		Background  string          `json:"background,omitempty"`
		Foreground  string          `json:"foreground,omitempty"`
	}
	blockView struct {
		Index     int    `json:"index"`
		Kind      string `json:"kind"`
		Interrupt bool   `json:"interrupt"`
		Inline    bool   `json:"inline"`
		Hint      int    `json:"hint,omitempty"`
		Lang      string `json:"lang"`
		Code      string `json:"code"`
		File      string `json:"file"`
		Line      int    `json:"line"`
	}
	objectiveView struct {
		ID       string           `json:"id"`
		Title    string           `json:"title"`
		Kind     string           `json:"kind"`
		Target   *lessons.Target  `json:"target,omitempty"`
		Count    *lessons.Count   `json:"count,omitempty"`
		Absent   bool             `json:"absent,omitempty"`
		Match    map[string]any   `json:"match,omitempty"`
		Expect   []lessons.Expect `json:"expect,omitempty"`
		Script   string           `json:"script,omitempty"`
		Hint     string           `json:"hint,omitempty"`
		Timeout  string           `json:"timeout,omitempty"`
		PreCheck string           `json:"preCheck,omitempty"`
		File     string           `json:"file"`
		Line     int              `json:"line"`
	}
)

func inspectLesson(l *lessons.Lesson) inspectView {
	v := inspectView{ID: l.ID, Title: l.Title, Description: l.Description, Lang: l.Lang, Dir: l.Dir,
		Intro: inspectPage(l.Intro), Finish: inspectPage(l.Finish), Steps: []stepView{}, Assets: l.Assets}
	for _, s := range l.Steps {
		sv := stepView{Index: s.Index, Title: s.Title, Text: s.TextFile, Blocks: inspectBlocks(s.Blocks),
			Hints: len(s.Hints), HasSolution: s.SolutionHint != nil, Objectives: []objectiveView{},
			Verify: scriptPath(s.Verify), Solution: scriptPath(s.Solution), Timeout: duration(s.Timeout),
			Background: scriptPath(s.Background), Foreground: scriptPath(s.Foreground)}
		for _, o := range s.Objectives {
			sv.Objectives = append(sv.Objectives, objectiveView{ID: o.ID, Title: o.Title, Kind: o.Kind(),
				Target: o.Target, Count: o.Count, Absent: o.Absent, Match: o.Match, Expect: o.Expect,
				Script: scriptPath(o.Script), Hint: o.Hint, Timeout: duration(o.Timeout), PreCheck: o.PreCheck,
				File: o.File, Line: o.Line})
		}
		v.Steps = append(v.Steps, sv)
	}
	return v
}

func inspectPage(p *lessons.Page) *pageView {
	if p == nil {
		return nil
	}
	return &pageView{Title: p.Title, Text: p.TextFile, Blocks: inspectBlocks(p.Blocks), Hints: len(p.Hints),
		Background: scriptPath(p.Background), Foreground: scriptPath(p.Foreground)}
}

func inspectBlocks(bs []*lessons.Block) []blockView {
	out := []blockView{}
	for _, b := range bs {
		out = append(out, blockView{Index: b.Index, Kind: string(b.Kind), Interrupt: b.Interrupt, Inline: b.Inline,
			Hint: b.Hint, Lang: b.Lang, Code: b.Code, File: b.File, Line: b.Line})
	}
	return out
}

func scriptPath(s *lessons.Script) string {
	if s == nil {
		return ""
	}
	return s.Path
}

func duration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

// printInspect is the human form of inspect: one line per step, block and objective.
func printInspect(w io.Writer, v inspectView) {
	fmt.Fprintf(w, "%s — %s [%s] (%s)\n", v.ID, v.Title, v.Lang, v.Dir)
	page := func(name string, p *pageView) {
		if p != nil {
			fmt.Fprintf(w, "%s: %s, %d blocks, %d hints\n", name, p.Text, len(p.Blocks), p.Hints)
		}
	}
	page("intro", v.Intro)
	for _, s := range v.Steps {
		sol := ""
		if s.HasSolution {
			sol = ", solution hint"
		}
		fmt.Fprintf(w, "step %d: %s (%s, %d hints%s)\n", s.Index, s.Title, s.Text, s.Hints, sol)
		for _, b := range s.Blocks {
			flags := b.Kind
			if b.Interrupt {
				flags += " interrupt"
			}
			if b.Inline {
				flags += " inline"
			}
			if b.Hint > 0 {
				flags += fmt.Sprintf(" in hint %d", b.Hint)
			}
			fmt.Fprintf(w, "  block %d [%s] %s:%d: %s\n", b.Index, flags, b.File, b.Line, firstLine(b.Code))
		}
		for _, o := range s.Objectives {
			fmt.Fprintf(w, "  objective %s [%s] %s:%d: %s\n", o.ID, o.Kind, o.File, o.Line, o.Title)
		}
	}
	page("finish", v.Finish)
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i] + " …"
		}
	}
	return s
}
