package lessons

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .golden files under testdata/")

// golden compares got with testdata/<name>, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read golden (run go test ./lessons -update): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./lessons -update to accept):\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}

func toJSON(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// diagStrings renders diagnostics as file:line:col: severity: message.
func diagStrings(diags []Diagnostic) []string {
	out := []string{}
	for _, d := range diags {
		out = append(out, d.String())
	}
	return out
}

// wantDiag checks that some diagnostic starts with prefix and contains text.
func wantDiag(t *testing.T, diags []Diagnostic, prefix, text string) {
	t.Helper()
	for _, s := range diagStrings(diags) {
		if strings.HasPrefix(s, prefix) && strings.Contains(s, text) {
			return
		}
	}
	t.Errorf("no diagnostic %q … %q in:\n  %s", prefix, text, strings.Join(diagStrings(diags), "\n  "))
}
