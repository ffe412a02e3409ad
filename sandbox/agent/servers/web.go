package servers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// web is a static web server's flavour: where it serves from, what it answers and how it logs.
type web struct {
	product  string // "nginx/1.27.3"
	root     string // document root in the container
	errorPg  func(w *web, code int) (contentType, body string)
	access   func(e *Env, r *http.Request, t time.Time, code, size int) string
	notFound func(e *Env, r *http.Request, t time.Time, file string) string // error-log line, "" for none
	dirSlash bool                                                           // a folder without its trailing slash gets a 301
}

func (s *web) handler(e *Env) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := e.now()
		code, size := s.serve(e, rw, r, start)
		fmt.Fprint(e.Stdout, s.access(e, r, start, code, size))
	})
}

func (s *web) fail(rw http.ResponseWriter, r *http.Request, code int) (int, int) {
	ct, body := s.errorPg(s, code)
	h := rw.Header()
	h.Set("Server", s.product)
	h.Set("Content-Type", ct)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "keep-alive")
	rw.WriteHeader(code)
	if r.Method == http.MethodHead {
		return code, 0
	}
	_, _ = rw.Write([]byte(body))
	return code, len(body)
}

func (s *web) serve(e *Env, rw http.ResponseWriter, r *http.Request, t time.Time) (int, int) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return s.fail(rw, r, http.StatusMethodNotAllowed)
	}
	clean := path.Clean("/" + r.URL.Path)
	if strings.HasSuffix(r.URL.Path, "/") && clean != "/" {
		clean += "/"
	}
	file := path.Join(s.root, clean)
	fi, err := e.Files.Stat(file)
	if err == nil && fi.IsDir() {
		if !strings.HasSuffix(clean, "/") {
			if !s.dirSlash {
				return s.fail(rw, r, http.StatusNotFound)
			}
			rw.Header().Set("Location", "http://"+r.Host+clean+"/")
			return s.fail(rw, r, http.StatusMovedPermanently)
		}
		file = path.Join(file, "index.html")
		if fi, err = e.Files.Stat(file); err != nil {
			return s.fail(rw, r, http.StatusForbidden)
		}
	}
	if err != nil || fi.IsDir() {
		if line := s.notFound(e, r, t, file); line != "" {
			fmt.Fprint(e.Stderr, line)
		}
		if errors.Is(err, fs.ErrPermission) {
			return s.fail(rw, r, http.StatusForbidden)
		}
		return s.fail(rw, r, http.StatusNotFound)
	}
	body, err := e.Files.ReadFile(file)
	if err != nil {
		return s.fail(rw, r, http.StatusForbidden)
	}
	h := rw.Header()
	h.Set("Server", s.product)
	h.Set("Content-Type", contentType(file))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Last-Modified", fi.ModTime().UTC().Format(http.TimeFormat))
	h.Set("Connection", "keep-alive")
	h["ETag"] = []string{fmt.Sprintf("\"%x-%x\"", fi.ModTime().Unix(), len(body))} // nginx spells it so on the wire
	h.Set("Accept-Ranges", "bytes")
	if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !fi.ModTime().Truncate(time.Second).After(ims) {
		rw.WriteHeader(http.StatusNotModified)
		return http.StatusNotModified, 0
	}
	rw.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return http.StatusOK, 0
	}
	_, _ = rw.Write(body)
	return http.StatusOK, len(body)
}

// contentType follows nginx's mime.types for the usual extensions.
func contentType(file string) string {
	switch strings.ToLower(path.Ext(file)) {
	case ".html", ".htm", ".shtml":
		return "text/html"
	case ".css":
		return "text/css"
	case ".txt":
		return "text/plain"
	case ".js":
		return "application/javascript"
	case ".json":
		return "application/json"
	case ".xml":
		return "text/xml"
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".gif":
		return "image/gif"
	case ".svg", ".svgz":
		return "image/svg+xml"
	case ".ico":
		return "image/x-icon"
	}
	return "application/octet-stream"
}

