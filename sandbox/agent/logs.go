package agent

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Container logs are stored like the kubelet's CRI logs, one file per container run
// (<pod dir>/logs/<container>/<restart>.log), one line per entry:
// "<RFC3339Nano time> <stdout|stderr> <F|P> <text>" (P: the text had no final newline).

// logRegistry knows which log files are still being written (for follow).
type logRegistry struct {
	mu   sync.Mutex
	live map[string]chan struct{} // path → closed when the container run ended
}

func newLogRegistry() *logRegistry { return &logRegistry{live: map[string]chan struct{}{}} }

func (r *logRegistry) create(uid types.UID, p string) (*logWriter, error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("container log dir: %w", err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("container log: %w", err)
	}
	done := make(chan struct{})
	r.mu.Lock()
	r.live[p] = done
	r.mu.Unlock()
	return &logWriter{f: f, reg: r, path: p, done: done, partial: map[string][]byte{}}, nil
}

// doneChan returns the channel closed when p stops growing (already closed if p is not live).
func (r *logRegistry) doneChan(p string) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.live[p]; ok {
		return c
	}
	c := make(chan struct{})
	close(c)
	return c
}

func (r *logRegistry) forgetPod(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for p := range r.live {
		if strings.Contains(p, string(uid)) {
			delete(r.live, p)
		}
	}
}

// MaxLogBytes caps one container run's log file (the kubelet rotates at 10 MiB): a runaway `yes` cannot
// fill the disk.
const MaxLogBytes = 10 << 20

type logWriter struct {
	mu      sync.Mutex
	size    int64
	capped  bool
	f       *os.File
	reg     *logRegistry
	path    string
	done    chan struct{}
	partial map[string][]byte
}

type streamWriter struct {
	w      *logWriter
	stream string
}

func (lw *logWriter) stream(name string) io.Writer { return streamWriter{lw, name} }

func (s streamWriter) Write(b []byte) (int, error) {
	lw := s.w
	lw.mu.Lock()
	defer lw.mu.Unlock()
	buf := append(append([]byte(nil), lw.partial[s.stream]...), b...)
	var out bytes.Buffer
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(&out, "%s %s F %s\n", time.Now().UTC().Format(time.RFC3339Nano), s.stream, buf[:i])
		buf = buf[i+1:]
	}
	if len(buf) > 64<<10 { // a very long line without newline is cut into partial entries
		fmt.Fprintf(&out, "%s %s P %s\n", time.Now().UTC().Format(time.RFC3339Nano), s.stream, buf)
		buf = nil
	}
	lw.partial[s.stream] = append([]byte(nil), buf...)
	if out.Len() == 0 || lw.capped {
		return len(b), nil
	}
	if lw.size+int64(out.Len()) > MaxLogBytes {
		lw.capped = true
		out.Reset()
		fmt.Fprintf(&out, "%s stderr F [klab sandbox: log of this container run truncated at %d MiB]\n", time.Now().UTC().Format(time.RFC3339Nano), MaxLogBytes>>20)
	}
	n, err := lw.f.Write(out.Bytes())
	lw.size += int64(n)
	if err != nil {
		return 0, fmt.Errorf("write container log: %w", err)
	}
	return len(b), nil
}

func (lw *logWriter) close() {
	lw.mu.Lock()
	for _, stream := range []string{"stdout", "stderr"} {
		if p := lw.partial[stream]; len(p) > 0 {
			fmt.Fprintf(lw.f, "%s %s P %s\n", time.Now().UTC().Format(time.RFC3339Nano), stream, p)
		}
	}
	_ = lw.f.Close()
	lw.mu.Unlock()
	lw.reg.mu.Lock()
	delete(lw.reg.live, lw.path)
	lw.reg.mu.Unlock()
	close(lw.done)
}

// logEntry is one parsed line of a log file.
type logEntry struct {
	t       time.Time
	stream  string
	text    string
	partial bool
}

