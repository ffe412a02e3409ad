package agent

import (
	"net/url"
	"strings"
	"testing"
)

func FuzzParseLogLine(f *testing.F) {
	f.Add("hello world", true)
	f.Add("", false)
	f.Add("  spaces  F P ", true)
	f.Fuzz(func(t *testing.T, text string, stdout bool) {
		_, _ = parseLogLine(text) // arbitrary input: no panic
		if strings.Contains(text, "\n") {
			return
		}
		stream := "stderr"
		if stdout {
			stream = "stdout"
		}
		e, ok := parseLogLine("2026-11-27T10:00:00.123456789Z " + stream + " F " + text)
		if !ok || e.text != text || e.stream != stream || e.partial || e.t.Nanosecond() != 123456789 {
			t.Fatalf("round trip of %q: %+v %v", text, e, ok)
		}
	})
}

func FuzzParseLogOptions(f *testing.F) {
	f.Add("follow=true&tailLines=10&timestamps=true")
	f.Add("sinceSeconds=-1&limitBytes=x")
	f.Add("sinceTime=2026-11-27T10:00:00Z&previous=1")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		o, err := parseLogOptions(v)
		if err == nil && (o.tailLines < -1 || o.limitBytes < -1) {
			t.Fatalf("negative limits accepted from %q: %+v", q, o)
		}
	})
}

func FuzzExpandRefs(f *testing.F) {
	for _, s := range []string{"$(A)", "$$(A)", "$(", "a$", "$(B) $(A)$(A)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := expandRefs(s, map[string]string{"A": "x"})
		if !strings.Contains(s, "$") && got != s {
			t.Fatalf("%q changed to %q without a reference", s, got)
		}
	})
}
