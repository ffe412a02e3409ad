package agent

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// machineMemory is the machine's physical memory in bytes.
func machineMemory() (int64, error) {
	b, err := unix.SysctlUint64("hw.memsize")
	if err != nil {
		return 0, fmt.Errorf("sysctl hw.memsize: %w", err)
	}
	return int64(b), nil
}
