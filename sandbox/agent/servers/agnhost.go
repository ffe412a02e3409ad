package servers

import (
	"context"
	"crypto/tls"
	_ "embed" // the agnhost image's certificate and key
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	grpchealth "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// The agnhost image carries these at its root (test/images/agnhost/porter): the e2e StatefulSet tests
// probe /localhost.crt over HTTP and move it away to make a pod unready.
var (
	//go:embed agnhost/localhost.crt
	agnhostCrt string
	//go:embed agnhost/localhost.key
	agnhostKey string
)

// agnhostCmd is one agnhost subcommand: it declares its flags on fs, then runs with them parsed.
type agnhostCmd struct {
	flags   func(fs *pflag.FlagSet) func(ctx context.Context, e *Env) int
	about   string
	anyArgs bool // takes arguments besides its flags
}

// agnhostCommands is the table of the subcommands the sandbox runs, after test/images/agnhost of
// Kubernetes v1.37.2; help and the README derive from it. The upstream image has more (webhook, porter,
// dns, mounttest …): those exit 1 saying the sandbox does not have them.
func agnhostCommands() map[string]agnhostCmd {
	return map[string]agnhostCmd{
		"pause":                {flags: agnhostPause, about: "waits for SIGTERM (the image's default command)"},
		"serve-hostname":       {flags: agnhostServeHostname, about: "serves the pod's hostname over HTTP (or raw TCP with --tcp) on --port (9376)"},
		"test-webserver":       {flags: agnhostTestWebserver, about: "serves the container's files on --port (80)"},
		"netexec":              {flags: agnhostNetexec, about: "HTTP on --http-port (8080): /, /hostname, /clientip, /serverport, /header, /echo, /exit, /healthz, /readyz, /redirect, /shutdown, /dial over HTTP (no UDP, SCTP, /shell, /upload)"},
		"liveness":             {flags: agnhostLiveness, about: "HTTP on 8080: /healthz answers 200 for 10 s, then 500; /started; /redirect"},
		"etc-hosts":            {flags: agnhostEtcHosts, about: "prints the container's /etc/hosts and exits"},
		"entrypoint-tester":    {flags: agnhostEntrypointTester, anyArgs: true, about: "prints its command line (the program as the container's command named it, then its args) and exits"},
		"grpc-health-checking": {flags: agnhostGRPCHealth, about: "grpc.health.v1.Health on --port (5000), SERVING until --delay-unhealthy-sec; /make-serving and /make-not-serving on --http-port (8080)"},
	}
}

// AgnhostCommands lists the subcommands the sandbox's agnhost runs, with what each does (for docs).
func AgnhostCommands() []string {
	var out []string
	for name, c := range agnhostCommands() {
		out = append(out, name+": "+c.about)
	}
	slices.Sort(out)
	return out
}

func agnhostServer() Server {
	return Server{Name: "agnhost", Version: "2.66.1",
		Files: map[string]string{"/localhost.crt": agnhostCrt, "/localhost.key": agnhostKey, "/uploads/.keep": ""},
		Run:   runAgnhost}
}

// runAgnhost is the image's entrypoint, /agnhost: the container's args name the subcommand and its flags
// (CMD ["pause"] when there are none).
func runAgnhost(ctx context.Context, e *Env) int {
	args := e.Args
	if len(args) == 0 {
		args = []string{"pause"}
	}
	name := args[0]
	cmd, ok := agnhostCommands()[name]
	if !ok {
		if strings.HasPrefix(name, "-") {
			fmt.Fprintf(e.Stderr, "Error: unknown flag: %s\n", name)
		} else {
			fmt.Fprintf(e.Stderr, "agnhost: the subcommand %q is not available in the klab sandbox (it runs: %s)\n", name, strings.Join(slices.Sorted(maps.Keys(agnhostCommands())), ", "))
		}
		return 1
	}
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	run := cmd.flags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		fmt.Fprintf(e.Stderr, "Error: %v\n", err)
		return 1
	}
	if fs.NArg() > 0 && !cmd.anyArgs {
		fmt.Fprintf(e.Stderr, "Error: accepts at most 0 arg(s), received %d\n", fs.NArg())
		return 1
	}
	return run(ctx, e)
}

// logf writes a line as Go's log package does (agnhost logs with it, to stderr).
func (e *Env) logf(format string, args ...any) {
	fmt.Fprintf(e.Stderr, "%s %s\n", e.now().Format("2006/01/02 15:04:05"), fmt.Sprintf(format, args...))
}