func parseLogLine(line string) (logEntry, bool) {
	parts := strings.SplitN(line, " ", 4)
	if len(parts) < 3 {
		return logEntry{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, parts[0])
	if err != nil {
		return logEntry{}, false
	}
	e := logEntry{t: t, stream: parts[1], partial: parts[2] == "P"}
	if len(parts) == 4 {
		e.text = parts[3]
	}
	return e, true
}

// logOptions are the kubelet's /containerLogs query parameters.
type logOptions struct {
	follow, previous, timestamps bool
	tailLines, limitBytes        int64 // -1: unset
	since                        time.Time
	stream                       string // "", "Stdout", "Stderr", "All"
}

func parseLogOptions(q map[string][]string) (logOptions, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	o := logOptions{tailLines: -1, limitBytes: -1}
	boolOpt := func(k string) (bool, error) {
		v := get(k)
		if v == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("invalid %s %q", k, v)
		}
		return b, nil
	}
	var err error
	if o.follow, err = boolOpt("follow"); err != nil {
		return o, err
	}
	if o.previous, err = boolOpt("previous"); err != nil {
		return o, err
	}
	if o.timestamps, err = boolOpt("timestamps"); err != nil {
		return o, err
	}
	for _, k := range []string{"tailLines", "limitBytes", "sinceSeconds"} {
		v := get(k)
		if v == "" {
			continue
		}
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n < 0 {
			return o, fmt.Errorf("invalid %s %q", k, v)
		}
		switch k {
		case "tailLines":
			o.tailLines = n
		case "limitBytes":
			o.limitBytes = n
		case "sinceSeconds":
			o.since = time.Now().Add(-time.Duration(n) * time.Second)
		}
	}
	if v := get("sinceTime"); v != "" {
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			return o, fmt.Errorf("invalid sinceTime %q", v)
		}
		o.since = t
	}
	o.stream = get("stream")
	return o, nil
}

// limitWriter stops after n bytes.
type limitWriter struct {
	w http.ResponseWriter
	n int64 // -1: no limit
}

var errLimit = errors.New("limit reached")

func (l *limitWriter) write(s string) error {
	if l.n == 0 {
		return errLimit
	}
	if l.n > 0 && int64(len(s)) > l.n {
		s = s[:l.n]
	}
	if _, err := io.WriteString(l.w, s); err != nil {
		return err
	}
	if l.n > 0 {
		l.n -= int64(len(s))
		if l.n == 0 {
			return errLimit
		}
	}
	return nil
}

// logFiles lists a container's log files, oldest run first.
func logFiles(dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	type f struct {
		n    int
		path string
	}
	var fs []f
	for _, e := range ents {
		n, err := strconv.Atoi(strings.TrimSuffix(e.Name(), ".log"))
		if err == nil && strings.HasSuffix(e.Name(), ".log") {
			fs = append(fs, f{n, filepath.Join(dir, e.Name())})
		}
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].n < fs[j].n })
	out := make([]string, len(fs))
	for i, x := range fs {
		out[i] = x.path
	}
	return out
}

func (a *agent) serveLogs(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		writeStatus(w, http.StatusBadRequest, "BadRequest", "expected /containerLogs/{namespace}/{pod}/{container}")
		return
	}
	ns, name, ctr := parts[0], parts[1], parts[2]
	opts, err := parseLogOptions(r.URL.Query())
	if err != nil {
		writeStatus(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	pod, ok := a.nodePod(r, ns, name)
	if !ok {
		writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("pod %q not found in namespace %q on node %s", name, ns, requestNode(r).Name))
		return
	}
	known := false
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		known = known || c.Name == ctr
	}
	for _, c := range pod.Spec.EphemeralContainers {
		known = known || c.Name == ctr
	}
	if !known {
		writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("container %s is not valid for pod %s", ctr, name))
		return
	}
	files := logFiles(filepath.Join(a.pods.podDir(pod.UID), "logs", ctr))
	var file string
	switch {
	case opts.previous && len(files) >= 2:
		file = files[len(files)-2]
	case opts.previous:
		writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("previous terminated container %q in pod %q not found", ctr, name))
		return
	case len(files) > 0:
		file = files[len(files)-1]
	default:
		reason := "ContainerCreating"
		for _, s := range slices.Concat(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses) {
			if s.Name == ctr && s.State.Waiting != nil && s.State.Waiting.Reason != "" {
				reason = s.State.Waiting.Reason
			}
		}
		writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("container %q in pod %q is waiting to start: %s", ctr, name, reason))
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Transfer-Encoding", "chunked")
	w.WriteHeader(http.StatusOK)
	done := a.pods.logs.doneChan(file)
	if opts.previous {
		done = closedChan()
	}
	streamLog(r.Context(), w, file, opts, done)
}

