//go:build !windows

// Command klab is an interactive terminal lab runner for Kubernetes.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/klabdev/klab/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Execute(ctx, cli.NewRootCommandAs(os.Args[0]), os.Stderr)
	stop()
	os.Exit(code)
}
