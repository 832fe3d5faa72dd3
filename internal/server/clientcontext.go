package server

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// clientContext is the context of a page-port request handed to the
// Handler: it ends when base does or when the client closes or resets its
// connection, as a net/http request's context does, so that a client that
// leaves ends its wait (the fallback's). It watches the connection only
// once something asks for Done, so a request that never waits costs no
// watch; the watch peeks at the socket and never consumes a byte of a
// pipelined request.
type clientContext struct {
	context.Context
	cancel context.CancelFunc
	conn   net.Conn

	once     sync.Once
	started  bool
	stopping atomic.Bool
	exited   chan struct{}
}

// newClientContext is a context for a request read from conn.
func newClientContext(base context.Context, conn net.Conn) *clientContext {
	ctx, cancel := context.WithCancel(base)
	return &clientContext{Context: ctx, cancel: cancel, conn: conn, exited: make(chan struct{})}
}

// Done starts the watch, once, and returns the context's Done.
func (c *clientContext) Done() <-chan struct{} {
	c.once.Do(c.watch)
	return c.Context.Done()
}

// watch peeks at the connection in the background until the client closes
// it (cancel) or stop ends the watch.
func (c *clientContext) watch() {
	conn := c.conn
	for {
		u, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		conn = u.NetConn()
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	c.started = true
	go func() {
		defer close(c.exited)
		var (
			buf  [1]byte
			n    int
			rerr error
		)
		err := rc.Read(func(fd uintptr) bool {
			n, _, rerr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			return !errors.Is(rerr, syscall.EAGAIN)
		})
		if c.stopping.Load() {
			return
		}
		// Bytes waiting are the client's next request: it is still there,
		// and nothing more can be told without reading them.
		if err != nil || rerr != nil || n == 0 {
			c.cancel()
		}
	}()
}

// stop ends the watch, if it started, before the server reads the
// connection again, and the context.
func (c *clientContext) stop() {
	c.once.Do(func() {})
	if c.started {
		c.stopping.Store(true)
		// A deadline in the past wakes the watch's wait.
		_ = c.conn.SetReadDeadline(time.Now())
		<-c.exited
		// The server sets its own deadline before its next read.
		_ = c.conn.SetReadDeadline(time.Time{})
	}
	c.cancel()
}
