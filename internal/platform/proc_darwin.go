package platform

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// sZomb is p_stat of a zombie (SZOMB in <sys/proc.h>).
const sZomb = 5

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false // gone (or not ours to signal)
	}
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return true // sysctl refused: trust kill(0)
	}
	if kp.Proc.P_pid != int32(pid) {
		return false // no such process (sysctl answers an empty record)
	}
	return kp.Proc.P_stat != sZomb
}

// SessionMembers lists the live processes (zombies excluded) whose session
// id is sid: every process from sysctl kern.proc.all, then getsid(2) on
// each (kinfo_proc only holds a kernel pointer to the session).
func SessionMembers(sid int) []int {
	procs, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return nil
	}
	var pids []int
	for i := range procs {
		p := &procs[i].Proc
		if p.P_pid <= 0 || p.P_stat == sZomb {
			continue
		}
		if s, err := unix.Getsid(int(p.P_pid)); err == nil && s == sid {
			pids = append(pids, int(p.P_pid))
		}
	}
	return pids
}
