package busybox

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// hostname prints the host name: as set, -s short (to the first dot), -f its canonical name (the first name
// of its /etc/hosts line, as the resolver gives it), -d the domain of that, -i its addresses.
func hostname(p *proc) int {
	set, _, bad := flags(p.args, "")
	if bad != 0 || len(set) > 1 {
		return p.errf("usage: hostname [-sfdi]")
	}
	name := p.sh.Hostname
	canonical, addrs := name, []string{}
	if data, err := p.sh.FS.ReadFile("/etc/hosts"); err == nil {
		for line := range strings.Lines(string(data)) {
			line, _, _ = strings.Cut(line, "#")
			f := strings.Fields(line)
			if len(f) >= 2 && slices.Contains(f[1:], name) {
				if len(addrs) == 0 {
					canonical = f[1]
				}
				addrs = append(addrs, f[0])
			}
		}
	}
	switch {
	case set['s'] != "":
		name, _, _ = strings.Cut(name, ".")
	case set['f'] != "":
		name = canonical
	case set['d'] != "":
		_, name, _ = strings.Cut(canonical, ".")
	case set['i'] != "":
		name = strings.Join(addrs, " ")
	}
	fmt.Fprintln(p.out(), name)
	return 0
}

func id(p *proc) int {
	if p.sh.UID == 0 && (p.sh.GID == nil || *p.sh.GID == 0) {
		return idRoot(p)
	}
	uid := p.sh.UID
	user, userGID := p.account("/etc/passwd", uid)
	gid := int64(0)
	switch {
	case p.sh.GID != nil:
		gid = *p.sh.GID
	case userGID >= 0:
		gid = userGID
	}
	group, _ := p.account("/etc/group", gid)
	named := func(n int64, name string) string {
		if name == "" {
			return strconv.FormatInt(n, 10)
		}
		return fmt.Sprintf("%d(%s)", n, name)
	}
	orNumber := func(n int64, name string) string {
		if name == "" {
			return strconv.FormatInt(n, 10)
		}
		return name
	}
	if p.name == "whoami" {
		if user == "" {
			return p.errf("unknown uid %d", uid)
		}
		fmt.Fprintln(p.out(), user)
		return 0
	}
	set, _, _ := flags(p.args, "")
	switch {
	case has(set, "u") && has(set, "n"):
		fmt.Fprintln(p.out(), orNumber(uid, user))
	case has(set, "g") && has(set, "n"):
		fmt.Fprintln(p.out(), orNumber(gid, group))
	case has(set, "u"):
		fmt.Fprintln(p.out(), uid)
	case has(set, "g"), has(set, "G"):
		fmt.Fprintln(p.out(), gid)
	default:
		fmt.Fprintf(p.out(), "uid=%s gid=%s groups=%s\n", named(uid, user), named(gid, group), named(gid, group))
	}
	return 0
}

// account finds id in a passwd or group file of the container: its name and, for passwd, its group (-1
// when the id is not there).
func (p *proc) account(file string, id int64) (name string, gid int64) {
	data, err := p.sh.FS.ReadFile(file)
	if err != nil {
		return "", -1
	}
	for line := range strings.Lines(string(data)) {
		f := strings.Split(strings.TrimSpace(line), ":")
		if len(f) < 3 || f[2] != strconv.FormatInt(id, 10) {
			continue
		}
		gid = -1
		if len(f) > 3 {
			if g, err := strconv.ParseInt(f[3], 10, 64); err == nil {
				gid = g
			}
		}
		return f[0], gid
	}
	return "", -1
}

// idRoot is id for root, as in an image with no USER.
func idRoot(p *proc) int {
	if p.name == "whoami" {
		fmt.Fprintln(p.out(), "root")
		return 0
	}
	set, _, _ := flags(p.args, "")
	switch {
	case has(set, "u") && has(set, "n"), has(set, "g") && has(set, "n"):
		fmt.Fprintln(p.out(), "root")
	case has(set, "u"), has(set, "g"):
		fmt.Fprintln(p.out(), 0)
	case has(set, "G"):
		fmt.Fprintln(p.out(), "0 1 2 3 4 6 10 11 20 26 27")
	default:
		fmt.Fprintln(p.out(), "uid=0(root) gid=0(root) groups=0(root),1(bin),2(daemon),3(sys),4(adm),6(disk),10(wheel),11(floppy),20(dialout),26(tape),27(video)")
	}
	return 0
}

