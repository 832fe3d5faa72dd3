package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/go-logr/logr"
	clocktesting "k8s.io/utils/clock/testing"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
	"github.com/isr-operator/isr-operator/internal/digest"
	"github.com/isr-operator/isr-operator/internal/storage"
)

// TestShutdownPhases stops a page listener of each server as SIGTERM does:
// readiness fails at once; for the delay, which ends only when the test
// steps the clock, requests on open and on new connections are served with
// Connection: close; then new connections are refused while a download in
// flight finishes.
func TestShutdownPhases(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), (4<<20)/16)
	for _, kind := range []string{netHTTP, fastHTTP} {
		t.Run(kind, func(t *testing.T) {
			h, _, _ := newTestHandler(t)
			p, _ := testPage("big", "", "/big", "", 0, pagesv1alpha1.RevalidateInterval)
			h.Table.Put(mustEntry(t, p, &storage.Object{Digest: digest.Of(big), ContentType: "application/octet-stream", Identity: big, StoredAt: t0}))
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			_ = ln.Close()

			// The delay ends when the test steps the clock; the grace is a
			// real timeout, long enough never to end a correct drain.
			const delay, grace = time.Minute, time.Hour
			clk := clocktesting.NewFakeClock(t0)
			s := &Shutdown{Delay: delay, Grace: grace, Log: logr.Discard(), clock: clk}
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			stopped := make(chan error, 1)
			listener := s.PageListener(addr, h, nil)
			if kind == netHTTP {
				listener = s.Listener(addr, h, nil)
			}
			go func() { stopped <- listener.Start(ctx) }()

			dial := func() (net.Conn, *bufio.Reader) {
				t.Helper()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = c.Close() })
				_ = c.SetDeadline(time.Now().Add(20 * time.Second))
				return c, bufio.NewReader(c)
			}
			get := func(c net.Conn, r *bufio.Reader, path string) *http.Response {
				t.Helper()
				if _, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
					t.Fatal(err)
				}
				resp, err := http.ReadResponse(r, &http.Request{Method: "GET"})
				if err != nil {
					t.Fatal(err)
				}
				return resp
			}
			waitFor(t, func() bool {
				c, err := net.Dial("tcp", addr)
				if err == nil {
					_ = c.Close()
				}
				return err == nil
			})

			kc, kr := dial()
			resp := get(kc, kr, "/")
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusOK || resp.Close {
				t.Fatalf("before the signal: %d, close %v", resp.StatusCode, resp.Close)
			}
			dc, dr := dial()
			download := get(dc, dr, "/big")
			got, err := io.ReadFull(download.Body, make([]byte, 32<<10))
			if err != nil {
				t.Fatal(err)
			}

			stop()
			waitFor(t, func() bool { return s.Ready(nil) != nil })
			resp = get(kc, kr, "/")
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusOK || !resp.Close {
				t.Errorf("an open connection during the delay: %d, close %v; want 200 and close", resp.StatusCode, resp.Close)
			}
			nc, nr := dial()
			resp = get(nc, nr, "/lazy")
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusOK || !resp.Close {
				t.Errorf("a new connection during the delay: %d, close %v; want 200 and close", resp.StatusCode, resp.Close)
			}

			// End the delay: the listener stops accepting while the
			// download is still in flight, and the download finishes.
			waitFor(t, clk.HasWaiters)
			clk.Step(delay)
			waitFor(t, func() bool {
				c, err := net.Dial("tcp", addr)
				if err == nil {
					_ = c.Close()
				}
				return err != nil
			})
			rest, err := io.Copy(io.Discard, download.Body)
			if err != nil || got+int(rest) != len(big) {
				t.Errorf("the download in flight got %d of %d bytes: %v", got+int(rest), len(big), err)
			}
			select {
			case err := <-stopped:
				if err != nil {
					t.Errorf("listener: %v", err)
				}
			case <-time.After(hangGuard):
				t.Error("the listener did not stop once the download was done")
			}
		})
	}
}
