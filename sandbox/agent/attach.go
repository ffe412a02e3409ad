package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"github.com/creack/pty"
	corev1 "k8s.io/api/core/v1"
	remotecommand "k8s.io/cri-streaming/pkg/streaming/remotecommand"

	"github.com/klabdev/klab/internal/platform"
	"github.com/klabdev/klab/sandbox/agent/busybox"
)

// containerIO is the standard I/O of one run of a container's main process, as a runtime sets it up:
// its output goes to the container log and to the clients attached now (`kubectl attach`, `kubectl
// run -i`); with `stdin: true` its standard input is a pipe the attached clients write to (closed after
// the first client leaves when `stdinOnce` is set); with `tty: true` its three streams are a
// pseudo-terminal, whose output is logged as stdout.
type containerIO struct {
	tty, stdinOnce bool
	sh             *busybox.Shell // set once the main process's shell exists (Ctrl+C on its terminal)

	inR, inW      *os.File // stdin pipe (stdin without tty)
	master, slave *os.File // the terminal (tty)

	log    *logWriter
	copied chan struct{} // closed when the terminal's output has all been logged

	mu         sync.Mutex
	subs       map[*attachment]struct{}
	stdinDone  bool // stdinOnce: the first client's input ended, stdin is closed for good
	closedOnce sync.Once
	done       chan struct{} // closed when the run ended
}

// attachment is one attached client's output streams.
type attachment struct {
	out, err io.Writer // nil when the client did not ask for that stream
}

func newContainerIO(c *corev1.Container, lw *logWriter) (*containerIO, error) {
	cio := &containerIO{tty: c.TTY, stdinOnce: c.StdinOnce, log: lw, subs: map[*attachment]struct{}{}, done: make(chan struct{})}
	switch {
	case c.TTY:
		m, s, err := openTerminal()
		if err != nil {
			return nil, fmt.Errorf("container %s terminal: %w", c.Name, err)
		}
		cio.master, cio.slave, cio.copied = m, s, make(chan struct{})
		go cio.copyTerminal()
	case c.Stdin:
		r, w, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("container %s stdin: %w", c.Name, err)
		}
		cio.inR, cio.inW = r, w
	}
	return cio, nil
}

// stdin, stdout and stderr are the main process's streams.
func (cio *containerIO) stdin() io.Reader {
	switch {
	case cio.slave != nil:
		return cio.slave
	case cio.inR != nil:
		return cio.inR
	}
	return nil
}

func (cio *containerIO) stdout() io.Writer {
	if cio.slave != nil {
		return cio.slave
	}
	return fanOut{cio, cio.log.stream("stdout"), false}
}

func (cio *containerIO) stderr() io.Writer {
	if cio.slave != nil {
		return cio.slave
	}
	return fanOut{cio, cio.log.stream("stderr"), true}
}

// fanOut writes a stream to the log and to the attached clients that asked for it.
type fanOut struct {
	cio    *containerIO
	log    io.Writer
	stderr bool
}

func (f fanOut) Write(b []byte) (int, error) {
	if _, err := f.log.Write(b); err != nil {
		return 0, err
	}
	f.cio.broadcast(b, f.stderr)
	return len(b), nil
}

func (cio *containerIO) broadcast(b []byte, stderr bool) {
	cio.mu.Lock()
	subs := make([]*attachment, 0, len(cio.subs))
	for s := range cio.subs {
		subs = append(subs, s)
	}
	cio.mu.Unlock()
	for _, s := range subs {
		w := s.out
		if stderr {
			w = s.err
		}
		if w != nil {
			_, _ = w.Write(b) // a client that went away is removed by its own attach
		}
	}
}

// copyTerminal logs the terminal's output and sends it to the attached clients, until the terminal
// closes.
func (cio *containerIO) copyTerminal() {
	defer close(cio.copied)
	out := cio.log.stream("stdout")
	buf := make([]byte, 32<<10)
	for {
		n, err := cio.master.Read(buf)
		if n > 0 {
			_, _ = out.Write(buf[:n])
			cio.broadcast(buf[:n], false)
		}
		if err != nil {
			return
		}
	}
}

// close ends the run's I/O once its main process returned: the clients attached are let go and what
// the terminal still held is logged (before the log file closes).
func (cio *containerIO) close() {
	cio.closedOnce.Do(func() {
		if cio.slave != nil {
			_ = cio.slave.Close()
			<-cio.copied
			_ = cio.master.Close()
		}
		if cio.inR != nil {
			_ = cio.inR.Close()
			cio.mu.Lock()
			if !cio.stdinDone {
				_ = cio.inW.Close()
				cio.stdinDone = true
			}
			cio.mu.Unlock()
		}
		close(cio.done)
	})
}

