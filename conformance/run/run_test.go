package main

import (
	"bufio"
	"regexp"
	"strings"
	"testing"
)

func TestParseSkips(t *testing.T) {
	good := "# comment\n\nlabel: Feature:OffByDefault -- alpha\nname: \\[Slow\\] -- too long for CI\n"
	s, err := parseSkips("skip.txt", bufio.NewScanner(strings.NewReader(good)))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.labelFilter("Conformance && !Slow"); got != "(Conformance && !Slow) && !Feature:OffByDefault" {
		t.Errorf("labelFilter = %q", got)
	}
	if got := s.labelFilter(""); got != "!Feature:OffByDefault" {
		t.Errorf("labelFilter = %q", got)
	}
	if got := s.nameRegex(); got != `(?:\[Slow\])` {
		t.Errorf("nameRegex = %q", got)
	}
	for _, tt := range []struct{ in, want string }{
		{"label: Feature:X\n", "skip.txt:1: entry without a reason"},
		{"\nlabel: Feature:X -- \n", "skip.txt:2: entry without a reason"},
		{"tag: X -- why\n", `skip.txt:1: unknown kind "tag"`},
		{"name: ([ -- why\n", "skip.txt:1: name: error parsing regexp"},
		{"label: A && B -- why\n", "skip.txt:1: label \"A && B\": one label per entry"},
		{"label: -- why\n", "skip.txt:1: want `label: EXPR -- reason`"},
	} {
		_, err := parseSkips("skip.txt", bufio.NewScanner(strings.NewReader(tt.in)))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q: err %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	report := `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="6">
  <testsuite name="suite" tests="6">
    <testcase name="[SynchronizedBeforeSuite]" status="passed"></testcase>
    <testcase name="[It] [sig-apps] Job should run a job to completion [Conformance]" status="passed"></testcase>
    <testcase name="[It] [sig-apps] CronJob should schedule jobs" status="failed"><failure type="failed">boom</failure></testcase>
    <testcase name="[It] [sig-apps] Job alpha thing [Feature:OffByDefault]" status="skipped"><skipped message="skipped"></skipped></testcase>
    <testcase name="[It] [sig-apps] Deployment unrelated" status="skipped"><skipped message="skipped"></skipped></testcase>
    <testcase name="[It] [sig-apps] TTLAfterFinished job should be deleted" status="passed"></testcase>
  </testsuite>
</testsuites>`
	s, err := summarizeXML("junit.xml", []byte(report), regexp.MustCompile(`\[sig-apps\] (Job|CronJob|TTLAfterFinished) `))
	if err != nil {
		t.Fatal(err)
	}
	if s.passed != 2 || s.failed != 1 || s.skipped != 1 || len(s.failedNames) != 1 || s.failedNames[0] != "[sig-apps] CronJob should schedule jobs" {
		t.Errorf("summary %+v", s)
	}
	if _, err := summarizeXML("junit.xml", []byte("<testsuites"), regexp.MustCompile("x")); err == nil || !strings.Contains(err.Error(), "junit.xml") {
		t.Errorf("bad XML: %v", err)
	}
}
