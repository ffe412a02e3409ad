package platform

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Alive reports whether pid exists and is not a zombie.
func Alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false // gone (or not ours to signal)
	}
	st, ok := procStat(pid)
	if !ok {
		return true // no procfs: trust kill(0)
	}
	return st.state != "Z" && st.state != "X"
}

// SessionMembers lists the live processes (zombies excluded) whose session
// id is sid, from /proc; none when /proc cannot be read.
func SessionMembers(sid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, ok := procStat(pid)
		if !ok || st.state == "Z" || st.state == "X" {
			continue // gone, or dead and waiting for its parent to reap it
		}
		if st.session == sid {
			pids = append(pids, pid)
		}
	}
	return pids
}

type stat struct {
	state   string
	session int
}

// procStat reads /proc/PID/stat: "pid (comm) state ppid pgrp session ...",
// where comm may hold spaces and parentheses.
func procStat(pid int) (stat, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return stat{}, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return stat{}, false
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 4 {
		return stat{}, false
	}
	sid, err := strconv.Atoi(f[3])
	if err != nil {
		return stat{}, false
	}
	return stat{state: f[0], session: sid}, true
}
