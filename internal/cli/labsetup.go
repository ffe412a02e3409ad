package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/klabdev/klab/lessons"
	"github.com/klabdev/klab/runner"
	"github.com/klabdev/klab/verify"
)

// labSetup is what every command that works on a lesson's lab needs: the cluster (selected as the
// options say), the lab (namespace, workspace, kubeconfig, shims, the lesson's assets) and a verifier
// whose script objectives run in the lab only once the lesson is trusted.
type labSetup struct {
	Cluster  *runner.Cluster
	Lab      *runner.Lab
	Verifier *verify.Verifier
}

// labSetupOptions are the parts of the set-up that differ between commands.
type labSetupOptions struct {
	Log      io.Writer            // where cluster selection says what it does
	Lang     string               // messages (verify, runner)
	Trust    *lessonTrust         // gates the lesson's scripts
	Logf     func(string, ...any) // problems that do not stop the set-up (nil: dropped)
	Verifier bool                 // build a verifier (klab shell needs none)
}

// openLab selects the cluster and prepares the lesson's lab. The caller closes setup.Lab.
func openLab(ctx context.Context, opts *Options, lesson *lessons.Lesson, so labSetupOptions) (*labSetup, error) {
	logf := so.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	sel := selectOptions(opts, so.Log, so.Lang)
	sel.SandboxNodes = lesson.Nodes()
	c, err := runner.Select(ctx, sel)
	if err != nil {
		return nil, fmt.Errorf("choose the cluster: %w", err)
	}
	lab, err := runner.NewLab(ctx, c, lesson.ID, runner.LabOptions{Namespace: opts.Namespace})
	if err != nil {
		return nil, fmt.Errorf("prepare the lab: %w", err)
	}
	// The files the scenario uploads (absolute targets under $KLAB_ROOT); the learner's edits are kept.
	if err := lab.KeepAssets(lesson); err != nil {
		_ = lab.Close()
		return nil, fmt.Errorf("lesson %s: %w", lesson.ID, err)
	}
	setup := &labSetup{Cluster: c, Lab: lab}
	if !so.Verifier {
		return setup, nil
	}
	rc, err := lab.RestConfig()
	if err != nil {
		_ = lab.Close()
		return nil, fmt.Errorf("lab client config: %w", err)
	}
	setup.Verifier, err = verify.New(verify.Config{
		RestConfig: rc, Namespace: lab.Namespace, Lang: so.Lang,
		RunScript: gatedScripts(lab, so.Trust, logf), TrustHint: so.Trust.Command(),
	})
	if err != nil {
		_ = lab.Close()
		return nil, fmt.Errorf("verifier: %w", err)
	}
	return setup, nil
}

// selectOptions is how every command asks runner.Select for the cluster the options name.
func selectOptions(opts *Options, log io.Writer, lang string) runner.SelectOptions {
	return runner.SelectOptions{
		Sandbox: opts.Sandbox, Kubectl: opts.Kubectl, Kubeconfig: opts.Kubeconfig, Context: opts.Context,
		Log: log, Lang: lang,
	}
}