func agnhostEtcHosts(*pflag.FlagSet) func(ctx context.Context, e *Env) int {
	return func(_ context.Context, e *Env) int {
		e.listening()
		data, err := e.Files.ReadFile("/etc/hosts")
		if err != nil {
			fmt.Fprintf(e.Stderr, "panic: %v\n", err)
			return 2
		}
		fmt.Fprintln(e.Stdout, string(data))
		return 0
	}
}

func agnhostEntrypointTester(*pflag.FlagSet) func(ctx context.Context, e *Env) int {
	return func(_ context.Context, e *Env) int {
		prog := e.Program
		if prog == "" {
			prog = "/agnhost"
		}
		e.listening()
		fmt.Fprintf(e.Stdout, "%v\n", append([]string{prog}, e.Args...))
		return 0
	}
}

func agnhostPause(*pflag.FlagSet) func(ctx context.Context, e *Env) int {
	return func(ctx context.Context, e *Env) int {
		e.listening()
		fmt.Fprint(e.Stdout, "Paused\nSignals registered\n")
		<-ctx.Done()
		return 2
	}
}

func agnhostServeHostname(fs *pflag.FlagSet) func(ctx context.Context, e *Env) int {
	doTCP := fs.Bool("tcp", false, "Serve raw over TCP.")
	doUDP := fs.Bool("udp", false, "Serve raw over UDP.")
	doHTTP := fs.Bool("http", true, "Serve HTTP.")
	doClose := fs.Bool("close", false, "Close connection per each HTTP request.")
	port := fs.Int("port", 9376, "Port number.")
	return func(ctx context.Context, e *Env) int {
		if *doHTTP && (*doTCP || *doUDP) {
			e.logf("Can't server TCP/UDP mode and HTTP mode at the same time")
			return 1
		}
		if *doUDP {
			e.logf("UDP is not available in the klab sandbox's pod network")
			return 1
		}
		l, err := e.Listen("tcp", fmt.Sprintf(":%d", *port))
		if err != nil {
			e.logf("Error from net.Listen(): %s", err)
			return 1
		}
		e.listening()
		e.logf("Serving on port %d.", *port)
		if *doTCP {
			serveConns(ctx, l, func(c net.Conn) {
				e.logf("TCP request from %s", c.RemoteAddr())
				_, _ = c.Write([]byte(e.Hostname))
			})
			return 0
		}
		return serveHTTP(ctx, l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.logf("HTTP request from %s", r.RemoteAddr)
			if *doClose {
				w.Header().Add("Connection", "close")
			}
			fmt.Fprint(w, e.Hostname)
		}))
	}
}

// agnhostTestWebserver serves any file of the container named by the URL path, as http.FileServer does.
func agnhostTestWebserver(fs *pflag.FlagSet) func(ctx context.Context, e *Env) int {
	port := fs.Int("port", 80, "Port number.")
	return func(ctx context.Context, e *Env) int {
		l, err := e.Listen("tcp", fmt.Sprintf(":%d", *port))
		if err != nil {
			e.logf("listen tcp :%d: %v", *port, err)
			return 1
		}
		e.listening()
		files := http.StripPrefix("/", http.FileServer(containerFS{e.Files}))
		return serveHTTP(ctx, l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "private")
			w.Header().Set("Access-Control-Allow-Origin", "*")
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "DNT,X-Mx-ReqToken,Keep-Alive,User-Agent,X-Requested-With,Cache-Control,Content-Type")
			r.Header.Del("If-Modified-Since")
			files.ServeHTTP(w, r)
		}))
	}
}

// containerFS is the container's root as an http.FileSystem.
type containerFS struct{ f Files }

func (c containerFS) Open(name string) (http.File, error) {
	f, err := c.f.Open("/" + strings.TrimPrefix(name, "/"))
	if err != nil {
		return nil, err //nolint:wrapcheck // http.FileServer maps the fs errors themselves to 404/403
	}
	return f, nil
}

