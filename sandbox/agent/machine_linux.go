package agent

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// machineMemory is the machine's physical memory in bytes.
func machineMemory() (int64, error) {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0, fmt.Errorf("sysinfo: %w", err)
	}
	return int64(si.Totalram) * int64(si.Unit), nil //nolint:unconvert // field types differ by architecture
}
