//go:build windows

// Command klab does not build for Windows: it runs Kubernetes lessons with
// Unix shells, pseudo-terminals and process groups. On Windows, install and
// run the Linux build inside WSL 2 (see the README, "Platforms").
package main

// This line fails the build on purpose, with a message that says what to do.
const _ = klab_does_not_run_on_Windows__use_the_Linux_build_in_WSL_2__see_README

func main() {}