// agnhostNetexec is netexec's HTTP server. UDP and SCTP are not served (the pod network is TCP only), so
// /healthz is ready at once; /dial, /shell and /upload answer 501.
func agnhostNetexec(fs *pflag.FlagSet) func(ctx context.Context, e *Env) int {
	httpPort := fs.Int("http-port", 8080, "HTTP Listen Port")
	certFile := fs.String("tls-cert-file", "", "File containing an x509 certificate for HTTPS.")
	keyFile := fs.String("tls-private-key-file", "", "File containing an x509 private key matching --tls-cert-file.")
	fs.Int("udp-port", 8081, "UDP Listen Port")
	fs.Int("sctp-port", -1, "SCTP Listen Port")
	override := fs.String("http-override", "", "Override the HTTP handler to always respond as if it were a GET with this path & params")
	fs.String("udp-listen-addresses", "", "A comma separated list of ip addresses the udp servers listen from")
	delay := fs.Int("delay-shutdown", 0, "Number of seconds to delay shutdown when receiving SIGTERM.")
	return func(ctx context.Context, e *Env) int {
		l, err := e.Listen("tcp", fmt.Sprintf(":%d", *httpPort))
		if err != nil {
			e.logf("listen tcp :%d: %v", *httpPort, err)
			return 1
		}
		e.listening()
		exit := make(chan int, 1)
		mux := netexecMux(e, *httpPort, ctx.Done(), exit)
		var h http.Handler = mux
		if *override != "" {
			h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, *override, nil)
				if err != nil {
					http.Error(w, fmt.Sprintf("override request failed: %v", err), http.StatusInternalServerError)
					return
				}
				mux.ServeHTTP(w, req)
			})
		}
		if *certFile != "" || *keyFile != "" { // HTTPS on the same port, as netexec's startHTTPSServer
			cert, err := e.keyPair(*certFile, *keyFile)
			if err != nil {
				_ = l.Close()
				e.logf("%v", err)
				return 1
			}
			l = tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
			e.logf("Started HTTPS server on port %d", *httpPort)
		} else {
			e.logf("Started HTTP server on port %d", *httpPort)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute, ErrorLog: log.New(io.Discard, "", 0)}
		go func() { _ = srv.Serve(l) }()
		select {
		case code := <-exit:
			_ = srv.Close()
			return code
		case <-ctx.Done():
			if *delay > 0 {
				e.logf("Sleeping %d seconds before terminating...", *delay)
				time.Sleep(time.Duration(*delay) * time.Second)
			}
			_ = srv.Close()
			return 0
		}
	}
}

func netexecMux(e *Env, port int, term <-chan struct{}, exit chan<- int) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		e.logf("GET /")
		fmt.Fprintf(w, "NOW: %v", e.now())
	})
	mux.HandleFunc("/clientip", func(w http.ResponseWriter, r *http.Request) {
		e.logf("GET /clientip")
		fmt.Fprint(w, r.RemoteAddr)
	})
	mux.HandleFunc("/serverport", func(w http.ResponseWriter, _ *http.Request) {
		e.logf("GET /serverport")
		fmt.Fprint(w, port)
	})
	mux.HandleFunc("/header", func(w http.ResponseWriter, r *http.Request) {
		if key := r.FormValue("key"); key != "" {
			e.logf("GET /header?key=%s", key)
			fmt.Fprint(w, r.Header.Get(key))
			return
		}
		e.logf("GET /header")
		data, _ := json.Marshal(r.Header)
		_, _ = w.Write(data)
	})
	hostname := func(w http.ResponseWriter, r *http.Request) {
		e.logf("GET %s", r.URL.Path)
		fmt.Fprint(w, e.Hostname)
	}
	mux.HandleFunc("/hostname", hostname)
	mux.HandleFunc("/hostName", hostname)
	netexecControl(mux, e, term, exit)
	return mux
}

