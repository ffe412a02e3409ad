package busybox

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klabdev/klab/sandbox/agent/internal/canary"
)

type pod struct {
	root string
	fs   *FS
	node Node
}

func newPod(t *testing.T, mounts ...Mount) *pod {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteSkeleton(root, "mypod"); err != nil {
		t.Fatal(err)
	}
	f, err := NewFS(root, mounts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return &pod{root: root, fs: f}
}

func (p *pod) run(t *testing.T, argv ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	sh := &Shell{FS: p.fs, Env: []string{"PATH=/bin:/usr/bin", "HOME=/root", "FOO=bar"}, Hostname: "mypod", Stdout: &out, Stderr: &errb, Node: p.node}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	code, err := sh.Run(ctx, argv)
	if err != nil {
		t.Fatalf("run %q: %v", argv, err)
	}
	return out.String(), errb.String(), code
}

func (p *pod) sh(t *testing.T, script string) (string, string, int) {
	t.Helper()
	return p.run(t, "sh", "-c", script)
}

// cmdCase is a script run in a sandbox pod with the output and exit status it must give.
type cmdCase struct {
	name, script, want string
	code               int
}

// commandCases are the sandbox-side command tests (the reference tests compare with real busybox).
func commandCases() []cmdCase {
	return []cmdCase{
		{"echo", "echo hello world", "hello world\n", 0},
		{"echo via env", "env echo -n hi", "hi", 0},
		{"printf", `printf '%s-%03d\n' a 7`, "a-007\n", 0},
		{"bin path", "/bin/echo ok", "ok\n", 0},
		{"nested sh", `sh -c 'echo "in $1"' zero one`, "in one\n", 0},
		{"bash -c exit", `bash -c 'exit 3'; echo $?`, "3\n", 0},
		{"exit code", "exit 4", "", 4},
		{"unknown", "nosuchcmd", "", 127},
		{"wget without a network", "wget -q http://web/ || echo no route", "no route\n", 0},
		{"nc without a network", "nc -z web 80 || echo no route", "no route\n", 0},
		{"ip link add refused", "ip link add dummy0 type dummy 2>/dev/null || echo refused", "refused\n", 0},
		{"true false", "true && false || echo no", "no\n", 0},
		{"env var", "echo $FOO", "bar\n", 0},
		{"printenv", "printenv FOO", "bar\n", 0},
		{"env list", "env | grep ^FOO=", "FOO=bar\n", 0},
		{"env assign", "env X=1 sh -c 'echo $X'", "1\n", 0},
		{"hostname", "hostname", "mypod\n", 0},
		{"uname", "uname -s -n", "Linux mypod\n", 0},
		{"id", "id -u; whoami", "0\nroot\n", 0},
		{"pwd", "cd /tmp && pwd", "/tmp\n", 0},
		{"files", "mkdir -p /a/b && echo x > /a/b/f && cat /a/b/f && ls /a/b", "x\nf\n", 0},
		{"touch ls", "cd /tmp && touch a b && ls", "a\nb\n", 0},
		{"rm", "touch /tmp/x && rm /tmp/x && ls /tmp | wc -l", "0\n", 0},
		{"rm dir needs -r", "mkdir /d; rm /d", "", 1},
		{"cp mv", "echo c > /tmp/a; cp /tmp/a /tmp/b; mv /tmp/b /tmp/c; cat /tmp/c; ls /tmp", "c\na\nc\n", 0},
		{"cp -r", "mkdir -p /s/t; echo 1 > /s/t/f; cp -r /s /d; cat /d/t/f", "1\n", 0},
		{"find name", "mkdir -p /w/x; touch /w/a.log /w/x/b.log /w/c.txt; find /w -name '*.log' | sort", "/w/a.log\n/w/x/b.log\n", 0},
		{"find type", "mkdir -p /w/x; touch /w/f; find /w -type d", "/w\n/w/x\n", 0},
		{"find delete", "mkdir -p /w; touch /w/a.log /w/b.txt; find /w -name '*.log' -delete; ls /w", "b.txt\n", 0},
		{"find mtime", "mkdir /w; touch -d '3 days ago' /w/old; touch /w/new; find /w -type f -mtime +1", "/w/old\n", 0},
		{"find relative", "mkdir -p /w/x; cd /w; touch x/y; find . -name y", "./x/y\n", 0},
		{"grep", "printf 'a\\nb\\nab\\n' | grep -c a", "2\n", 0},
		{"grep -v -n", "printf 'a\\nb\\n' | grep -vn a", "2:b\n", 0},
		{"grep no match", "echo a | grep z", "", 1},
		{"grep -E -i", "echo Hello | grep -Ei 'h(e|a)llo'", "Hello\n", 0},
		{"grep file", "echo needle > /f; grep -l needle /f", "/f\n", 0},
		{"head tail", "seq 10 | head -n 3; seq 10 | tail -2; seq 5 | tail -n +4", "1\n2\n3\n9\n10\n4\n5\n", 0},
		{"head -c", "echo abcdef | head -c 3", "abc", 0},
		{"wc", "printf 'a b\\nc\\n' | wc -l; printf 'a b\\nc\\n' | wc -w", "2\n3\n", 0},
		{"seq", "seq 2 2 6; seq -s, 3; seq 1 0; seq -w 9 10", "2\n4\n6\n1,2,3\n09\n10\n", 0},
		{"expr", "expr 2 + 3 \\* 4; expr length hello; expr 5 % 3", "14\n5\n2\n", 0},
		{"expr zero", "expr 1 - 1", "0\n", 1},
		{"expr match", "expr abc123 : '[a-z]*'", "3\n", 0},
		{"test", "test -d /tmp && [ -f /etc/passwd ] && [ 3 -gt 2 ] && echo ok", "ok\n", 0},
		{"test missing", "test -e /nope", "", 1},
		{"basename dirname", "basename /a/b/c.txt .txt; dirname /a/b/c.txt", "c\n/a/b\n", 0},
		{"tee", "echo t | tee /tmp/t >/dev/null; cat /tmp/t", "t\n", 0},
		{"tee -a", "echo 1 > /tmp/t; echo 2 | tee -a /tmp/t >/dev/null; cat /tmp/t", "1\n2\n", 0},
		{"date format", "date -d 2024-03-05 +%Y/%m/%d", "2024/03/05\n", 0},
		{"date epoch", "date -u -d @0 '+%F %T'", "1970-01-01 00:00:00\n", 0},
		{"gzip", "echo zip > /tmp/z; gzip /tmp/z; ls /tmp; gzip -d /tmp/z.gz; cat /tmp/z", "z.gz\nzip\n", 0},
		{"zcat", "echo zz > /z; gzip -k /z; zcat /z.gz", "zz\n", 0},
		{"sort uniq", "printf 'b\\na\\nb\\n' | sort | uniq -c", "      1 a\n      2 b\n", 0},
		{"sort -n", "printf '10\\n9\\n' | sort -n", "9\n10\n", 0},
		{"cut tr", "echo a:b:c | cut -d: -f2; echo abc | tr a-c A-C", "b\nABC\n", 0},
		{"xargs", "printf '1\\n2\\n' | xargs echo n", "n 1 2\n", 0},
		{"sleep", "sleep 0.01 && echo slept", "slept\n", 0},
		{"ls -l", "touch /tmp/f; ls -l /tmp | grep -c f", "1\n", 0},
		{"ls missing", "ls /nope", "", 1},
		{"cat missing", "cat /nope", "", 1},
		{"glob", "touch /tmp/a.x /tmp/b.x; echo /tmp/*.x", "/tmp/a.x /tmp/b.x\n", 0},
		{"redirect read", "echo in > /tmp/i; while read l; do echo got $l; done < /tmp/i", "got in\n", 0},
		{"script file", "printf '#!/bin/sh\\necho script $1\\n' > /s.sh; chmod +x /s.sh; /s.sh arg; sh /s.sh two", "script arg\nscript two\n", 0},
		{"busybox", "busybox echo bb", "bb\n", 0},
		{"ln -s inside", "echo in > /tmp/t; ln -s t /tmp/l; cat /tmp/l", "in\n", 0},
		{"cmd subst", "x=$(echo sub); echo $x", "sub\n", 0},
		{"arith", "i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo $i", "3\n", 0},
		{"source", "echo 'X=sourced' > /tmp/lib.sh; . /tmp/lib.sh; echo $X", "sourced\n", 0},
		{"source missing", ". /etc/shadow", "", 2},
		{"command -v", "command -v ls; command -v echo; command -v nosuch || echo none", "/bin/ls\necho\nnone\n", 0},
		{"type", "type ls", "ls is /bin/ls\n", 0},
		{"no proc subst", "cat <(echo hi)", "", 2},
		{"no proc subst in eval", "eval 'cat <(echo hi)'", "", 2},
		{"sed s", "echo hello world | sed 's/o/0/g'; echo abc | sed -e 's/\\(b\\)/[\\1]/'", "hell0 w0rld\na[b]c\n", 0},
		{"sed -n p d", "seq 5 | sed -n '2,3p'; seq 3 | sed '2d'; seq 3 | sed '$d'", "2\n3\n1\n3\n1\n2\n", 0},
		{"sed -i", "echo a=1 > /f; sed -i 's/1/2/' /f; cat /f", "a=2\n", 0},
		{"sed re addr", "printf 'x\\ny\\n' | sed '/y/s/y/z/'", "x\nz\n", 0},
		{"awk", "echo 'a b c' | awk '{print $2}'; echo 'k:v' | awk -F: '{print $2, $1}'; printf 'x\\ny\\n' | awk 'END {print NR}'", "b\nv k\n2\n", 0},
		{"awk pattern", "printf 'a 1\\nb 2\\n' | awk '/b/ {print $NF}'", "2\n", 0},
		{"awk program", "printf '1\\n2\\n' | awk '{s+=$1} END {print s}'", "3\n", 0},
		{"awk refuses commands", "awk 'BEGIN {system(\"echo hi\")}'", "", 2},
		{"awk refuses files", "awk 'BEGIN {print \"x\" > \"/tmp/f\"}'; echo $?; ls /tmp", "2\n", 0},
		{"base64", "echo hi | base64; echo aGkK | base64 -d", "aGkK\nhi\n", 0},
		{"sha256sum", "printf abc | sha256sum", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad  -\n", 0},
		{"timeout", "timeout 0.05 sleep 5; echo $?", "143\n", 0},
		{"which", "which ls sh", "/bin/ls\n/bin/sh\n", 0},
		{"mktemp", "f=$(mktemp); test -f $f && echo ok", "ok\n", 0},
		{"perl bpi", "perl -Mbignum=bpi -wle 'print bpi(10)'; perl -Mbignum=bpi -wle 'print bpi(2000)' | wc -c", "3.141592654\n2002\n", 0},
		{"perl other", "perl -e 'print 1'", "", 2},
		{"devices", "echo x > /dev/null; cat /dev/null | wc -c; head -c 5 /dev/zero | wc -c; head -c 8 /dev/urandom | wc -c; [ -c /dev/null ] && echo chr", "0\n5\n8\nchr\n", 0},
		{"device write like linux", "echo x > /dev/zero; head -c 3 /dev/zero | wc -c", "3\n", 0},
		{"set -e", "sh -e -c 'false; echo not'", "", 1},
	}
}

func TestCommands(t *testing.T) {
	runCases(t, commandCases())
}

func runCases(t *testing.T, tests []cmdCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPod(t)
			out, errOut, code := p.sh(t, tt.script)
			if out != tt.want || code != tt.code {
				t.Errorf("%s\n got %q (exit %d), stderr %q\nwant %q (exit %d)", tt.script, out, code, errOut, tt.want, tt.code)
			}
		})
	}
}

