package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// skipList is skip.txt: the labels and spec names left out, each with its reason.
type skipList struct {
	labels []string
	names  []string
}

// readSkips parses a skip file; an entry without a reason, an unknown kind or a bad regex is an error
// naming file:line.
func readSkips(path string) (skipList, error) {
	f, err := os.Open(path)
	if err != nil {
		return skipList{}, fmt.Errorf("skip list: %w", err)
	}
	defer f.Close()
	return parseSkips(path, bufio.NewScanner(f))
}

func parseSkips(path string, sc *bufio.Scanner) (skipList, error) {
	var s skipList
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		entry, reason, ok := strings.Cut(line, " -- ")
		if !ok || strings.TrimSpace(reason) == "" {
			return skipList{}, fmt.Errorf("%s:%d: entry without a reason (write `kind: value -- reason`)", path, n)
		}
		kind, value, ok := strings.Cut(entry, ":")
		value = strings.TrimSpace(value)
		if !ok || value == "" {
			return skipList{}, fmt.Errorf("%s:%d: want `label: EXPR -- reason` or `name: REGEX -- reason`", path, n)
		}
		switch strings.TrimSpace(kind) {
		case "label":
			if strings.ContainsAny(value, "&|!()") {
				return skipList{}, fmt.Errorf("%s:%d: label %q: one label per entry", path, n, value)
			}
			s.labels = append(s.labels, value)
		case "name":
			if _, err := regexp.Compile(value); err != nil {
				return skipList{}, fmt.Errorf("%s:%d: name: %w", path, n, err)
			}
			s.names = append(s.names, value)
		default:
			return skipList{}, fmt.Errorf("%s:%d: unknown kind %q (label or name)", path, n, kind)
		}
	}
	if err := sc.Err(); err != nil {
		return skipList{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// labelFilter is the Ginkgo label filter: extra (if any) and not one of the skipped labels.
func (s skipList) labelFilter(extra string) string {
	var terms []string
	if strings.TrimSpace(extra) != "" {
		terms = append(terms, "("+extra+")")
	}
	for _, l := range s.labels {
		terms = append(terms, "!"+l)
	}
	return strings.Join(terms, " && ")
}

// nameRegex is the --ginkgo.skip regex for the skipped names ("" when none).
func (s skipList) nameRegex() string {
	if len(s.names) == 0 {
		return ""
	}
	parts := make([]string, len(s.names))
	for i, n := range s.names {
		parts[i] = "(?:" + n + ")"
	}
	return strings.Join(parts, "|")
}
