package runner

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestQueryAnswerer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks []string
		want   string
	}{
		{"termenv background then cursor", []string{"\x1b]11;?\x1b\\\x1b[6nhello"}, "\x1b]11;rgb:0000/0000/0000\x1b\\\x1b[1;1R"},
		{"split across chunks", []string{"out\x1b]1", "1;?\x1b\\ more"}, "\x1b]11;rgb:0000/0000/0000\x1b\\"},
		{"BEL terminator", []string{"\x1b]10;?\a"}, "\x1b]10;rgb:ffff/ffff/ffff\a"},
		{"colours are not queries", []string{"\x1b[31mred\x1b[0m\x1b[6"}, ""},
		{"plain output", []string{"job.batch/hello created\r\n"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q queryAnswerer
			var got bytes.Buffer
			for _, c := range tc.chunks {
				q.feed([]byte(c), &got)
			}
			if got.String() != tc.want {
				t.Fatalf("answers %q, want %q", got.String(), tc.want)
			}
		})
	}
}

// A program that asks the terminal where the cursor is waits for the answer;
// under klab's pty it must get one (without it this run would hang until the
// context ends).
func TestRunAnswersTerminalQueries(t *testing.T) {
	l := newOfflineLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := l.Run(ctx, `printf '\033[6n'; IFS= read -rs -d R ans; echo "cursor:${ans#*[}"`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Interrupted || !strings.Contains(res.Output, "cursor:1;1") {
		t.Fatalf("no answer to the query (interrupted=%v): %q", res.Interrupted, res.Output)
	}
}
