package busybox

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// curl is the curl 8 command that images such as agnhost, nginx and curlimages/curl ship (not busybox):
// what lessons and the upstream e2e tests run. HTTP only (the sandbox's servers speak plain HTTP), through
// the pod network, with curl's exit codes and messages (6 resolve, 7 connect, 22 -f, 28 timeout), its
// progress meter on stderr when the output is not a terminal, -w, -v, -I/-i, -L, -o/-O, -d, -X, -H.

// curlVersion is the version curl reports (User-Agent, --version): Alpine 3.21's.
const curlVersion = "8.12.1"

type curlRun struct {
	p                     *proc
	silent, showErr, fail bool
	head, include, follow bool
	verbose, remoteName   bool
	get                   bool // -G: the data goes in the query
	method, out, agent    string
	user, writeOut        string
	data                  []string
	dataSet               bool
	headers               []string
	maxTime, connTimeout  time.Duration
	urls                  []string
}

// curlShort maps curl's short options to their long names.
var curlShort = map[byte]string{'s': "silent", 'S': "show-error", 'f': "fail", 'I': "head", 'i': "include", 'L': "location",
	'v': "verbose", 'o': "output", 'O': "remote-name", 'X': "request", 'd': "data", 'H': "header", 'A': "user-agent",
	'u': "user", 'w': "write-out", 'm': "max-time", 'k': "insecure", 'G': "get", '4': "ipv4", '6': "ipv6", 'N': "no-buffer",
	'e': "referer", 'V': "version", 'h': "help", 'q': "disable", 'g': "globoff"}

func curlTakesValue(name string) bool {
	switch name {
	case "output", "request", "data", "data-raw", "data-binary", "data-urlencode", "json", "header", "user-agent", "user",
		"write-out", "max-time", "connect-timeout", "referer", "retry", "retry-delay", "retry-max-time", "url", "resolve", "cacert":
		return true
	}
	return false
}

func (c *curlRun) option(name, v string) error {
	var err error
	switch name {
	case "silent":
		c.silent = true
	case "show-error":
		c.showErr = true
	case "fail", "fail-with-body":
		c.fail = true
	case "head":
		c.head = true
	case "include":
		c.include = true
	case "location":
		c.follow = true
	case "verbose":
		c.verbose = true
	case "output":
		c.out = v
	case "remote-name":
		c.remoteName = true
	case "request":
		c.method = v
	case "data", "data-ascii", "data-raw", "data-binary", "data-urlencode":
		c.dataSet = true
		if strings.HasPrefix(v, "@") && name != "data-raw" {
			b, rerr := c.p.sh.FS.ReadFile(c.p.abs(v[1:]))
			if rerr != nil {
				c.warn("Failed to open %s", v[1:])
			}
			v = string(b)
			if name != "data-binary" {
				v = strings.NewReplacer("\r", "", "\n", "").Replace(v)
			}
		}
		if name == "data-urlencode" {
			if k, val, ok := strings.Cut(v, "="); ok {
				v = k + "=" + url.QueryEscape(val)
			} else {
				v = url.QueryEscape(v)
			}
		}
		c.data = append(c.data, v)
	case "json":
		c.dataSet = true
		c.data = append(c.data, v)
		c.headers = append(c.headers, "Content-Type: application/json", "Accept: application/json")
	case "header":
		c.headers = append(c.headers, v)
	case "user-agent":
		c.agent = v
	case "referer":
		c.headers = append(c.headers, "Referer: "+v)
	case "user":
		c.user = v
	case "write-out":
		c.writeOut = v
	case "max-time":
		c.maxTime, err = curlSeconds(v)
	case "connect-timeout":
		c.connTimeout, err = curlSeconds(v)
	case "get":
		c.get = true
	case "url":
		c.urls = append(c.urls, v)
	case "insecure", "ipv4", "ipv6", "no-buffer", "compressed", "retry", "retry-delay", "retry-max-time", "disable",
		"globoff", "http1.1", "no-progress-meter", "resolve", "cacert", "no-keepalive", "tcp-nodelay":
		if name == "no-progress-meter" {
			c.silent, c.showErr = true, true
		}
	case "version":
		return errCurlVersion
	case "help":
		return errCurlHelp
	default:
		return fmt.Errorf("option --%s: is unknown", name)
	}
	return err
}

var (
	errCurlVersion = errors.New("version")
	errCurlHelp    = errors.New("help")
)

func curlSeconds(v string) (time.Duration, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("option: expected a proper numerical parameter")
	}
	return time.Duration(f * float64(time.Second)), nil
}

