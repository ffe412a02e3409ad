package platform

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// QuietTerminal sets the terminal fd so that it keeps "\n" as is (no
// "\r\n") and does not echo its input: what a program prints comes out as
// it wrote it, and what klab writes to it (answers to terminal queries) is
// not echoed into the output.
func QuietTerminal(fd int) error {
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return fmt.Errorf("get termios: %w", err)
	}
	t.Oflag &^= unix.ONLCR
	t.Lflag &^= unix.ECHO | unix.ECHONL
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, t); err != nil {
		return fmt.Errorf("set termios: %w", err)
	}
	return nil
}
