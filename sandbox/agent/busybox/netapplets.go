package busybox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// connectTimeout is how long a connect to an address that never answers takes to fail, as Linux's
// SYN retries do (about 127 s).
const connectTimeout = 127 * time.Second

// dial connects from the pod: "bad address" when the name does not resolve, the errno text otherwise.
// It returns the address connected to (ip:port) for the messages.
func (p *proc) dial(ctx context.Context, host, port string, timeout time.Duration) (net.Conn, string, error) {
	if p.sh.Net == nil {
		return nil, "", fmt.Errorf("bad address '%s'", host)
	}
	ips := p.hostsFile(host)
	if len(ips) == 0 {
		var err error
		if ips, err = p.sh.Net.LookupHost(ctx, host); err != nil || len(ips) == 0 {
			return nil, "", fmt.Errorf("bad address '%s'", host)
		}
	}
	addr := net.JoinHostPort(ips[0], port)
	if timeout <= 0 || timeout > connectTimeout {
		timeout = connectTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := p.sh.Net.DialContext(dctx, "tcp", addr)
	return c, addr, err
}

// hostsFile looks name up in the container's /etc/hosts first, as the C library's resolver does ("files"
// before "dns"): the kubelet writes the pod's own names and its spec.hostAliases there.
func (p *proc) hostsFile(name string) []string {
	if p.sh.FS == nil {
		return nil
	}
	data, err := p.sh.FS.ReadFile("/etc/hosts")
	if err != nil {
		return nil
	}
	var ips []string
	for line := range strings.Lines(string(data)) {
		line, _, _ = strings.Cut(line, "#")
		fields := strings.Fields(line)
		if len(fields) < 2 || net.ParseIP(fields[0]) == nil || net.ParseIP(fields[0]).To4() == nil {
			continue
		}
		for _, n := range fields[1:] {
			if strings.EqualFold(n, strings.TrimSuffix(name, ".")) {
				ips = append(ips, fields[0])
				break
			}
		}
	}
	return ips
}

// errnoText is the C library's text for a connect error ("Connection refused").
func errnoText(err error) string {
	var errno syscall.Errno
	var ne net.Error
	switch {
	case errors.As(err, &errno):
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	case errors.As(err, &ne) && ne.Timeout():
		return "Connection timed out"
	}
	return err.Error()
}

// wget: busybox wget's options lessons use: -q, -O FILE (- for stdout), -S, -T SEC, -U AGENT, --spider,
// --header, --post-data, -P DIR; options may follow the URL.
func wget(p *proc) int {
	w := &wgetRun{p: p, timeout: 900 * time.Second}
	urls, err := getoptLong(p.args, wgetShort, wgetTakesValue, w.option)
	if err != nil {
		return p.errf("%v", err)
	}
	if len(urls) == 0 {
		fmt.Fprintln(p.hc.Stderr, "Usage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n\t[--post-data STR | --post-file FILE] [-Y on/off]\n\t[-P DIR] [-U AGENT] [-T SEC] URL...")
		return 1
	}
	for _, u := range urls {
		if code := w.fetch(u); code != 0 {
			return code
		}
	}
	return 0
}

// wgetShort maps wget's short options to their long names.
var wgetShort = map[byte]string{'q': "quiet", 'S': "server-response", 'c': "continue", 's': "spider-compat", 'O': "output-document",
	'T': "timeout", 'U': "user-agent", 'P': "directory-prefix", 'o': "output-file", 'Y': "proxy", 't': "tries"}

// wgetTakesValue says whether the long option name takes a value.
func wgetTakesValue(name string) bool {
	switch name {
	case "output-document", "timeout", "header", "user-agent", "post-data", "directory-prefix", "tries", "output-file", "proxy":
		return true
	}
	return false
}

// option sets one option by its long name.
func (w *wgetRun) option(name, v string) error {
	switch name {
	case "quiet":
		w.quiet = true
	case "spider":
		w.spider = true
	case "server-response":
		w.showHeaders = true
	case "output-document":
		w.out = v
	case "timeout":
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("invalid number '%s'", v)
		}
		w.timeout = time.Duration(n) * time.Second
	case "header":
		w.headers = append(w.headers, v)
	case "user-agent":
		w.agent = v
	case "post-data":
		w.postData = v
	case "directory-prefix":
		w.dir = v
	case "no-check-certificate", "continue", "tries", "output-file", "no-verbose", "proxy", "spider-compat":
	default:
		return fmt.Errorf("unrecognized option '--%s'", name)
	}
	return nil
}

type wgetRun struct {
	p                          *proc
	quiet, spider, showHeaders bool
	out, dir, agent, postData  string
	headers                    []string
	timeout                    time.Duration
}