// netexecControl adds netexec's routes that answer as told or stop the server.
func netexecControl(mux *http.ServeMux, e *Env, term <-chan struct{}, exit chan<- int) {
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		msg, codeString := r.FormValue("msg"), r.FormValue("code")
		e.logf("GET /echo?msg=%s&code=%s", msg, codeString)
		if codeString != "" {
			code, err := strconv.Atoi(codeString)
			if err != nil {
				fmt.Fprintf(w, "argument 'code' must be an integer or empty, got %q\n", codeString)
				return
			}
			w.WriteHeader(code)
		}
		fmt.Fprint(w, msg)
	})
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		codeString := r.FormValue("code")
		e.logf("GET /exit?code=%s&timeout=%s&wait=%s", codeString, r.FormValue("timeout"), r.FormValue("wait"))
		code, err := strconv.Atoi(codeString)
		if err != nil && codeString != "" {
			fmt.Fprintf(w, "argument 'code' must be an integer [0-127] or empty, got %q\n", codeString)
			return
		}
		if wait, err := time.ParseDuration(r.FormValue("wait")); err == nil {
			time.Sleep(wait)
		}
		exit <- code
	})
	healthz := func(w http.ResponseWriter, _ *http.Request) {
		e.logf("GET /healthz")
		w.WriteHeader(http.StatusOK)
	}
	mux.HandleFunc("/healthz", healthz)
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		e.logf("GET /readyz")
		select {
		case <-term:
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("shutting down"))
		default:
			_, _ = w.Write([]byte("ok"))
		}
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		loc, err := url.QueryUnescape(r.URL.Query().Get("location"))
		if err != nil {
			http.Error(w, fmt.Sprintf("%v", err), http.StatusBadRequest)
			return
		}
		e.logf("GET /redirect?location=%s", loc)
		http.Redirect(w, r, loc, http.StatusFound)
	})
	mux.HandleFunc("/shutdown", func(http.ResponseWriter, *http.Request) {
		e.logf("GET /shutdown")
		exit <- 0
	})
	mux.HandleFunc("/dial", func(w http.ResponseWriter, r *http.Request) { netexecDial(e, w, r) })
	for _, p := range []string{"/shell", "/upload", "/envvar"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			e.logf("GET %s", r.URL.Path)
			http.Error(w, r.URL.Path+" is not available in the klab sandbox's agnhost", http.StatusNotImplemented)
		})
	}
}

// netexecDial is netexec's /dial: it sends request to host:port over HTTP (UDP and SCTP are not on the pod
// network) tries times and answers {"responses": [...], "errors": [...]}.
func netexecDial(e *Env, w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	host, port, request, protocol := q.Get("host"), q.Get("port"), q.Get("request"), q.Get("protocol")
	e.logf("GET /dial?host=%s&protocol=%s&port=%s&request=%s&tries=%s", host, protocol, port, request, q.Get("tries"))
	tries := 1
	if t := q.Get("tries"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			http.Error(w, fmt.Sprintf("tries parameter is invalid. %v", err), http.StatusBadRequest)
			return
		}
		tries = n
	}
	if request == "" {
		http.Error(w, "request parameter not specified. <nil>", http.StatusBadRequest)
		return
	}
	if p := strings.ToLower(protocol); p != "" && p != "http" {
		http.Error(w, fmt.Sprintf("unsupported protocol. %s (the klab sandbox's pod network carries TCP only)", protocol), http.StatusBadRequest)
		return
	}
	if e.Dial == nil {
		http.Error(w, "no pod network", http.StatusInternalServerError)
		return
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: e.Dial, DisableKeepAlives: true}}
	responses, errs := []string{}, []string{}
	last := ""
	for range tries {
		resp, err := client.Get(fmt.Sprintf("http://%s/%s", net.JoinHostPort(host, port), request))
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err = rerr; err == nil {
				last = string(body)
				responses = append(responses, last)
				continue
			}
		}
		errs = append(errs, err.Error())
	}
	out := map[string][]string{}
	if last != "" {
		out["responses"] = responses
	}
	if len(errs) > 0 {
		out["errors"] = errs
	}
	b, _ := json.Marshal(out)
	_, _ = w.Write(b)
}

func agnhostLiveness(*pflag.FlagSet) func(ctx context.Context, e *Env) int {
	return func(ctx context.Context, e *Env) int {
		l, err := e.Listen("tcp", ":8080")
		if err != nil {
			e.logf("listen tcp :8080: %v", err)
			return 1
		}
		e.listening()
		started := e.now()
		mux := http.NewServeMux()
		mux.HandleFunc("/started", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(e.now().Sub(started).String()))
		})
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
			if d := e.now().Sub(started); d.Seconds() > 10 {
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprintf(w, "error: %v", d.Seconds())
				return
			}
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("ok"))
		})
		mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
			loc, err := url.QueryUnescape(r.URL.Query().Get("loc"))
			if err != nil {
				http.Error(w, fmt.Sprintf("invalid redirect: %q", r.URL.Query().Get("loc")), http.StatusBadRequest)
				return
			}
			http.Redirect(w, r, loc, http.StatusFound)
		})
		return serveHTTP(ctx, l, mux)
	}
}

