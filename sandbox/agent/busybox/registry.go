package busybox

import (
	"slices"
	"strings"
)

// The command set of a sandbox pod, as one table: each entry names the command (and its aliases), the
// family it belongs to, where its implementation comes from, and what it does. The image skeleton's /bin,
// `busybox --list`, `type`/`which` and the package documentation all derive from this table.

// family groups commands the way the source files do.
type family string

const (
	famShell     family = "shell"     // shell interpreters and builtins run as commands (processes.go)
	famProcesses family = "processes" // running, timing and signalling commands (processes.go)
	famFiles     family = "files"     // files and folders (files.go)
	famText      family = "text"      // text filters (text.go, sed.go, awk.go)
	famSystem    family = "system"    // what the pod sees of its node and itself (sysinfo.go)
	famLanguages family = "languages" // interpreters other than the shell (perl.go)
	famNetwork   family = "network"   // the pod network (netapplets.go)
)

// Where an implementation comes from.
const (
	srcOurs  = "klab"                     // written here, in Go, against the pod's FS
	srcMvdan = "mvdan.cc/sh/v3 interp"    // the shell interpreter's own builtin
	srcGoAWK = "github.com/benhoyt/goawk" // a maintained AWK interpreter, confined
)

// families lists the families in the order help and docs show them.
func families() []family {
	return []family{famShell, famProcesses, famFiles, famText, famSystem, famNetwork, famLanguages}
}

// command is one entry of the table.
type command struct {
	names   []string // the first is the canonical name; the others are aliases
	family  family
	source  string
	run     applet
	summary string // one line, for `busybox --help` and the docs
}

