package testorigin

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
)

// Tarpit is an origin that accepts connections and never answers: what a
// hung backend, or a hostile one, looks like to a render. It listens on
// 127.0.0.1 until Close.
type Tarpit struct {
	// URL is http://127.0.0.1:<port>.
	URL string

	ln       net.Listener
	accepted atomic.Int32
	open     atomic.Int32
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	done     sync.WaitGroup
}

// NewTarpit starts a tarpit; the caller closes it.
func NewTarpit() (*Tarpit, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	t := &Tarpit{URL: "http://" + ln.Addr().String(), ln: ln, conns: map[net.Conn]struct{}{}}
	t.done.Go(t.accept)
	return t, nil
}

// accept takes every connection and reads what the client sends, answering
// nothing, until the client or Close ends it.
func (t *Tarpit) accept() {
	for {
		c, err := t.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		t.mu.Lock()
		t.conns[c] = struct{}{}
		t.mu.Unlock()
		t.accepted.Add(1)
		t.open.Add(1)
		t.done.Go(func() {
			_, _ = io.Copy(io.Discard, c)
			t.open.Add(-1)
			t.mu.Lock()
			delete(t.conns, c)
			t.mu.Unlock()
			_ = c.Close()
		})
	}
}

// Accepted is how many connections the tarpit took.
func (t *Tarpit) Accepted() int { return int(t.accepted.Load()) }

// Open is how many of them are still open: requests still waiting for an
// answer.
func (t *Tarpit) Open() int { return int(t.open.Load()) }

// Close stops listening and drops every connection.
func (t *Tarpit) Close() {
	_ = t.ln.Close()
	t.mu.Lock()
	for c := range t.conns {
		_ = c.Close()
	}
	t.mu.Unlock()
	t.done.Wait()
}
