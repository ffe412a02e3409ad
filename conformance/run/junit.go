package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"regexp"
	"strings"
)

type junitSuites struct {
	Suites []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Cases []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name    string    `xml:"name,attr"`
	Status  string    `xml:"status,attr"`
	Skipped *struct{} `xml:"skipped"`
	Failure *struct{} `xml:"failure"`
	Error   *struct{} `xml:"error"`
}

type summary struct {
	passed, failed, skipped int
	failedNames             []string
}

// summarize counts the report's specs whose name matches focus (the report also lists, as skipped,
// every spec of the linked packages that the focus left out); a failure anywhere, a suite-level node
// included, counts as failed.
func summarize(path string, focus *regexp.Regexp) (summary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return summary{}, fmt.Errorf("read JUnit report: %w", err)
	}
	return summarizeXML(path, b, focus)
}

func summarizeXML(path string, b []byte, focus *regexp.Regexp) (summary, error) {
	var doc junitSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		return summary{}, fmt.Errorf("parse JUnit report %s: %w", path, err)
	}
	var s summary
	for _, suite := range doc.Suites {
		for _, c := range suite.Cases {
			name := strings.TrimPrefix(c.Name, "[It] ")
			switch {
			case c.Failure != nil || c.Error != nil:
				s.failed++
				s.failedNames = append(s.failedNames, name)
			case !focus.MatchString(name):
			case c.Skipped != nil:
				s.skipped++
			default:
				s.passed++
			}
		}
	}
	return s, nil
}
