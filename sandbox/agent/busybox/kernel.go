package busybox

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// The commands that read the container's kernel view: the files of /proc the runtime wrote for it (its
// namespaced sysctls, its mounts). A container cannot change its kernel: /proc/sys is read-only and
// mount(2) needs CAP_SYS_ADMIN, which a sandbox pod never has.

// sysctl reads kernel parameters from /proc/sys as busybox 1.35 does: NAME (dots or slashes), -n (values
// only), -e (no error for an unknown key), -q, -a/-A (all); NAME=VALUE or -w fails, /proc/sys being read-only
// in a container.
func sysctl(p *proc) int {
	set, rest, bad := flags(p.args, "")
	if bad != 0 {
		return p.errf("invalid option -- '%c'", bad)
	}
	for c := range set {
		if !strings.ContainsRune("neqaAwp", rune(c)) {
			return p.errf("invalid option -- '%c'", c)
		}
	}
	if set['a'] != "" || set['A'] != "" {
		return sysctlAll(p, set['n'] != "")
	}
	code := 0
	for _, arg := range rest {
		name, _, assign := strings.Cut(arg, "=")
		if set['w'] != "" && !assign {
			code = p.errf("error: '%s' must be of the form name=value", arg)
			continue
		}
		file := "/proc/sys/" + strings.ReplaceAll(name, ".", "/")
		shown := strings.ReplaceAll(name, "/", ".")
		if _, err := p.sh.FS.Stat(file); err != nil {
			if set['e'] == "" {
				key := strings.TrimPrefix(file, "/proc/sys/")
				if assign {
					key = name
				}
				p.errf("error: '%s' is an unknown key", key)
			}
			code = 1
			continue
		}
		if assign {
			code = p.errf("error setting key '%s': Read-only file system", shown)
			continue
		}
		data, err := p.sh.FS.ReadFile(file)
		if err != nil {
			code = p.errf("error reading key '%s': %s", shown, describe(err))
			continue
		}
		printSysctl(p, shown, data, set['n'] != "")
	}
	return code
}

func printSysctl(p *proc, name string, data []byte, valueOnly bool) {
	v := strings.TrimSuffix(string(data), "\n")
	if valueOnly {
		fmt.Fprintln(p.out(), v)
		return
	}
	fmt.Fprintf(p.out(), "%s = %s\n", name, v)
}

// sysctlAll prints every parameter under /proc/sys, sorted by name.
func sysctlAll(p *proc, valueOnly bool) int {
	var names []string
	var walk func(dir string)
	walk = func(dir string) {
		ents, err := p.sh.FS.ReadDir(dir)
		if err != nil {
			return
		}
		for _, e := range ents {
			full := path.Join(dir, e.Name())
			if e.IsDir() {
				walk(full)
				continue
			}
			names = append(names, full)
		}
	}
	walk("/proc/sys")
	sort.Strings(names)
	for _, f := range names {
		data, err := p.sh.FS.ReadFile(f)
		if err != nil {
			continue
		}
		printSysctl(p, strings.ReplaceAll(strings.TrimPrefix(f, "/proc/sys/"), "/", "."), data, valueOnly)
	}
	return 0
}

// mount lists the container's mounts from /proc/mounts ("DEV on DIR type TYPE (OPTIONS)"), all or those
// of -t TYPE; mounting anything fails as mount(2) does without CAP_SYS_ADMIN.
func mount(p *proc) int {
	set, rest, bad := flags(p.args, "tO")
	if bad != 0 {
		return p.errf("option requires an argument -- '%c'", bad)
	}
	if len(rest) > 0 || set['a'] != "" {
		p.errf("permission denied (are you root?)")
		return 255
	}
	data, err := p.sh.FS.ReadFile("/proc/mounts")
	if err != nil {
		p.errf("can't read '/proc/mounts': %s", describe(err))
		return 255
	}
	types := map[string]bool{}
	if t := set['t']; t != "" {
		for _, x := range strings.Split(t, ",") {
			types[x] = true
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || len(types) > 0 && !types[f[2]] {
			continue
		}
		fmt.Fprintf(p.out(), "%s on %s type %s (%s)\n", f[0], f[1], f[2], f[3])
	}
	return 0
}