func (w *wgetRun) say(format string, args ...any) {
	if !w.quiet {
		fmt.Fprintf(w.p.hc.Stderr, format, args...)
	}
}

func (w *wgetRun) fetch(raw string) int {
	p := w.p
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return p.errf("bad address '%s'", raw)
	}
	ctx, cancel := context.WithTimeout(p.ctx, w.timeout)
	defer cancel()
	for hops := 0; ; hops++ {
		if hops > 20 {
			return p.errf("too many redirections")
		}
		if u.Scheme != "http" {
			return p.errf("unsupported scheme '%s' (the sandbox's servers speak plain HTTP)", u.Scheme)
		}
		port := u.Port()
		if port == "" {
			port = "80"
		}
		conn, addr, err := p.dial(ctx, u.Hostname(), port, w.timeout)
		if err != nil {
			if strings.HasPrefix(err.Error(), "bad address") {
				return p.errf("%v", err)
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) && w.timeout < connectTimeout {
				return p.errf("download timed out")
			}
			host, _, _ := net.SplitHostPort(addr)
			return p.errf("can't connect to remote host (%s): %s", host, errnoText(err))
		}
		w.say("Connecting to %s (%s)\n", u.Host, addr)
		rec := &headRecorder{Conn: conn}
		resp, code := w.request(ctx, u, rec)
		if resp == nil {
			return code
		}
		if w.showHeaders { // the server's header lines as they came
			for _, line := range strings.Split(strings.TrimSuffix(rec.head(), "\r\n\r\n"), "\r\n") {
				fmt.Fprintf(p.hc.Stderr, "  %s\n", line)
			}
		}
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "":
			_ = resp.Body.Close()
			next, err := u.Parse(resp.Header.Get("Location"))
			if err != nil {
				return p.errf("bad redirect '%s'", resp.Header.Get("Location"))
			}
			u = next
			continue
		case resp.StatusCode >= 400 || resp.StatusCode < 200:
			_ = resp.Body.Close()
			return p.errf("server returned error: %s %s", resp.Proto, resp.Status)
		}
		defer func() { _ = resp.Body.Close() }()
		if w.spider {
			w.say("remote file exists\n")
			return 0
		}
		return w.save(u, resp)
	}
}

// request sends the request for u on conn (a connection to its host) and reads the response head.
func (w *wgetRun) request(ctx context.Context, u *url.URL, conn net.Conn) (*http.Response, int) {
	p := w.p
	method, body := http.MethodGet, io.Reader(nil)
	if w.postData != "" {
		method, body = http.MethodPost, strings.NewReader(w.postData)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		_ = conn.Close()
		return nil, p.errf("%v", err)
	}
	req.Header.Set("User-Agent", "Wget")
	if w.agent != "" {
		req.Header.Set("User-Agent", w.agent)
	}
	if w.postData != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, h := range w.headers {
		if k, v, ok := strings.Cut(h, ":"); ok {
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	resp, err := oneShotClient(conn).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, p.errf("download timed out")
		}
		return nil, p.errf("error getting response: %s", errnoText(errors.Unwrap(err)))
	}
	return resp, 0
}

func (w *wgetRun) save(u *url.URL, resp *http.Response) int {
	p := w.p
	name := w.out
	if name == "" {
		name = path.Base(u.Path)
		if name == "/" || name == "." || name == "" {
			name = "index.html"
		}
		if w.dir != "" {
			name = path.Join(w.dir, name)
		}
	}
	dst := p.out()
	label := "-"
	if name == "-" {
		w.say("writing to stdout\n")
	} else {
		flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		if w.out == "" {
			flag |= os.O_EXCL
		}
		f, err := p.sh.FS.OpenFile(p.abs(name), flag, 0o644)
		if err != nil {
			return p.errf("can't open '%s': %s", name, describe(unwrapPath(err)))
		}
		defer func() { _ = f.Close() }()
		dst, label = f, path.Base(name)
		w.say("saving to '%s'\n", name)
	}
	n, err := io.Copy(dst, resp.Body)
	if err != nil {
		if w.p.ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return p.errf("download timed out")
		}
		return p.errf("error getting response: %s", errnoText(err))
	}
	w.say("%-20.20s 100%% |%s| %5d  0:00:00 ETA\n", label, strings.Repeat("*", 32), n)
	if name == "-" {
		w.say("written to stdout\n")
	} else {
		w.say("'%s' saved\n", name)
	}
	return 0
}

// headRecorder keeps what is read of a response up to the end of its head, for -S.
type headRecorder struct {
	net.Conn
	mu   sync.Mutex
	buf  []byte
	done bool
}