// agnhostGRPCHealth is grpc-health-checking: a gRPC health server whose Check answers for --service only,
// SERVING for --delay-unhealthy-sec (never NOT_SERVING when negative) unless /make-not-serving said otherwise.
func agnhostGRPCHealth(fs *pflag.FlagSet) func(ctx context.Context, e *Env) int {
	port := fs.Int("port", 5000, "Port number.")
	httpPort := fs.Int("http-port", 8080, "Port number for the /make-serving and /make-not-serving.")
	delay := fs.Int("delay-unhealthy-sec", -1, "Number of seconds to delay before start reporting NOT_SERVING, negative value indicates never.")
	service := fs.String("service", "", "Service name to register the health check for.")
	certFile := fs.String("tls-cert-file", "", "File containing an x509 certificate for gRPC TLS.")
	keyFile := fs.String("tls-private-key-file", "", "File containing an x509 private key matching --tls-cert-file.")
	return func(ctx context.Context, e *Env) int {
		if (*certFile == "") != (*keyFile == "") {
			e.logf("Both --tls-cert-file and --tls-private-key-file must be set")
			return 1
		}
		var opts []grpc.ServerOption
		if *certFile != "" {
			cert, err := e.keyPair(*certFile, *keyFile)
			if err != nil {
				e.logf("Failed to generate credentials %v", err)
				return 1
			}
			opts = append(opts, grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
		}
		hl, err := e.Listen("tcp", fmt.Sprintf(":%d", *httpPort))
		if err != nil {
			e.logf("listen tcp :%d: %v", *httpPort, err)
			return 1
		}
		gl, err := e.Listen("tcp", fmt.Sprintf(":%d", *port))
		if err != nil {
			_ = hl.Close()
			e.logf("Error while starting the listening service %v", err)
			return 1
		}
		e.listening()
		h := &grpcHealth{e: e, started: e.now(), service: *service, delay: *delay}
		mux := http.NewServeMux()
		for path, unhealthy := range map[string]bool{"/make-not-serving": true, "/make-serving": false} {
			mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
				if unhealthy {
					e.logf("Mark as unhealthy")
				} else {
					e.logf("Mark as healthy")
				}
				h.force.Store(&unhealthy)
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(e.now().Sub(h.started).String()))
			})
		}
		e.logf("Http server starting to listen on :%d", *httpPort)
		go func() { _ = serveHTTP(ctx, hl, mux) }()
		srv := grpc.NewServer(opts...)
		grpchealth.RegisterHealthServer(srv, h)
		e.logf("gRPC server starting to listen on :%d", *port)
		go func() {
			<-ctx.Done()
			srv.Stop()
		}()
		if err := srv.Serve(gl); err != nil && ctx.Err() == nil {
			e.logf("Error while starting the gRPC server on the %s listen address %v", gl.Addr(), err)
			return 1
		}
		return 0
	}
}

// keyPair reads a certificate and key from the container's files.
func (e *Env) keyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := e.Files.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read %s: %w", certFile, err)
	}
	keyPEM, err := e.Files.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("read %s: %w", keyFile, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("key pair: %w", err)
	}
	return cert, nil
}

// grpcHealth is grpc-health-checking's grpc.health.v1.Health service.
type grpcHealth struct {
	grpchealth.UnimplementedHealthServer
	e       *Env
	started time.Time
	service string
	delay   int
	force   atomic.Pointer[bool]
}

func (h *grpcHealth) Check(_ context.Context, req *grpchealth.HealthCheckRequest) (*grpchealth.HealthCheckResponse, error) {
	h.e.logf("Serving the Check request for health check, started at %v", h.started)
	if req.GetService() != h.service {
		return nil, status.Errorf(codes.NotFound, "unknown service")
	}
	forced := h.force.Load()
	if forced != nil && *forced || h.delay >= 0 && h.e.now().Sub(h.started).Seconds() >= float64(h.delay) {
		return &grpchealth.HealthCheckResponse{Status: grpchealth.HealthCheckResponse_NOT_SERVING}, nil
	}
	return &grpchealth.HealthCheckResponse{Status: grpchealth.HealthCheckResponse_SERVING}, nil
}

// serveHTTP serves h on l until ctx ends.
func serveHTTP(ctx context.Context, l net.Listener, h http.Handler) int {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: time.Minute, ErrorLog: log.New(io.Discard, "", 0)}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case <-ctx.Done():
		_ = srv.Close()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return 1
		}
		return 0
	case err := <-done:
		if errors.Is(err, http.ErrServerClosed) {
			return 0
		}
		return 1
	}
}