// attach connects a client to the running main process until the run ends or ctx ends.
func (cio *containerIO) attach(ctx context.Context, in io.Reader, out, errw io.WriteCloser, resize <-chan remotecommand.TerminalSize) {
	sub := &attachment{}
	if out != nil {
		sub.out = out
	}
	if errw != nil && !cio.tty {
		sub.err = errw
	}
	cio.mu.Lock()
	cio.subs[sub] = struct{}{}
	cio.mu.Unlock()
	defer func() {
		cio.mu.Lock()
		delete(cio.subs, sub)
		cio.mu.Unlock()
	}()
	if cio.master != nil {
		go followResize(ctx, cio.master, resize)
	}
	if in != nil {
		go cio.copyInput(in)
	}
	select {
	case <-ctx.Done():
	case <-cio.done:
	}
}

// copyInput writes what a client types to the main process: to its terminal (a Ctrl+C also interrupts
// what its interactive shell runs), or to its stdin pipe.
func (cio *containerIO) copyInput(in io.Reader) {
	switch {
	case cio.master != nil:
		_ = copyToTerminal(cio.master, cio.slave, in, func(sig syscall.Signal) {
			if cio.sh != nil {
				cio.sh.Interrupt(sig)
			}
		})
	case cio.inW != nil:
		cio.mu.Lock()
		closed := cio.stdinDone
		cio.mu.Unlock()
		if closed {
			return
		}
		_, _ = io.Copy(cio.inW, in)
		if cio.stdinOnce {
			cio.mu.Lock()
			if !cio.stdinDone {
				_ = cio.inW.Close()
				cio.stdinDone = true
			}
			cio.mu.Unlock()
		}
	}
}

// openTerminal opens a pseudo-terminal whose Ctrl+C and Ctrl+\ copyToTerminal handles.
func openTerminal() (master, slave *os.File, err error) {
	master, slave, err = pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("open a pseudo-terminal: %w", err)
	}
	if err = onFd(slave, platform.NoSignalKeys); err != nil {
		_ = master.Close()
		_ = slave.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// onFd calls fn with f's descriptor without making it blocking (os.File.Fd would, and read deadlines,
// which wake commands blocked on their terminal, would stop working).
func onFd(f *os.File, fn func(int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	return ferr
}

// copyToTerminal copies a client's keys to the terminal's master side. A Ctrl+C or Ctrl+\ does what
// the kernel's line discipline would do for a process group, which the sandbox's commands are not:
// the line being typed is dropped, the key is echoed (^C), and signal delivers SIGINT or SIGQUIT to
// the terminal's foreground.
func copyToTerminal(master, slave *os.File, in io.Reader, signal func(syscall.Signal)) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := in.Read(buf)
		for chunk := buf[:n]; len(chunk) > 0; {
			i := indexSignalKey(chunk)
			end := len(chunk)
			if i >= 0 {
				end = i
			}
			if _, werr := master.Write(chunk[:end]); werr != nil {
				return fmt.Errorf("write to terminal: %w", werr)
			}
			if i < 0 {
				break
			}
			sig, echo := syscall.SIGINT, "^C"
			if chunk[i] == 0x1c {
				sig, echo = syscall.SIGQUIT, "^\\"
			}
			_ = onFd(slave, platform.FlushInput)
			if _, werr := io.WriteString(slave, echo); werr != nil {
				return fmt.Errorf("write to terminal: %w", werr)
			}
			signal(sig)
			chunk = chunk[i+1:]
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read client input: %w", err)
		}
	}
}

// indexSignalKey finds the first Ctrl+C (VINTR) or Ctrl+\ (VQUIT) in b, -1 if none.
func indexSignalKey(b []byte) int {
	for i, c := range b {
		if c == 0x03 || c == 0x1c {
			return i
		}
	}
	return -1
}

// followResize applies the client's terminal size to the terminal until ctx ends.
func followResize(ctx context.Context, master *os.File, resize <-chan remotecommand.TerminalSize) {
	if resize == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case sz, ok := <-resize:
			if !ok {
				return
			}
			if sz.Width > 0 && sz.Height > 0 {
				_ = pty.Setsize(master, &pty.Winsize{Rows: sz.Height, Cols: sz.Width})
			}
		}
	}
}