func uname(p *proc) int {
	set, _, _ := flags(p.args, "")
	fields := []struct {
		flag, val string
	}{{"s", "Linux"}, {"n", p.sh.Hostname}, {"r", "6.1.0-klab"}, {"v", "#1 SMP klab sandbox"}, {"m", "x86_64"}, {"o", "GNU/Linux"}}
	var out []string
	for _, f := range fields {
		if has(set, f.flag) || has(set, "a") {
			out = append(out, f.val)
		}
	}
	if len(out) == 0 {
		out = []string{"Linux"}
	}
	fmt.Fprintln(p.out(), strings.Join(out, " "))
	return 0
}

// strftime formats t with the date(1) directives lessons use.
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		pad := ""
		if f[i] == '-' && i+1 < len(f) {
			pad = "-"
			i++
		}
		num := func(v, w int) string {
			if pad == "-" {
				return strconv.Itoa(v)
			}
			return fmt.Sprintf("%0*d", w, v)
		}
		switch f[i] {
		case 'Y':
			b.WriteString(strconv.Itoa(t.Year()))
		case 'y':
			b.WriteString(num(t.Year()%100, 2))
		case 'm':
			b.WriteString(num(int(t.Month()), 2))
		case 'd':
			b.WriteString(num(t.Day(), 2))
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'H':
			b.WriteString(num(t.Hour(), 2))
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b.WriteString(num(h, 2))
		case 'M':
			b.WriteString(num(t.Minute(), 2))
		case 'S':
			b.WriteString(num(t.Second(), 2))
		case 'N':
			fmt.Fprintf(&b, "%09d", t.Nanosecond())
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case 'j':
			b.WriteString(num(t.YearDay(), 3))
		case 'a':
			b.WriteString(t.Format("Mon"))
		case 'A':
			b.WriteString(t.Format("Monday"))
		case 'b', 'h':
			b.WriteString(t.Format("Jan"))
		case 'B':
			b.WriteString(t.Format("January"))
		case 'p':
			b.WriteString(t.Format("PM"))
		case 'Z':
			b.WriteString(t.Format("MST"))
		case 'z':
			b.WriteString(t.Format("-0700"))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case 'R':
			b.WriteString(t.Format("15:04"))
		case 'c':
			b.WriteString(t.Format("Mon Jan _2 15:04:05 2006"))
		case 'u':
			wd := int(t.Weekday())
			if wd == 0 {
				wd = 7
			}
			b.WriteString(strconv.Itoa(wd))
		case 'w':
			b.WriteString(strconv.Itoa(int(t.Weekday())))
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

func date(p *proc) int {
	t := time.Now()
	format := "%a %b %e %H:%M:%S %Z %Y"
	utc := false
	args := p.args
	for len(args) > 0 {
		a := args[0]
		args = args[1:]
		switch {
		case a == "-u" || a == "--utc":
			utc = true
		case a == "-d" || a == "--date":
			if len(args) == 0 {
				return p.errf("option requires an argument -- 'd'")
			}
			d, err := parseDate(args[0])
			if err != nil {
				return p.errf("invalid date '%s'", args[0])
			}
			t, args = d, args[1:]
		case strings.HasPrefix(a, "--date="):
			d, err := parseDate(strings.TrimPrefix(a, "--date="))
			if err != nil {
				return p.errf("invalid date '%s'", a)
			}
			t = d
		case a == "-R":
			format = "%a, %d %b %Y %H:%M:%S %z"
		case strings.HasPrefix(a, "-I") || strings.HasPrefix(a, "--iso-8601"):
			spec := strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(a, "--iso-8601"), "="), "-I")
			switch spec {
			case "seconds":
				format = "%Y-%m-%dT%H:%M:%S%z"
			case "minutes":
				format = "%Y-%m-%dT%H:%M%z"
			case "hours":
				format = "%Y-%m-%dT%H%z"
			default:
				format = "%Y-%m-%d"
			}
		case strings.HasPrefix(a, "+"):
			format = a[1:]
		default:
			return p.errf("invalid date '%s'", a)
		}
	}
	t = t.UTC()
	if tz := p.hc.Env.Get("TZ").String(); tz != "" && !utc {
		if loc, err := time.LoadLocation(tz); err == nil {
			t = t.In(loc)
		}
	}
	fmt.Fprintln(p.out(), strftime(t, format))
	return 0
}

