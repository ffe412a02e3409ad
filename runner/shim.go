package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// shq quotes s for POSIX sh.
func shq(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// kubectlCommand is the shell command line (without arguments) that runs
// kubectl against the cluster with the lab kubeconfig, passed in KUBECONFIG
// (the lab namespace is its context's namespace). No flag goes before the
// learner's arguments: kubectl refuses flags before a plugin's name
// ("flags cannot be placed before plugin name"). microk8s' own kubectl
// ignores KUBECONFIG for a --kubeconfig of its own, so it alone gets the
// flag (its plugins cannot be reached that way anyway).
func (l *Lab) kubectlCommand() string {
	parts := make([]string, 0, len(l.Cluster.Kubectl)+2)
	for _, a := range l.Cluster.Kubectl {
		parts = append(parts, shq(a))
	}
	if l.Cluster.Kind == KindMicrok8s {
		parts = append(parts, shq("--kubeconfig="+l.Kubeconfig))
	}
	return "KUBECONFIG=" + shq(l.Kubeconfig) + " exec " + strings.Join(parts, " ")
}

// writeShims writes kubectl, k, microk8s and microk8s.kubectl into ShimDir.
// They hold absolute paths, so they work inside pipes, subshells and scripts.
func (l *Lab) writeShims() error {
	// klab's own cluster variables would make `klab kubectl` look elsewhere:
	// the lab kubeconfig already names the cluster.
	header := fmt.Sprintf("#!/bin/sh\n# klab shim for lesson %s on cluster %s (%s); rewritten by klab.\n"+
		"unset KLAB_KUBECONFIG KLAB_CONTEXT KLAB_SANDBOX\n",
		l.LessonID, l.Cluster.Name, l.Cluster.Kind)
	kubectl := header + l.kubectlCommand() + ` "$@"` + "\n"

	// Real microk8s: its other commands (status, config aside) go to it.
	var other, status string
	if l.Cluster.Kind == KindMicrok8s {
		real := l.Cluster.Kubectl[0]
		if filepath.Base(real) == "microk8s.kubectl" {
			real = filepath.Join(filepath.Dir(real), "microk8s")
		}
		status = "exec " + shq(real) + ` status "$@"`
		other = "exec " + shq(real) + ` "$@"`
	} else {
		probe := strings.TrimPrefix(l.kubectlCommand(), "KUBECONFIG="+shq(l.Kubeconfig)+" exec ")
		status = fmt.Sprintf(`if KUBECONFIG=%s %s get --raw=/readyz --request-timeout=5s >/dev/null 2>&1; then
    echo "microk8s is running"
    echo "klab: stand-in for microk8s, cluster %s (%s), namespace %s"
  else
    echo "microk8s is not running"
    exit 1
  fi`, shq(l.Kubeconfig), probe, l.Cluster.Name, l.Cluster.Kind, l.Namespace)
		other = fmt.Sprintf(`echo "klab: 'microk8s $1' is not available in this lab (cluster %s); use microk8s kubectl, config or status" >&2
  exit 1`, l.Cluster.Name)
	}
	microk8s := header + fmt.Sprintf(`case "$1" in
kubectl)
  shift
  %s "$@"
  ;;
config)
  exec cat %s
  ;;
status)
  %s
  ;;
*)
  %s
  ;;
esac
`, l.kubectlCommand(), shq(l.Kubeconfig), status, other)

	files := map[string]string{
		"kubectl":          kubectl,
		"k":                kubectl,
		"microk8s.kubectl": kubectl,
		"microk8s":         microk8s,
	}
	for name, body := range files {
		if err := writeFileAtomic(filepath.Join(l.ShimDir, name), []byte(body), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// Prompt is the prompt prefix of the lab shell: "(klab <lesson> · <cluster>) ".
func (l *Lab) Prompt() string {
	return fmt.Sprintf("(klab %s · %s) ", l.LessonID, l.Cluster.Name)
}

// bashrcPath is the rc file of the lab shell.
func (l *Lab) bashrcPath() string { return filepath.Join(l.Dir, "bashrc") }

// writeBashrc writes the rc file `klab shell` gives bash: the learner's
// ~/.bashrc, then the lab variables again (a bashrc may reset PATH), then the
// prompt prefix.
func (l *Lab) writeBashrc() error {
	// Escape what bash expands in PS1.
	prompt := strings.NewReplacer(`\`, `\\`, "$", `\$`, "`", "\\`").Replace(l.Prompt())
	var b strings.Builder
	fmt.Fprintf(&b, "# klab lab shell for lesson %s; rewritten by klab.\n", l.LessonID)
	b.WriteString("if [ -f \"$HOME/.bashrc\" ]; then . \"$HOME/.bashrc\"; fi\n")
	fmt.Fprintf(&b, "export PATH=%s:\"$PATH\"\n", shq(l.ShimDir))
	fmt.Fprintf(&b, "export KUBECONFIG=%s KLAB_LESSON=%s KLAB_NAMESPACE=%s KLAB_WORKSPACE=%s\n",
		shq(l.Kubeconfig), shq(l.LessonID), shq(l.Namespace), shq(l.Workspace))
	fmt.Fprintf(&b, "PS1=%s\"$PS1\"\n", shq(prompt))
	if err := os.WriteFile(l.bashrcPath(), []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write lab shell rc: %w", err)
	}
	return nil
}