// runWeb listens on port 80 and serves until ctx ends.
func (s *web) run(ctx context.Context, e *Env, bindFailed func(error) string, started string) int {
	l, err := e.Listen("tcp", ":80")
	if err != nil {
		fmt.Fprint(e.Stderr, bindFailed(err))
		return 1
	}
	e.listening()
	fmt.Fprint(e.Stderr, started)
	// The server's own errors (a client that went away) are not the container's output.
	srv := &http.Server{Handler: s.handler(e), ReadHeaderTimeout: 60 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	<-ctx.Done()
	_ = srv.Close()
	<-done
	return 0
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// nginxIndex, nginx50x and nginxConf are the nginx image's own files.
const nginxIndex = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
`

const nginx50x = `<!DOCTYPE html>
<html>
<head>
<title>Error</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>An error occurred.</h1>
<p>Sorry, the page you are looking for is currently unavailable.<br/>
Please try again later.</p>
<p>If you are the system administrator of this resource then you should check
the error log for details.</p>
<p><em>Faithfully yours, nginx.</em></p>
</body>
</html>
`

const nginxConf = `server {
    listen       80;
    listen  [::]:80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
`

func nginxServer() Server {
	return Server{Name: "nginx", Version: "1.27.3",
		Files: map[string]string{"/usr/share/nginx/html/index.html": nginxIndex, "/usr/share/nginx/html/50x.html": nginx50x, "/etc/nginx/conf.d/default.conf": nginxConf},
		Run: func(ctx context.Context, e *Env) int {
			s := &web{product: "nginx/" + e.Version, root: "/usr/share/nginx/html", dirSlash: true}
			s.errorPg = func(w *web, code int) (string, string) {
				title := fmt.Sprintf("%d %s", code, http.StatusText(code))
				if code == http.StatusMethodNotAllowed {
					title = "405 Not Allowed"
				}
				return "text/html", "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
					"</h1></center>\r\n<hr><center>" + w.product + "</center>\r\n</body>\r\n</html>\r\n"
			}
			s.access = func(_ *Env, r *http.Request, t time.Time, code, size int) string {
				return fmt.Sprintf("%s - - [%s] \"%s %s %s\" %d %d \"%s\" \"%s\" \"%s\"\n", clientIP(r), t.Format("02/Jan/2006:15:04:05 -0700"),
					r.Method, r.RequestURI, r.Proto, code, size, orDash(r.Referer()), orDash(r.UserAgent()), orDash(r.Header.Get("X-Forwarded-For")))
			}
			s.notFound = func(_ *Env, r *http.Request, t time.Time, file string) string {
				return fmt.Sprintf("%s [error] 29#29: *1 open() \"%s\" failed (2: No such file or directory), client: %s, server: localhost, request: \"%s %s %s\", host: \"%s\"\n",
					t.Format("2006/01/02 15:04:05"), file, clientIP(r), r.Method, r.RequestURI, r.Proto, r.Host)
			}
			ts := e.now().Format("2006/01/02 15:04:05")
			fmt.Fprint(e.Stdout, "/docker-entrypoint.sh: /docker-entrypoint.d/ is not empty, will attempt to perform configuration\n"+
				"/docker-entrypoint.sh: Looking for shell scripts in /docker-entrypoint.d/\n"+
				"/docker-entrypoint.sh: Launching /docker-entrypoint.d/10-listen-on-ipv6-by-default.sh\n"+
				"10-listen-on-ipv6-by-default.sh: info: Getting the checksum of /etc/nginx/conf.d/default.conf\n"+
				"10-listen-on-ipv6-by-default.sh: info: Enabled listen on IPv6 in /etc/nginx/conf.d/default.conf\n"+
				"/docker-entrypoint.sh: Sourcing /docker-entrypoint.d/15-local-resolvers.envsh\n"+
				"/docker-entrypoint.sh: Launching /docker-entrypoint.d/20-envsubst-on-templates.sh\n"+
				"/docker-entrypoint.sh: Launching /docker-entrypoint.d/30-tune-worker-processes.sh\n"+
				"/docker-entrypoint.sh: Configuration complete; ready for start up\n")
			return s.run(ctx, e, func(err error) string {
				return fmt.Sprintf("%s [emerg] 1#1: bind() to 0.0.0.0:80 failed (98: Address already in use)\nnginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)\n", ts)
			}, fmt.Sprintf("%[1]s [notice] 1#1: using the \"epoll\" event method\n%[1]s [notice] 1#1: nginx/%[2]s\n%[1]s [notice] 1#1: start worker processes\n%[1]s [notice] 1#1: start worker process 29\n", ts, e.Version))
		}}
}

func httpdServer() Server {
	return Server{Name: "httpd", Version: "2.4.62",
		Files: map[string]string{"/usr/local/apache2/htdocs/index.html": "<html><body><h1>It works!</h1></body></html>\n"},
		Run: func(ctx context.Context, e *Env) int {
			s := &web{product: "Apache/" + e.Version + " (Unix)", root: "/usr/local/apache2/htdocs", dirSlash: true}
			s.errorPg = func(w *web, code int) (string, string) {
				text := map[int]string{
					http.StatusNotFound:         "<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n",
					http.StatusForbidden:        "<h1>Forbidden</h1>\n<p>You don't have permission to access this resource.</p>\n",
					http.StatusMovedPermanently: "<h1>Moved Permanently</h1>\n<p>The document has moved.</p>\n",
					http.StatusMethodNotAllowed: "<h1>Method Not Allowed</h1>\n<p>The requested method is not allowed for this URL.</p>\n",
				}[code]
				return "text/html; charset=iso-8859-1", "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>" +
					fmt.Sprintf("%d %s", code, http.StatusText(code)) + "</title>\n</head><body>\n" + text + "</body></html>\n"
			}
			s.access = func(_ *Env, r *http.Request, t time.Time, code, size int) string {
				sz := strconv.Itoa(size)
				if size == 0 {
					sz = "-"
				}
				return fmt.Sprintf("%s - - [%s] \"%s %s %s\" %d %s\n", clientIP(r), t.Format("02/Jan/2006:15:04:05 -0700"), r.Method, r.RequestURI, r.Proto, code, sz)
			}
			s.notFound = func(*Env, *http.Request, time.Time, string) string { return "" }
			stamp := e.now().Format("Mon Jan 02 15:04:05.000000 2006")
			fqdn := fmt.Sprintf("AH00558: httpd: Could not reliably determine the server's fully qualified domain name, using %s. Set the 'ServerName' directive globally to suppress this message\n", e.IP)
			return s.run(ctx, e, func(error) string {
				return "(98)Address already in use: AH00072: make_sock: could not bind to address 0.0.0.0:80\nno listening sockets available, shutting down\nAH00015: Unable to open logs\n"
			}, fqdn+fqdn+fmt.Sprintf("[%[1]s] [mpm_event:notice] [pid 1:tid 1] AH00489: %[2]s configured -- resuming normal operations\n[%[1]s] [core:notice] [pid 1:tid 1] AH00094: Command line: 'httpd -D FOREGROUND'\n", stamp, s.product))
		}}
}
