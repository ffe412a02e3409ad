package busybox

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// usage reports the size, the space available and the space used of the host file system that holds
// the pod's root folder, in bytes, as statfs(2) gives them.
func (f *FS) usage() (total, avail, used int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(f.mounts[len(f.mounts)-1].root.Name(), &st); err != nil {
		return 0, 0, 0, fmt.Errorf("statfs: %w", err)
	}
	bs := int64(st.Bsize) //nolint:unconvert // Bsize is int64 on Linux, uint32 on macOS
	return int64(st.Blocks) * bs, int64(st.Bavail) * bs, int64(st.Blocks-st.Bfree) * bs, nil
}
