// Package servers holds the default processes of the catalogue's server images (nginx, httpd, redis,
// databases): what each really does on its ports of the pod network, written with Go's net/http and
// plain TCP. A web server serves the files of the container's own root (its image content, or a volume
// mounted over its document root), with the headers, bodies and log lines of the real server; redis
// speaks RESP for the commands lessons use; the databases accept connections without speaking their
// protocol.
package servers

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Files is what a server reads of its container's file system (paths inside the container).
type Files interface {
	ReadFile(name string) ([]byte, error)
	Stat(name string) (fs.FileInfo, error)
	Open(name string) (*os.File, error)
}

// Env is what a server process gets from the container runtime.
type Env struct {
	Listen func(network, address string) (net.Listener, error) // in the pod's network
	// Dial connects from the pod over the pod network (nil: the server cannot reach other pods).
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Listening is called once the server listens on all its ports (nil: nobody waits for it).
	Listening func()
	Files     Files
	Stdout    io.Writer
	Stderr    io.Writer
	Hostname  string   // the pod's
	IP        string   // the pod's IP
	Version   string   // the image tag's version when it names one ("1.27.3"), else ""
	Program   string   // the entrypoint program as the container's command named it ("/agnhost", "/agnhost-2")
	Args      []string // the container's args (its command line after the image's entrypoint), for agnhost
	Now       func() time.Time
}

func (e *Env) listening() {
	if e.Listening != nil {
		e.Listening()
	}
}

func (e *Env) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Server is one server image's default process.
type Server struct {
	Name    string            // "nginx"
	Version string            // the version its latest tag runs
	Files   map[string]string // image content laid in the container's root before it starts
	Run     func(ctx context.Context, e *Env) int
}

// Get returns the server named name ("nginx", "httpd", "agnhost", "redis", "postgres", "mysql", "mariadb", "mongo",
// "memcached"), or nil.
func Get(name string) *Server {
	for _, s := range table() {
		if s.Name == name {
			return &s
		}
	}
	return nil
}

// table is every server, built on each call (no package state).
func table() []Server {
	return []Server{
		nginxServer(),
		httpdServer(),
		agnhostServer(),
		redisServer(),
		tcpServer("postgres", "17.2", 5432, func(e *Env, t time.Time) string {
			ts := t.UTC().Format("2006-01-02 15:04:05.000 UTC")
			return fmt.Sprintf("%s [1] LOG:  starting PostgreSQL %s on x86_64-pc-linux-gnu\n%s [1] LOG:  listening on IPv4 address \"0.0.0.0\", port 5432\n%s [1] LOG:  database system is ready to accept connections\n", ts, e.Version, ts, ts)
		}),
		tcpServer("mysql", "9.1.0", 3306, func(e *Env, t time.Time) string {
			return fmt.Sprintf("%s 0 [System] [MY-010931] [Server] /usr/sbin/mysqld: ready for connections. Version: '%s'  socket: '/var/run/mysqld/mysqld.sock'  port: 3306  MySQL Community Server - GPL.\n", t.UTC().Format("2006-01-02T15:04:05.000000Z"), e.Version)
		}),
		tcpServer("mariadb", "11.6.2", 3306, func(e *Env, t time.Time) string {
			return fmt.Sprintf("%s 0 [Note] mariadbd: ready for connections.\nVersion: '%s-MariaDB-ubu2404'  socket: '/run/mysqld/mysqld.sock'  port: 3306  mariadb.org binary distribution\n", t.UTC().Format("2006-01-02 15:04:05"), e.Version)
		}),
		tcpServer("mongo", "8.0.4", 27017, func(e *Env, t time.Time) string {
			return fmt.Sprintf(`{"t":{"$date":"%s"},"s":"I",  "c":"NETWORK",  "id":23016,   "ctx":"listener","msg":"Waiting for connections","attr":{"port":27017,"ssl":"off"}}`+"\n", t.UTC().Format("2006-01-02T15:04:05.000+00:00"))
		}),
		tcpServer("memcached", "1.6.34", 11211, func(*Env, time.Time) string { return "" }),
	}
}

// serveConns accepts on l until ctx ends, running handle for each connection; it waits for them.
func serveConns(ctx context.Context, l net.Listener, handle func(net.Conn)) {
	var wg sync.WaitGroup
	go func() {
		<-ctx.Done()
		_ = l.Close()
	}()
	var mu sync.Mutex
	open := map[net.Conn]struct{}{}
	for {
		c, err := l.Accept()
		if err != nil {
			break
		}
		mu.Lock()
		open[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				_ = c.Close()
				mu.Lock()
				delete(open, c)
				mu.Unlock()
			}()
			handle(c)
		}()
	}
	mu.Lock()
	for c := range open {
		_ = c.Close()
	}
	mu.Unlock()
	wg.Wait()
}

// tcpServer is a database that accepts connections on port (and holds them until the client leaves)
// without speaking its protocol; banner is its "ready" log line.
func tcpServer(name, version string, port int, banner func(*Env, time.Time) string) Server {
	return Server{Name: name, Version: version, Run: func(ctx context.Context, e *Env) int {
		l, err := e.Listen("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			fmt.Fprintf(e.Stderr, "%s: cannot listen on port %d: %v\n", name, port, err)
			return 1
		}
		e.listening()
		fmt.Fprint(e.Stdout, banner(e, e.now()))
		serveConns(ctx, l, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
		return 0
	}}
}

// VersionFor is the version a server image with this tag runs: the tag's own when it names a full
// version ("1.27.3", "1.27.3-alpine"), else the server's latest.
func (s *Server) VersionFor(tag string) string {
	v, _, _ := strings.Cut(tag, "-")
	parts := strings.Split(v, ".")
	if len(parts) == 3 {
		for _, p := range parts {
			if _, err := strconv.Atoi(p); err != nil {
				return s.Version
			}
		}
		return v
	}
	return s.Version
}