// commandTable is the whole command set. It is built on each call (it is small) so that no package
// state exists; lookups go through findCommand.
func commandTable() []command {
	return []command{
		{[]string{"sh", "ash", "bash"}, famShell, srcMvdan, shApplet, "POSIX shell (mvdan.cc/sh interpreter): -c, -e, -u, -x, -o pipefail, script files, commands from stdin line by line (-i or a terminal: prompts, Ctrl+C)"},
		{[]string{"echo", "test", "[", "true", "false", "pwd"}, famShell, srcMvdan, builtinApplet, "the shell's builtin, run as a command (`env echo`, `/bin/true`)"},
		{[]string{"busybox"}, famShell, srcOurs, busyboxApplet, "multi-call entry: `busybox NAME ARGS`, `busybox --list`"},
		{[]string{"env"}, famProcesses, srcOurs, env, "print the environment, or run a command with -i, -u NAME, NAME=VALUE"},
		{[]string{"printenv"}, famProcesses, srcOurs, printenv, "print the environment or the named variables"},
		{[]string{"sleep"}, famProcesses, srcOurs, sleep, "wait a duration (s, m, h, d suffixes, fractions); stopped by a signal"},
		{[]string{"timeout"}, famProcesses, srcOurs, timeoutApplet, "run a command with a time limit (exit 124)"},
		{[]string{"xargs"}, famProcesses, srcOurs, xargs, "build command lines from standard input: -n, -I, -0, -r"},
		{[]string{"yes"}, famProcesses, srcOurs, yes, "print a line forever"},
		{[]string{"kill"}, famProcesses, srcOurs, kill, "signal a process of the container (-l lists the signals)"},
		{[]string{"ps"}, famProcesses, srcOurs, ps, "list the container's processes"},
		{[]string{"which"}, famProcesses, srcOurs, which, "locate a command in PATH"},
		{[]string{"basename"}, famFiles, srcOurs, basename, "strip the folder and an optional suffix"},
		{[]string{"dirname"}, famFiles, srcOurs, dirname, "strip the last path element"},
		{[]string{"cat"}, famFiles, srcOurs, cat, "concatenate files: -n"},
		{[]string{"chmod"}, famFiles, srcOurs, chmod, "change modes, octal or symbolic, -R"},
		{[]string{"cp"}, famFiles, srcOurs, cp, "copy files and folders: -r, -R, -a, -p, -f"},
		{[]string{"dd"}, famFiles, srcOurs, dd, "copy blocks: if=, of=, bs=, count=, skip=, seek=, conv=notrunc,fsync, status=none"},
		{[]string{"du"}, famFiles, srcOurs, du, "disk usage in KiB: -s, -h, -d N"},
		{[]string{"find"}, famFiles, srcOurs, find, "walk folders: -name, -type, -maxdepth, -mindepth, -size, -mtime, -newer, -print, -delete, -exec"},
		{[]string{"ln"}, famFiles, srcOurs, ln, "make links (-s symbolic)"},
		{[]string{"ls"}, famFiles, srcOurs, ls, "list folders: -l, -a, -A, -h, -R, -d, -1, -t, -r, -S"},
		{[]string{"mkdir"}, famFiles, srcOurs, mkdir, "make folders: -p, -m MODE"},
		{[]string{"mktemp"}, famFiles, srcOurs, mktemp, "make a unique file or folder (-d) under /tmp"},
		{[]string{"mv"}, famFiles, srcOurs, mv, "move or rename"},
		{[]string{"readlink"}, famFiles, srcOurs, readlink, "print a symbolic link's target: -f"},
		{[]string{"rm"}, famFiles, srcOurs, rm, "remove files and folders: -r, -f"},
		{[]string{"rmdir"}, famFiles, srcOurs, rmdir, "remove empty folders"},
		{[]string{"stat"}, famFiles, srcOurs, stat, "a file's size, kind, mode and time"},
		{[]string{"tar"}, famFiles, srcOurs, tarApplet, "create, extract or list archives: c, x, t, f, -C, v, z, m, o, --no-same-owner, --no-same-permissions (what `kubectl cp` runs)"},
		{[]string{"tee"}, famFiles, srcOurs, tee, "copy standard input to files: -a"},
		{[]string{"touch"}, famFiles, srcOurs, touch, "create files or set their time: -c, -d DATE"},
		{[]string{"awk"}, famText, srcGoAWK, awk, "the AWK language (POSIX and GoAWK's extensions): -F, -v; no system(), pipes or file redirections"},
		{[]string{"base64"}, famText, srcOurs, base64Applet, "encode or decode (-d) base64"},
		{[]string{"printf"}, famText, srcOurs, printf, "format and print: %s %b %c %d %i %o %u %x %X %e %f %g with flags, width and precision"},
		{[]string{"cut"}, famText, srcOurs, cut, "select fields (-d, -f) or characters (-c)"},
		{[]string{"expr"}, famText, srcOurs, expr, "evaluate an expression: arithmetic, comparison, `:` regexp, length, substr"},
		{[]string{"grep", "egrep", "fgrep"}, famText, srcOurs, grep, "search lines: -i, -v, -c, -n, -l, -q, -o, -w, -E, -F, -r, -e (repeatable), -m, -A/-B/-C context"},
		{[]string{"gzip", "gunzip", "zcat"}, famText, srcOurs, gzipApplet, "compress or expand (-d, -c)"},
		{[]string{"head"}, famText, srcOurs, head, "first lines (-n N) or bytes (-c N)"},
		{[]string{"md5sum", "sha1sum", "sha256sum"}, famText, srcOurs, sumApplet, "checksums"},
		{[]string{"rev"}, famText, srcOurs, rev, "reverse each line"},
		{[]string{"sed"}, famText, srcOurs, sed, "stream editor: s///g, d, p, addresses, ranges, -n, -e, -E, -i"},
		{[]string{"seq"}, famText, srcOurs, seq, "print a sequence of numbers: -s, -w"},
		{[]string{"sort"}, famText, srcOurs, sortApplet, "sort lines: -n, -r, -u, -k, -t"},
		{[]string{"tail"}, famText, srcOurs, tail, "last lines (-n N, -n +N), bytes (-c), follow (-f)"},
		{[]string{"tr"}, famText, srcOurs, tr, "translate or delete (-d) characters, squeeze (-s)"},
		{[]string{"uniq"}, famText, srcOurs, uniq, "drop repeated lines: -c, -d, -u"},
		{[]string{"wc"}, famText, srcOurs, wc, "count lines, words and bytes: -l, -w, -c"},
		{[]string{"date"}, famSystem, srcOurs, date, "print the date: +FORMAT, -u, -d DATE, -I, -R"},
		{[]string{"df"}, famSystem, srcOurs, df, "the pod's file system: its real size and use on the node (-h, -k)"},
		{[]string{"free"}, famSystem, srcOurs, free, "the node's memory as its Node object reports it (-m, -h)"},
		{[]string{"hostname"}, famSystem, srcOurs, hostname, "the pod's host name"},
		{[]string{"id", "whoami"}, famSystem, srcOurs, id, "the user: root (uid 0), as in an image with no USER, or securityContext.runAsUser/runAsGroup named from /etc/passwd and /etc/group"},
		{[]string{"nproc"}, famSystem, srcOurs, nproc, "the node's CPUs as its Node object reports them"},
		{[]string{"stty"}, famSystem, srcOurs, stty, "the terminal's size (`stty size`), which follows the client's window under `kubectl exec -it`"},
		{[]string{"uname"}, famSystem, srcOurs, uname, "the kernel: -a, -s, -n, -r, -m"},
		{[]string{"sysctl"}, famSystem, srcOurs, sysctl, "read the pod's namespaced kernel parameters (securityContext.sysctls): NAME, -n, -e, -a; setting one fails, /proc/sys being read-only"},
		{[]string{"mount"}, famSystem, srcOurs, mount, "list the container's mounts (-t TYPE), from /proc/mounts; mounting fails without CAP_SYS_ADMIN"},
		{[]string{"uptime"}, famSystem, srcOurs, uptime, "how long the node has been up"},
		{[]string{"wget"}, famNetwork, srcOurs, wget, "fetch over HTTP through the pod network: -q, -O FILE|-, -S, -T SEC, -U, -P DIR, --spider, --header, --post-data"},
		{[]string{"ip"}, famNetwork, srcOurs, ipApplet, "the pod's interfaces and routes: addr, link, route (show); changing them answers Operation not permitted, as without CAP_NET_ADMIN"},
		{[]string{"nc"}, famNetwork, srcOurs, nc, "TCP through the pod network: HOST PORT, -z (scan), -v, -w SEC, -l -p PORT (listen), -k"},
		{[]string{"perl"}, famLanguages, srcOurs, perl, "only the documented pi program (`perl -Mbignum=bpi -wle 'print bpi(N)'`); any other program is refused"},
	}
}

