package servers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"strconv"
	"strings"
	"sync"
)

// redisServer speaks RESP (and inline commands, as `echo PING | nc redis 6379` sends) on 6379 with an
// in-memory keyspace: PING, ECHO, SET, GET, DEL, EXISTS, INCR, KEYS, DBSIZE, FLUSHALL, INFO server, QUIT.
func redisServer() Server {
	return Server{Name: "redis", Version: "7.4.1", Run: func(ctx context.Context, e *Env) int {
		ts := func() string { return e.now().UTC().Format("02 Jan 2006 15:04:05.000") }
		fmt.Fprintf(e.Stdout, "1:C %s # oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo\n", ts())
		fmt.Fprintf(e.Stdout, "1:C %s # Redis version=%s, bits=64, commit=00000000, modified=0, pid=1, just started\n", ts(), e.Version)
		fmt.Fprintf(e.Stdout, "1:C %s # Warning: no config file specified, using the default config. In order to specify a config file use redis-server /path/to/redis.conf\n", ts())
		l, err := e.Listen("tcp", ":6379")
		if err != nil {
			fmt.Fprintf(e.Stdout, "1:M %s # Warning: Could not create server TCP listening socket *:6379: bind: Address already in use\n1:M %s # Failed listening on port 6379 (tcp), aborting.\n", ts(), ts())
			return 1
		}
		e.listening()
		fmt.Fprintf(e.Stdout, "1:M %s * Running mode=standalone, port=6379.\n1:M %s * Server initialized\n1:M %s * Ready to accept connections tcp\n", ts(), ts(), ts())
		db := &keyspace{m: map[string]string{}}
		serveConns(ctx, l, func(c net.Conn) { redisConn(c, db, e.Version) })
		return 0
	}}
}

type keyspace struct {
	mu sync.Mutex
	m  map[string]string
}

func redisConn(c net.Conn, db *keyspace, version string) {
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	for {
		args, err := readCommand(r)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				fmt.Fprintf(w, "-ERR Protocol error: %v\r\n", err)
				_ = w.Flush()
			}
			return
		}
		if len(args) == 0 {
			continue
		}
		quit := strings.EqualFold(args[0], "QUIT")
		_, _ = w.WriteString(db.exec(args, version))
		if err := w.Flush(); err != nil || quit {
			return
		}
	}
}

// readCommand reads one command: a RESP array of bulk strings, or an inline line.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil && line == "" {
		return nil, io.EOF
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "*") {
		return strings.Fields(line), nil
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n > 1024*1024 {
		return nil, fmt.Errorf("invalid multibulk length")
	}
	args := make([]string, 0, n)
	for range n {
		hdr, err := r.ReadString('\n')
		if err != nil {
			return nil, io.EOF
		}
		hdr = strings.TrimRight(hdr, "\r\n")
		if !strings.HasPrefix(hdr, "$") {
			return nil, fmt.Errorf("expected '$', got '%.1s'", hdr)
		}
		size, err := strconv.Atoi(hdr[1:])
		if err != nil || size < 0 || size > 512<<20 {
			return nil, fmt.Errorf("invalid bulk length")
		}
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, io.EOF
		}
		args = append(args, string(buf[:size]))
	}
	return args, nil
}

func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

func wrongArgs(cmd string) string {
	return fmt.Sprintf("-ERR wrong number of arguments for '%s' command\r\n", strings.ToLower(cmd))
}

func (db *keyspace) exec(args []string, version string) string {
	db.mu.Lock()
	defer db.mu.Unlock()
	cmd := strings.ToUpper(args[0])
	n := len(args) - 1
	switch cmd {
	case "PING":
		switch n {
		case 0:
			return "+PONG\r\n"
		case 1:
			return bulk(args[1])
		}
		return wrongArgs(cmd)
	case "ECHO":
		if n != 1 {
			return wrongArgs(cmd)
		}
		return bulk(args[1])
	case "QUIT":
		return "+OK\r\n"
	case "INFO":
		return bulk(fmt.Sprintf("# Server\r\nredis_version:%s\r\nredis_mode:standalone\r\ntcp_port:6379\r\n", version))
	}
	return db.execKeys(cmd, args)
}

// execKeys runs the commands on keys; db.mu is held.
func (db *keyspace) execKeys(cmd string, args []string) string {
	n := len(args) - 1
	switch cmd {
	case "SET":
		if n < 2 {
			return wrongArgs(cmd)
		}
		db.m[args[1]] = args[2]
		return "+OK\r\n"
	case "GET":
		if n != 1 {
			return wrongArgs(cmd)
		}
		v, ok := db.m[args[1]]
		if !ok {
			return "$-1\r\n"
		}
		return bulk(v)
	case "DEL", "EXISTS":
		if n < 1 {
			return wrongArgs(cmd)
		}
		count := 0
		for _, k := range args[1:] {
			if _, ok := db.m[k]; ok {
				count++
				if cmd == "DEL" {
					delete(db.m, k)
				}
			}
		}
		return fmt.Sprintf(":%d\r\n", count)
	case "INCR":
		if n != 1 {
			return wrongArgs(cmd)
		}
		v, err := strconv.ParseInt(orZero(db.m[args[1]]), 10, 64)
		if err != nil {
			return "-ERR value is not an integer or out of range\r\n"
		}
		db.m[args[1]] = strconv.FormatInt(v+1, 10)
		return fmt.Sprintf(":%d\r\n", v+1)
	case "KEYS":
		if n != 1 {
			return wrongArgs(cmd)
		}
		var keys []string
		for k := range db.m {
			if ok, _ := path.Match(args[1], k); ok {
				keys = append(keys, k)
			}
		}
		out := fmt.Sprintf("*%d\r\n", len(keys))
		for _, k := range keys {
			out += bulk(k)
		}
		return out
	case "DBSIZE":
		return fmt.Sprintf(":%d\r\n", len(db.m))
	case "FLUSHALL", "FLUSHDB":
		db.m = map[string]string{}
		return "+OK\r\n"
	}
	var quoted strings.Builder
	for _, a := range args[1:] {
		quoted.WriteString("'" + a + "' ")
	}
	return fmt.Sprintf("-ERR unknown command '%s', with args beginning with: %s\r\n", args[0], quoted.String())
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}
