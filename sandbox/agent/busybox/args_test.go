package busybox

import (
	"fmt"
	"slices"
	"testing"
)

// getoptLong as GNU getopt_long: clusters, attached and separate values, --name=value, operands
// anywhere, "--", and getopt's own messages.
func TestGetoptLong(t *testing.T) {
	short := map[byte]string{'q': "quiet", 'O': "output", 'v': "verbose"}
	value := func(l string) bool { return l == "output" }
	for _, tc := range []struct {
		args     []string
		set      []string
		operands []string
		err      string
	}{
		{args: []string{"-qO", "f", "url", "-v"}, set: []string{"quiet=", "output=f", "verbose="}, operands: []string{"url"}},
		{args: []string{"-Of", "--output=g", "--output", "h", "--", "-q"}, set: []string{"output=f", "output=g", "output=h"}, operands: []string{"-q"}},
		{args: []string{"-", "a"}, operands: []string{"-", "a"}},
		{args: []string{"-x"}, err: "invalid option -- 'x'"},
		{args: []string{"-qO"}, err: "option requires an argument -- 'O'"},
		{args: []string{"--output"}, err: "option '--output' requires an argument"},
		{args: []string{"--nope"}, err: "unrecognized option '--nope'"},
	} {
		var set []string
		ops, err := getoptLong(tc.args, short, value, func(l, v string) error {
			if l == "nope" {
				return fmt.Errorf("unrecognized option '--%s'", l)
			}
			set = append(set, l+"="+v)
			return nil
		})
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error %v, want %q", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(set, tc.set) || !slices.Equal(ops, tc.operands) {
			t.Errorf("%q: set %q operands %q err %v; want %q %q", tc.args, set, ops, err, tc.set, tc.operands)
		}
	}
}