// imageCommands are commands busybox does not have that some images ship besides a shell (agnhost's,
// nginx's and curlimages/curl's curl): a container has one only when its image lists it (images.Image
// Commands, Shell.Extra), in /usr/bin as in those images.
func imageCommands() []command {
	return []command{
		{[]string{"nnp"}, famProcesses, srcOurs, nnp, "the e2e nonewprivs image's setuid-root program: prints its effective uid, 0 unless no_new_privs is set (allowPrivilegeEscalation: false)"},
		{[]string{"curl"}, famNetwork, srcOurs, curl, "curl 8 over the pod network (HTTP): -s, -S, -f, -o, -O, -I, -i, -L, -v, -X, -d, --data-*, --json, -H, -A, -u, -w, -m, --connect-timeout, -G; its exit codes and messages, its progress meter"},
	}
}

// ImageCommands lists the names of the commands images may ship (imageCommands).
func ImageCommands() []string {
	var names []string
	for _, c := range imageCommands() {
		names = append(names, c.names...)
	}
	slices.Sort(names)
	return names
}

// appletFor returns the implementation of name (a canonical name or an alias), from the shell's index
// of the table and of the image's own commands, built once per container (every command a pod runs is
// looked up here).
func (s *Shell) appletFor(name string) (applet, bool) {
	s.indexOnce.Do(func() {
		s.index = map[string]applet{}
		for _, c := range commandTable() {
			for _, n := range c.names {
				s.index[n] = c.run
			}
		}
		for _, c := range imageCommands() {
			for _, n := range c.names {
				if slices.Contains(s.Extra, n) {
					s.index[n] = c.run
				}
			}
		}
	})
	a, ok := s.index[name]
	return a, ok
}

// Applets lists every command name and alias, sorted: the files the image skeleton writes in /bin.
func Applets() []string {
	var names []string
	for _, c := range commandTable() {
		names = append(names, c.names...)
	}
	slices.Sort(names)
	return names
}

// usage is the `busybox --help` text: the commands by family, with their source and summary.
func usage() string {
	var b strings.Builder
	for _, f := range families() {
		b.WriteString(string(f) + ":\n")
		for _, c := range commandTable() {
			if c.family == f {
				b.WriteString("  " + strings.Join(c.names, ", ") + " — " + c.summary + " [" + c.source + "]\n")
			}
		}
	}
	return b.String()
}
