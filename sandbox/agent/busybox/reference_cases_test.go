package busybox

// referenceCases are the scripts compared with the real busybox, by family; each command of the
// registry appears in at least one of them or in the sandbox-only tests (TestCoverage checks it).
func referenceCases() []refCase {
	return []refCase{
		// shell
		{Name: "sh -c args", Script: `sh -c 'echo "$0:$1:$#"' zero one two`},
		{Name: "sh exit status", Script: `sh -c 'exit 3'; echo $?; ash -c 'false' || echo failed; ash -c true && echo ok`},
		{Name: "sh not found", Script: `nosuchcmd; echo $?`},
		{Name: "sh redirection errors", Script: `echo x > /nodir/f; echo $?; cat < /missing; echo $?`},
		{Name: "echo printf", Script: `echo -n a; echo b; printf '%s=%05.1f|%-4s|%x\n' pi 3.14159 ab 255`},
		{Name: "test and [", Script: `test -f fruits.txt && echo file; [ -d d ] && echo dir; [ 3 -gt 2 ] && echo gt; test -z "" && echo empty; [ -e nope ] || echo missing`},
		{Name: "true false pwd", Script: `true; echo $?; false; echo $?; cd d/sub && pwd | sed 's|.*/||'`},
		{Name: "busybox applet", Script: `busybox echo via busybox; busybox wc -l fruits.txt`},
		// processes
		{Name: "env", Script: `env -i A=1 B=2 env | sort; FOO=x env | grep '^FOO='; env -u HOME sh -c 'echo "[$HOME]"'`},
		{Name: "sleep", Script: `sleep 0.01 && echo slept; sleep 0; echo $?`},
		{Name: "sleep bad", Script: `sleep abc; echo $?`},
		{Name: "timeout", Script: `timeout 0.1 sleep 3; echo $?; timeout 2 echo fast; echo $?`},
		{Name: "xargs", Script: `printf 'a\nb\nc\n' | xargs echo; printf 'a b c\n' | xargs -n 1 echo x; printf '1\n2\n' | xargs -I{} echo 'n={}'`},
		{Name: "yes", Script: `yes | head -n 3; yes oui | head -n 2`},
		{Name: "which", Script: `which ls sh | sed 's|.*/||'; which nosuch; echo $?`},
		{Name: "kill errors", Script: `kill 99999; echo $?; kill -s FOO 1; echo $?; kill abc; echo $?`},
		// files
		{Name: "basename dirname", Script: `basename /a/b/c.txt; basename /a/b/c.txt .txt; dirname /a/b/c.txt; dirname c.txt`},
		{Name: "cat", Script: `cat fruits.txt d/a.txt; cat -n d/a.txt; cat nope; echo $?`},
		{Name: "chmod", Script: `chmod 600 d/a.txt && ls -l d/a.txt | cut -c1-10; chmod u+x,g+r d/a.txt && ls -l d/a.txt | cut -c1-10; chmod 755 nope; echo $?`},
		{Name: "cp", Script: `cp d/a.txt copy.txt && cat copy.txt; cp -r d e && ls e e/sub; cp nope x; echo $?`},
		{Name: "dd", Script: `dd if=/dev/zero of=z bs=1 count=1 conv=fsync; wc -c < z; printf abcdef | dd bs=2 skip=1 count=2; echo; dd if=fruits.txt bs=4 count=1 status=none; echo; dd if=fruits.txt of=f2 bs=1k seek=1 status=none; wc -c < f2; dd if=nope of=x; echo $?; dd bs=abc; echo $?`},
		{Name: "du", Script: `du -s d; du d | sort -k2; du -s d/a.txt`},
		{Name: "find", Script: `find d | sort; find d -name '*.txt' | sort; find d -type d | sort; find d -maxdepth 1 -type f; find d -name '*.log' -exec rm {} \; ; ls d/sub; find d -type f -name 'a*' -exec cat {} +`},
		{Name: "ln readlink", Script: `ln -s d/a.txt lien && readlink lien && cat lien; ln d/a.txt dur && cat dur; readlink -f lien | sed 's|.*/work/||'`},
		{Name: "ls", Script: `ls; ls d; ls -a d; ls -1 d/sub; ls -d d; ls nope; echo $?`},
		{Name: "ls -R", Script: `ls -R d`},
		{Name: "mkdir", Script: `mkdir x && ls -d x; mkdir x; echo $?; mkdir -p y/z/w && ls y/z; mkdir a/b; echo $?`},
		{Name: "mktemp", Script: `f=$(mktemp) && test -f "$f" && echo file && rm "$f"; d=$(mktemp -d) && test -d "$d" && echo dir && rmdir "$d"`},
		{Name: "mv", Script: `mv fruits.txt f.txt && ls f.txt; mv f.txt d/ && ls d; mv nope x; echo $?`},
		{Name: "rm rmdir", Script: `rm d/a.txt && ls d; rm d; echo $?; rm -r d/sub && ls d; rmdir d/empty && ls d; rm -f nope; echo $?; rm nope; echo $?`},
		{Name: "stat errors", Script: `stat nope; echo $?`},
		{Name: "stty without a terminal", Script: `stty size; echo $?`},
		{Name: "tar", Script: `tar cf - d | tar tf - | sort; mkdir out && tar cf - d | tar --no-same-permissions --no-same-owner -xmf - -C out && cat out/d/a.txt; tar czf x.tgz fruits.txt && tar -xzOf x.tgz | head -n 1; tar tf nope; echo $?`},
		{Name: "tee", Script: `echo un | tee t.txt; echo deux | tee -a t.txt > /dev/null; cat t.txt`},
		{Name: "touch", Script: `touch new.txt && ls new.txt; touch -c none.txt; ls none.txt; echo $?`},
		// text
		{Name: "awk fields", Script: `awk '{print $2, $1}' nums.txt; awk -F, 'NR>1 {print $1}' people.csv; awk -F, '{print NF}' people.csv | head -n 1`},
		{Name: "awk sums", Script: `awk '{s += $1} END {print s, NR}' nums.txt; awk -v n=2 '$1 == n {c++} END {print c}' nums.txt`},
		{Name: "awk printf and builtins", Script: `awk '{printf "%-6s|%3d\n", toupper($2), length($0)}' nums.txt; echo 'a-b-c' | awk '{n = split($0, p, "-"); print n, p[3]; sub(/b/, "B"); print}'`},
		{Name: "awk patterns", Script: `awk '/an/' fruits.txt; awk 'NR==2, NR==3' fruits.txt; awk '!seen[$0]++' fruits.txt; awk 'BEGIN {print "début"} END {print "fin"}' /dev/null`},
		{Name: "awk errors", Script: `awk 'BEGIN {x' 2>/dev/null; echo $?; awk '{print}' nope; echo $?`},
		{Name: "base64", Script: `echo bonjour | base64; echo Ym9uam91cgo= | base64 -d`},
		{Name: "cut", Script: `cut -d, -f1,3 people.csv; cut -c1-3 fruits.txt; cut -d' ' -f2- nums.txt`},
		{Name: "expr", Script: `expr 3 + 4; expr 10 / 3; expr 2 \* 5; expr length bonjour; expr substr bonjour 2 3; expr bonjour : 'bon'; expr 1 = 2; echo $?`},
		{Name: "grep context", Script: `printf 'a\nb\nc\nd\ne\nf\ng\nh\n' > l.txt; grep -A1 c l.txt; grep -B1 -A1 -e c -e g l.txt; grep -C1 -n e l.txt; grep -A1 -e b -e c l.txt; grep -c -A1 c l.txt; grep -A2 pomme fruits.txt; grep -B 1 kiwi fruits.txt`},
		{Name: "grep", Script: `grep pomme fruits.txt; grep -c pomme fruits.txt; grep -n an fruits.txt; grep -v pomme fruits.txt; grep -i POMME fruits.txt | head -n 1`},
		{Name: "grep more", Script: `grep -E 'ki|ce' fruits.txt; grep -o 'an' fruits.txt; grep -w kiwi fruits.txt; grep -q kiwi fruits.txt && echo found; grep nope fruits.txt; echo $?`},
		{Name: "grep files", Script: `grep -r un d; grep -l pomme fruits.txt nums.txt; egrep '^(un|deux)$' d/a.txt d/sub/b.txt; fgrep '.' people.csv; echo $?`},
		{Name: "gzip", Script: `gzip -c fruits.txt > f.gz && gunzip -c f.gz | head -n 2; zcat f.gz | wc -l; gzip d/a.txt && ls d; gunzip d/a.txt.gz && cat d/a.txt`},
		{Name: "head tail", Script: `head -n 2 fruits.txt; tail -n 2 fruits.txt; tail -n +4 fruits.txt; head -c 5 fruits.txt; echo; tail -c 5 fruits.txt`},
		{Name: "sums", Script: `md5sum fruits.txt; sha1sum fruits.txt; sha256sum fruits.txt; printf abc | sha256sum`},
		{Name: "rev", Script: `rev d/a.txt; echo bonjour | rev`},
		{Name: "sed", Script: `sed 's/pomme/POMME/' fruits.txt; sed -n '2,3p' fruits.txt; sed '1d;$d' fruits.txt; sed -e 's/a/A/g' -e 's/e/E/' fruits.txt`},
		{Name: "sed more", Script: `sed -E 's/([0-9]+) (.)/\2=\1/' nums.txt; sed -n '/an/p' fruits.txt; sed -i 's/un/one/' d/a.txt && cat d/a.txt; sed 's|/|_|g' <<EOF
a/b/c
EOF`},
		{Name: "seq", Script: `seq 3; seq 2 4; seq 1 2 7; seq -s , 5; seq -w 8 10; seq 3 1`},
		{Name: "sort", Script: `sort fruits.txt; sort -u fruits.txt; sort -r fruits.txt | head -n 1; sort -n nums.txt; sort -k2 nums.txt; sort -t, -k2 -n people.csv`},
		{Name: "tr", Script: `echo bonjour | tr a-z A-Z; echo 'a  b   c' | tr -s ' '; echo bonjour | tr -d o; echo 'a:b' | tr : '\n'`},
		{Name: "uniq", Script: `sort fruits.txt | uniq; sort fruits.txt | uniq -c; sort fruits.txt | uniq -d; sort fruits.txt | uniq -u`},
		{Name: "wc", Script: `wc -l fruits.txt; wc -w nums.txt; wc -c d/a.txt; wc fruits.txt; cat fruits.txt | wc -l`},
		// system
		{Name: "date fixed", Script: `date -u -d @0 +%Y-%m-%dT%H:%M:%S; date -u -d '2024-03-05 10:20:30' '+%d/%m/%Y %H:%M'; date -u -d @86400 +%s`},
	}
}