// nodePod is the pod ns/name if it runs on the node whose kubelet API serves r (a kubelet knows only
// its own pods).
func (a *agent) nodePod(r *http.Request, ns, name string) (*corev1.Pod, bool) {
	obj, exists, err := a.podIndex.GetByKey(ns + "/" + name)
	if err != nil || !exists {
		return nil, false
	}
	pod, ok := obj.(*corev1.Pod)
	n := requestNode(r)
	if !ok || n == nil || pod.Spec.NodeName != n.Name {
		return nil, false
	}
	return pod, true
}

func closedChan() <-chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// streamLog writes the entries of file per opts; with follow it keeps writing what is appended until done
// is closed (the container run ended) or the client leaves.
func streamLog(ctx context.Context, w http.ResponseWriter, file string, opts logOptions, done <-chan struct{}) {
	f, err := os.Open(file)
	if err != nil {
		return
	}
	defer func() { _ = f.Close() }()
	lw := &limitWriter{w: w, n: opts.limitBytes}
	flush := func() {
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
	}
	emit := func(e logEntry) error {
		if !opts.since.IsZero() && e.t.Before(opts.since) {
			return nil
		}
		if (opts.stream == "Stdout" && e.stream != "stdout") || (opts.stream == "Stderr" && e.stream != "stderr") {
			return nil
		}
		s := e.text
		if !e.partial {
			s += "\n"
		}
		if opts.timestamps {
			s = e.t.Format(time.RFC3339Nano) + " " + s
		}
		return lw.write(s)
	}
	br := bufio.NewReader(f)
	var pending string
	readAvailable := func() ([]logEntry, error) {
		var out []logEntry
		for {
			line, err := br.ReadString('\n')
			if err == io.EOF {
				pending += line
				return out, nil
			}
			if err != nil {
				return out, err
			}
			line = pending + strings.TrimSuffix(line, "\n")
			pending = ""
			if e, ok := parseLogLine(line); ok {
				out = append(out, e)
			}
		}
	}
	first, err := readAvailable()
	if err != nil {
		return
	}
	if opts.tailLines >= 0 && int64(len(first)) > opts.tailLines {
		first = first[int64(len(first))-opts.tailLines:]
	}
	for _, e := range first {
		if emit(e) != nil {
			flush()
			return
		}
	}
	flush()
	if !opts.follow {
		return
	}
	for {
		finished := false
		select {
		case <-ctx.Done():
			return
		case <-done:
			finished = true
		case <-time.After(100 * time.Millisecond):
		}
		more, err := readAvailable()
		if err != nil {
			return
		}
		for _, e := range more {
			if emit(e) != nil {
				flush()
				return
			}
		}
		if len(more) > 0 {
			flush()
		}
		if finished {
			return
		}
	}
}

// writeStatus answers with a metav1.Status, which the apiserver and kubectl print as the error.
func writeStatus(w http.ResponseWriter, code int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code,
	})
}

func (a *agent) logServer(tlsCfg *tls.Config) *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/containerLogs/", a.serveLogs)
	mux.HandleFunc("/pods", a.servePods)
	mux.HandleFunc("/metrics", a.serveMetrics)
	mux.HandleFunc("/exec/", a.serveExec)
	mux.HandleFunc("/attach/", a.serveAttach)
	for _, p := range []string{"/portForward/", "/run/", "/cri/"} {
		what := strings.Trim(p, "/")
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			writeStatus(w, http.StatusBadRequest, "BadRequest", fmt.Sprintf("%s is not supported by the klab sandbox (pods run in an in-process shell, without a container runtime)", what))
		})
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusNotFound, "NotFound", fmt.Sprintf("%s is not served by the klab sandbox node agent", r.URL.Path))
	})
	return &http.Server{Handler: mux, TLSConfig: tlsCfg, ReadHeaderTimeout: 10 * time.Second}
}

// serverTLS loads the serving certificate and requires client certificates signed by ClientCAFile.
func serverTLS(cfg Config) (*tls.Config, error) {
	if cfg.TLSCertFile == "" || cfg.TLSKeyFile == "" || cfg.ClientCAFile == "" {
		return nil, errors.New("agent config: TLSCertFile, TLSKeyFile and ClientCAFile are required (the log server only answers the apiserver)")
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("log server certificate: %w", err)
	}
	caPEM, err := os.ReadFile(cfg.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("log server client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("log server client CA %s: no PEM certificate", cfg.ClientCAFile)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}, nil
}
