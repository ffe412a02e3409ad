package platform

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// NoSignalKeys turns off ISIG on the terminal fd: Ctrl+C and Ctrl+\ reach its reader as bytes instead
// of making the kernel signal a foreground process group. The sandbox's node agent uses it on the
// pseudo-terminals of `kubectl exec -t` and `tty: true` containers, whose commands are not processes:
// the agent sees those keys itself, flushes the line (FlushInput), echoes them and signals the command.
func NoSignalKeys(fd int) error {
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return fmt.Errorf("get termios: %w", err)
	}
	t.Lflag &^= unix.ISIG
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, t); err != nil {
		return fmt.Errorf("set termios: %w", err)
	}
	return nil
}

// FlushInput discards what was typed on the terminal fd and not read yet (tcflush(fd, TCIFLUSH)), as
// the kernel does on Ctrl+C.
func FlushInput(fd int) error {
	if err := flushInput(fd); err != nil {
		return fmt.Errorf("flush terminal input: %w", err)
	}
	return nil
}