func TestNotFoundMessage(t *testing.T) {
	p := newPod(t)
	_, errOut, code := p.sh(t, "ssh example.com")
	if code != 127 || errOut != "sh: ssh: not found\n" {
		t.Fatalf("got exit %d stderr %q", code, errOut)
	}
	_, errOut, code = p.run(t, "curl")
	if code != 127 || errOut != "sh: curl: not found\n" {
		t.Fatalf("got exit %d stderr %q", code, errOut)
	}
}

func TestSleepCancelled(t *testing.T) {
	p := newPod(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	sh := &Shell{FS: p.fs}
	start := time.Now()
	code, err := sh.Run(ctx, []string{"sh", "-c", "sleep 30; echo never"})
	if err != nil || code != 137 || time.Since(start) > 2*time.Second {
		t.Fatalf("code %d err %v after %v", code, err, time.Since(start))
	}
}

func TestNoCommandBusyboxSh(t *testing.T) {
	p := newPod(t)
	_, _, code := p.run(t, "sh")
	if code != 0 {
		t.Fatalf("sh with no stdin: exit %d", code)
	}
}

// canaries creates files outside the pod root and returns a check that they are intact.

func TestIsolation(t *testing.T) {
	host, check := canary.Plant(t)
	hostPathVol := filepath.Join(t.TempDir(), "hostpath-var-log")
	if err := os.MkdirAll(hostPathVol, 0o755); err != nil {
		t.Fatal(err)
	}
	p := newPod(t, Mount{Path: "/var/log", Dir: hostPathVol})
	rel, err := filepath.Rel(p.root, host)
	if err != nil {
		t.Fatal(err)
	}
	scripts := []string{
		"cat " + host + "/etc/shadow",
		"cat /etc/shadow",
		"cat ../../../../../../../../" + host + "/etc/shadow",
		"cat " + rel + "/etc/shadow",
		"cd /tmp; cat " + rel + "/etc/shadow",
		"echo x > /etc/passwd",
		"echo x > " + host + "/etc/passwd",
		"echo x > ../../../../../../.." + host + "/etc/passwd",
		"ln -s / x; ls x; cat x" + host + "/etc/shadow; echo y > x" + host + "/etc/passwd",
		"ln -s " + host + " /h; cat /h/etc/shadow; echo y > /h/etc/passwd; rm -rf /h/",
		"ln -s ../../../../../../../../.. /up; ls /up; cat /up" + host + "/etc/shadow",
		"cd /var/log && ln -s ../../../../../../../.. up; ls up; find up -name '*.log' -delete",
		"find /var/log -name '*.log' -delete",
		"find / -name '*.log' -delete",
		"find " + host + " -delete",
		"rm -rf " + host,
		"rm -rf /",
		"rm -rf /*",
		"cp " + host + "/etc/shadow /tmp/s; cat /tmp/s",
		"mv " + host + "/etc/passwd /tmp/p",
		"gzip " + host + "/etc/passwd",
		"touch " + host + "/etc/passwd",
		"sh " + host + "/etc/passwd",
	}
	for _, s := range scripts {
		out, errOut, _ := p.sh(t, s)
		for _, c := range canary.Files {
			if strings.Contains(out, c) {
				t.Errorf("%s: leaked a host file: %q", s, out)
			}
		}
		_ = errOut
		check()
	}
	// The pod's own files are really changed by rm -rf / (inside its root), and the volume is emptied.
	if _, err := os.Stat(filepath.Join(p.root, "etc", "passwd")); err == nil {
		t.Errorf("rm -rf / left the pod's /etc/passwd")
	}
}

func TestHostPathFindDelete(t *testing.T) {
	host, check := canary.Plant(t)
	vol := filepath.Join(t.TempDir(), "hostpath", "var", "log")
	if err := os.MkdirAll(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vol, "old.log"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newPod(t, Mount{Path: "/var/log", Dir: vol})
	out, errOut, code := p.sh(t, "ls /var/log; find /var/log -name '*.log' -delete; ls /var/log | wc -l")
	if out != "old.log\n0\n" || code != 0 {
		t.Fatalf("got %q %q %d", out, errOut, code)
	}
	if _, err := os.Stat(filepath.Join(vol, "old.log")); err == nil {
		t.Fatal("the volume's file was not deleted")
	}
	_ = host
	check()
}

func TestReadOnlyMount(t *testing.T) {
	vol := t.TempDir()
	if err := os.WriteFile(filepath.Join(vol, "key"), []byte("v"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newPod(t, Mount{Path: "/etc/config", Dir: vol, ReadOnly: true})
	out, _, code := p.sh(t, "cat /etc/config/key; echo x > /etc/config/key")
	if out != "v" || code == 0 {
		t.Fatalf("got %q exit %d", out, code)
	}
}

// Symbolic links resolve through the pod's mounts, as in a container: an absolute link inside a volume
// reaches the volume's file, a link to /etc/passwd the pod's own, never the host's.
func TestSymlinksThroughMounts(t *testing.T) {
	vol := t.TempDir()
	p := newPod(t, Mount{Path: "/data", Dir: vol})
	out, errOut, code := p.sh(t, "hostname > /data/hostname; ln -s /data/hostname /data/link; cat /data/link; test -f /data/link && echo file; "+
		"ln -s /etc/passwd /data/pw; head -n 1 /data/pw; ln -s ../etc/hostname /data/up; cat /data/up")
	want := "mypod\nfile\nroot:x:0:0:root:/root:/bin/sh\nmypod\n"
	if out != want || code != 0 {
		t.Fatalf("got %q %q %d, want %q", out, errOut, code, want)
	}
	if b, err := os.ReadFile(filepath.Join(vol, "hostname")); err != nil || string(b) != "mypod\n" {
		t.Fatalf("volume file %q %v", b, err)
	}
}

func FuzzShell(f *testing.F) {
	for _, s := range []string{"echo a | grep a", "find / -name x", "expr 1 + ( 2", "seq 1 0", "head -n", "cut -f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, script string) {
		p := newPod(t)
		sh := &Shell{FS: p.fs}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		_, _ = sh.Run(ctx, []string{"sh", "-c", script})
	})
}

// TestPerlBpiGolden compares with pi computed independently (Python's decimal module, 2000 digits).
func TestPerlBpiGolden(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "bpi2000.golden"))
	if err != nil {
		t.Fatal(err)
	}
	p := newPod(t)
	out, _, code := p.run(t, "perl", "-Mbignum=bpi", "-wle", "print bpi(2000)")
	if code != 0 || out != string(want) {
		t.Fatalf("exit %d, output differs from the golden:\n%.80s…\n%.80s…", code, out, want)
	}
}

func TestFileMount(t *testing.T) {
	vol := t.TempDir()
	if err := os.WriteFile(filepath.Join(vol, "app.conf"), []byte("key=value\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(vol, "other"), []byte("hidden\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newPod(t, Mount{Path: "/etc/app/app.conf", Dir: vol, File: "app.conf", ReadOnly: true})
	out, errOut, code := p.sh(t, "cat /etc/app/app.conf; ls /etc/app; cat /etc/app/other; rm /etc/app/app.conf; cat /etc/app/app.conf/x")
	if out != "key=value\napp.conf\n" || code == 0 {
		t.Fatalf("got %q %q %d", out, errOut, code)
	}
	if b, err := os.ReadFile(filepath.Join(vol, "app.conf")); err != nil || string(b) != "key=value\n" {
		t.Fatalf("mounted file changed: %q %v", b, err)
	}
}
