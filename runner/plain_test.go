package runner

import "testing"

func TestPlain(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\nb\r\n": "a\nb\n",
		"\x1b]11;?\x1b\\\x1b[6nconfigmap/x created": "configmap/x created",
		"\x1b[31mred\x1b[0m":                        "red",
		"10%\r50%\r100%":                            "100%",
		"tab\tkept\x07":                             "tab\tkept",
	} {
		if got := Plain(in); got != want {
			t.Errorf("Plain(%q) = %q, want %q", in, got, want)
		}
	}
}
