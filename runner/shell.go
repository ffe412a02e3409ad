package runner

import (
	"os"
	"os/exec"
	"path/filepath"
)

// ShellCommand is the learner's $SHELL (bash when unset) in the lab: its
// working directory is the workspace, its environment the lab's, and its
// prompt starts with Prompt() (bash: through an rc file that sources
// ~/.bashrc first; other shells: PS1 in the environment). The caller sets
// Stdin/Stdout/Stderr (tea.ExecProcess does) and runs it.
func ShellCommand(l *Lab) *exec.Cmd {
	sh := os.Getenv("SHELL")
	if sh == "" {
		sh = l.bash
	}
	var cmd *exec.Cmd
	env := append([]string(nil), l.Env...)
	if filepath.Base(sh) == "bash" {
		cmd = exec.Command(sh, "--rcfile", l.bashrcPath(), "-i")
	} else {
		ps1 := os.Getenv("PS1")
		if ps1 == "" {
			ps1 = "$ "
		}
		cmd = exec.Command(sh)
		env = append(env, "PS1="+l.Prompt()+ps1)
	}
	cmd.Dir = l.Workspace
	cmd.Env = env
	return cmd
}
