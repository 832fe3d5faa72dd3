package idleconns

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestOpenKeepsEachConnectionOpen checks that Open makes one request on
// each of n connections and leaves each open for another.
func TestOpenKeepsEachConnectionOpen(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if r.URL.Path != "/page" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	conns, err := Open(strings.TrimPrefix(srv.URL, "http://"), "/page", 20)
	if err != nil {
		t.Fatal(err)
	}
	defer conns.Close()
	if len(conns) != 20 || requests.Load() != 20 {
		t.Fatalf("got %d connections and %d requests, want 20 of each", len(conns), requests.Load())
	}
	for i, c := range conns {
		if _, err := io.WriteString(c, "GET /page HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("connection %d is not open: %v", i, err)
		}
		_ = resp.Body.Close()
	}
}

// TestOpenRefusesAnAnswerOtherThan200 checks that a refused request is an
// error, not a connection counted as idle.
func TestOpenRefusesAnAnswerOtherThan200(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if conns, err := Open(strings.TrimPrefix(srv.URL, "http://"), "/page", 3); err == nil {
		conns.Close()
		t.Fatal("Open succeeded on 404 answers")
	}
}
