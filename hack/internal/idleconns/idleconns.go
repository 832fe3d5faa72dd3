// Package idleconns opens keep-alive connections that each make one request
// and then stay open, as idle visitors' browsers hold them: the load of
// hack/bench-idle-conns and of hack/bench-scale's abuse scenario.
package idleconns

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
)

// Conns are open connections.
type Conns []net.Conn

// Open opens n connections to addr (host:port) one after another, each
// sending one GET of path and reading its answer, which must be 200, and
// returns them open. On an error it closes those it opened.
func Open(addr, path string, n int) (Conns, error) {
	open := make(Conns, 0, n)
	for range n {
		c, err := openOne(addr, path)
		if err != nil {
			open.Close()
			return nil, fmt.Errorf("connection %d: %w", len(open)+1, err)
		}
		open = append(open, c)
	}
	return open, nil
}

// openOne opens one connection and makes its one request.
func openOne(addr, path string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\nUser-Agent: bench\r\nAccept-Encoding: gzip\r\n\r\n"); err != nil {
		_ = c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_ = c.Close()
		return nil, fmt.Errorf("GET %s answered %s", path, resp.Status)
	}
	return c, nil
}

// Close closes every connection.
func (cs Conns) Close() {
	for _, c := range cs {
		_ = c.Close()
	}
}
