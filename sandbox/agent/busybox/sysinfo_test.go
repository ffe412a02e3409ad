package busybox

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sysinfoCases are the commands whose output depends on the node, the machine or the running
// processes: they are checked against what the sandbox really has rather than against busybox.
func sysinfoCases() []cmdCase {
	return []cmdCase{
		{"nproc", "nproc", "", 0},
		{"free", "free -m", "", 0},
		{"uptime", "uptime", "", 0},
		{"df", "df /", "", 0},
		{"ps", "sleep 2 & sleep 0.2; ps", "", 0},
		{"kill", "sleep 5 & sleep 0.2; kill $(ps | awk '$3 == \"sleep\" && $4 == \"5\" {print $1}'); wait $!; echo $?", "", 0},
		{"kill -l", "kill -l | head -n 2", "", 0},
	}
}

func TestSysinfo(t *testing.T) {
	p := newPod(t)
	p.node = Node{CPUs: 3, MemoryBytes: 2 << 30, Started: time.Now().Add(-(2*time.Hour + 5*time.Minute))}
	outs := map[string]string{}
	for _, c := range sysinfoCases() {
		out, errOut, code := p.sh(t, c.script)
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", c.script, code, errOut)
		}
		outs[c.name] = out + errOut
	}
	if outs["nproc"] != "3\n" {
		t.Errorf("nproc = %q, want the Node's 3 CPUs", outs["nproc"])
	}
	if f := strings.Fields(strings.Split(outs["free"], "\n")[1]); len(f) < 2 || f[0] != "Mem:" || f[1] != "2048" {
		t.Errorf("free -m total: %q, want the Node's 2048 MiB", outs["free"])
	}
	if !regexp.MustCompile(`^ \d\d:\d\d:\d\d up  2:05,  0 users,  load average: [\d.]+, [\d.]+, [\d.]+\n$`).MatchString(outs["uptime"]) {
		t.Errorf("uptime = %q, want 2:05 since the node started", outs["uptime"])
	}
	var st unix.Statfs_t
	if err := unix.Statfs(p.root, &st); err != nil {
		t.Fatal(err)
	}
	wantKiB := fmt.Sprint(int64(st.Blocks) * int64(st.Bsize) / 1024)
	if f := strings.Fields(strings.Split(outs["df"], "\n")[1]); len(f) < 2 || f[1] != wantKiB {
		t.Errorf("df: %q, want %s KiB blocks (the host file system's size)", outs["df"], wantKiB)
	}
	lines := strings.Split(strings.TrimSpace(outs["ps"]), "\n")
	if lines[0] != "PID   USER     COMMAND" || !slices.ContainsFunc(lines, func(l string) bool { return strings.HasSuffix(l, " root     sleep 2") }) ||
		!strings.HasPrefix(lines[1], "    1 root     sh -c ") {
		t.Errorf("ps:\n%s\nwant PID 1 the container's sh and the background sleep 2", outs["ps"])
	}
	if outs["kill"] != "Terminated\n143\n" && outs["kill"] != "143\nTerminated\n" {
		t.Errorf("kill of a running sleep: %q, want it Terminated with status 143", outs["kill"])
	}
	if outs["kill -l"] != " 1) HUP\n 2) INT\n" {
		t.Errorf("kill -l = %q", outs["kill -l"])
	}
}

// TestCoverage: every command of the table is exercised by a reference case, a command case or a
// system-information case.
func TestCoverage(t *testing.T) {
	var scripts []string
	for _, c := range referenceCases() {
		scripts = append(scripts, c.Script)
	}
	for _, c := range append(append(append(commandCases(), sysinfoCases()...), kernelCases()...), nnpCases()...) {
		scripts = append(scripts, c.script)
	}
	for _, c := range networkCases() {
		scripts = append(scripts, c.script)
	}
	all := strings.Join(scripts, "\n")
	for _, name := range append(Applets(), ImageCommands()...) {
		re := regexp.MustCompile(`(^|[\s;|&(!$])` + regexp.QuoteMeta(name) + `($|[\s;|&)])`)
		if !re.MatchString(all) {
			t.Errorf("command %q has no test case", name)
		}
	}
}

// TestRegistry: names are unique, every entry has a family, a source and a summary, and /bin is made
// from the table.
func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commandTable() {
		if c.family == "" || c.source == "" || c.summary == "" || c.run == nil {
			t.Errorf("%v: incomplete entry", c.names)
		}
		for _, n := range c.names {
			if seen[n] {
				t.Errorf("%s: listed twice", n)
			}
			seen[n] = true
		}
	}
	p := newPod(t)
	for _, n := range Applets() {
		if _, err := p.fs.Stat("/bin/" + n); err != nil {
			t.Errorf("/bin/%s: %v", n, err)
		}
	}
}
