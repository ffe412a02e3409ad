// Command run starts a private klab sandbox, runs the upstream e2e test binary against it with the
// skip list of skip.txt, stops the sandbox, and prints the result from the JUnit report as its last
// line: "N passed, N failed, N skipped". It exits 1 when a spec failed, 2 on bad input.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type options struct {
	klab, e2e, skipFile, out, dataDir string
	focus, labels                     string
	verbose                           bool
	timeout                           time.Duration
}

func run(args []string, stdout, stderr io.Writer) int {
	var o options
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.klab, "klab", "bin/klab", "the klab binary (built with make build)")
	fs.StringVar(&o.e2e, "e2e", "bin/e2e.test", "the e2e test binary")
	fs.StringVar(&o.skipFile, "skip-file", "conformance/skip.txt", "the skip list")
	fs.StringVar(&o.out, "out", "out/conformance", "where the JUnit report, the logs and the sandbox data dir go")
	fs.StringVar(&o.focus, "focus", `\[sig-apps\] (Job|CronJob|TTLAfterFinished) `, "Ginkgo focus regex")
	fs.StringVar(&o.labels, "labels", "", "extra Ginkgo label filter, ANDed with the skip list's labels")
	fs.BoolVar(&o.verbose, "v", false, "verbose Ginkgo output")
	fs.DurationVar(&o.timeout, "timeout", 3*time.Hour, "bound for the whole run")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "run: unexpected arguments %q\n", fs.Args())
		return 2
	}
	skips, err := readSkips(o.skipFile)
	if err != nil {
		fmt.Fprintf(stderr, "run: %v\n", err)
		return 2
	}
	focus, err := regexp.Compile(o.focus)
	if err != nil {
		fmt.Fprintf(stderr, "run: -focus: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	res, err := runSuite(ctx, o, skips, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "run: %v\n", err)
		return 1
	}
	sum, err := summarize(res, focus)
	if err != nil {
		fmt.Fprintf(stderr, "run: %v\n", err)
		return 1
	}
	for _, f := range sum.failedNames {
		fmt.Fprintf(stdout, "FAILED: %s\n", f)
	}
	fmt.Fprintf(stdout, "JUnit report: %s\n", res)
	fmt.Fprintf(stdout, "%d passed, %d failed, %d skipped\n", sum.passed, sum.failed, sum.skipped)
	if sum.failed > 0 || sum.passed == 0 {
		return 1
	}
	return 0
}

// runSuite starts the sandbox, runs the e2e binary and stops the sandbox; it returns the JUnit path.
func runSuite(ctx context.Context, o options, skips skipList, stdout, stderr io.Writer) (string, error) {
	out, err := filepath.Abs(o.out)
	if err != nil {
		return "", fmt.Errorf("output dir: %w", err)
	}
	dataDir := filepath.Join(out, "sandbox")
	if o.dataDir != "" {
		dataDir = o.dataDir
	}
	reportDir := filepath.Join(out, "report")
	// Start from a clean slate: a sandbox left from an earlier run would carry its objects along.
	for _, d := range []string{dataDir, reportDir} {
		if err := os.RemoveAll(d); err != nil {
			return "", fmt.Errorf("clean %s: %w", d, err)
		}
	}
	if err := os.MkdirAll(reportDir, 0o755); err != nil {
		return "", fmt.Errorf("report dir: %w", err)
	}
	up := exec.CommandContext(ctx, o.klab, "sandbox", "up", "--detach", "--data-dir", dataDir)
	up.Stdout, up.Stderr = stdout, stderr
	start := time.Now()
	if err := up.Run(); err != nil {
		return "", fmt.Errorf("%s sandbox up: %w", o.klab, err)
	}
	fmt.Fprintf(stdout, "sandbox ready in %s (data dir %s)\n", time.Since(start).Round(100*time.Millisecond), dataDir)
	defer func() {
		down := exec.Command(o.klab, "sandbox", "down", "--data-dir", dataDir)
		down.Stdout, down.Stderr = stdout, stderr
		if err := down.Run(); err != nil {
			fmt.Fprintf(stderr, "run: %s sandbox down: %v\n", o.klab, err)
		}
	}()

	args := []string{
		"--kubeconfig=" + filepath.Join(dataDir, "kubeconfig"),
		"--provider=skeleton",
		"--report-dir=" + reportDir,
		"--e2e-output-dir=" + reportDir,
		"--ginkgo.focus=" + o.focus,
		"--ginkgo.no-color",
		// Ginkgo's own suite timeout is 1 h: the whole run's bound (-timeout) is the one that counts.
		"--ginkgo.timeout=" + o.timeout.String(),
	}
	if lf := skips.labelFilter(o.labels); lf != "" {
		args = append(args, "--ginkgo.label-filter="+lf)
	}
	if re := skips.nameRegex(); re != "" {
		args = append(args, "--ginkgo.skip="+re)
	}
	if o.verbose {
		args = append(args, "--ginkgo.v")
	}
	logPath := filepath.Join(out, "e2e.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return "", fmt.Errorf("log: %w", err)
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, o.e2e, args...)
	cmd.Stdout = io.MultiWriter(stdout, logf)
	cmd.Stderr = io.MultiWriter(stderr, logf)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = a
		if strings.ContainsAny(a, " ()|&!*$\\[]'\"") {
			quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	fmt.Fprintf(stdout, "%s %s\n", o.e2e, strings.Join(quoted, " "))
	runErr := cmd.Run()
	var exitErr *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exitErr) {
		return "", fmt.Errorf("run %s: %w", o.e2e, runErr)
	}
	if ctx.Err() != nil {
		return "", fmt.Errorf("e2e run stopped: %w", context.Cause(ctx))
	}
	src := filepath.Join(reportDir, "junit_01.xml")
	dst := filepath.Join(out, "junit.xml")
	if err := os.Rename(src, dst); err != nil {
		return "", fmt.Errorf("the e2e binary wrote no JUnit report (log in %s): %w", logPath, err)
	}
	return dst, nil
}