const curlTryHelp = "curl: try 'curl --help' or 'curl --manual' for more information"

func curl(p *proc) int {
	c := &curlRun{p: p}
	urls, err := getoptLong(p.args, curlShort, curlTakesValue, c.option)
	switch {
	case errors.Is(err, errCurlVersion):
		fmt.Fprintf(p.out(), "curl %s (x86_64-alpine-linux-musl) libcurl/%s\nRelease-Date: 2025-02-13\nProtocols: http\nFeatures: IPv6 Largefile\n", curlVersion, curlVersion)
		return 0
	case errors.Is(err, errCurlHelp):
		fmt.Fprintln(p.out(), "Usage: curl [options...] <url>\n -d, --data <data>          HTTP POST data\n -f, --fail                 Fail fast with no output on HTTP errors\n"+
			" -h, --help <category>      Get help for commands\n -i, --include              Include response headers in output\n"+
			" -o, --output <file>        Write to file instead of stdout\n -O, --remote-name          Write output to file named as remote file\n"+
			" -s, --silent               Silent mode\n -u, --user <user:password>  Server user and password\n -A, --user-agent <name>    Send User-Agent <name> to server\n"+
			" -v, --verbose              Make the operation more talkative\n -V, --version              Show version number and quit")
		return 0
	case err != nil:
		msg := err.Error()
		if strings.HasPrefix(msg, "invalid option -- '") {
			msg = "option -" + strings.TrimSuffix(strings.TrimPrefix(msg, "invalid option -- '"), "'") + ": is unknown"
		}
		fmt.Fprintf(p.hc.Stderr, "curl: %s\n%s\n", msg, curlTryHelp)
		return 2
	}
	c.urls = append(c.urls, urls...)
	if len(c.urls) == 0 {
		fmt.Fprintln(p.hc.Stderr, curlTryHelp)
		return 2
	}
	code := 0
	for _, u := range c.urls {
		if rc := c.fetch(u); rc != 0 {
			code = rc
		}
	}
	return code
}

// warn prints curl's "Warning:" lines (not silenced by -s alone, as in curl).
func (c *curlRun) warn(format string, args ...any) {
	fmt.Fprintf(c.p.hc.Stderr, "Warning: "+format+"\n", args...)
}

// failed reports an error as curl does ("curl: (7) …", unless -s without -S) and returns its code.
func (c *curlRun) failed(code int, format string, args ...any) int {
	if !c.silent || c.showErr {
		fmt.Fprintf(c.p.hc.Stderr, "curl: (%d) "+format+"\n", append([]any{code}, args...)...)
	}
	return code
}

// transfer is what -w reports of one URL.
type transfer struct {
	status    int
	ctype     string
	size      int64
	effective string
	remote    string
	start     time.Time
	redirects int
	method    string
	exitCode  int
}

func (c *curlRun) fetch(raw string) int {
	t := &transfer{start: time.Now()}
	code := c.transfer(raw, t)
	t.exitCode = code
	if c.writeOut != "" {
		fmt.Fprint(c.p.out(), c.expandWriteOut(t))
	}
	return code
}

func (c *curlRun) transfer(raw string, t *transfer) int {
	p := c.p
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return c.failed(3, "URL rejected: Malformed input to a URL function")
	}
	ctx := p.ctx
	if c.maxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.maxTime)
		defer cancel()
	}
	if c.get && len(c.data) > 0 {
		q := strings.Join(c.data, "&")
		if u.RawQuery != "" {
			q = u.RawQuery + "&" + q
		}
		u.RawQuery = q
	}
	for {
		t.effective = u.String()
		switch u.Scheme {
		case "http":
		case "https":
			return c.failed(35, "OpenSSL/3.3.3: error:0A00010B:SSL routines::wrong version number (the sandbox's servers speak plain HTTP)")
		default:
			return c.failed(1, "Protocol \"%s\" not supported", u.Scheme)
		}
		resp, rc := c.request(ctx, u, t)
		if resp == nil {
			return rc
		}
		loc := resp.Header.Get("Location")
		if c.follow && resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
			_ = resp.Body.Close()
			next, err := u.Parse(loc)
			if err != nil {
				return c.failed(3, "URL rejected: Malformed input to a URL function")
			}
			if t.redirects++; t.redirects > 50 {
				return c.failed(47, "Maximum (50) redirects followed")
			}
			if resp.StatusCode == http.StatusSeeOther || (resp.StatusCode == http.StatusMovedPermanently || resp.StatusCode == http.StatusFound) && t.method == http.MethodPost {
				c.data, c.dataSet, c.method = nil, false, ""
			}
			u = next
			continue
		}
		defer func() { _ = resp.Body.Close() }()
		return c.output(ctx, u, resp, t)
	}
}

