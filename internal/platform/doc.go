// Package platform holds what klab does differently on Linux and macOS, so
// that the rest of the code is the same on both: whether a process is alive
// (not a zombie), the processes of a session, the terminal flags of a
// pseudo-terminal, and the lifeline that stops a child when its parent dies
// (Linux's parent-death signal has no macOS equivalent; a pipe works on both).
//
// Windows is not supported: klab runs there in WSL 2.
package platform
