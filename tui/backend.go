// Package tui draws a klab lesson in the terminal and routes keys: the lesson
// picker, the intro, each step (text, numbered blocks, live objectives, command
// output) and the finish page. It is a client of a Backend (runner + verify in
// production, a fake in tests) and never talks to a cluster itself.
package tui

import (
	"context"
	"os/exec"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/runner"
	"github.com/klabdev/klab/verify"
)

// Backend is what the UI needs from the runner and verify packages. Every
// method may be slow; the UI only calls them from tea.Cmds.
type Backend interface {
	// Connect selects the cluster and prepares the lab (namespace, workspace).
	Connect(ctx context.Context) (ClusterInfo, error)
	// EnterPage starts the page's background script and runs its
	// foreground script (the intro's before any step's, as Killercoda does).
	EnterPage(ctx context.Context, page *lessons.Page) error
	// Run runs a block, streaming its output through out.
	Run(ctx context.Context, b *lessons.Block, out func([]byte)) (RunResult, error)
	// Watch re-evaluates the step's objectives on every change until ctx ends.
	Watch(ctx context.Context, step *lessons.Step) <-chan []ObjectiveResult
	// Check evaluates the step's objectives once.
	Check(ctx context.Context, step *lessons.Step) []ObjectiveResult
	// ResetStep puts the lab back in the state the step starts from.
	ResetStep(ctx context.Context, step *lessons.Step) error
	// Shell returns an interactive shell wired to the lab (nil before Connect).
	Shell() *exec.Cmd
}

// Resizer is implemented by backends whose commands run under a terminal of
// a given size (the runner's pty): the UI passes the output pane's size.
type Resizer interface {
	SetSize(cols, rows int)
}

// Pinger is implemented by backends that can tell whether the cluster still
// answers after Connect; the UI asks every PingEvery.
type Pinger interface {
	Ping(ctx context.Context) error
}

// ClusterInfo names the cluster in use.
type ClusterInfo struct {
	Name string // "sandbox", "microk8s", or the kubeconfig context
	Kind string // sandbox | microk8s | kubeconfig
	// Started says the sandbox was started for this run (it keeps running).
	Started bool
}

// RunResult is how a run ended (runner's contract type).
type RunResult = runner.Result

// Status is an objective's status (verify's contract type).
type Status = verify.Status

// Objective statuses.
const (
	StatusPass    = verify.StatusPass
	StatusFail    = verify.StatusFail
	StatusError   = verify.StatusError
	StatusPending = verify.StatusPending
)

// ObjectiveResult is the outcome of one objective (verify's contract type).
type ObjectiveResult = verify.Result