// request connects to u's host through the pod network and sends the request; nil and curl's exit code
// when it failed.
func (c *curlRun) request(ctx context.Context, u *url.URL, t *transfer) (*http.Response, int) {
	p := c.p
	port := u.Port()
	if port == "" {
		port = "80"
	}
	host := u.Hostname()
	connect := connectTimeout
	if c.connTimeout > 0 {
		connect = c.connTimeout
	}
	if c.verbose {
		fmt.Fprintf(p.hc.Stderr, "* Host %s:%s was resolved.\n", host, port)
	}
	began := time.Now()
	conn, addr, err := p.dial(ctx, host, port, connect)
	if err != nil {
		if strings.HasPrefix(err.Error(), "bad address") {
			return nil, c.failed(6, "Could not resolve host: %s", host)
		}
		ms := time.Since(began).Milliseconds()
		ip, _, _ := net.SplitHostPort(addr)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || ctx.Err() != nil {
			return nil, c.failed(28, "Connection timed out after %d milliseconds", ms)
		}
		return nil, c.failed(7, "Failed to connect to %s port %s after %d ms: Couldn't connect to server", ip, port, ms)
	}
	t.remote = addr
	if c.verbose {
		fmt.Fprintf(p.hc.Stderr, "*   Trying %s...\n* Connected to %s (%s) port %s\n", addr, host, strings.Split(addr, ":")[0], port)
	}
	req, err := c.newRequest(ctx, u, t)
	if err != nil {
		_ = conn.Close()
		return nil, c.failed(3, "URL rejected: %v", err)
	}
	if c.verbose {
		c.dumpRequest(req)
	}
	resp, err := oneShotClient(conn).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.failed(28, "Operation timed out after %d milliseconds with 0 bytes received", time.Since(t.start).Milliseconds())
		}
		return nil, c.failed(52, "Empty reply from server")
	}
	t.status = resp.StatusCode
	t.ctype = resp.Header.Get("Content-Type")
	if c.verbose {
		fmt.Fprintf(p.hc.Stderr, "< %s %s\r\n", resp.Proto, resp.Status)
		for _, line := range headerLines(resp.Header) {
			fmt.Fprintf(p.hc.Stderr, "< %s\r\n", line)
		}
		fmt.Fprint(p.hc.Stderr, "< \r\n")
	}
	return resp, 0
}

func (c *curlRun) newRequest(ctx context.Context, u *url.URL, t *transfer) (*http.Request, error) {
	method := http.MethodGet
	var body io.Reader
	switch {
	case c.head:
		method = http.MethodHead
	case c.dataSet && !c.get:
		method = http.MethodPost
		body = strings.NewReader(strings.Join(c.data, "&"))
	}
	if c.method != "" {
		method = c.method
	}
	t.method = method
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "curl/"+curlVersion)
	req.Header.Set("Accept", "*/*")
	if c.agent != "" {
		req.Header.Set("User-Agent", c.agent)
	}
	if c.dataSet && !c.get {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.user != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(c.user)))
	} else if u.User != nil {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.User.String())))
	}
	for _, h := range c.headers {
		k, v, ok := strings.Cut(h, ":")
		switch {
		case ok && strings.TrimSpace(v) == "":
			req.Header.Del(strings.TrimSpace(k)) // "Name:" removes an internal header
		case ok:
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		case strings.HasSuffix(h, ";"):
			req.Header.Set(strings.TrimSuffix(h, ";"), "")
		}
	}
	return req, nil
}

func (c *curlRun) dumpRequest(req *http.Request) {
	w := c.p.hc.Stderr
	fmt.Fprintf(w, "> %s %s HTTP/1.1\r\n> Host: %s\r\n", req.Method, req.URL.RequestURI(), req.URL.Host)
	for _, line := range headerLines(req.Header) {
		fmt.Fprintf(w, "> %s\r\n", line)
	}
	fmt.Fprint(w, "> \r\n")
}

// headerLines are a header's lines, in a stable order.
func headerLines(h http.Header) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			out = append(out, k+": "+v)
		}
	}
	return out
}

