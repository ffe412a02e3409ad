package podnet

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// pipeCap bounds what one direction of a connection holds before the writer waits (a socket buffer).
const pipeCap = 256 << 10

// pipe is one direction of a connection: a bounded byte buffer with end-of-stream and reset.
type pipe struct {
	mu    sync.Mutex
	buf   []byte
	eof   bool          // the writer shut its side down: reads end with io.EOF once buf is drained
	reset bool          // the reader went away: writes fail
	wake  chan struct{} // closed and replaced at every change
}

func newPipe() *pipe { return &pipe{wake: make(chan struct{})} }

// signalLocked wakes every waiter; p.mu is held.
func (p *pipe) signalLocked() {
	close(p.wake)
	p.wake = make(chan struct{})
}

func (p *pipe) read(b []byte, dl *deadline, closed <-chan struct{}) (int, error) {
	for {
		p.mu.Lock()
		if len(p.buf) > 0 {
			n := copy(b, p.buf)
			p.buf = p.buf[n:]
			p.signalLocked()
			p.mu.Unlock()
			return n, nil
		}
		if p.eof {
			p.mu.Unlock()
			return 0, io.EOF
		}
		wake := p.wake
		p.mu.Unlock()
		if len(b) == 0 {
			return 0, nil
		}
		select {
		case <-wake:
		case <-dl.wait():
			return 0, os.ErrDeadlineExceeded
		case <-closed:
			return 0, net.ErrClosed
		}
	}
}

func (p *pipe) write(b []byte, dl *deadline, closed <-chan struct{}) (int, error) {
	n := 0
	for n < len(b) {
		p.mu.Lock()
		switch {
		case p.eof:
			p.mu.Unlock()
			return n, syscall.EPIPE
		case p.reset:
			p.mu.Unlock()
			return n, syscall.ECONNRESET
		case len(p.buf) < pipeCap:
			k := min(len(b)-n, pipeCap-len(p.buf))
			p.buf = append(p.buf, b[n:n+k]...)
			n += k
			p.signalLocked()
			p.mu.Unlock()
			continue
		}
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-dl.wait():
			return n, os.ErrDeadlineExceeded
		case <-closed:
			return n, net.ErrClosed
		}
	}
	return n, nil
}

// shut ends the stream for the reader (FIN).
func (p *pipe) shut() {
	p.mu.Lock()
	p.eof = true
	p.signalLocked()
	p.mu.Unlock()
}

// abort drops what is buffered and makes the writer's next writes fail (the reader closed: RST).
func (p *pipe) abort() {
	p.mu.Lock()
	p.reset = true
	p.buf = nil
	p.signalLocked()
	p.mu.Unlock()
}

// Conn is one end of an in-memory TCP connection between two hosts of the network: buffered in each
// direction, with deadlines and half-close (CloseWrite), and the TCP addresses of both ends.
type Conn struct {
	local, remote *net.TCPAddr
	rx, tx        *pipe // rx: what this end reads; tx: what it writes
	rdl, wdl      deadline
	once          sync.Once
	closed        chan struct{}
}

// newConnPair returns the two ends of a connection from client to server.
func newConnPair(client, server *net.TCPAddr) (c, s *Conn) {
	up, down := newPipe(), newPipe()
	c = &Conn{local: client, remote: server, rx: down, tx: up, rdl: makeDeadline(), wdl: makeDeadline(), closed: make(chan struct{})}
	s = &Conn{local: server, remote: client, rx: up, tx: down, rdl: makeDeadline(), wdl: makeDeadline(), closed: make(chan struct{})}
	return c, s
}

func (c *Conn) opErr(op string, err error) error {
	if err == nil || errors.Is(err, io.EOF) {
		return err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.local, Addr: c.remote, Err: err}
}

// Read reads what the peer wrote; io.EOF once the peer closed or shut its side down.
func (c *Conn) Read(b []byte) (int, error) {
	n, err := c.rx.read(b, &c.rdl, c.closed)
	return n, c.opErr("read", err)
}

// Write sends b to the peer; it waits while the peer's buffer is full.
func (c *Conn) Write(b []byte) (int, error) {
	n, err := c.tx.write(b, &c.wdl, c.closed)
	return n, c.opErr("write", err)
}

// Close closes both directions: the peer reads io.EOF and its writes fail.
func (c *Conn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.tx.shut()
		c.rx.abort()
	})
	return nil
}

// CloseWrite shuts the sending side down (the peer reads io.EOF); reading goes on.
func (c *Conn) CloseWrite() error {
	c.tx.shut()
	return nil
}

// CloseRead shuts the receiving side down: the peer's writes fail.
func (c *Conn) CloseRead() error {
	c.rx.abort()
	return nil
}

// LocalAddr is this end's address.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.rdl.set(t)
	c.wdl.set(t)
	return nil
}

// SetReadDeadline sets the read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.rdl.set(t)
	return nil
}

// SetWriteDeadline sets the write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wdl.set(t)
	return nil
}

// deadline is a settable point in time whose channel closes when it passes (net.Pipe's pattern).
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	cancel chan struct{}
}

func makeDeadline() deadline { return deadline{cancel: make(chan struct{})} }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer fired: wait until it closed cancel
	}
	d.timer = nil
	closed := isClosed(d.cancel)
	if t.IsZero() {
		if closed {
			d.cancel = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if closed {
			d.cancel = make(chan struct{})
		}
		cancel := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(cancel) })
		return
	}
	if !closed {
		close(d.cancel)
	}
}

func (d *deadline) wait() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
