package busybox

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// stty reports the size of the terminal on standard input (`stty size`: rows and columns), which
// follows the client's window under `kubectl exec -it` and `kubectl attach -it`. Changing the
// terminal's settings is not offered: the agent owns the line discipline (see sandbox/agent).
func stty(p *proc) int {
	if len(p.args) != 1 || p.args[0] != "size" {
		return p.errf("only 'stty size' is available in the klab sandbox")
	}
	f, ok := p.stdin().(*os.File)
	if !ok {
		return p.errf("standard input: Inappropriate ioctl for device")
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return p.errf("standard input: Inappropriate ioctl for device")
	}
	var ws *unix.Winsize
	var werr error
	if err := rc.Control(func(fd uintptr) { ws, werr = unix.IoctlGetWinsize(int(fd), unix.TIOCGWINSZ) }); err != nil || werr != nil {
		return p.errf("standard input: Inappropriate ioctl for device")
	}
	fmt.Fprintf(p.out(), "%d %d\n", ws.Row, ws.Col)
	return 0
}