// output writes the response where it goes (stdout, -o FILE, -O), with the head for -i/-I, and the
// progress meter on stderr when that is not a terminal.
func (c *curlRun) output(ctx context.Context, u *url.URL, resp *http.Response, t *transfer) int {
	p := c.p
	if c.fail && resp.StatusCode >= 400 {
		return c.failed(22, "The requested URL returned error: %d", resp.StatusCode)
	}
	dst := p.out()
	toStdout := true
	name := c.out
	if c.remoteName && name == "" {
		name = path.Base(u.Path)
		if name == "/" || name == "." || name == "" {
			return c.failed(23, "Remote file name has no length")
		}
	}
	if name != "" && name != "-" {
		f, err := p.sh.FS.OpenFile(p.abs(name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			if !c.silent || c.showErr {
				fmt.Fprintf(p.hc.Stderr, "Warning: Failed to open the file %s: %s\n", name, describe(unwrapPath(err)))
			}
			return c.failed(23, "Failure writing output to destination, passed %d returned 4294967295", 0)
		}
		defer func() { _ = f.Close() }()
		dst, toStdout = f, false
	}
	meter := !c.silent && !c.verbose && !(toStdout && p.sh.TTY)
	if meter {
		fmt.Fprint(p.hc.Stderr, "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"+
			"                                 Dload  Upload   Total   Spent    Left  Speed\n")
		fmt.Fprint(p.hc.Stderr, "\r  0     0    0     0    0     0      0      0 --:--:-- --:--:-- --:--:--     0")
	}
	bw := bufio.NewWriter(dst)
	if c.head || c.include {
		fmt.Fprintf(bw, "%s %s\r\n", resp.Proto, resp.Status)
		for _, line := range headerLines(resp.Header) {
			fmt.Fprintf(bw, "%s\r\n", line)
		}
		fmt.Fprint(bw, "\r\n")
	}
	var n int64
	var err error
	if !c.head {
		n, err = io.Copy(bw, resp.Body)
	}
	t.size = n
	if ferr := bw.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	if meter {
		total := resp.ContentLength
		c.progress(total, n, time.Since(t.start))
	}
	if err != nil {
		if ctx.Err() != nil {
			return c.failed(28, "Operation timed out after %d milliseconds with %d bytes received", time.Since(t.start).Milliseconds(), n)
		}
		return c.failed(18, "transfer closed with outstanding read data remaining")
	}
	return 0
}

// progress prints the meter's last line, as curl's does once a transfer ends.
func (c *curlRun) progress(total, got int64, took time.Duration) {
	pct, shown := 0, total
	if total >= 0 {
		if total > 0 {
			pct = int(got * 100 / total)
		} else {
			pct = 100
		}
	} else {
		shown = 0
	}
	speed := int64(0)
	if s := took.Seconds(); s > 0 {
		speed = int64(float64(got) / s)
	}
	spent := "--:--:--"
	if took >= time.Second {
		secs := int(took.Seconds())
		spent = fmt.Sprintf("%2d:%02d:%02d", secs/3600, secs/60%60, secs%60)
	}
	fmt.Fprintf(c.p.hc.Stderr, "\r%3d %s  %3d %s    0     0  %s      0 --:--:-- %s --:--:-- %s\n",
		pct, max5(shown), pct, max5(got), max5(speed), spent, max5(speed))
}

// max5 is curl's five-character size (max5data).
func max5(n int64) string {
	const k = 1024
	switch {
	case n < 100000:
		return fmt.Sprintf("%5d", n)
	case n < 10000*k:
		return fmt.Sprintf("%4dk", n/k)
	case n < 100*k*k:
		return fmt.Sprintf("%2d.%dM", n/(k*k), (n%(k*k))/(k*k/10))
	case n < 10000*k*k:
		return fmt.Sprintf("%4dM", n/(k*k))
	default:
		return fmt.Sprintf("%4dG", n/(k*k*k))
	}
}

// expandWriteOut expands -w's %{variables} and backslash escapes.
func (c *curlRun) expandWriteOut(t *transfer) string {
	ip, port, _ := net.SplitHostPort(t.remote)
	vars := map[string]string{
		"http_code": fmt.Sprintf("%03d", t.status), "response_code": fmt.Sprintf("%03d", t.status),
		"content_type": t.ctype, "size_download": strconv.FormatInt(t.size, 10), "url_effective": t.effective,
		"url": t.effective, "remote_ip": ip, "remote_port": port, "num_redirects": strconv.Itoa(t.redirects),
		"time_total": fmt.Sprintf("%.6f", time.Since(t.start).Seconds()), "method": t.method,
		"exitcode": strconv.Itoa(t.exitCode),
	}
	var b strings.Builder
	s := c.writeOut
	for i := 0; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "%{"):
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				c.warn("unknown --write-out variable: '%s'", name)
			}
			i += end
		case s[i] == '\\' && i+1 < len(s):
			switch s[i+1] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(s[i+1])
			}
			i++
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
