package validate

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// JSONReport is the stable --json document of klab validate (schema version 1).
type JSONReport struct {
	Schema  int             `json:"schema"`
	Status  Status          `json:"status"`
	Lessons []*LessonReport `json:"lessons"`
}

// WriteJSON writes the reports as klab's validate JSON schema.
func WriteJSON(w io.Writer, reports []*LessonReport) error {
	doc := JSONReport{Schema: 1, Status: overall(reports), Lessons: reports}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}

func overall(reports []*LessonReport) Status {
	for _, r := range reports {
		if r.Status != StatusPass {
			return StatusFail
		}
	}
	return StatusPass
}

// WriteText prints a summary table and the reasons of each failure.
func WriteText(w io.Writer, reports []*LessonReport) {
	for _, r := range reports {
		fmt.Fprintf(w, "\n%s — %s (%s, namespace %s)\n", r.ID, r.Title, seconds(r.Duration), r.Namespace)
		if t := trustText(r.Trust); t != "" {
			fmt.Fprintf(w, "  trust: %s\n", t)
		}
		if r.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", r.Error)
		}
		for _, wn := range r.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", wn)
		}
		for _, s := range r.Steps {
			mark := "✓"
			if s.Status != StatusPass {
				mark = "✗"
			}
			fmt.Fprintf(w, "  %s step %d  %-44s %8s\n", mark, s.Index, clip(s.Title, 44), seconds(s.Duration))
			if s.SolutionFrom == "hint" {
				fmt.Fprintf(w, "      solution: from the hint %s\n", s.Solution)
			}
			for _, wn := range s.Warnings {
				fmt.Fprintf(w, "      warning: %s\n", wn)
			}
			if s.Status == StatusPass {
				continue
			}
			for _, m := range s.Messages() {
				fmt.Fprintf(w, "      %s\n", m)
			}
			for _, b := range s.Blocks {
				fmt.Fprintf(w, "      $ %s  (exit %d%s, %s)\n", firstLine(b.Code), b.ExitCode, interrupted(b), seconds(b.Duration))
				if out := strings.TrimSpace(b.Output); out != "" {
					fmt.Fprintln(w, indent(lastLines(out, 15), "        "))
				}
			}
		}
	}
	pass, total := 0, 0
	for _, r := range reports {
		for _, s := range r.Steps {
			total++
			if s.Status == StatusPass {
				pass++
			}
		}
	}
	fmt.Fprintf(w, "\n%d passed, %d failed\n", pass, total-pass)
}

func interrupted(b BlockReport) string {
	if b.Interrupted {
		return ", interrupted"
	}
	return ""
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string           `xml:"name,attr"`
	Tests      int              `xml:"tests,attr"`
	Failures   int              `xml:"failures,attr"`
	Time       string           `xml:"time,attr"`
	Properties *junitProperties `xml:"properties,omitempty"`
	Cases      []junitCase      `xml:"testcase"`
}

type junitProperties struct {
	Property []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes a testsuite per lesson and a testcase per step.
func WriteJUnit(w io.Writer, reports []*LessonReport) error {
	doc := junitSuites{}
	var total time.Duration
	for _, r := range reports {
		s := junitSuite{Name: r.ID, Time: secs(r.Duration)}
		if r.Trust != "" {
			s.Properties = &junitProperties{Property: []junitProperty{{Name: "klab.trust", Value: r.Trust}}}
		}
		total += r.Duration
		if r.Error != "" && len(r.Steps) == 0 {
			s.Cases = append(s.Cases, junitCase{Name: "setup", Classname: r.ID, Time: "0.000",
				Failure: &junitFailure{Message: r.Error, Text: r.Error}})
		}
		for _, st := range r.Steps {
			c := junitCase{Name: fmt.Sprintf("step %d: %s", st.Index, st.Title), Classname: r.ID, Time: secs(st.Duration)}
			if st.Status != StatusPass {
				msgs := st.Messages()
				first := "step failed"
				if len(msgs) > 0 {
					first = msgs[0]
				}
				c.Failure = &junitFailure{Message: first, Text: strings.Join(msgs, "\n")}
				var out strings.Builder
				for _, b := range st.Blocks {
					fmt.Fprintf(&out, "$ %s\n%s\n[exit %d]\n", b.Code, strings.TrimRight(b.Output, "\n"), b.ExitCode)
				}
				c.SystemOut = out.String()
			}
			s.Cases = append(s.Cases, c)
		}
		s.Tests = len(s.Cases)
		for _, c := range s.Cases {
			if c.Failure != nil {
				s.Failures++
			}
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = secs(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

func seconds(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func firstLine(s string) string {
	line, _, more := strings.Cut(strings.TrimSpace(s), "\n")
	if more {
		return line + " …"
	}
	return line
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{"…"}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// trustText says, for the text report, why the lesson's scripts ran.
func trustText(t string) string {
	switch t {
	case "this-run":
		return "scripts trusted for this run only (klab validate runs what it is asked to validate)"
	case "embedded":
		return "embedded lesson, trusted"
	case "no-scripts":
		return "no scripts of its own"
	}
	return t
}
