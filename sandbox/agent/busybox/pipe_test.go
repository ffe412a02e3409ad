package busybox

import "testing"

func TestPipeEarlyExit(t *testing.T) {
	p := newPod(t)
	out, errOut, code := p.sh(t, "yes | head -n 2; seq 1000000 | head -1; cat /dev/null | wc -l")
	if out != "y\ny\n1\n0\n" || code != 0 {
		t.Fatalf("got %q %q %d", out, errOut, code)
	}
}