// Node is what a pod's commands see of the node it runs on: the capacity its Node object reports and
// when the node started. The agent fills it from the Node it registers; a zero Node reads as the
// machine klab runs on.
type Node struct {
	CPUs        int64     // status.capacity.cpu
	MemoryBytes int64     // status.capacity.memory
	Started     time.Time // when the node registered (uptime counts from it)
}

func (n Node) cpus() int64 {
	if n.CPUs > 0 {
		return n.CPUs
	}
	return int64(runtime.NumCPU())
}

func (n Node) started() time.Time {
	if n.Started.IsZero() {
		return time.Now()
	}
	return n.Started
}

// nproc prints the node's CPUs.
// nnp is a setuid-root program (the e2e nonewprivs image's): its effective uid is 0, unless no_new_privs
// keeps the caller's.
func nnp(p *proc) int {
	euid := int64(0)
	if p.sh.NoNewPrivs {
		euid = p.sh.UID
	}
	fmt.Fprintf(p.out(), "Effective uid: %d\n", euid)
	return 0
}

func nproc(p *proc) int {
	fmt.Fprintln(p.out(), p.sh.Node.cpus())
	return 0
}

// free prints the node's memory: total is the Node's capacity; used is what the sandbox process holds
// (every pod of the node runs inside it); nothing is shared, cached or swapped.
func free(p *proc) int {
	set, _, _ := flags(p.args, "")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	total := p.sh.Node.MemoryBytes / 1024
	if total <= 0 {
		total = int64(ms.Sys / 1024)
	}
	used := min(int64(ms.Sys/1024), total)
	scale := func(kib int64) string { return strconv.FormatInt(kib, 10) }
	switch {
	case has(set, "m"):
		scale = func(kib int64) string { return strconv.FormatInt(kib/1024, 10) }
	case has(set, "g"):
		scale = func(kib int64) string { return strconv.FormatInt(kib/1024/1024, 10) }
	case has(set, "h"):
		scale = func(kib int64) string { return human(kib * 1024) }
	}
	fmt.Fprintln(p.out(), "              total        used        free      shared  buff/cache   available")
	fmt.Fprintf(p.out(), "Mem:   %12s%12s%12s%12s%12s%12s\n", scale(total), scale(used), scale(total-used), scale(0), scale(0), scale(total-used))
	fmt.Fprintf(p.out(), "Swap:  %12s%12s%12s\n", scale(0), scale(0), scale(0))
	return 0
}

// df prints the real size and use of the file system holding the pod's root folder on the node.
func df(p *proc) int {
	set, _, _ := flags(p.args, "")
	total, avail, usedBytes, err := p.sh.FS.usage()
	if err != nil {
		return p.fail(err)
	}
	pct := 0
	if usedBytes+avail > 0 {
		pct = int((usedBytes*100 + usedBytes + avail - 1) / (usedBytes + avail))
	}
	if has(set, "h") {
		fmt.Fprintln(p.out(), "Filesystem                Size      Used Available Use% Mounted on")
		fmt.Fprintf(p.out(), "%-20s %9s %9s %9s %3d%% /\n", "overlay", human(total), human(usedBytes), human(avail), pct)
		return 0
	}
	fmt.Fprintln(p.out(), "Filesystem           1K-blocks      Used Available Use% Mounted on")
	fmt.Fprintf(p.out(), "%-20s %9d %9d %9d %3d%% /\n", "overlay", total/1024, usedBytes/1024, avail/1024, pct)
	return 0
}

// uptime prints the time, how long the node has been up and the machine's load averages.
func uptime(p *proc) int {
	now := time.Now()
	up := now.Sub(p.sh.Node.started())
	var since string
	switch days, rest := int(up.Hours())/24, up%(24*time.Hour); {
	case days > 0:
		since = fmt.Sprintf("%d day%s, %2d:%02d", days, plural(days), int(rest.Hours()), int(rest.Minutes())%60)
	case up >= time.Hour:
		since = fmt.Sprintf("%2d:%02d", int(up.Hours()), int(up.Minutes())%60)
	default:
		since = fmt.Sprintf("%d min", int(up.Minutes()))
	}
	fmt.Fprintf(p.out(), " %s up %s,  0 users,  load average: %s\n", now.UTC().Format("15:04:05"), since, loadAverage())
	return 0
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// loadAverage reads the machine's load averages where the system publishes them (/proc/loadavg on
// Linux); elsewhere it says 0.00, as a node with no load would.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return f[0] + ", " + f[1] + ", " + f[2]
	}
	return "0.00, 0.00, 0.00"
}
