package busybox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klabdev/klab/sandbox/agent/podnet"
)

// The network commands against servers of a real in-memory pod network (package podnet): a web server
// pod, a line server pod, and the pod the commands run in.
func TestNetworkCommands(t *testing.T) {
	n := podnet.New()
	web, err := n.AddPod("10.244.0.2", "web", "default")
	if err != nil {
		t.Fatal(err)
	}
	defer web.Close()
	l, err := web.Listen("tcp", ":80")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			fmt.Fprintf(w, "hello %s from %s\n", r.UserAgent(), strings.Split(r.RemoteAddr, ":")[0])
		case "/old":
			http.Redirect(w, r, "/", http.StatusMovedPermanently)
		default:
			http.NotFound(w, r)
		}
	})}
	go func() { _ = srv.Serve(l) }()
	defer func() { _ = srv.Close() }()
	upper, err := n.AddPod("10.244.0.3", "upper", "default")
	if err != nil {
		t.Fatal(err)
	}
	defer upper.Close()
	ul, err := upper.Listen("tcp", ":7000")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ul.Accept()
			if err != nil {
				return
			}
			b, _ := io.ReadAll(c) // until the client shuts its side down
			_, _ = c.Write(bytes.ToUpper(b))
			_ = c.Close()
		}
	}()
	me, err := n.AddPod("10.244.0.4", "me", "default")
	if err != nil {
		t.Fatal(err)
	}
	defer me.Close()

	p := newPod(t)
	run := func(script string) (string, string, int) {
		var out, errb syncBuffer // a background nc and a foreground one write at the same time
		sh := &Shell{FS: p.fs, Env: []string{"PATH=/bin"}, Hostname: "me", Stdout: &out, Stderr: &errb, Net: me, Extra: []string{"curl"}}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		code, err := sh.Run(ctx, []string{"sh", "-c", script})
		if err != nil {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	for _, tc := range networkCases() {
		out, errOut, code := run(tc.script)
		if out != tc.out || errOut != tc.err || code != tc.code {
			t.Errorf("%s\n got %q, stderr %q, exit %d\nwant %q, stderr %q, exit %d", tc.script, out, errOut, code, tc.out, tc.err, tc.code)
		}
	}
	// A privileged container (NetAdmin) may add interfaces to its pod's network.
	var admOut, admErr bytes.Buffer
	adm := &Shell{FS: p.fs, Env: []string{"PATH=/bin"}, Hostname: "me", Stdout: &admOut, Stderr: &admErr, Net: me, NetAdmin: true, Links: &Links{}}
	if code, _ := adm.Run(context.Background(), []string{"sh", "-c", "ip link add dummy1 type dummy && ip link | grep -c dummy1; ip link del dummy1; ip link del dummy1"}); code != 1 ||
		admOut.String() != "1\n" || admErr.String() != "ip: can't find device 'dummy1'\n" {
		t.Errorf("ip link add/del with NET_ADMIN: exit %d, %q, %q", code, admOut.String(), admErr.String())
	}
	var noCurl bytes.Buffer

	sh := &Shell{FS: p.fs, Env: []string{"PATH=/bin"}, Stderr: &noCurl, Net: me} // busybox has no curl
	if code, _ := sh.Run(context.Background(), []string{"sh", "-c", "curl http://10.244.0.2/"}); code != 127 || noCurl.String() != "sh: curl: not found\n" {
		t.Errorf("curl in an image without it: exit %d, %q", code, noCurl.String())
	}
	var errb bytes.Buffer
	sh = &Shell{FS: p.fs, Env: []string{"PATH=/bin"}, Stderr: &errb}
	if code, _ := sh.Run(context.Background(), []string{"wget", "-q", "http://10.244.0.2/"}); code != 1 || errb.String() != "wget: bad address '10.244.0.2'\n" {
		t.Errorf("wget without a network: exit %d, %q", code, errb.String())
	}
}

// netCase is a network command, its output, its stderr and its status.
type netCase struct {
	script, out, err string
	code             int
}

// networkCases run in the pod "me" of TestNetworkCommands' network.
func networkCases() []netCase {
	return []netCase{
		{"wget -qO- http://10.244.0.2/", "hello Wget from 10.244.0.4\n", "", 0},
		{"wget -O - 10.244.0.2/old", "hello Wget from 10.244.0.4\n",
			"Connecting to 10.244.0.2 (10.244.0.2:80)\nConnecting to 10.244.0.2 (10.244.0.2:80)\nwriting to stdout\n-                    100% |********************************|    27  0:00:00 ETA\nwritten to stdout\n", 0},
		{"wget -q -U probe -O- http://10.244.0.2:80/", "hello probe from 10.244.0.4\n", "", 0},
		{"wget -q http://10.244.0.2/nope", "", "wget: server returned error: HTTP/1.1 404 Not Found\n", 1},
		{"wget -q -S --spider http://10.244.0.2/old 2>&1 | grep -v Date:",
			"  HTTP/1.1 301 Moved Permanently\n  Content-Type: text/html; charset=utf-8\n  Location: /\n  Content-Length: 36\n  Connection: close\n" +
				"  HTTP/1.1 200 OK\n  Content-Length: 27\n  Content-Type: text/plain; charset=utf-8\n  Connection: close\n", "", 0},
		{"wget --spider http://10.244.0.2/", "", "Connecting to 10.244.0.2 (10.244.0.2:80)\nremote file exists\n", 0},
		{"wget -q --spider http://10.244.0.2/nope", "", "wget: server returned error: HTTP/1.1 404 Not Found\n", 1},
		{"cd /tmp && wget -q http://10.244.0.2/ && cat index.html && wget -q 10.244.0.2", "hello Wget from 10.244.0.4\n", "wget: can't open 'index.html': File exists\n", 1},
		{"wget -q http://10.244.0.2:81/", "", "wget: can't connect to remote host (10.244.0.2): Connection refused\n", 1},
		{"wget -q -T 1 http://10.244.9.9/", "", "wget: download timed out\n", 1},
		{"wget -q http://nosuchservice/", "", "wget: bad address 'nosuchservice'\n", 1},
		{"ip -4 addr | grep inet", "    inet 127.0.0.1/8 scope host lo\n    inet 10.244.0.4/24 brd 10.244.0.255 scope global eth0\n", "", 0},
		{"ip route", "default via 10.244.0.1 dev eth0 \n10.244.0.0/24 dev eth0 scope link  src 10.244.0.4 \n", "", 0},
		{"ip link add dummy0 type dummy || true", "", "ip: RTNETLINK answers: Operation not permitted\n", 0},
		{"nc -z 10.244.0.2 80 && echo open", "open\n", "", 0},
		{"nc -z 10.244.0.2 81 || echo closed", "closed\n", "", 0},
		{"nc -zv 10.244.0.2 80", "", "10.244.0.2 (10.244.0.2:80) open\n", 0},
		{"nc -v -w 1 10.244.0.2 81", "", "nc: 10.244.0.2 (10.244.0.2:81): Connection refused\n", 1},
		{"echo ping | nc 10.244.0.3 7000", "PING\n", "", 0},
		{"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc 10.244.0.2 80 | tail -n 1", "hello  from 10.244.0.4\n", "", 0},
		{"sleep 1 | nc -l -p 9000 & sleep 0.2; echo hi | nc localhost 9000; wait", "hi\n", "", 0},
		{"nc -z -w 1 10.244.9.9 80 || echo filtered", "filtered\n", "", 0},
		// curl, as the images that ship it (curl 8's messages and exit codes)
		{"curl -s http://10.244.0.2/", "hello curl/8.12.1 from 10.244.0.4\n", "", 0},
		{"curl -sL 10.244.0.2/old", "hello curl/8.12.1 from 10.244.0.4\n", "", 0},
		{"curl -s -o /dev/null -w '%{http_code} %{num_redirects}\\n' -L http://10.244.0.2/old", "200 1\n", "", 0},
		{"curl -s -w '%{http_code}\\n' http://10.244.0.2/nope", "404 page not found\n404\n", "", 0},
		{"curl -sf http://10.244.0.2/nope", "", "", 22},
		{"curl -sSf http://10.244.0.2/nope", "", "curl: (22) The requested URL returned error: 404\n", 22},
		{"curl -sI http://10.244.0.2/ | head -n 1", "HTTP/1.1 200 OK\r\n", "", 0},
		{"curl -s -A probe -H 'X-A: b' 10.244.0.2", "hello probe from 10.244.0.4\n", "", 0},
		{"curl -sS http://10.244.0.2:81/ 2>&1 | sed 's/after [0-9]* ms/after N ms/'",
			"curl: (7) Failed to connect to 10.244.0.2 port 81 after N ms: Couldn't connect to server\n", "", 0},
		{"curl -s http://10.244.0.2:81/", "", "", 7},
		{"curl -sS http://nosuchservice/", "", "curl: (6) Could not resolve host: nosuchservice\n", 6},
		{"curl -sS -m 1 http://10.244.9.9/ 2>&1 | sed 's/after [0-9]* milli/after N milli/'", "curl: (28) Connection timed out after N milliseconds\n", "", 0},
		{"curl http://10.244.0.2/ 2>&1 >/dev/null | head -n 2",
			"  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n                                 Dload  Upload   Total   Spent    Left  Speed\n", "", 0},
		{"curl -sO http://10.244.0.2/x.txt; cat x.txt", "404 page not found\n", "", 0},
		{"curl", "", "curl: try 'curl --help' or 'curl --manual' for more information\n", 2},
		{"curl --nope x", "", "curl: option --nope: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information\n", 2},
		{"curl -s ftp://10.244.0.2/", "", "", 1},
	}
}