func (r *headRecorder) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	r.mu.Lock()
	if !r.done {
		r.buf = append(r.buf, b[:n]...)
		if i := strings.Index(string(r.buf), "\r\n\r\n"); i >= 0 {
			r.buf, r.done = r.buf[:i+4], true
		}
	}
	r.mu.Unlock()
	return n, err //nolint:wrapcheck // a connection's own errors
}

func (r *headRecorder) head() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.buf)
}

// nc: busybox's netcat (the nc 1.10-compatible one): connect (HOST PORT), scan (-z), listen (-l -p PORT,
// -k to listen again), -v, -w SEC (connect timeout, and for the last reads once input ended).
func nc(p *proc) int {
	set, rest, bad := flags(p.args, "pwsie")
	if bad != 0 {
		return p.errf("option requires an argument -- '%c'", bad)
	}
	if has(set, "ue") {
		return p.errf("-u and -e are not supported in the klab sandbox")
	}
	var wait time.Duration
	if v, ok := set['w']; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p.errf("invalid number '%s'", v)
		}
		wait = time.Duration(n) * time.Second
	}
	verbose := has(set, "v")
	if has(set, "l") {
		return p.ncListen(set, verbose, wait)
	}
	if len(rest) < 2 {
		fmt.Fprintln(p.hc.Stderr, "Usage: nc [OPTIONS] HOST PORT  - connect\nnc [OPTIONS] -l -p PORT [HOST] [PORT]  - listen")
		return 1
	}
	host := rest[0]
	code := 0
	for _, port := range rest[1:] {
		conn, addr, err := p.dial(p.ctx, host, port, wait)
		if err != nil {
			if strings.HasPrefix(err.Error(), "bad address") {
				return p.errf("%v", err)
			}
			if verbose || !has(set, "z") {
				p.errf("%s (%s): %s", host, addr, errnoText(err))
			}
			code = 1
			continue
		}
		if verbose {
			fmt.Fprintf(p.hc.Stderr, "%s (%s) open\n", host, addr)
		}
		if has(set, "z") {
			_ = conn.Close()
			continue
		}
		p.ncCopy(conn, wait)
	}
	return code
}

// ncCopy pipes stdin to conn and conn to stdout; at the end of stdin the sending side is shut down and
// nc waits for the peer to close (at most wait when given).
func (p *proc) ncCopy(conn net.Conn, wait time.Duration) {
	defer func() { _ = conn.Close() }()
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		_, _ = io.Copy(conn, p.stdin())
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		if wait > 0 {
			_ = conn.SetReadDeadline(time.Now().Add(wait))
		}
	}()
	stop := context.AfterFunc(p.ctx, func() { _ = conn.Close() })
	defer stop()
	_, _ = io.Copy(p.out(), conn)
	// The peer closed. Input that is already there (a pipe's) still goes out, as nc's select() loop
	// would have sent it in the same round; an interactive input is not waited for.
	select {
	case <-sent:
	case <-time.After(100 * time.Millisecond):
	}
}

func (p *proc) ncListen(set map[byte]string, verbose bool, wait time.Duration) int {
	port := set['p']
	if port == "" {
		port = "0"
	}
	if p.sh.Net == nil {
		return p.errf("bind: Cannot assign requested address")
	}
	l, err := p.sh.Net.Listen("tcp", net.JoinHostPort(set['s'], port))
	if err != nil {
		return p.errf("bind: %s", errnoText(err))
	}
	defer func() { _ = l.Close() }()
	stop := context.AfterFunc(p.ctx, func() { _ = l.Close() })
	defer stop()
	if verbose {
		fmt.Fprintf(p.hc.Stderr, "listening on [::]:%d ...\n", l.Addr().(*net.TCPAddr).Port)
	}
	for {
		conn, err := l.Accept()
		if err != nil {
			return killedStatus(p.ctx)
		}
		if verbose {
			fmt.Fprintf(p.hc.Stderr, "connect to %s from %s\n", conn.LocalAddr(), conn.RemoteAddr())
		}
		p.ncCopy(conn, wait)
		if !has(set, "k") {
			return 0
		}
	}
}

// ipApplet shows the pod's network as busybox's ip does inside a pod: lo and eth0 with the pod's IP on the
// pod network's /24, and its routes. Changing them (add, del, set, flush…) fails as it does in a container
// without CAP_NET_ADMIN: the sandbox has no network devices to change.
func ipApplet(p *proc) int {
	args := p.args
	for len(args) > 0 && strings.HasPrefix(args[0], "-") { // -4, -o …: same output here
		args = args[1:]
	}
	object, verb := "", "show"
	if len(args) > 0 {
		object = args[0]
	}
	if len(args) > 1 {
		verb = args[1]
	}
	ip := ""
	if p.sh.Net != nil {
		if ips, err := p.sh.Net.LookupHost(p.ctx, p.sh.Hostname); err == nil && len(ips) > 0 {
			ip = ips[0]
		}
	}
	if verb != "show" && verb != "list" && verb != "ls" {
		if !p.sh.NetAdmin || p.sh.Links == nil {
			fmt.Fprintln(p.hc.Stderr, "ip: RTNETLINK answers: Operation not permitted")
			return 2
		}
		return ipChange(p, object, args[1:])
	}
	subnet, gw := "", ""
	if parsed := net.ParseIP(ip).To4(); parsed != nil {
		subnet = fmt.Sprintf("%d.%d.%d", parsed[0], parsed[1], parsed[2])
		gw = subnet + ".1"
	}
	out := p.out()
	lo := "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n"
	eth := "2: eth0@if2: <BROADCAST,MULTICAST,UP,LOWER_UP,M-DOWN> mtu 1500 qdisc noqueue \n    link/ether " + podMAC(ip) + " brd ff:ff:ff:ff:ff:ff\n"
	switch {
	case object == "" || abbreviates(object, "address"):
		fmt.Fprint(out, lo+"    inet 127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n")
		if ip != "" {
			fmt.Fprintf(out, "%s    inet %s/24 brd %s.255 scope global eth0\n       valid_lft forever preferred_lft forever\n", eth, ip, subnet)
		}
	case abbreviates(object, "link"):
		fmt.Fprint(out, lo)
		if ip != "" {
			fmt.Fprint(out, eth)
		}
		for i, name := range p.sh.Links.list() {
			fmt.Fprintf(out, "%d: %s: <BROADCAST,NOARP> mtu 1500 qdisc noop qlen 1000\n    link/ether %s brd ff:ff:ff:ff:ff:ff\n", i+3, name, podMAC(name))
		}
	case abbreviates(object, "route"):
		if ip != "" {
			fmt.Fprintf(out, "default via %s dev eth0 \n%s.0/24 dev eth0 scope link  src %s \n", gw, subnet, ip)
		}
	default:
		fmt.Fprintf(p.hc.Stderr, "ip: unknown object '%s'\n", object)
		return 1
	}
	return 0
}

// abbreviates says whether word is full or one of its abbreviations, as ip accepts them ("a", "addr").
func abbreviates(word, full string) bool { return word != "" && strings.HasPrefix(full, word) }

// podMAC is a stable locally administered MAC address for the pod's IP.
func podMAC(ip string) string {
	b := net.ParseIP(ip).To4()
	if b == nil {
		return "02:42:00:00:00:00"
	}
	return fmt.Sprintf("02:42:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3])
}

// Links are the network interfaces a pod's privileged containers added (ip link add NAME type dummy).
type Links struct {
	mu    sync.Mutex
	names []string
}

func (l *Links) list() []string {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.names)
}

// ipChange changes the pod's network as busybox ip does for a container allowed to (NetAdmin): link add
// NAME type dummy, link del NAME; other changes (addr add, link set, route add) are accepted.
func ipChange(p *proc, object string, args []string) int {
	verb := args[0]
	l := p.sh.Links
	if !abbreviates(object, "link") {
		return 0
	}
	name := ""
	for i := 1; i < len(args); i++ {
		if args[i] == "name" || args[i] == "dev" {
			continue
		}
		name = args[i]
		break
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch verb {
	case "add":
		if name == "" {
			fmt.Fprintln(p.hc.Stderr, "ip: link add: need NAME")
			return 1
		}
		if slices.Contains(l.names, name) {
			fmt.Fprintln(p.hc.Stderr, "ip: RTNETLINK answers: File exists")
			return 2
		}
		l.names = append(l.names, name)
	case "del", "delete":
		i := slices.Index(l.names, name)
		if i < 0 {
			fmt.Fprintf(p.hc.Stderr, "ip: can't find device '%s'\n", name)
			return 1
		}
		l.names = slices.Delete(l.names, i, i+1)
	}
	return 0
}

// oneShotClient sends one request on conn, a connection the command opened through the pod network, and
// returns redirects as they are (the commands follow them themselves).
func oneShotClient(conn net.Conn) *http.Client {
	used := false
	tr := &http.Transport{DisableKeepAlives: true, DisableCompression: true, Proxy: nil,
		DialContext: func(context.Context, string, string) (net.Conn, error) {
			if used {
				return nil, errors.New("connection already used")
			}
			used = true
			return conn, nil
		}}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
